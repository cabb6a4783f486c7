"""The Discord side's root: ``create_bot()`` wires store, core, scheduler and cogs into a discord.py Bot."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from pathlib import Path
from typing import Any, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.clock import Clock, utc_now
from bot.core import Core
from bot.errors import UserError
from bot.ops import OpsMetrics
from bot.settings import load_settings
from bot.store import Store

log = logging.getLogger("coalesce")

EXTENSIONS = (
    "cogs.dispatcher",
    "cogs.config",
    "cogs.org",
    "cogs.event",
    "cogs.need",
    "cogs.offer",
    "cogs.match",
    "cogs.admin",
    "cogs.digest",
    "cogs.housekeeping",
    "cogs.ops",
)

GENERIC_APOLOGY = "Something went wrong on our side; it has been logged. Please try again in a moment."


class CoalesceTree(app_commands.CommandTree):
    """One error path for every command: user errors become ephemeral replies, the rest an apology."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        original = getattr(error, "original", error)
        outcome = "refused"
        if isinstance(original, UserError):
            message = original.message
        elif isinstance(error, app_commands.MissingPermissions):
            message = "Only server admins (Manage Server permission) can use this command."
        elif isinstance(error, app_commands.NoPrivateMessage):
            message = "Use this command in a server channel, not in DMs."
        elif isinstance(error, app_commands.CheckFailure):
            message = "You can't use this command here."
        else:
            outcome = "failed"
            log.error(
                "command failed: interaction=%s command=%s",
                interaction.id,
                interaction.command.qualified_name if interaction.command else "?",
                exc_info=original,
            )
            message = GENERIC_APOLOGY
        started = interaction.extras.get("started")
        cast("CoalesceBot", self.client).ops.command(
            interaction.command.qualified_name if interaction.command else "?",
            outcome,
            time.perf_counter() - started if started else None,
        )
        await send_ephemeral(interaction, message)

    def _from_interaction(self, interaction: discord.Interaction) -> None:
        # The moment the gateway handed us the interaction: how long it then queues behind others on the loop
        # decides whether a command must acknowledge at once (see cogs.common.acknowledge_if_behind).
        interaction.extras["received"] = time.perf_counter()
        cast("CoalesceBot", self.client).waiting.arrived()
        super()._from_interaction(interaction)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        interaction.extras["started"] = time.perf_counter()
        cast("CoalesceBot", self.client).waiting.started()
        return True


async def send_ephemeral(interaction: discord.Interaction, message: str) -> None:
    """Reply privately, whether or not the interaction was already answered."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())
        else:
            await interaction.response.send_message(
                message, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
    except discord.NotFound:  # the interaction expired (over 15 minutes); nothing more to tell
        log.warning("could not answer expired interaction %s", interaction.id)


class WaitingInteractions:
    """Interactions handed to us that have not started yet: background sends give way to them.

    A person waits on a command (Discord gives it 3 s); nobody waits on a channel
    announcement to the millisecond. So the outbox dispatcher lets every command
    that has arrived start before its next send, and a burst of commands is not
    slowed by the notifications of the commands before it.
    """

    def __init__(self) -> None:
        self.count = 0
        self._none = asyncio.Event()
        self._none.set()

    def arrived(self) -> None:
        self.count += 1
        self._none.clear()

    def started(self) -> None:
        self.count = max(0, self.count - 1)
        if self.count == 0:
            self._none.set()

    async def until_none(self, *, at_most: float) -> None:
        """Return once no interaction waits to start, or after ``at_most`` seconds whatever happens."""
        if self.count:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._none.wait(), at_most)


class CoalesceBot(commands.Bot):
    def __init__(self, core: Core, *, scheduler_enabled: bool = True) -> None:
        intents = discord.Intents.default()
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            tree_cls=CoalesceTree,
            help_command=None,
            # User text never pings anyone unless a message opts in for named users.
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.core = core
        self.scheduler_enabled = scheduler_enabled
        self.waiting = WaitingInteractions()
        self.ops = OpsMetrics(core)

    async def setup_hook(self) -> None:
        # The gazetteer and taxonomy load once, off the loop, before the first command needs them.
        await asyncio.to_thread(self.core.preload)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.tree.sync()
        # What start-up built (the gazetteer's places, the taxonomy, every module) lives as long as the process:
        # kept out of the collector's full passes, which would otherwise walk it all and stall the loop.
        gc.freeze()

    async def on_app_command_completion(
        self, interaction: discord.Interaction, command: app_commands.Command | app_commands.ContextMenu
    ) -> None:
        started = interaction.extras.get("started")
        elapsed_ms = (time.perf_counter() - started) * 1000 if started else -1.0
        log.info(
            "command=%s guild=%s user=%s outcome=ok latency_ms=%.1f",
            command.qualified_name,
            interaction.guild_id,
            interaction.user.id,
            elapsed_ms,
        )
        self.ops.command(command.qualified_name, "ok", elapsed_ms / 1000 if started else None)
        # Whatever the command queued in the outbox leaves now, after the reply.
        from cogs.dispatcher import dispatcher_of

        dispatcher_of(self).kick()

    async def close(self) -> None:
        await super().close()
        self.core.store.close()


def create_bot(database: str | Path, clock: Clock | None = None, **settings: Any) -> commands.Bot:
    """A bot with every cog loaded, not yet connected, its SQLite at ``database``.

    ``settings`` override the defaults of :class:`~bot.settings.Settings` by name;
    ``clock`` replaces the real clock (tests and the scheduler share it).
    """
    scheduler_enabled = bool(settings.pop("scheduler", True))
    # The defaults file, never the process environment: a bot built twice is built the same.
    resolved = load_settings(environ={}).with_overrides(database=database, **settings)
    core = Core(store=Store(resolved.database, background_checkpoints=True), settings=resolved, clock=clock or utc_now)
    return CoalesceBot(core, scheduler_enabled=scheduler_enabled)
