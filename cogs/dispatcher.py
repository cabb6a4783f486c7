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
  lately sends several waiting rows of one kind as one message, when their kind
  registered a group sender (announcements, proposals and their edits, notices
  do): the queue drains at the rate the limit allows whatever arrives.
* **Asleep when idle.** The dispatcher sleeps until the next row falls due, a
  parked destination may resume, or a lease needs renewing; a kick (a command
  queued something) wakes it at once. Nothing polls.
* A permanent refusal (channel gone, DMs closed, missing access, a malformed
  message) is given up at once, audited, and noted in the log channel.

The rules (priorities, waits, what is permanent) are in :mod:`cogs.dispatcher_policy`,
the lanes in :mod:`cogs.dispatcher_lanes`, plain notices in :mod:`cogs.dispatcher_notices`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

import discord
from discord.ext import commands

from bot.core import Core
from bot.models import OutboxMessage
from cogs.dispatcher_lanes import GlobalPace, Lane, Lanes
from cogs.dispatcher_notices import send_notice, send_notices
from cogs.dispatcher_outcomes import Outcomes
from cogs.dispatcher_policy import (
    DEFAULT_PRIORITY,
    FAILURE_NOTE,
    PRIORITIES,
    GroupSender,
    Sender,
    is_global,
    is_permanent,
    retry_after_of,
)
from cogs.dispatcher_policy import outbox_nonce as outbox_nonce  # senders elsewhere take it from here

log = logging.getLogger("coalesce.dispatcher")

# Commands that have arrived go before the next send, but a notification waits at most this long for them.
COMMANDS_FIRST_S = 1.0
# A claim lasts this long and is renewed at a third of it while rows are held.
LEASE_S = 60.0
CLAIM_BATCH = 200
# Discord allows 50 requests/s per bot; the rest is left to commands' own calls (fetches, follow-ups).
GLOBAL_PER_S = 40
# A send that waited this long inside discord.py met its destination's rate limit: the queue is backlogged.
BACKLOG_WAIT_S = 1.0
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


class Dispatcher(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = cast("Deliverer", bot)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.senders: dict[str, Sender] = {"notice": send_notice, FAILURE_NOTE: send_notice}
        self.group_senders: dict[str, GroupSender] = {"notice": send_notices, FAILURE_NOTE: send_notices}
        self.priorities: dict[str, int] = dict(PRIORITIES)
        self.lanes = Lanes()
        self._pace = GlobalPace(GLOBAL_PER_S)
        self._claimed_up_to = 0
        self._renew_at: datetime | None = None
        self._global_until: datetime | None = None
        self.outcomes = Outcomes(self.bot.core, self.lanes, self.kick)
        self._pump: asyncio.Task[None] | None = None
        self._napping = False
        self._woken = False
        self._kicked = False
        self._full_scan = True

    def register(
        self, kind: str, sender: Sender, *, priority: int | None = None, group: GroupSender | None = None
    ) -> None:
        """Deliver rows of ``kind`` with ``sender``; ``group`` may carry several waiting rows in one message."""
        self.senders[kind] = sender
        if priority is not None:
            self.priorities[kind] = priority
        if group is not None:
            self.group_senders[kind] = group

    @property
    def sent(self) -> int:
        """Rows this dispatcher has sent since it started."""
        return self.outcomes.sent

    def priority_of(self, kind: str) -> int:
        return self.priorities.get(kind, DEFAULT_PRIORITY)

    async def cog_load(self) -> None:
        self._pump = asyncio.get_running_loop().create_task(self._run())

    async def cog_unload(self) -> None:
        pump, self._pump = self._pump, None
        for task in (pump, *self.lanes.running()):
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
            workers = self.lanes.running()
            if not workers:
                return self.sent - before
            progress = (self.sent, len(self.lanes.held))
            await asyncio.gather(*workers, return_exceptions=True)
            if (self.sent, len(self.lanes.held)) == progress:
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
                self.lanes.queue(row, self.priority_of(row.kind))
            if rows:
                self._claimed_up_to = max(self._claimed_up_to, rows[-1].id)
                after = rows[-1].id
                if self._renew_at is None:
                    self._renew_at = now + timedelta(seconds=LEASE_S / 3)
            if len(rows) < CLAIM_BATCH:
                return

    async def _renew(self, now: datetime) -> None:
        if self._renew_at is None or now < self._renew_at:
            return
        if not self.lanes.held:
            self._renew_at = None
            return
        core = self.bot.core
        still = await core.run(core.store.outbox.renew, self.owner, now + timedelta(seconds=LEASE_S))
        lost = self.lanes.held - still
        if lost:
            # Our claim lapsed (this process stalled) and another took the rows: they are theirs now.
            log.warning("outbox lost %d lease(s) to another process", len(lost))
            self.lanes.forget(lost)
        self._renew_at = now + timedelta(seconds=LEASE_S / 3)

    def _start_workers(self, now: datetime) -> None:
        if self._global_until is not None and now < self._global_until:
            return
        for lane in self.lanes.ready(now, MAX_WORKERS - len(self.lanes.running())):
            lane.parked_until = None
            lane.worker = asyncio.get_running_loop().create_task(self._work(lane))
        self.lanes.prune(now)

    async def _seconds_to_next_moment(self) -> float:
        core = self.bot.core
        now = core.clock()
        moments = [now + timedelta(seconds=IDLE_LOOK_S)]
        if self._renew_at is not None and self.lanes.held:
            moments.append(self._renew_at)
        if self._global_until is not None:
            moments.append(self._global_until)
        moments += self.lanes.parked_moments()
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
                await self._send(lane, Lanes.take(lane, self.bot.core.clock(), self.group_senders))
        except Exception:
            log.exception("outbox worker for %s failed", lane.target)
        finally:
            lane.worker = None
            self._wake()

    def _parked(self, lane: Lane) -> bool:
        now = self.bot.core.clock()
        if self._global_until is not None and now < self._global_until:
            return True
        return lane.parked_until is not None and now < lane.parked_until

    async def _global_slot(self) -> None:
        """Wait until one more request keeps this process under ``GLOBAL_PER_S`` in any second."""
        if not getattr(getattr(self.bot, "http", None), "_buckets", None):
            # discord.py keeps a bucket per route once Discord's headers told it one; with none (the offline
            # simulator answers without rate-limit headers) there is no Discord limit to keep under.
            return
        await self._pace.slot()

    async def _send(self, lane: Lane, batch: list[OutboxMessage]) -> None:
        head = batch[0]
        outcomes = self.outcomes
        if head.id in outcomes.sent_unrecorded:
            await outcomes.record_sent(lane, [head])
            return
        sender = self.senders.get(head.kind)
        if sender is None:
            await outcomes.give_up(lane, head, f"no sender for kind {head.kind!r}")
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
            await outcomes.rate_limited(lane, head, retry_after_of(exc), everyone=False)
            return
        except discord.HTTPException as exc:
            detail = f"{exc.status} {exc.code}: {exc.text[:200]}"
            if exc.status == 429 and is_global(exc):
                resume = await outcomes.rate_limited(lane, head, retry_after_of(exc), everyone=True)
                self._global_until = max(self._global_until or resume, resume)
            elif exc.status == 429:
                await outcomes.rate_limited(lane, head, retry_after_of(exc), everyone=False)
            elif is_permanent(exc):
                await outcomes.give_up(lane, head, detail)
            else:
                await outcomes.retry(lane, head, detail)
            return
        except Exception as exc:
            # A network fault, or a sender that cannot render this row: set aside with backoff, never
            # allowed to block the rows behind it; MAX_ATTEMPTS ends a row that always fails.
            log.warning("outbox %s to %s raised", head.id, head.target, exc_info=True)
            await outcomes.set_aside(lane, head, f"{type(exc).__name__}: {exc}"[:300])
            return
        if loop.time() - started >= BACKLOG_WAIT_S:
            lane.waited(self.bot.core.clock())  # discord.py waited for this destination's bucket
        await outcomes.record_sent(lane, batch)

    async def _destination(self, target: str) -> discord.abc.Messageable:
        kind, _, raw_id = target.partition(":")
        object_id = int(raw_id)
        if kind == "channel":
            channel = self.bot.get_channel(object_id) or await self.bot.fetch_channel(object_id)
            return cast("discord.abc.Messageable", channel)
        return cast("discord.abc.Messageable", self.bot.get_user(object_id) or await self.bot.fetch_user(object_id))


def dispatcher_of(bot: commands.Bot | discord.Client) -> Dispatcher:
    # Not isinstance: load_extension executes the module afresh, so the class may be another copy of this one.
    cog = cast("commands.Bot", bot).get_cog("Dispatcher")
    if cog is None:
        raise RuntimeError("the dispatcher cog is not loaded")
    return cast("Dispatcher", cog)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Dispatcher(bot))
