"""What the ops endpoint reports: health and Prometheus metrics, without Discord.

Each bot owns an :class:`OpsMetrics` with its own registry (two bots in one
process, as in tests, never share counters). Command outcomes and latencies
are counted as they happen; everything read from the database (outbox, open
posts, matches, last digest) is read when Prometheus scrapes, so it is never
stale and costs nothing between scrapes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.clock import from_iso
from bot.core import Core

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0, 5.0, 10.0)


class _DatabaseCollector(Collector):
    """Gauges read from the store at scrape time."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def collect(self) -> Iterator[GaugeMetricFamily]:
        reads = self.core.store.ops
        now = self.core.clock()
        pending, failed, oldest = reads.outbox()
        yield GaugeMetricFamily("coalesce_outbox_pending", "Notifications waiting to leave for Discord", value=pending)
        yield GaugeMetricFamily("coalesce_outbox_failed", "Notifications given up after retries", value=failed)
        oldest_at = from_iso(oldest)
        age = (now - oldest_at).total_seconds() if oldest_at else 0.0
        yield GaugeMetricFamily(
            "coalesce_outbox_oldest_age_seconds", "Age of the oldest pending notification (0 when none)", value=age
        )
        posts = GaugeMetricFamily("coalesce_posts_open", "Open needs and offers", labels=["kind", "urgency"])
        for (kind, urgency), count in sorted(reads.open_posts_by_urgency().items()):
            posts.add_metric([kind, urgency], count)
        yield posts
        matches = GaugeMetricFamily("coalesce_matches", "Matches by status", labels=["status"])
        for status, count in sorted(reads.matches_by_status().items()):
            matches.add_metric([status], count)
        yield matches
        last = from_iso(reads.last_digest_at())
        yield GaugeMetricFamily(
            "coalesce_digest_last_run_timestamp_seconds",
            "When the last digest round ran (Unix time; 0 before the first)",
            value=last.timestamp() if last else 0.0,
        )


class OpsMetrics:
    """One bot's metrics; ``exposition()`` is the Prometheus text format."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.registry = CollectorRegistry(auto_describe=True)
        self.commands = Counter(
            "coalesce_commands", "Slash commands and button clicks by outcome", ["kind", "command", "outcome"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "coalesce_command_latency_seconds", "From a command's start to its answer", ["kind", "command"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.feed_poll = Gauge(
            "coalesce_feed_last_poll_timestamp_seconds",
            "When the hazard feed watcher last polled (Unix time; 0 before the first)",
            registry=self.registry,
        )
        self.registry.register(_DatabaseCollector(core))

    def command(self, kind: str, name: str, outcome: str, seconds: float | None) -> None:
        """Count one command's or click's outcome (ok, refused, error) and, when known, its latency.

        ``kind`` is ``command`` or ``button``; ``name`` the command ("need post") or button ("match.accept").
        """
        self.commands.labels(kind, name, outcome).inc()
        if seconds is not None and seconds >= 0:
            self.latency.labels(kind, name).observe(seconds)

    def feed_polled(self, at: datetime) -> None:
        """The hazard feed watcher calls this after each poll."""
        self.feed_poll.set(at.timestamp())

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def health(core: Core, *, connected: bool) -> tuple[bool, dict[str, object]]:
    """(healthy, details): healthy when the gateway is connected and the database answers."""
    reasons: list[str] = []
    try:
        database = core.store.ops.answers()
    except Exception as exc:  # any failure to answer is the finding itself
        database = False
        reasons.append(f"database: {type(exc).__name__}")
    else:
        if not database:
            reasons.append("database: no answer")
    if not connected:
        reasons.append("gateway: not connected")
    return (database and connected), {
        "status": "ok" if not reasons else "unhealthy",
        "gateway": "connected" if connected else "disconnected",
        "database": "ok" if database else "failing",
        "reasons": reasons,
    }
