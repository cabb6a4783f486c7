"""Periodic upkeep: posts past their date expire, posts that waited for a near partner reach the whole event,
and contacts past retention are erased.

Both also happen lazily where they matter (an expired post never matches), so
this loop only makes sure it happens even when nobody is typing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, cast

from discord.ext import commands, tasks

from bot.retention import purge_expired_contacts
from bot.services.posts import expire_due
from bot.services.proposals import widen_due
from cogs.dispatcher import dispatcher_of

if TYPE_CHECKING:
    from bot.app import CoalesceBot

log = logging.getLogger("coalesce.housekeeping")


class Housekeeping(commands.Cog):
    def __init__(self, bot: CoalesceBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        if self.bot.scheduler_enabled:
            self.every_five_minutes.start()

    async def cog_unload(self) -> None:
        self.every_five_minutes.cancel()

    @tasks.loop(minutes=5)
    async def every_five_minutes(self) -> None:
        await self.sweep()

    @every_five_minutes.before_loop
    async def before_first_sweep(self) -> None:
        await self.bot.wait_until_ready()

    async def sweep(self) -> tuple[int, int]:
        """Expire what is due and purge what retention allows; returns (expired posts, purged contacts)."""
        core = self.bot.core
        expired = expire_due(core)
        widened = widen_due(core, core.clock())
        purged = purge_expired_contacts(core)
        if expired or widened or purged:
            log.info(
                "housekeeping: %d post(s) expired, %d widened, %d contact(s) purged", len(expired), widened, purged
            )
            dispatcher_of(self.bot).kick()
        return len(expired), purged


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Housekeeping(cast("CoalesceBot", bot)))
