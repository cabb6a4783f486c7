"""Upkeep on the bot's clock: posts past their date expire, silent posts are asked and marked, proposals
time out, deliveries are chased, and contacts past retention are erased.

An idle bot sleeps until the next due moment: one timer, set from the database
(the soonest deadline, freshness step and match time-out, each an indexed MIN),
and set again after every sweep and every command or click that may have
brought a moment closer. The state lives in the store, so a restarted bot finds
what fell due while it was down and does it at once. Under simulation the
bot's clock and the timer both follow simulated time.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

from discord.ext import commands

from bot.retention import purge_expired_contacts
from bot.services import upkeep
from bot.services.post_lifecycle import expire_due
from bot.services.upkeep import FollowUp
from cogs.dispatcher import dispatcher_of

if TYPE_CHECKING:
    from bot.app import CoalesceBot

log = logging.getLogger("coalesce.housekeeping")

# Contact retention is counted in days: looking every few hours is plenty, and bounds an idle bot's sleep.
RETENTION_CHECK = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class SweepResult:
    expired: int
    purged: int
    follow_up: FollowUp

    @property
    def changed(self) -> bool:
        return bool(self.expired or self.purged or self.follow_up.changed)


class Housekeeping(commands.Cog):
    def __init__(self, bot: CoalesceBot) -> None:
        self.bot = bot
        self._timer: asyncio.TimerHandle | None = None
        self._sweeping: asyncio.Task[None] | None = None
        self._planning: asyncio.Task[None] | None = None
        self._replan = False
        self._last_retention: datetime | None = None
        self.wake_at: datetime | None = None

    async def cog_unload(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._sweeping is not None:
            self._sweeping.cancel()
        if self._planning is not None:
            self._planning.cancel()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        self.reschedule()

    @commands.Cog.listener()
    async def on_app_command_completion(self, _interaction: object, _command: object) -> None:
        # The command may have brought a freshness step or a time-out closer than the sleeping timer.
        self.reschedule()

    async def next_due(self) -> datetime:
        """The soonest moment something is due; never later than the next retention check."""
        now = self.bot.core.clock()
        if self._last_retention is None:
            return now  # just started: do at once what fell due while the bot was down
        retention = self._last_retention + RETENTION_CHECK
        due = await self.bot.core.call(upkeep.next_due)
        return min(retention, due) if due is not None else retention

    def reschedule(self) -> None:
        """Set the one timer for the next due moment (call after anything that may bring one closer).

        The due moment is read on the store thread, after every write queued before this call; a call
        while a read is on its way asks for one more read, so no write is planned from a stale answer.
        """
        if not self.bot.scheduler_enabled or not self.bot.is_ready():
            return
        if self._sweeping is not None and not self._sweeping.done():
            return  # the running sweep sets the timer when it ends
        if self._planning is not None and not self._planning.done():
            self._replan = True
            return
        self._planning = asyncio.get_running_loop().create_task(self._plan())

    async def _plan(self) -> None:
        while True:
            self._replan = False
            wake_at = await self.next_due()
            if not self._replan:
                break
        if self._sweeping is not None and not self._sweeping.done():
            return  # a sweep started meanwhile sets the timer when it ends
        if self._timer is not None:
            self._timer.cancel()
        self.wake_at = wake_at
        delay = max(0.0, (wake_at - self.bot.core.clock()).total_seconds())
        self._timer = asyncio.get_running_loop().call_later(delay, self._wake)

    def _wake(self) -> None:
        self._timer = None
        if self._sweeping is None or self._sweeping.done():
            self._sweeping = asyncio.get_running_loop().create_task(self._sweep_then_sleep())

    async def _sweep_then_sleep(self) -> None:
        try:
            await self.sweep()
        except Exception:
            log.exception("housekeeping sweep failed")
        finally:
            self._sweeping = None
            self.reschedule()

    async def sweep(self) -> SweepResult:
        """Do everything that is due, in short transactions with the loop free between batches."""
        core = self.bot.core
        expired = await core.call(expire_due)
        now = core.clock()
        purged = 0
        if self._last_retention is None or now >= self._last_retention + RETENTION_CHECK:
            purged = await core.call(purge_expired_contacts)
            self._last_retention = now
        result = SweepResult(len(expired), purged, await upkeep.follow_up(core))
        if result.changed:
            log.info("housekeeping: %s", result)
            dispatcher_of(self.bot).kick()
        return result


def housekeeping_of(bot: commands.Bot) -> Housekeeping | None:
    return cast("Housekeeping | None", bot.get_cog("Housekeeping"))


def reschedule(bot: commands.Bot) -> None:
    """After a command or click: a new post or match may be due sooner than the timer."""
    cog = housekeeping_of(bot)
    if cog is not None:
        cog.reschedule()


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Housekeeping(cast("CoalesceBot", bot)))
