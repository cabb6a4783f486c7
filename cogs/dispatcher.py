"""Delivers the outbox to Discord: retried with backoff, each message marked sent once it is.

Services write notifications as outbox rows in the same transaction as their
cause; this cog is the only place they leave for Discord. Other cogs register a
sender per kind (``register``); a plain ``notice`` is handled here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, cast

import discord
from discord.ext import commands

from bot.models import ChannelKind, OutboxMessage
from cogs.common import NO_PINGS

if TYPE_CHECKING:
    from bot.app import CoalesceBot

log = logging.getLogger("coalesce.dispatcher")

Sender = Callable[[OutboxMessage, "discord.abc.Messageable"], Awaitable[None]]

MAX_ATTEMPTS = 12
BATCH = 50
# Discord DM-specific refusals: the user closed DMs or blocked the bot.
PERMANENT_CODES = {50007, 10003, 10013, 50001, 50013}


def backoff_seconds(attempts: int) -> float:
    """2, 4, 8 ... seconds, capped at ten minutes."""
    return float(min(600, 2 ** max(1, attempts + 1)))


class Dispatcher(commands.Cog):
    def __init__(self, bot: CoalesceBot) -> None:
        self.bot = bot
        self.senders: dict[str, Sender] = {"notice": send_notice}
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def register(self, kind: str, sender: Sender) -> None:
        self.senders[kind] = sender

    async def cog_unload(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        self.kick()

    def kick(self) -> None:
        """Deliver what is due soon, without the caller waiting for it."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.deliver_due())

    async def deliver_due(self) -> int:
        """Send every row that is due now; returns how many were sent."""
        if not self.bot.is_ready():
            return 0
        sent = 0
        async with self._lock:
            core = self.bot.core
            while True:
                batch = core.store.outbox.due(core.clock(), limit=BATCH)
                if not batch:
                    break
                for message in batch:
                    sent += await self._deliver(message)
            self._schedule_next()
        return sent

    def _schedule_next(self) -> None:
        """Wake again when the earliest retry falls due."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        next_at = self.bot.core.store.outbox.next_due_at()
        if next_at is None:
            return
        delay = max(0.0, (next_at - self.bot.core.clock()).total_seconds())
        self._timer = asyncio.get_running_loop().call_later(delay, self.kick)

    async def _deliver(self, message: OutboxMessage) -> int:
        core = self.bot.core
        sender = self.senders.get(message.kind)
        if sender is None:
            self._give_up(message, f"no sender for kind {message.kind!r}")
            return 0
        try:
            destination = await self._destination(message.target)
            await sender(message, destination)
        except discord.RateLimited as exc:
            self._retry(message, f"rate limited for {exc.retry_after:.1f}s", exc.retry_after)
            return 0
        except discord.HTTPException as exc:
            if exc.status == 429:
                self._retry(message, "rate limited", float(getattr(exc, "retry_after", 5.0) or 5.0))
            elif exc.status in (403, 404) or exc.code in PERMANENT_CODES:
                self._give_up(message, f"{exc.status} {exc.code}: {exc.text[:200]}")
            else:
                self._retry(message, f"{exc.status} {exc.code}: {exc.text[:200]}", None)
            return 0
        except (TimeoutError, OSError) as exc:
            self._retry(message, f"{type(exc).__name__}: {exc}", None)
            return 0
        core.store.outbox.mark_sent(message.id, core.clock())
        return 1

    async def _destination(self, target: str) -> discord.abc.Messageable:
        kind, _, raw_id = target.partition(":")
        object_id = int(raw_id)
        if kind == "channel":
            channel = self.bot.get_channel(object_id) or await self.bot.fetch_channel(object_id)
            return cast("discord.abc.Messageable", channel)
        user = self.bot.get_user(object_id) or await self.bot.fetch_user(object_id)
        return user

    def _retry(self, message: OutboxMessage, error: str, after: float | None) -> None:
        core = self.bot.core
        if message.attempts + 1 >= MAX_ATTEMPTS:
            self._give_up(message, f"gave up after {MAX_ATTEMPTS} attempts; last: {error}")
            return
        delay = after if after is not None else backoff_seconds(message.attempts)
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
            if message.kind != "notice" or not message.target.startswith("channel:"):
                what = "a direct message" if message.target.startswith("user:") else "a channel message"
                subject = f"<@{message.target[5:]}>" if message.target.startswith("user:") else message.target
                for channel_id in core.store.coalitions.channel_targets(message.coalition_id, ChannelKind.LOG):
                    core.store.outbox.enqueue(
                        message.coalition_id,
                        "notice",
                        f"channel:{channel_id}",
                        {"text": f"Could not deliver {what} ({message.kind}) to {subject}: {error[:300]}"},
                        now,
                    )


async def send_notice(message: OutboxMessage, destination: discord.abc.Messageable) -> None:
    await destination.send(str(message.payload["text"]), allowed_mentions=NO_PINGS)


def dispatcher_of(bot: commands.Bot) -> Dispatcher:
    cog = bot.get_cog("Dispatcher")
    assert isinstance(cog, Dispatcher)  # noqa: S101 - loaded first by create_bot
    return cog


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Dispatcher(cast("CoalesceBot", bot)))
