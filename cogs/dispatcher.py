"""Delivers the outbox to Discord within Discord's rate limits: each destination its own queue, each row once.

Services write notifications as outbox rows in the same transaction as their
cause; this cog is the only place they leave for Discord. Other cogs register a
sender per kind (``register``); a plain ``notice`` is handled here.

How a row travels, and why:

* **Claimed before sent.** Rows are leased in the store (who, until when; see
  :mod:`bot.store.outbox`), a destination to one process at a time. Two bot
  processes on one database never send the same row; a crashed process's leases
  lapse after ``LEASE_S`` and another process claims its rows, sending them with
  the same ``nonce`` (:func:`outbox_nonce`) so Discord drops a repeat.
* **One queue per destination.** Discord limits messages per channel (about 5 in
  5 s, a DM channel included), so each channel and each DM has its own queue and
  worker: a rate-limited or failing destination waits alone, and never holds back
  a DM or another channel. Within a destination rows leave in order of priority
  (contact reveals and proposals, then alerts and announcements, then digests),
  and in the order they were queued within a priority.
* **Rate limits are seen, not slept through blindly.** discord.py waits out a
  bucket's short reset inside a send (only that destination's worker waits); a
  wait longer than ``max_ratelimit_timeout`` raises ``RateLimited`` and the
  destination is parked until ``retry_after``. A 429 parks its own destination;
  only a global one parks every destination. The dispatcher keeps itself under
  Discord's global limit (``GLOBAL_PER_S``), which discord.py only learns of by a 429.
* **Coalescing under backlog.** A destination that had to wait for its rate limit
  may send several waiting rows of one kind as one message, when their kind
  registered a group sender (``post_announcement`` does): the queue drains at the
  rate the limit allows whatever arrives.
* **Asleep when idle.** The dispatcher sleeps until the next row falls due, a
  parked destination may resume, or a lease needs renewing; a kick (a command
  queued something) wakes it at once. Nothing polls.
* A permanent refusal (channel gone, DMs closed, missing access, a malformed
  message) is given up at once, audited, and noted in the log channel.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import os
import secrets
import socket
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

import discord
from discord.ext import commands

from bot.core import Core
from bot.models import ChannelKind, OutboxMessage
from bot.text import escape

log = logging.getLogger("coalesce.dispatcher")

Sender = Callable[[OutboxMessage, "discord.abc.Messageable"], Awaitable[None]]
# Sends several rows of one kind as one message; returns how many of them (from the first) it carried.
GroupSender = Callable[[list[OutboxMessage], "discord.abc.Messageable"], Awaitable[int]]

MAX_ATTEMPTS = 12
# Commands that have arrived go before the next send, but a notification waits at most this long for them.
COMMANDS_FIRST_S = 1.0
# When a 429 names no wait (no body field, no header), wait this long before trying again.
DEFAULT_RETRY_AFTER_S = 5.0
# Discord codes that no retry will change: unknown channel/user, DMs closed, missing access/permissions.
PERMANENT_CODES = {10003, 10013, 50001, 50007, 50013}
# The note admins get when a message is given up; never itself noted, so failures cannot chain.
FAILURE_NOTE = "delivery_failure"

# Priority by kind: lower leaves first. Kinds nobody listed here take DEFAULT_PRIORITY.
PROPOSALS, ANNOUNCEMENTS, DIGESTS = 0, 1, 2
DEFAULT_PRIORITY = ANNOUNCEMENTS
PRIORITIES: dict[str, int] = {
    "contact_reveal": PROPOSALS,
    "match_proposal": PROPOSALS,
    # Edits of a proposal keep its buttons true; they share its priority so they never overtake it.
    "match_update": PROPOSALS,
    "notice": ANNOUNCEMENTS,
    "post_announcement": ANNOUNCEMENTS,
    FAILURE_NOTE: ANNOUNCEMENTS,
    "digest": DIGESTS,
    "digest_dm": DIGESTS,
}

# A claim lasts this long and is renewed at a third of it while rows are held.
LEASE_S = 60.0
CLAIM_BATCH = 200
# Discord allows 50 requests/s per bot; the rest is left to commands' own calls (fetches, follow-ups).
GLOBAL_PER_S = 40
# A send that waited this long inside discord.py met its destination's rate limit: the queue is backlogged.
BACKLOG_WAIT_S = 1.0
# At most this many rows are offered to a group sender at once (it takes as many as fit in one message).
GROUP_MAX = 25
# Destinations sending at once; more wait their turn, highest priority first.
MAX_WORKERS = 64
# Asleep with nothing due, the dispatcher still looks this often for rows another process queued and
# left unclaimed (it crashed between queueing and claiming; its claimed rows wake us when their leases lapse).
IDLE_LOOK_S = 900.0


class Deliverer(Protocol):
    """What the dispatcher needs of the bot: a discord.py client with the core and the waiting commands."""

    core: Core
    waiting: Any

    def is_ready(self) -> bool: ...
    def get_channel(self, object_id: int, /) -> Any: ...
    def get_user(self, object_id: int, /) -> Any: ...
    async def fetch_channel(self, object_id: int, /) -> Any: ...
    async def fetch_user(self, object_id: int, /) -> Any: ...


def backoff_seconds(attempts: int) -> float:
    """2, 4, 8 ... seconds, capped at ten minutes."""
    return float(min(600, 2 ** max(1, attempts + 1)))


def retry_after_of(error: discord.HTTPException | discord.RateLimited) -> float:
    """The wait a rate limit asks for: discord.py's ``retry_after``, else the response headers."""
    if isinstance(error, discord.RateLimited):
        return max(0.0, float(error.retry_after))
    headers = getattr(error.response, "headers", None) or {}
    for header in ("Retry-After", "X-RateLimit-Reset-After"):
        value = headers.get(header)
        if value is not None:
            try:
                return max(0.0, float(value))
            except ValueError:
                continue
    return DEFAULT_RETRY_AFTER_S


def is_global(error: discord.HTTPException) -> bool:
    """A 429 from the bot's global limit (every destination waits), not from one route's bucket."""
    headers = getattr(error.response, "headers", None) or {}
    return headers.get("X-RateLimit-Scope") == "global" or str(headers.get("X-RateLimit-Global", "")).lower() == "true"


def is_permanent(error: discord.HTTPException) -> bool:
    """Refusals a retry cannot fix: every 4xx except timeouts and rate limits, and the known codes."""
    if error.code in PERMANENT_CODES:
        return True
    return 400 <= error.status < 500 and error.status not in (408, 429)


def outbox_nonce(message: OutboxMessage) -> str:
    """A nonce unique to this outbox row; Discord drops a repeat with the same nonce for a few minutes."""
    return f"ob{message.id}-{int(message.created_at.timestamp())}"[:25]


@dataclass
class Lane:
    """One destination's queue: its rows in sending order, and when it may send again."""

    target: str
    rows: list[tuple[int, int, OutboxMessage]] = field(default_factory=list)  # (priority, id, row)
    parked_until: datetime | None = None
    backlogged: bool = False
    worker: asyncio.Task[None] | None = None

    def head_key(self) -> tuple[int, int]:
        priority, row_id, _ = self.rows[0]
        return priority, row_id


class Dispatcher(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = cast("Deliverer", bot)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.senders: dict[str, Sender] = {"notice": send_notice, FAILURE_NOTE: send_notice}
        self.group_senders: dict[str, GroupSender] = {}
        self.priorities: dict[str, int] = dict(PRIORITIES)
        self.lanes: dict[str, Lane] = {}
        self._held: set[int] = set()  # ids leased to us and queued in a lane
        self._claimed_up_to = 0
        self._renew_at: datetime | None = None
        self._global_until: datetime | None = None
        self._sends: deque[float] = deque()  # loop times of recent sends, for the global limit
        self._pump: asyncio.Task[None] | None = None
        self._napping = False
        self._woken = False
        self._kicked = False
        self._full_scan = True
        self.sent = 0
        # Rows sent whose "sent" mark failed to commit: only the mark is retried, never the send.
        self._sent_unrecorded: set[int] = set()

    def register(
        self, kind: str, sender: Sender, *, priority: int | None = None, group: GroupSender | None = None
    ) -> None:
        """Deliver rows of ``kind`` with ``sender``; ``group`` may carry several waiting rows in one message."""
        self.senders[kind] = sender
        if priority is not None:
            self.priorities[kind] = priority
        if group is not None:
            self.group_senders[kind] = group

    def priority_of(self, kind: str) -> int:
        return self.priorities.get(kind, DEFAULT_PRIORITY)

    async def cog_load(self) -> None:
        self._pump = asyncio.get_running_loop().create_task(self._run())

    async def cog_unload(self) -> None:
        pump, self._pump = self._pump, None
        for task in (pump, *(lane.worker for lane in self.lanes.values())):
            if task is not None:
                task.cancel()
        with contextlib.suppress(Exception):
            await self.bot.core.run(self.bot.core.store.outbox.release, self.owner)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        self.kick()

    @commands.Cog.listener()
    async def on_app_command_completion(self, _interaction: discord.Interaction, _command: object) -> None:
        # Whatever the command queued leaves now, after the reply.
        self.kick()

    def kick(self) -> None:
        """Look for new rows now (the caller queued some), without the caller waiting for delivery."""
        self._kicked = True
        self._wake()

    def paused_until(self, target: str) -> datetime | None:
        """When a rate limit lets this destination send again, if one is in force."""
        lane = self.lanes.get(target)
        moments = [m for m in (lane.parked_until if lane else None, self._global_until) if m is not None]
        return max(moments) if moments else None

    async def deliver_due(self) -> int:
        """Send every row that is due now and wait until it has left; returns how many rows were sent."""
        if not self.bot.is_ready():
            return 0
        before = self.sent
        self._full_scan = True
        while True:
            await self._cycle()
            workers = [lane.worker for lane in self.lanes.values() if lane.worker is not None]
            if not workers:
                return self.sent - before
            progress = (self.sent, len(self._held))
            await asyncio.gather(*workers, return_exceptions=True)
            if (self.sent, len(self._held)) == progress:
                return self.sent - before  # nothing moved (the store is failing): the pump tries again later

    # ----- the pump: claim, start workers, sleep until the next moment -----

    async def _run(self) -> None:
        while True:
            self._kicked = False
            try:
                await self._cycle()
            except Exception:
                # The rows stay pending (a store write failed, most likely); the next wake tries again.
                log.exception("outbox cycle failed")
            if self._kicked:
                continue
            delay = await self._seconds_to_next_moment()
            if self._kicked:
                continue  # woken while reading the store: look again rather than nap past it
            self._napping = True
            try:
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                if not self._woken:
                    raise  # the cog is unloading
                # A kick ends the nap early (by cancelling it): carry on, no longer cancelled.
                cast("asyncio.Task[None]", asyncio.current_task()).uncancel()
            finally:
                self._napping = self._woken = False

    def _wake(self) -> None:
        if not self._napping:
            self._kicked = True  # the pump is awake, between store reads: it looks again before napping
        elif not self._woken and self._pump is not None:
            self._woken = True
            self._pump.cancel()

    async def _cycle(self) -> None:
        if not self.bot.is_ready():
            return
        core = self.bot.core
        now = core.clock()
        await self._renew(now)
        await self._claim(now)
        self._start_workers(now)

    async def _claim(self, now: datetime) -> None:
        core = self.bot.core
        after = 0 if self._full_scan else self._claimed_up_to
        self._full_scan = False
        until = now + timedelta(seconds=LEASE_S)
        while True:
            rows = await core.run(core.store.outbox.claim, self.owner, now, until, limit=CLAIM_BATCH, after_id=after)
            for row in rows:
                self._queue(row)
            if rows:
                self._claimed_up_to = max(self._claimed_up_to, rows[-1].id)
                after = rows[-1].id
                if self._renew_at is None:
                    self._renew_at = now + timedelta(seconds=LEASE_S / 3)
            if len(rows) < CLAIM_BATCH:
                return

    def _queue(self, row: OutboxMessage) -> None:
        if row.id in self._held:
            return
        self._held.add(row.id)
        lane = self.lanes.get(row.target)
        if lane is None:
            lane = self.lanes[row.target] = Lane(row.target)
        bisect.insort(lane.rows, (self.priority_of(row.kind), row.id, row), key=lambda entry: entry[:2])

    async def _renew(self, now: datetime) -> None:
        if self._renew_at is None or now < self._renew_at:
            return
        if not self._held:
            self._renew_at = None
            return
        core = self.bot.core
        still = await core.run(core.store.outbox.renew, self.owner, now + timedelta(seconds=LEASE_S))
        lost = self._held - still
        if lost:
            # Our claim lapsed (this process stalled) and another took the rows: they are theirs now.
            log.warning("outbox lost %d lease(s) to another process", len(lost))
            for lane in self.lanes.values():
                lane.rows = [entry for entry in lane.rows if entry[1] not in lost]
            self._held -= lost
        self._renew_at = now + timedelta(seconds=LEASE_S / 3)

    def _start_workers(self, now: datetime) -> None:
        if self._global_until is not None and now < self._global_until:
            return
        ready = [
            lane
            for lane in self.lanes.values()
            if lane.rows and lane.worker is None and (lane.parked_until is None or lane.parked_until <= now)
        ]
        running = sum(1 for lane in self.lanes.values() if lane.worker is not None)
        for lane in sorted(ready, key=Lane.head_key)[: max(0, MAX_WORKERS - running)]:
            lane.parked_until = None
            lane.worker = asyncio.get_running_loop().create_task(self._work(lane))
        for target in [t for t, lane in self.lanes.items() if not lane.rows and lane.worker is None]:
            del self.lanes[target]

    async def _seconds_to_next_moment(self) -> float:
        core = self.bot.core
        now = core.clock()
        moments = [now + timedelta(seconds=IDLE_LOOK_S)]
        if self._renew_at is not None:
            moments.append(self._renew_at)
        if self._global_until is not None:
            moments.append(self._global_until)
        moments += [lane.parked_until for lane in self.lanes.values() if lane.parked_until and lane.rows]
        due = await core.run(core.store.outbox.next_due_at, self.owner, now)
        if due is not None:
            moments.append(due)
            self._full_scan = True
        return max(0.0, (min(moments) - now).total_seconds())

    # ----- a destination's worker -----

    async def _work(self, lane: Lane) -> None:
        try:
            while lane.rows and not self._parked(lane):
                await self.bot.waiting.until_none(at_most=COMMANDS_FIRST_S)
                await self._global_slot()
                if not lane.rows:
                    break
                await self._send(lane, self._take(lane))
        except Exception:
            log.exception("outbox worker for %s failed", lane.target)
        finally:
            lane.worker = None
            if not lane.rows:
                lane.backlogged = False
            self._wake()

    def _parked(self, lane: Lane) -> bool:
        now = self.bot.core.clock()
        if self._global_until is not None and now < self._global_until:
            return True
        return lane.parked_until is not None and now < lane.parked_until

    def _take(self, lane: Lane) -> list[OutboxMessage]:
        """The head row, or under backlog the run of waiting rows of its kind that one message can carry."""
        head = lane.rows[0][2]
        if not lane.backlogged or head.kind not in self.group_senders:
            return [head]
        batch = [head]
        for _, _, row in lane.rows[1:GROUP_MAX]:
            if row.kind != head.kind:
                break
            batch.append(row)
        return batch

    async def _global_slot(self) -> None:
        """Wait until one more request keeps this process under ``GLOBAL_PER_S`` in any second."""
        if not getattr(getattr(self.bot, "http", None), "_buckets", None):
            # discord.py keeps a bucket per route once Discord's headers told it one; with none (the offline
            # simulator answers without rate-limit headers) there is no Discord limit to keep under.
            return
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            while self._sends and self._sends[0] <= now - 1.0:
                self._sends.popleft()
            if len(self._sends) < GLOBAL_PER_S:
                self._sends.append(now)
                return
            await asyncio.sleep(self._sends[0] + 1.0 - now)

    async def _send(self, lane: Lane, batch: list[OutboxMessage]) -> None:
        head = batch[0]
        if head.id in self._sent_unrecorded:
            await self._record_sent(lane, [head])
            return
        sender = self.senders.get(head.kind)
        if sender is None:
            await self._give_up(lane, head, f"no sender for kind {head.kind!r}")
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            destination = await self._destination(head.target)
            if len(batch) > 1:
                carried = await self.group_senders[head.kind](batch, destination)
                batch = batch[: max(1, carried)]
            else:
                await sender(head, destination)
        except discord.RateLimited as exc:
            await self._rate_limited(lane, head, retry_after_of(exc), everyone=False)
            return
        except discord.HTTPException as exc:
            detail = f"{exc.status} {exc.code}: {exc.text[:200]}"
            if exc.status == 429:
                await self._rate_limited(lane, head, retry_after_of(exc), everyone=is_global(exc))
            elif is_permanent(exc):
                await self._give_up(lane, head, detail)
            else:
                await self._retry(lane, head, detail)
            return
        except Exception as exc:
            # A network fault, or a sender that cannot render this row: set aside with backoff, never
            # allowed to block the rows behind it; MAX_ATTEMPTS ends a row that always fails.
            log.warning("outbox %s to %s raised", head.id, head.target, exc_info=True)
            await self._set_aside(lane, head, f"{type(exc).__name__}: {exc}"[:300])
            return
        if loop.time() - started >= BACKLOG_WAIT_S:
            lane.backlogged = True  # discord.py waited for this destination's bucket: more rows are waiting
        await self._record_sent(lane, batch)

    def _drop(self, lane: Lane, rows: list[OutboxMessage]) -> None:
        ids = {row.id for row in rows}
        lane.rows = [entry for entry in lane.rows if entry[1] not in ids]
        self._held -= ids
        if not self._held:
            self._renew_at = None  # nothing to renew: an idle dispatcher sleeps until something is due

    async def _record_sent(self, lane: Lane, rows: list[OutboxMessage]) -> None:
        core = self.bot.core
        now = core.clock()
        self._sent_unrecorded.update(row.id for row in rows)
        await core.run(_mark_sent, core, [row.id for row in rows], now)
        self._sent_unrecorded.difference_update(row.id for row in rows)
        self._drop(lane, rows)
        self.sent += len(rows)

    async def _destination(self, target: str) -> discord.abc.Messageable:
        kind, _, raw_id = target.partition(":")
        object_id = int(raw_id)
        if kind == "channel":
            channel = self.bot.get_channel(object_id) or await self.bot.fetch_channel(object_id)
            return cast("discord.abc.Messageable", channel)
        return cast("discord.abc.Messageable", self.bot.get_user(object_id) or await self.bot.fetch_user(object_id))

    async def _rate_limited(self, lane: Lane, message: OutboxMessage, retry_after: float, *, everyone: bool) -> None:
        core = self.bot.core
        resume = core.clock() + timedelta(seconds=retry_after)
        lane.backlogged = True
        if everyone:
            self._global_until = max(self._global_until or resume, resume)
        lane.parked_until = max(lane.parked_until or resume, resume)
        scope = "every destination" if everyone else message.target
        log.warning("outbox %s rate limited; %s waits %.2fs", message.id, scope, retry_after)
        await core.run(core.store.outbox.retry_later, message.id, f"429 rate limited for {retry_after:.2f}s", resume)

    async def _retry(self, lane: Lane, message: OutboxMessage, error: str) -> None:
        """Discord failed (5xx): the destination waits and tries its head row again, keeping its order."""
        core = self.bot.core
        if message.attempts + 1 >= MAX_ATTEMPTS:
            await self._give_up(lane, message, f"gave up after {MAX_ATTEMPTS} attempts; last: {error}")
            return
        delay = backoff_seconds(message.attempts)
        log.warning("outbox %s to %s failed (%s); retrying in %.0fs", message.id, message.target, error, delay)
        resume = core.clock() + timedelta(seconds=delay)
        await core.run(core.store.outbox.retry_later, message.id, error, resume)
        self._bump_attempts(lane, message)
        lane.parked_until = resume

    async def _set_aside(self, lane: Lane, message: OutboxMessage, error: str) -> None:
        """This row cannot be sent as it is: it retries on its own schedule, and the rows behind it go on."""
        core = self.bot.core
        if message.attempts + 1 >= MAX_ATTEMPTS:
            await self._give_up(lane, message, f"gave up after {MAX_ATTEMPTS} attempts; last: {error}")
            return
        at = core.clock() + timedelta(seconds=backoff_seconds(message.attempts))
        await core.run(core.store.outbox.retry_later, message.id, error, at, release=True)
        self._drop(lane, [message])

    def _bump_attempts(self, lane: Lane, message: OutboxMessage) -> None:
        bumped = OutboxMessage(
            id=message.id,
            coalition_id=message.coalition_id,
            kind=message.kind,
            target=message.target,
            payload=message.payload,
            attempts=message.attempts + 1,
            created_at=message.created_at,
        )
        lane.rows = [(p, i, bumped if i == message.id else row) for p, i, row in lane.rows]

    async def _give_up(self, lane: Lane, message: OutboxMessage, error: str) -> None:
        """A permanent failure: recorded, audited, and shown to admins in the log channel."""
        core = self.bot.core
        log.warning("outbox %s to %s given up: %s", message.id, message.target, error)
        self._drop(lane, [message])
        await core.run(_record_failure, core, message, error, core.clock())
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


async def send_notice(message: OutboxMessage, destination: discord.abc.Messageable) -> None:
    """A plain notice; an alert may ping the one role its server chose, never anyone else."""
    role_id = message.payload.get("role_id")
    if role_id:
        role = discord.Object(int(role_id))  # type: ignore[call-overload]
        await destination.send(
            f"<@&{role.id}> {message.payload['text']}",
            allowed_mentions=discord.AllowedMentions(everyone=False, users=False, roles=[role]),
            nonce=outbox_nonce(message),
        )
        return
    await destination.send(
        str(message.payload["text"]), allowed_mentions=discord.AllowedMentions.none(), nonce=outbox_nonce(message)
    )


def dispatcher_of(bot: commands.Bot | discord.Client) -> Dispatcher:
    # Not isinstance: load_extension executes the module afresh, so the class may be another copy of this one.
    cog = cast("commands.Bot", bot).get_cog("Dispatcher")
    if cog is None:
        raise RuntimeError("the dispatcher cog is not loaded")
    return cast("Dispatcher", cog)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Dispatcher(bot))
