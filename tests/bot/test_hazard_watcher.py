"""The hazard watcher against a local feed server on 127.0.0.1: what it alerts, once, and how it copes.

The documents are the feeds' real formats (tests/fixtures/hazards/); the server
answers as each test tells it to (a document, 304, 500, a truncated or huge body).
Time is simulated: the watcher's clock is the test's, and its sleeps advance it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.core import Core
from bot.hazards.watcher import Watcher
from bot.models import Actor, ChannelKind
from bot.services import coalition_config, hazards
from bot.settings import Settings
from bot.store import Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hazards"
DOCUMENTS = {
    "usgs": FIXTURES / "usgs_2.5_day.geojson",
    "gdacs": FIXTURES / "gdacs_events.geojson",
    "nws": FIXTURES / "nws_alerts_active.geojson",
}
ADMIN = Actor(user_id=1, guild_id=500, name="admin", is_admin=True, guild_name="Gulf Coast Relief")
ALERTS_CHANNEL = 7001
BIG = b" " * (50 * 1024 * 1024)


@dataclass
class Clock:
    now: datetime = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class FeedServer:
    """Serves each feed's document with an ETag, honouring If-None-Match; or what a test asks instead."""

    bodies: dict[str, bytes] = field(default_factory=lambda: {k: p.read_bytes() for k, p in DOCUMENTS.items()})
    override: dict[str, web.StreamResponse | Callable[[web.Request], Awaitable[web.StreamResponse]] | None] = field(
        default_factory=dict
    )
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    enough: asyncio.Event = field(default_factory=asyncio.Event)
    wanted: int = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        feed = request.match_info["feed"]
        self.requests.append((feed, dict(request.headers)))
        if self.wanted and len(self.requests) >= self.wanted:
            self.enough.set()
        answer = self.override.get(feed)
        if callable(answer):
            return await answer(request)
        if answer is not None:
            return answer
        body = self.bodies[feed]
        etag = f'"{feed}-{len(body)}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=body,
            content_type="application/geo+json",
            headers={"ETag": etag, "Last-Modified": "Tue, 01 Dec 2026 11:58:00 GMT"},
        )


@pytest.fixture
async def feeds():
    state = FeedServer()
    app = web.Application()
    app.router.add_get("/{feed}", state.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    state.base = str(server.make_url("/")).rstrip("/")  # type: ignore[attr-defined]
    yield state
    await server.close()


@pytest.fixture
def core(tmp_path: Path, new_database):
    clock = Clock()
    core = Core(store=Store(new_database("c")), settings=Settings(), clock=clock)
    coalition_config.set_channel(core, ADMIN, ChannelKind.ALERTS, ALERTS_CHANNEL)
    hazards.set_area(core, ADMIN, location="Houston", radius_km=500)
    yield core
    core.store.close()


@pytest.fixture
async def watcher(core, feeds):
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        core.clock.now += timedelta(seconds=seconds)

    made = Watcher(core, urls={k: f"{feeds.base}/{k}" for k in DOCUMENTS}, sleep=sleep, max_bytes=2 * 1024 * 1024)
    made.sleeps = sleeps  # type: ignore[attr-defined]
    yield made
    await made.close()


def alerts(core: Core) -> list[dict]:
    rows = core.store.db.execute(
        "SELECT payload FROM outbox WHERE kind = 'hazard_alert' AND target = ?", [f"channel:{ALERTS_CHANNEL}"]
    ).fetchall()
    hazards_alerted = [core.store.hazards.get(json.loads(r[0])["hazard_id"]) for r in rows]
    return [{"feed": h.hazard.feed, "id": h.hazard.source_id, "severity": h.hazard.severity} for h in hazards_alerted]


def turn_on(core: Core, *feeds: str, **minimum: str) -> None:
    for feed in feeds:
        hazards.set_feed(core, ADMIN, feed=feed, enabled=True, min_severity=minimum.get(feed))


async def test_one_strong_quake_inside_the_area_alerts_once_and_the_weak_one_not_at_all(core, watcher):
    turn_on(core, "usgs")

    outcome = await watcher.poll("usgs")

    assert outcome.status == "new" and outcome.alerts == 1
    assert alerts(core) == [{"feed": "usgs", "id": "us7000pq61", "severity": "M 6.1"}]
    assert outcome.skipped == 1  # the quarry blast is no earthquake


async def test_the_same_document_polled_again_alerts_nothing_new(core, watcher, feeds):
    turn_on(core, "usgs")
    await watcher.poll("usgs")

    again = await watcher.poll("usgs")
    feeds.override["usgs"] = None
    feeds.bodies["usgs"] = feeds.bodies["usgs"].replace(b'"updated"', b'"updated_"')  # a new ETag, same hazards
    changed = await watcher.poll("usgs")

    assert again.status == "unchanged"
    assert feeds.requests[1][1]["If-None-Match"] == f'"usgs-{len(DOCUMENTS["usgs"].read_bytes())}"'
    assert changed.status == "new" and changed.alerts == 0
    assert len(alerts(core)) == 1


async def test_a_gdacs_cyclone_and_an_nws_warning_alert_once_each(core, watcher):
    turn_on(core, "gdacs", "nws")

    await watcher.poll("gdacs")
    await watcher.poll("nws")
    await watcher.poll("gdacs")

    assert sorted((a["feed"], a["severity"]) for a in alerts(core)) == [
        ("gdacs", "orange"),
        ("gdacs", "orange"),
        ("nws", "severe"),
    ]
    kinds = {core.store.hazards.get(i).hazard.kind for i in range(1, 20) if core.store.hazards.get(i)}
    assert {"cyclone", "flood", "earthquake"} <= kinds


async def test_a_quake_reported_by_two_feeds_alerts_once(core, watcher):
    turn_on(core, "usgs", "gdacs")

    await watcher.poll("usgs")
    await watcher.poll("gdacs")

    assert sorted(a["id"] for a in alerts(core)) == ["TC1001234", "us7000pq61"]


async def test_a_minimum_severity_filters_what_alerts(core, watcher):
    turn_on(core, "usgs", usgs="3.5")

    await watcher.poll("usgs")

    assert sorted(a["id"] for a in alerts(core)) == ["us7000pq61", "us7000pq62"]


def answering(make: Callable[[], web.StreamResponse]) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A handler giving a fresh response each time (a response object is sent once)."""

    async def handler(_request: web.Request) -> web.StreamResponse:
        return make()

    return handler


@pytest.mark.parametrize(
    ("make", "status"),
    [
        (lambda: web.Response(status=500, text="upstream down"), "failed"),
        (lambda: web.Response(body=b'{"type": "FeatureCollection", "features": [{"type": "Fea'), "malformed"),
        (lambda: web.Response(body=b"<html>maintenance</html>"), "malformed"),
        (lambda: web.Response(body=b'{"type": "Feature"}'), "malformed"),
        (lambda: web.Response(body=BIG), "failed"),
    ],
    ids=["500", "truncated-json", "html", "not-a-collection", "50MB"],
)
async def test_a_bad_answer_is_logged_skipped_and_retried_later_with_backoff(core, watcher, feeds, make, status):
    turn_on(core, "usgs")
    feeds.override["usgs"] = answering(make)

    first = await watcher.poll("usgs")
    second = await watcher.poll("usgs")

    assert (first.status, second.status) == (status, status)
    assert alerts(core) == []
    state = core.store.hazards.feed_state("usgs")
    assert state.failures == 2 and state.next_poll_at == core.clock() + timedelta(minutes=20)
    feeds.override["usgs"] = None
    recovered = await watcher.poll("usgs")
    assert recovered.status == "new" and recovered.alerts == 1
    assert core.store.hazards.feed_state("usgs").failures == 0


async def test_a_streamed_body_past_the_limit_is_abandoned(core, watcher, feeds):
    turn_on(core, "usgs")

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()  # no Content-Length: the size shows only while reading
        await response.prepare(request)
        for _ in range(64):
            await response.write(b"[" * 65536)
        return response

    feeds.override["usgs"] = endless
    watcher.max_bytes = 1024 * 1024

    outcome = await watcher.poll("usgs")

    assert outcome.status == "failed" and "limit" in outcome.error


async def test_a_feature_with_hostile_fields_is_skipped_and_the_rest_kept(core, watcher, feeds):
    turn_on(core, "usgs")
    document = json.loads(feeds.bodies["usgs"])
    document["features"][0]["geometry"]["coordinates"] = ["NaN", 91, 0]
    document["features"].insert(0, {"type": "Feature", "id": "x", "properties": {"mag": 9.0, "time": "soon"}})
    document["features"][2]["properties"]["mag"] = 6.3  # the Galveston quake, now strong
    feeds.bodies["usgs"] = json.dumps(document).encode()

    outcome = await watcher.poll("usgs")

    assert outcome.status == "new" and outcome.skipped == 3
    assert [a["id"] for a in alerts(core)] == ["us7000pq62"]


async def test_the_watcher_sleeps_until_the_next_poll_is_due(core, watcher, feeds):
    turn_on(core, "usgs", "gdacs")
    start = core.clock()
    feeds.wanted = 6
    task = asyncio.ensure_future(watcher.run())
    try:
        await asyncio.wait_for(feeds.enough.wait(), timeout=30)
    finally:
        task.cancel()

    polled = [(feed, "If-None-Match" in headers) for feed, headers in feeds.requests[:6]]
    # Both at once; USGS every 5 minutes (conditional, unchanged), GDACS again at 15 minutes.
    assert polled == [("gdacs", False), ("usgs", False), ("usgs", True), ("usgs", True), ("gdacs", True),
                      ("usgs", True)]  # fmt: skip
    assert watcher.sleeps[:3] == [300.0, 300.0, 300.0]
    assert core.clock() - start >= timedelta(minutes=15)
    assert len(alerts(core)) == 2  # the cyclone and the quake (GDACS first; USGS's report of it is its twin)


async def test_no_feed_on_means_no_request_at_all(core, watcher, feeds):
    assert await watcher.next_due() is None

    turn_on(core, "nws")
    hazards.set_feed(core, ADMIN, feed="nws", enabled=False)

    assert await watcher.next_due() is None and feeds.requests == []


async def test_every_poll_sets_the_ops_endpoints_feed_gauge(core, feeds):
    from prometheus_client.parser import text_string_to_metric_families

    from bot.ops import OpsMetrics

    metrics = OpsMetrics(core)
    made = Watcher(core, urls={k: f"{feeds.base}/{k}" for k in DOCUMENTS}, on_poll=metrics.feed_polled)
    turn_on(core, "usgs")
    try:
        await made.poll("usgs")
    finally:
        await made.close()

    [gauge] = [f for f in text_string_to_metric_families(metrics.exposition().decode()) if "feed" in f.name]
    assert gauge.samples[0].value == core.clock().timestamp()
