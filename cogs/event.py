"""/event: open, close and list disaster responses."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.models import Event, EventStatus
from bot.services import events
from bot.text import escape
from cogs.common import NO_PINGS, actor_of, core_of, event_autocomplete, place_autocomplete
from cogs.listing import listing_embed


def event_line(event: Event) -> str:
    where = f" — {escape(event.place_label)}, {event.radius_km:,.0f} km" if event.place_label else ""
    since = discord.utils.format_dt(event.opened_at, "R")
    state = "open" if event.status is EventStatus.OPEN else "closed"
    return f"**{escape(event.name)}** ({state}, opened {since}){where}"


@app_commands.guild_only()
class EventCog(commands.GroupCog, group_name="event", group_description="Disaster responses that posts belong to"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="open", description="Open an event (Manage Server)")
    @app_commands.describe(
        name="A short name, e.g. Hurricane Delta",
        location="Centre of the affected area",
        radius_km="How far from the centre posts may match (km)",
    )
    @app_commands.autocomplete(location=place_autocomplete)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def open(
        self,
        interaction: discord.Interaction,
        name: str,
        location: str | None = None,
        radius_km: app_commands.Range[float, 1, 20000] | None = None,
    ) -> None:
        event = await core_of(interaction).call(
            events.open_event, actor_of(interaction), name=name, location=location, radius_km=radius_km
        )
        await interaction.response.send_message(f"Opened {event_line(event)}.", allowed_mentions=NO_PINGS)

    @app_commands.command(name="close", description="Close an event (Manage Server)")
    @app_commands.describe(event="The event to close")
    @app_commands.autocomplete(event=event_autocomplete(open_only=True))
    @app_commands.checks.has_permissions(manage_guild=True)
    async def close(self, interaction: discord.Interaction, event: str) -> None:
        closed = await core_of(interaction).call(events.close_event, actor_of(interaction), event)
        await interaction.response.send_message(f"Closed {event_line(closed)}.", allowed_mentions=NO_PINGS)

    @app_commands.command(name="list", description="List this coalition's events")
    async def list(self, interaction: discord.Interaction) -> None:
        found = await core_of(interaction).call(events.list_events, actor_of(interaction))
        embed = listing_embed("Events", [event_line(e) for e in found], empty="No events yet.")
        await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(EventCog(bot))
