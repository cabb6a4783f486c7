"""The Discord side's root: ``create_bot()`` wires store, core, scheduler and cogs into a discord.py Bot."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.clock import Clock
from bot.collection import QuietCollector
from bot.core import Core, for_a_person
from bot.errors import UserError
from bot.ops import OpsMetrics
from bot.settings import load_settings
from bot.store import Store

log = logging.getLogger("coalesce")

EXTENSIONS = (
    "cogs.dispatcher",
    "cogs.config",
    "cogs.coalition",
    "cogs.org",
    "cogs.event",
    "cogs.need",
    "cogs.offer",
    "cogs.match",
    "cogs.admin",
    "cogs.digest",
    "cogs.housekeeping",
    "cogs.follow_through",
    "cogs.hazards",
    "cogs.ops",
)

RATE_LIMIT_WAIT_MAX_S = 30.0
# interaction.extras key: the interaction was acknowledged publicly, so a refusal must not follow it up as is.
DEFERRED_PUBLICLY = "deferred_publicly"

GENERIC_APOLOGY = "Something went wrong on our side; it has been logged. Please try again in a moment."


class CoalesceTree(app_commands.CommandTree):
    """One error path for every command: refusals are answered where they arise, the rest is an apology.

    A refusal (a :class:`UserError`, a failed permission or server check) is the
    command's normal answer, not a failure: it is answered privately inside the
    command's own invocation and never reaches :meth:`on_error`. So ``on_error``
    (and whatever watches it: simcord's error log, offline mode's "action failed"
    badge) sees only what went wrong on our side.
    """

    def add_command(self, command: Any, /, **kwargs: Any) -> None:
        super().add_command(command, **kwargs)
        leaves = command.walk_commands() if isinstance(command, app_commands.Group) else (command,)
        for leaf in leaves:
            if isinstance(leaf, app_commands.Command):
                _answer_refusals_of(leaf)

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        if await answer_refusal(interaction, error):
            return  # only reachable for a refusal raised outside a command's invocation
        log_outcome(interaction, "error", "error")
        log.error(
            "command failed: interaction=%s command=%s",
            interaction.id,
            interaction.command.qualified_name if interaction.command else "?",
            exc_info=getattr(error, "original", error),
        )
        await send_ephemeral(interaction, GENERIC_APOLOGY)

    def _from_interaction(self, interaction: discord.Interaction) -> None:
        # The moment the gateway handed us the interaction: how long it then queues behind others on the loop
        # decides whether a command must acknowledge at once (see cogs.common.in_time).
        interaction.extras["received"] = time.perf_counter()
        client = cast("CoalesceBot", self.client)
        client.waiting.arrived()
        client.quiet_collection.command_arrived()
        # The task discord.py starts for the interaction inherits this: its store work counts as a person's.
        token = for_a_person.set(True)
        try:
            super()._from_interaction(interaction)
        finally:
            for_a_person.reset(token)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Refuse a guild-only command that arrives from a DM: Discord's client hides it there, nothing more.

        A crafted request can still send it, and discord.py does not check, so the
        bot does, before the command runs.
        """
        interaction.extras["started"] = time.perf_counter()
        cast("CoalesceBot", self.client).waiting.started()
        if interaction.guild_id is None and is_guild_only(interaction.command):
            # Autocomplete has nothing to suggest outside a server, and no way to say so.
            if interaction.type is not discord.InteractionType.autocomplete:
                await answer_refusal(interaction, app_commands.NoPrivateMessage())
            return False
        return True


def carries(message: discord.Message | None, custom_id: str) -> bool:
    """Whether the message shows a component with this custom id (at any depth of its rows)."""
    if message is None:
        return False
    rows: list[object] = list(message.components)
    while rows:
        component = rows.pop()
        if getattr(component, "custom_id", None) == custom_id:
            return True
        rows.extend(getattr(component, "children", None) or [])
    return False


def is_guild_only(command: object) -> bool:
    """Whether the command, or a group it belongs to, is declared for servers only."""
    while command is not None:
        contexts = getattr(command, "allowed_contexts", None)
        if getattr(command, "guild_only", False) or (
            contexts is not None and not contexts.dm_channel and not contexts.private_channel
        ):
            return True
        command = getattr(command, "parent", None)
    return False


def refusal_code(error: Exception) -> str:
    """The reason a command or click did not go through, as a code for logs (never the message)."""
    original = getattr(error, "original", error)
    if isinstance(original, UserError):
        return original.code
    if isinstance(error, app_commands.MissingPermissions):
        return "missing_permissions"
    if isinstance(error, app_commands.NoPrivateMessage):
        return "guild_only"
    if isinstance(error, app_commands.CheckFailure):
        return "check_failed"
    return "error"


def log_outcome(interaction: discord.Interaction, outcome: str, reason: str, *, action: str | None = None) -> None:
    """One line per command or click: what, where, how it ended and why. No user id, no typed text."""
    started = interaction.extras.get("started")
    elapsed_ms = (time.perf_counter() - started) * 1000 if started else -1.0
    if action is None:
        command = interaction.command
        action = f"command={command.qualified_name if command else '?'}"
    log.info(
        "%s guild=%s interaction=%s outcome=%s reason=%s latency_ms=%.1f",
        action,
        interaction.guild_id,
        interaction.id,
        outcome,
        reason,
        elapsed_ms,
    )
    ops = getattr(interaction.client, "ops", None)
    if isinstance(ops, OpsMetrics):  # the same outcome, counted for /metrics
        kind, _, name = action.partition("=")
        ops.command(kind, name, outcome, elapsed_ms / 1000 if started else None)


def refusal_message(error: BaseException) -> str | None:
    """What to tell the person when ``error`` is a refusal; ``None`` when it is a failure of ours."""
    original = getattr(error, "original", error)
    if isinstance(original, UserError):
        return original.message
    if isinstance(error, app_commands.MissingPermissions):
        return "Only server admins (Manage Server permission) can use this command."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "Use this command in a server channel, not in DMs."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    return None


async def answer_refusal(interaction: discord.Interaction, error: BaseException) -> bool:
    """Answer ``error`` privately if it is a refusal; ``False`` (nothing sent) if it is not one."""
    message = refusal_message(error)
    if message is None:
        return False
    interaction.command_failed = True  # not a completion: nothing to log as "ok", nothing queued to send
    log_outcome(interaction, "refused", refusal_code(error))
    await send_ephemeral(interaction, message)
    return True


def _answer_refusals_of(command: app_commands.Command) -> None:
    """Make ``command`` answer its own refusals, so they never leave its invocation as errors."""
    invoke = command._invoke_with_namespace
    if getattr(invoke, "answers_refusals", False):
        return

    async def invoke_answering_refusals(interaction: discord.Interaction, namespace: app_commands.Namespace) -> Any:
        try:
            return await invoke(interaction, namespace)
        except app_commands.AppCommandError as error:
            if not await answer_refusal(interaction, error):
                raise
            return None

    invoke_answering_refusals.answers_refusals = True  # type: ignore[attr-defined]
    command._invoke_with_namespace = invoke_answering_refusals  # type: ignore[method-assign]


async def send_ephemeral(interaction: discord.Interaction, message: str) -> None:
    """Reply privately, whether or not the interaction was already answered."""
    try:
        if interaction.extras.pop(DEFERRED_PUBLICLY, False):
            # The first follow-up of a public acknowledgement would inherit its visibility. Complete the
            # "thinking" message, answer privately, then remove the public trace.
            await interaction.edit_original_response(content="…")
            await interaction.followup.send(message, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())
            await interaction.delete_original_response()
        elif interaction.response.is_done():
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


# app_state key: the hash of the command tree last synced to Discord.
SYNCED_COMMANDS = "synced_commands_sha256"


def command_tree_hash(tree: app_commands.CommandTree) -> str:
    """A hash of exactly what a sync would send: every global command's payload, in a stable order."""
    payload = sorted((command.to_dict(tree) for command in tree.get_commands()), key=lambda c: c["name"])
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


class CoalesceBot(commands.Bot):
    def __init__(
        self, core: Core, *, scheduler_enabled: bool = True, watch_feeds: bool = True, **client_options: Any
    ) -> None:
        # Slash commands and buttons only: no server message events, and no cache of recent messages (discord.py's
        # default keeps 1,000, tens of thousands of objects the garbage collector walks). DM events stay: few, and
        # offline mode prints the bot's own DMs from them.
        intents = discord.Intents.default()
        intents.guild_messages = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            max_messages=None,
            tree_cls=CoalesceTree,
            help_command=None,
            # User text never pings anyone unless a message opts in for named users.
            allowed_mentions=discord.AllowedMentions.none(),
            # A rate limit longer than this raises RateLimited instead of discord.py sleeping inside the send:
            # the outbox dispatcher parks that one destination and the others keep going (30 s is the least allowed).
            max_ratelimit_timeout=RATE_LIMIT_WAIT_MAX_S,
            **client_options,
        )
        self.core = core
        self.scheduler_enabled = scheduler_enabled
        # Polling public hazard feeds reaches the internet: on with the scheduler, off in offline mode.
        self.watch_feeds = scheduler_enabled and watch_feeds
        self.waiting = WaitingInteractions()
        self.quiet_collection = QuietCollector(core.people_waiting)
        self.ops = OpsMetrics(core)

    async def setup_hook(self) -> None:
        # The gazetteer and taxonomy load once, off the loop, before the first command needs them.
        await asyncio.to_thread(self.core.preload)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.sync_commands_if_changed()
        # What start-up built (the gazetteer's places, the taxonomy, every module) lives as long as the process:
        # kept out of the collector's full passes, which would otherwise walk it all and stall the loop.
        gc.freeze()

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Answer a click on a button its message never carried: a crafted request, refused in words.

        discord.py only runs a persistent button's callback when the clicked
        message carries that custom id, and otherwise drops the click without a
        word, which Discord shows as "This interaction failed".
        """
        if interaction.type is not discord.InteractionType.component:
            return
        custom_id = str((interaction.data or {}).get("custom_id", ""))
        if not custom_id.startswith("coalesce:") or carries(interaction.message, custom_id):
            return
        interaction.extras.setdefault("started", time.perf_counter())
        log_outcome(interaction, "refused", "forged_button", action="button=?")
        await send_ephemeral(interaction, "That button is not on this message, so nothing was done.")

    async def sync_commands_if_changed(self) -> bool:
        """Sync the slash commands only when they differ from the last synced ones; True if it synced.

        Syncing on every start gets a bot rate-limited (discord.py's maintainers warn against it).
        The hash of what was synced is kept in the database; ``python run.py sync`` forgets it.
        """
        digest = command_tree_hash(self.tree)
        core = self.core
        if await core.run(core.store.app_state.get, SYNCED_COMMANDS) == digest:
            # One cheap read confirms Discord still has them (another application, a wiped test server).
            remote = {command.name for command in await self.tree.fetch_commands()}
            if remote == {command.name for command in self.tree.get_commands()}:
                log.info("slash commands unchanged since the last sync: not syncing")
                return False
        synced = await self.tree.sync()
        await core.run(core.store.app_state.put, SYNCED_COMMANDS, digest)
        log.info("synced %d slash commands", len(synced))
        return True

    async def on_app_command_completion(
        self, interaction: discord.Interaction, command: app_commands.Command | app_commands.ContextMenu
    ) -> None:
        log_outcome(interaction, "ok", "ok", action=f"command={command.qualified_name}")
        # What the command queued leaves now and timers it brought closer are reset: the dispatcher and
        # housekeeping cogs listen for this event themselves, so this module imports no cog.

    async def close(self) -> None:
        self.quiet_collection.close()
        await super().close()
        await asyncio.to_thread(self.core.close)


class ShardedCoalesceBot(CoalesceBot, commands.AutoShardedBot):
    """The same bot over several gateway shards (``shard_count``), this process running ``shard_ids`` of them.

    Nothing else changes with shards: a guild's interactions reach the process running its shard, and every
    message leaves through the shared outbox by REST, which any process may send to any channel.
    """


def create_bot(database: str | Path, clock: Clock | None = None, **settings: Any) -> commands.Bot:
    """A bot with every cog loaded, not yet connected, its database at ``database``.

    ``database`` is a SQLite file's path, or a ``postgresql://`` URL for several processes on one database.

    ``settings`` override the defaults of :class:`~bot.settings.Settings` by name; ``scheduler=False``
    stops every timer (digests, reminders, feeds) and ``watch_feeds=False`` only the hazard feeds' polling;
    ``clock`` replaces the default clock (tests and the scheduler share it). The default is
    ``discord.utils.utcnow``: the real time on Discord, the simulator's under simcord, so
    simulated time moves every timer, deadline and display together.
    """
    scheduler_enabled = bool(settings.pop("scheduler", True))
    watch_feeds = bool(settings.pop("watch_feeds", True))
    # The defaults file, never the process environment: a bot built twice is built the same.
    resolved = load_settings(environ={}).with_overrides(database=database, **settings)
    core = Core(
        store=Store(resolved.database, background_checkpoints=True),
        settings=resolved,
        clock=clock or discord.utils.utcnow,
    )
    if not resolved.shard_count:
        return CoalesceBot(core, scheduler_enabled=scheduler_enabled, watch_feeds=watch_feeds)
    return ShardedCoalesceBot(
        core,
        scheduler_enabled=scheduler_enabled,
        watch_feeds=watch_feeds,
        shard_count=resolved.shard_count,
        shard_ids=resolved.shard_id_list(),
    )
