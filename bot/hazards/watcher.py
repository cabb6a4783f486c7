"""The feed watcher: polls each feed some coalition turned on, when its next poll is due, and sleeps in between.

Each feed keeps its own rhythm (USGS and NWS every 5 minutes, GDACS every 15) in
``feed_state``, with the validators of its last document so that an unchanged
feed costs a 304. A failure (network, status, timeout, size, a malformed document)
is logged and pushes the next poll back, doubling up to an hour; nothing a feed
sends can stop the watcher or half-store an alert.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import aiohttp

from bot.core import Core
from bot.hazards.feeds import FEEDS, MalformedFeed, parse
from bot.hazards.fetch import FeedError, fetch
from bot.services.hazards import record_hazards
from bot.store.hazards import FeedState

log = logging.getLogger("coalesce.hazards")

MAX_BACKOFF = timedelta(hours=1)
Sleep = Callable[[float], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class PollOutcome:
    feed: str
    status: str  # "new", "unchanged", "failed", "malformed"
    hazards: int = 0
    alerts: int = 0
    skipped: int = 0
    error: str | None = None


class Watcher:
    def __init__(
        self,
        core: Core,
        *,
        urls: dict[str, str] | None = None,
        max_bytes: int = 16 * 1024 * 1024,
        timeout_s: float = 20.0,
        sleep: Sleep = asyncio.sleep,
        on_alerts: Callable[[], None] | None = None,
        on_poll: Callable[[datetime], None] | None = None,
    ) -> None:
        """``urls`` replace feeds' addresses (tests use a local server); ``sleep`` may wait in simulated time.

        ``on_poll`` hears the moment of every poll, whatever its outcome (the ops endpoint's gauge).
        """
        self.core = core
        self.urls = {key: feed.url for key, feed in FEEDS.items()} | (urls or {})
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.sleep = sleep
        self.on_alerts = on_alerts
        self.on_poll = on_poll
        self._session: aiohttp.ClientSession | None = None

    # --- one poll -----------------------------------------------------------------------------------------

    async def poll(self, feed: str) -> PollOutcome:
        """Fetch the feed once, record what it reports, and plan its next poll."""
        try:
            return await self._poll(feed)
        finally:
            if self.on_poll is not None:
                self.on_poll(self.core.clock())

    async def _poll(self, feed: str) -> PollOutcome:
        core, store = self.core, self.core.store.hazards
        state = await core.run(store.feed_state, feed)
        interval = timedelta(seconds=FEEDS[feed].poll_s)
        try:
            fetched = await fetch(
                self._client(), self.urls[feed], etag=state.etag, last_modified=state.last_modified,
                max_bytes=self.max_bytes, timeout_s=self.timeout_s,
            )  # fmt: skip
            if fetched.body is None:
                await core.run(store.save_feed_state, replace(state, failures=0, next_poll_at=core.clock() + interval))
                return PollOutcome(feed, "unchanged")
            # A large document takes a while to read (7.5 MB, 10,000 quakes: about half a second): off the loop.
            parsed = await asyncio.to_thread(parse, feed, fetched.body)
        except (FeedError, MalformedFeed) as exc:
            return await self._failed(state, interval, exc)
        alerts = await core.call(record_hazards, feed, parsed.hazards, core.clock())
        if parsed.skipped:
            log.warning("feed %s: skipped %d malformed or unplaceable entries", feed, parsed.skipped)
        fresh = FeedState(feed, fetched.etag, fetched.last_modified, 0, core.clock() + interval, None)
        await core.run(store.save_feed_state, fresh)
        if alerts and self.on_alerts is not None:
            self.on_alerts()
        return PollOutcome(feed, "new", len(parsed.hazards), len(alerts), parsed.skipped)

    async def _failed(self, state: FeedState, interval: timedelta, error: Exception) -> PollOutcome:
        failures = state.failures + 1
        delay = min(MAX_BACKOFF, interval * (2 ** min(failures, 10)))
        malformed = isinstance(error, MalformedFeed)
        log.warning("feed %s %s (%s); next try in %s", state.feed, "malformed" if malformed else "failed", error, delay)
        # A malformed document leaves the validators as they were: the next poll fetches afresh.
        await self.core.run(
            self.core.store.hazards.save_feed_state,
            replace(state, failures=failures, next_poll_at=self.core.clock() + delay, last_error=str(error)[:300]),
        )
        return PollOutcome(state.feed, "malformed" if malformed else "failed", error=str(error))

    # --- the loop -----------------------------------------------------------------------------------------

    async def next_due(self) -> tuple[datetime, list[str]] | None:
        """When the next poll is due and which feeds are due then; None when no coalition watches any feed."""
        return await self.core.run(self._next_due)

    def _next_due(self) -> tuple[datetime, list[str]] | None:
        watched = sorted(self.core.store.hazards.watched_feeds())
        if not watched:
            return None
        now = self.core.clock()
        due_at = {feed: self.core.store.hazards.feed_state(feed).next_poll_at or now for feed in watched}
        first = min(due_at.values())
        return first, [feed for feed, at in due_at.items() if at <= first]

    async def run(self) -> None:
        """Poll each watched feed when it falls due, sleeping until then; return once no feed is watched.

        A change of area or feeds restarts it (the sleep is cancelled and the plan made afresh). Sleeping
        is one timer, so a simulated clock can skip to the next poll at once.
        """
        while (planned := await self.next_due()) is not None:
            due_at, feeds = planned
            delay = (due_at - self.core.clock()).total_seconds()
            if delay > 0:
                await self.sleep(delay)
                continue  # plans may have changed while asleep
            for feed in feeds:
                try:
                    await self.poll(feed)
                except Exception:
                    # Never let one bad poll end the watcher; the store write that failed is retried next time.
                    log.exception("feed %s poll failed", feed)
                    state = await self.core.run(self.core.store.hazards.feed_state, feed)
                    await self._failed(state, timedelta(seconds=FEEDS[feed].poll_s), RuntimeError("poll failed"))

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
