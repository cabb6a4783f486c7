"""Health and metrics without Discord: what /healthz decides and what /metrics reads from the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from bot.core import Core
from bot.ops import OpsMetrics, health
from bot.store import Store
from tests.conftest import FakeClock


def values(metrics: OpsMetrics) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_health_needs_both_the_gateway_and_the_database(new_database):
    core = Core(store=Store(new_database("c")), clock=FakeClock())

    assert health(core, connected=True) == (
        True, {"status": "ok", "gateway": "connected", "database": "ok", "reasons": []}
    )  # fmt: skip
    healthy, details = health(core, connected=False)
    assert not healthy and details["reasons"] == ["gateway: not connected"]
    core.store.close()
    healthy, details = health(core, connected=True)
    assert not healthy and details["database"] == "failing" and details["reasons"][0].startswith("database: ")


def test_the_feed_gauge_stays_zero_until_the_watcher_reports_a_poll(new_database):
    metrics = OpsMetrics(Core(store=Store(new_database("c")), clock=FakeClock()))
    assert values(metrics)[("coalesce_feed_last_poll_timestamp_seconds", ())] == 0

    polled = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)
    metrics.feed_polled(polled)

    assert values(metrics)[("coalesce_feed_last_poll_timestamp_seconds", ())] == polled.timestamp()


def test_outbox_age_is_that_of_the_oldest_pending_notification(new_database):
    clock = FakeClock()
    core = Core(store=Store(new_database("c")), clock=clock)
    coalition = core.store.coalitions.for_guild(1, "g", clock(), timezone="UTC", digest_times="08:00")
    core.store.outbox.enqueue(coalition.id, "notice", "channel:1", {}, clock())
    clock.advance(minutes=3)
    core.store.outbox.enqueue(coalition.id, "notice", "channel:1", {}, clock())
    clock.advance(seconds=30)

    found = values(OpsMetrics(core))

    assert found[("coalesce_outbox_pending", ())] == 2
    assert found[("coalesce_outbox_oldest_age_seconds", ())] == timedelta(minutes=3, seconds=30).total_seconds()
    assert found[("coalesce_outbox_failed", ())] == 0


def test_two_bots_in_one_process_keep_their_own_counters(new_database):
    first = OpsMetrics(Core(store=Store(new_database("a")), clock=FakeClock()))
    second = OpsMetrics(Core(store=Store(new_database("b")), clock=FakeClock()))

    first.command("command", "need post", "ok", 0.02)

    key = ("coalesce_commands_total", (("command", "need post"), ("kind", "command"), ("outcome", "ok")))
    assert values(first)[key] == 1
    assert key not in values(second)
