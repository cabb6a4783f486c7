"""Delivers the outbox to Discord: retried with backoff, each message marked sent once it is.

Services write notifications as outbox rows in the same transaction as their
cause; this cog is the only place they leave for Discord. Other cogs register a
sender per kind (``register``); a plain ``notice`` is handled here.

Guarantees, and where they stop:

* A row stays ``pending`` until a send succeeds, so an outage or a crash delays a
  notification and never loses it.
* Within a process a row is never sent twice after a send succeeded: it is marked
  sent at once, and if that write fails the id is remembered and only the mark is
  retried. Across a crash between the send and the mark, the row is sent again
  with the same ``nonce`` (see :func:`outbox_nonce`), which Discord uses to drop
  the repeat when it arrives within a few minutes.
* A 429 is honoured exactly: the row waits ``retry_after`` seconds and the whole
  dispatcher pauses until then, since the next message would only meet the same
  limit.
* A permanent refusal (channel gone, DMs closed, missing access, a malformed
  message) is given up at once, audited, and noted in the log channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

import discord
from discord.ext import commands, tasks

from bot.models import ChannelKind, OutboxMessage
from bot.text import escape
from cogs.common import NO_PINGS

if TYPE_CHECKING:
    from bot.app import CoalesceBot

log = logging.getLogger("coalesce.dispatcher")

Sender = Callable[[OutboxMessage, "discord.abc.Messageable"], Awaitable[None]]

MAX_ATTEMPTS = 12
BATCH = 50
# How often the dispatcher looks for rows that fell due (retries, rows queued outside a command).
# A retry therefore leaves at most this long after its time, and never before it.
POLL_SECONDS = 1.0
# Commands that have arrived go before the next send, but a notification waits at most this long for them.
COMMANDS_FIRST_S = 1.0
# When a 429 names no wait (no body field, no header), wait this long before trying again.
DEFAULT_RETRY_AFTER_S = 5.0
# Discord codes that no retry will change: unknown channel/user, DMs closed, missing access/permissions.
PERMANENT_CODES = {10003, 10013, 50001, 50007, 50013}
# The note admins get when a message is given up; never itself noted, so failures cannot chain.
FAILURE_NOTE = "delivery_failure"


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


def is_permanent(error: discord.HTTPException) -> bool:
    """Refusals a retry cannot fix: every 4xx except timeouts and rate limits, and the known codes."""
    if error.code in PERMANENT_CODES:
        return True
    return 400 <= error.status < 500 and error.status not in (408, 429)


def outbox_nonce(message: OutboxMessage) -> str:
    """A nonce unique to this outbox row; Discord drops a repeat with the same nonce for a few minutes."""
    return f"ob{message.id}-{int(message.created_at.timestamp())}"[:25]


class Dispatcher(commands.Cog):
    def __init__(self, bot: CoalesceBot) -> None:
        self.bot = bot
        self.senders: dict[str, Sender] = {"notice": send_notice, FAILURE_NOTE: send_notice}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._paused_until: datetime | None = None
        # Rows sent whose "sent" mark failed to commit: only the mark is retried, never the send.
        self._sent_unrecorded: set[int] = set()

    def register(self, kind: str, sender: Sender) -> None:
        self.senders[kind] = sender

    async def cog_load(self) -> None:
        self.poll.start()

    async def cog_unload(self) -> None:
        self.poll.cancel()

    @tasks.loop(seconds=POLL_SECONDS)
    async def poll(self) -> None:
        """Start a delivery run when a row has fallen due; cheap (one indexed MIN) when none has."""
        try:
            core = self.bot.core
            next_at = core.store.outbox.next_due_at()
            if self.bot.is_ready() and next_at is not None and next_at <= core.clock() and not self._is_paused():
                self.kick()
        except Exception:
            log.exception("outbox poll failed")

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        self.kick()

    def kick(self) -> None:
        """Deliver what is due soon, without the caller waiting for it."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._deliver_quietly())

    async def _deliver_quietly(self) -> None:
        try:
            await self.deliver_due()
        except Exception:
            # The rows stay pending (a store write failed, most likely); the poll starts another run.
            log.exception("outbox delivery run failed")

    @property
    def paused_until(self) -> datetime | None:
        """When a rate limit lets delivery resume, if one is in force."""
        return self._paused_until

    async def deliver_due(self) -> int:
        """Send every row that is due now; returns how many were sent."""
        if not self.bot.is_ready():
            return 0
        sent = 0
        async with self._lock:
            core = self.bot.core
            seen: set[int] = set()
            while not self._is_paused():
                batch = [m for m in core.store.outbox.due(core.clock(), limit=BATCH) if m.id not in seen]
                if not batch:
                    break
                for message in batch:
                    seen.add(message.id)
                    await self.bot.waiting.until_none(at_most=COMMANDS_FIRST_S)
                    sent += await self._deliver(message)
                    if self._is_paused():
                        break
        return sent

    def _is_paused(self) -> bool:
        if self._paused_until is None:
            return False
        if self.bot.core.clock() >= self._paused_until:
            self._paused_until = None
            return False
        return True

    async def _deliver(self, message: OutboxMessage) -> int:
        if message.id in self._sent_unrecorded:
            self._record_sent(message)
            return 0
        sender = self.senders.get(message.kind)
        if sender is None:
            self._give_up(message, f"no sender for kind {message.kind!r}")
            return 0
        try:
            destination = await self._destination(message.target)
            await sender(message, destination)
        except discord.RateLimited as exc:
            self._rate_limited(message, retry_after_of(exc))
            return 0
        except discord.HTTPException as exc:
            detail = f"{exc.status} {exc.code}: {exc.text[:200]}"
            if exc.status == 429:
                self._rate_limited(message, retry_after_of(exc))
            elif is_permanent(exc):
                self._give_up(message, detail)
            else:
                self._retry(message, detail)
            return 0
        except Exception as exc:
            # A network fault, or a sender that cannot render this row: retried with backoff, never
            # allowed to block the rows behind it; MAX_ATTEMPTS ends a row that always fails.
            log.warning("outbox %s to %s raised", message.id, message.target, exc_info=True)
            self._retry(message, f"{type(exc).__name__}: {exc}"[:300])
            return 0
        self._record_sent(message)
        return 1

    def _record_sent(self, message: OutboxMessage) -> None:
        core = self.bot.core
        self._sent_unrecorded.add(message.id)
        core.store.outbox.mark_sent(message.id, core.clock())
        self._sent_unrecorded.discard(message.id)

    async def _destination(self, target: str) -> discord.abc.Messageable:
        kind, _, raw_id = target.partition(":")
        object_id = int(raw_id)
        if kind == "channel":
            channel = self.bot.get_channel(object_id) or await self.bot.fetch_channel(object_id)
            return cast("discord.abc.Messageable", channel)
        user = self.bot.get_user(object_id) or await self.bot.fetch_user(object_id)
        return user

    def _rate_limited(self, message: OutboxMessage, retry_after: float) -> None:
        core = self.bot.core
        resume = core.clock() + timedelta(seconds=retry_after)
        self._paused_until = max(self._paused_until or resume, resume)
        log.warning("outbox %s to %s rate limited; pausing delivery %.2fs", message.id, message.target, retry_after)
        core.store.outbox.retry_later(message.id, f"429 rate limited for {retry_after:.2f}s", resume)

    def _retry(self, message: OutboxMessage, error: str) -> None:
        core = self.bot.core
        if message.attempts + 1 >= MAX_ATTEMPTS:
            self._give_up(message, f"gave up after {MAX_ATTEMPTS} attempts; last: {error}")
            return
        delay = backoff_seconds(message.attempts)
        log.warning("outbox %s to %s failed (%s); retrying in %.0fs", message.id, message.target, error, delay)
        core.store.outbox.retry_later(message.id, error, core.clock() + timedelta(seconds=delay))

    def _give_up(self, message: OutboxMessage, error: str) -> None:
        """A permanent failure: recorded, audited, and shown to admins in the log channel."""
        core = self.bot.core
        now = core.clock()
        log.warning("outbox %s to %s given up: %s", message.id, message.target, error)
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
    await destination.send(str(message.payload["text"]), allowed_mentions=NO_PINGS, nonce=outbox_nonce(message))


def dispatcher_of(bot: commands.Bot) -> Dispatcher:
    # Not isinstance: load_extension executes the module afresh, so the class may be another copy of this one.
    cog = bot.get_cog("Dispatcher")
    if cog is None:
        raise RuntimeError("the dispatcher cog is not loaded")
    return cast("Dispatcher", cog)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Dispatcher(cast("CoalesceBot", bot)))
