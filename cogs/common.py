"""What every cog shares: who is acting, autocomplete sources, and the bot's core."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar, cast

import discord
from discord import app_commands

from bot.app import DEFERRED_PUBLICLY
from bot.core import Core
from bot.errors import Forbidden
from bot.models import Actor
from bot.text import escape

if TYPE_CHECKING:
    from bot.app import CoalesceBot

NO_PINGS = discord.AllowedMentions.none()
COLOUR = discord.Colour.from_rgb(32, 128, 141)


def core_of(interaction: discord.Interaction) -> Core:
    return cast("CoalesceBot", interaction.client).core


def actor_of(interaction: discord.Interaction) -> Actor:
    """The acting member; admin means Manage Server in this channel's server."""
    permissions = interaction.permissions
    return Actor(
        user_id=interaction.user.id,
        guild_id=interaction.guild_id or 0,
        name=interaction.user.display_name,
        is_admin=bool(permissions.manage_guild or permissions.administrator),
        guild_name=interaction.guild.name if interaction.guild else "",
    )


async def server_still_joined(client: discord.Client, guild_ids: list[int], user_id: int) -> int | None:
    """The first of these servers the user still belongs to, asked of Discord now; None if none.

    Asked, not looked up: without the members intent the cache does not hear of
    departures, so a cached member may have left long ago.
    """
    for guild_id in guild_ids:
        guild = client.get_guild(guild_id)
        if guild is None:
            continue  # the bot is no longer in that server
        try:
            await guild.fetch_member(user_id)
        except discord.NotFound:
            continue
        return guild_id
    return None


async def acting_in(interaction: discord.Interaction, servers: list[int]) -> Actor:
    """The clicker as a member of one of ``servers`` (those of the match's or post's coalition), checked now.

    A click in a server channel comes from a member of that server. A click in a
    DM carries no server: the clicker must still belong to one of these, or they
    act for nobody, and learn nothing of the orgs involved.
    """
    actor = actor_of(interaction)
    if actor.guild_id:
        return actor
    guild_id = await server_still_joined(interaction.client, servers, actor.user_id)
    if guild_id is None:
        raise Forbidden("You are no longer in a server where this was sent to you, so you can't act on it.")
    return replace(actor, guild_id=guild_id, is_admin=False)


def channel_name(channel_id: int, guild: discord.Guild | None) -> str:
    """A channel as ``#name`` (escaped), looked up in this server; ids are not names."""
    channel = guild.get_channel(channel_id) if guild else None
    return f"#{escape(channel.name)}" if channel else "a channel of another server, or deleted"


def choice(name: str, value: str) -> app_commands.Choice[str]:
    return app_commands.Choice(name=name[:100], value=value[:100])


async def place_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    places = core_of(interaction).gazetteer.search(current, limit=25) if current.strip() else []
    return [choice(p.label, p.key) for p in places]


async def org_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    from bot.services.orgs import search_orgs

    orgs = await core_of(interaction).call(search_orgs, actor_of(interaction), current)
    return [choice(f"{o.name} ({o.status.value})", str(o.id)) for o in orgs]


async def my_org_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    core, actor = core_of(interaction), actor_of(interaction)
    coalition = await core.run(core.coalition_of, actor)
    needle = current.casefold().strip()
    mine = await core.run(core.store.orgs.of_member, coalition.id, actor.user_id)
    return [choice(o.name, str(o.id)) for o in mine if needle in o.name.casefold()][:25]


def event_autocomplete(*, open_only: bool):
    async def complete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        from bot.services.events import search_events

        events = await core_of(interaction).call(search_events, actor_of(interaction), current, open_only=open_only)
        return [choice(f"{e.name} ({e.status.value})", str(e.id)) for e in events]

    return complete


def mention_list(user_ids: list[int], *, limit: int = 10) -> str:
    shown = " ".join(f"<@{uid}>" for uid in user_ids[:limit])
    extra = len(user_ids) - limit
    return shown + (f" and {extra} more" if extra > 0 else "")


# Discord drops an interaction not answered within 3 s ("The interaction failed"). A command that started
# BEHIND_S after it arrived has queued behind a burst on the loop; one whose store work would queue behind
# other work on the store thread may wait as long as that queue, which no one can bound in advance. Both
# acknowledge at once and send their result as a follow-up. A command that finds the store thread free
# answers directly; should its one trip stall (a locked file, a slow network), it acknowledges at STALL_S.
BEHIND_S = 0.5
STALL_S = 1.5
T = TypeVar("T")


async def in_time(interaction: discord.Interaction, start: Callable[[], asyncio.Future[T]], *, ephemeral: bool) -> T:
    """The result of the store work ``start`` hands to the store thread, the interaction acknowledged first when it
    may be late.

    The decision is taken as the work is handed over, from what is known then (how late the command starts,
    whether the store thread already has work), not by a timer per command: under a burst, a timer firing for
    every queued command is as many more wake-ups for a loop that is already behind. ``ephemeral`` is the
    visibility of the command's final answer: the acknowledgement becomes that answer's message, and Discord
    keeps its visibility, so acknowledging privately would turn a public confirmation private just because the
    bot was busy.
    """
    since_created = (discord.utils.utcnow() - interaction.created_at).total_seconds()
    received = interaction.extras.get("received")
    since_received = time.perf_counter() - received if received is not None else 0.0
    late = max(since_created, since_received, 0.0)
    # Asked before handing the work over: the next command in a burst then sees this one's work queued.
    behind = late > BEHIND_S or core_of(interaction).store_busy()
    result = start()
    if behind:
        await _acknowledge(interaction, ephemeral=ephemeral)
        return await result
    # The store thread was free: the trip takes milliseconds and the timer is cancelled unfired.
    await asyncio.wait({result}, timeout=max(STALL_S - late, 0.0))
    if not result.done():
        await _acknowledge(interaction, ephemeral=ephemeral)
    return await result


async def _acknowledge(interaction: discord.Interaction, *, ephemeral: bool) -> None:
    if not interaction.response.is_done():
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        # A refusal after this must still be private (see bot.app.send_ephemeral).
        interaction.extras[DEFERRED_PUBLICLY] = not ephemeral


async def reply(
    interaction: discord.Interaction, content: str, *, embed: discord.Embed, ephemeral: bool = False
) -> None:
    """The command's answer: the response itself, or the follow-up to an early acknowledgement."""
    if interaction.response.is_done():
        await interaction.followup.send(content, embed=embed, ephemeral=ephemeral, allowed_mentions=NO_PINGS)
    else:
        await interaction.response.send_message(content, embed=embed, ephemeral=ephemeral, allowed_mentions=NO_PINGS)
