"""What becomes of a row once Discord has answered: sent, waiting out a rate limit or an outage, given up.

Each outcome is written to the store (``bot.store.outbox``, on the store thread) and
reflected in the row's lane. A rate limit or an outage parks the destination and keeps its order; a
row that cannot be rendered is set aside so the rows behind it go on; a permanent
refusal is given up, audited, and noted in the log channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.core import Core
from bot.models import ChannelKind, OutboxMessage
from bot.text import escape
from cogs.dispatcher_lanes import Lane, Lanes
from cogs.dispatcher_policy import FAILURE_NOTE, MAX_ATTEMPTS, backoff_seconds

log = logging.getLogger("coalesce.dispatcher")


class Outcomes:
    def __init__(self, core: Core, lanes: Lanes, kick: Callable[[], None]) -> None:
        self.core = core
        self.lanes = lanes
        self.kick = kick  # a failure note was queued: look for it now
        self.sent = 0
        # Rows sent whose "sent" mark failed to commit: only the mark is retried, never the send.
        self.sent_unrecorded: set[int] = set()

    async def record_sent(self, lane: Lane, rows: list[OutboxMessage]) -> None:
        now = self.core.clock()
        self.sent_unrecorded.update(row.id for row in rows)
        await self.core.run(_mark_sent, self.core, [row.id for row in rows], now)
        self.sent_unrecorded.difference_update(row.id for row in rows)
        self.lanes.drop(lane, {row.id for row in rows})
        self.sent += len(rows)

    async def rate_limited(self, lane: Lane, message: OutboxMessage, retry_after: float, *, everyone: bool) -> datetime:
        """A 429: the destination (or, ``everyone``, the caller's every destination) waits; returns until when."""
        resume = self.core.clock() + timedelta(seconds=retry_after)
        lane.waited(resume)
        lane.parked_until = max(lane.parked_until or resume, resume)
        scope = "every destination" if everyone else message.target
        log.warning("outbox %s rate limited; %s waits %.2fs", message.id, scope, retry_after)
        await self.core.run(
            self.core.store.outbox.retry_later, message.id, f"429 rate limited for {retry_after:.2f}s", resume
        )
        return resume

    async def retry(self, lane: Lane, message: OutboxMessage, error: str) -> None:
        """Discord failed (5xx): the destination waits and tries its head row again, keeping its order."""
        if message.attempts + 1 >= MAX_ATTEMPTS:
            await self.give_up(lane, message, f"gave up after {MAX_ATTEMPTS} attempts; last: {error}")
            return
        delay = backoff_seconds(message.attempts)
        log.warning("outbox %s to %s failed (%s); retrying in %.0fs", message.id, message.target, error, delay)
        resume = self.core.clock() + timedelta(seconds=delay)
        await self.core.run(self.core.store.outbox.retry_later, message.id, error, resume)
        self.lanes.replace(lane, _with_attempt(message))
        lane.parked_until = resume

    async def set_aside(self, lane: Lane, message: OutboxMessage, error: str) -> None:
        """This row cannot be sent as it is: it retries on its own schedule, and the rows behind it go on."""
        if message.attempts + 1 >= MAX_ATTEMPTS:
            await self.give_up(lane, message, f"gave up after {MAX_ATTEMPTS} attempts; last: {error}")
            return
        at = self.core.clock() + timedelta(seconds=backoff_seconds(message.attempts))
        await self.core.run(self.core.store.outbox.retry_later, message.id, error, at, release=True)
        self.lanes.drop(lane, {message.id})

    async def give_up(self, lane: Lane, message: OutboxMessage, error: str) -> None:
        """A permanent failure: recorded, audited, and shown to admins in the log channel."""
        log.warning("outbox %s to %s given up: %s", message.id, message.target, error)
        self.lanes.drop(lane, {message.id})
        await self.core.run(_record_failure, self.core, message, error, self.core.clock())
        self.kick()


def _mark_sent(core: Core, ids: list[int], now: datetime) -> None:
    with core.store.atomic():
        for row_id in ids:
            core.store.outbox.mark_sent(row_id, now)


def _record_failure(core: Core, message: OutboxMessage, error: str, now: datetime) -> None:
    """On the store thread: the row given up, audited, and a note queued for each log channel."""
    with core.store.atomic():
        core.store.outbox.give_up(message.id, error, now)
        core.store.audit.record(
            message.coalition_id, 0, "outbox.failed", message.target, now, kind=message.kind, error=error
        )
        if message.kind == FAILURE_NOTE:
            return
        is_dm = message.target.startswith("user:")
        what = "a direct message" if is_dm else "a channel message"
        subject = f"<@{message.target[5:]}>" if is_dm else f"<#{message.target[8:]}>"
        text = f"Could not deliver {what} ({message.kind}) to {subject}: {escape(error[:300])}"
        for channel_id in core.store.coalitions.channel_targets(message.coalition_id, ChannelKind.LOG):
            if f"channel:{channel_id}" != message.target:
                core.store.outbox.enqueue(
                    message.coalition_id, FAILURE_NOTE, f"channel:{channel_id}", {"text": text}, now
                )


def _with_attempt(message: OutboxMessage) -> OutboxMessage:
    return OutboxMessage(
        id=message.id,
        coalition_id=message.coalition_id,
        kind=message.kind,
        target=message.target,
        payload_json=message.payload_json,
        attempts=message.attempts + 1,
        created_at=message.created_at,
    )
