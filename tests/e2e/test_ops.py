"""The ops endpoint against the running bot: /healthz says whether it can serve, /metrics what it did."""

from __future__ import annotations

import socket

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import create_bot
from tests.conftest import assert_refused
from tests.e2e.matching_helpers import ACCEPT, button, match_message, post_need, post_offer, ready_world
from tests.e2e.test_foundation import register


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def simcord_bot(database, clock, port):
    return create_bot(database, clock=clock, scheduler=False, ops_port=port)


async def get(port: int, path: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}{path}") as response:
        return response.status, response.headers["Content-Type"], await response.text()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_healthz_is_200_with_reasons_while_the_bot_is_connected(world, port):
    status, content_type, body = await get(port, "/healthz")

    assert status == 200 and content_type.startswith("application/json")
    assert '"gateway": "connected"' in body and '"database": "ok"' in body and '"reasons": []' in body


async def test_healthz_is_503_naming_the_database_when_it_does_not_answer(world, port, simcord_bot):
    simcord_bot.core.store.db.conn.close()

    status, _, body = await get(port, "/healthz")

    assert status == 503 and '"database": "failing"' in body and "database: ProgrammingError" in body


async def test_metrics_count_commands_by_outcome_posts_by_urgency_and_matches(world, port):
    await ready_world(world)
    await post_need(world, world.alice, quantity=100, urgency="critical")
    await post_offer(world, world.bob, quantity=50, location="Baytown")
    refused = await register(world, world.dave, name="@everyone")
    assert_refused(world.env, refused, "mentions")
    await world.alice.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))
    await world.carol.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))

    status, content_type, text = await get(port, "/metrics")

    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    found = samples(text)
    commands = "coalesce_commands_total"
    assert found[(commands, (("command", "org register"), ("kind", "command"), ("outcome", "refused")))] == 1
    assert found[(commands, (("command", "need post"), ("kind", "command"), ("outcome", "ok")))] == 1
    assert found[(commands, (("command", "match.accept"), ("kind", "button"), ("outcome", "ok")))] == 1
    assert found[(commands, (("command", "match.accept"), ("kind", "button"), ("outcome", "refused")))] == 1
    assert found[("coalesce_command_latency_seconds_count", (("command", "need post"), ("kind", "command")))] == 1
    assert ("coalesce_posts_open", (("kind", "need"), ("urgency", "critical"))) in found
    assert found[("coalesce_matches", (("status", "proposed"),))] >= 1
    assert ("coalesce_outbox_pending", ()) in found and ("coalesce_outbox_oldest_age_seconds", ()) in found
    assert found[("coalesce_digest_last_run_timestamp_seconds", ())] == 0
    assert found[("coalesce_feed_last_poll_timestamp_seconds", ())] == 0
