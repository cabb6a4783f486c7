"""/config: where Coalesce posts, and when digests go out (Manage Server only)."""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.models import ChannelKind
from bot.services import coalition_config, freshness, hazards
from bot.text import escape
from bot.validation import search_timezones
from cogs.common import COLOUR, NO_PINGS, actor_of, channel_name, choice, core_of, place_autocomplete
from cogs.listing import fit

CHANNEL_PURPOSES = {
    # Each completes "#channel will receive ...": a noun phrase.
    ChannelKind.NEEDS: "an announcement of each new need",
    ChannelKind.OFFERS: "an announcement of each new offer",
    ChannelKind.MATCHES: "match proposals, with Accept and Decline buttons",
    ChannelKind.DIGEST: "scheduled status digests",
    ChannelKind.ALERTS: "alerts of events opened and critical needs",
    ChannelKind.LOG: "admin notes: registrations, delivery failures",
}


async def timezone_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return [choice(name, name) for name in search_timezones(current)]


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class ConfigCog(commands.GroupCog, group_name="config", group_description="Set up Coalesce for this server"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="channel", description="Choose the channel for one kind of notice")
    @app_commands.describe(kind="What the channel is for", channel="The text channel to use")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def channel(
        self,
        interaction: discord.Interaction,
        kind: Literal["needs", "offers", "matches", "digest", "alerts", "log"],
        channel: discord.TextChannel,
    ) -> None:
        channel_kind = ChannelKind(kind)
        await core_of(interaction).call(coalition_config.set_channel, actor_of(interaction), channel_kind, channel.id)
        await interaction.response.send_message(
            f"{channel.mention} will receive {CHANNEL_PURPOSES[channel_kind]}.", ephemeral=True
        )

    @app_commands.command(name="digest", description="Set when status digests are sent, in your time zone")
    @app_commands.describe(
        times='Times of day, 24-hour, comma-separated, e.g. "08:00,20:00"',
        timezone="IANA time zone, e.g. America/Chicago",
    )
    @app_commands.autocomplete(timezone=timezone_autocomplete)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def digest(self, interaction: discord.Interaction, times: str, timezone: str) -> None:
        coalition = await core_of(interaction).call(
            coalition_config.set_digest_schedule, actor_of(interaction), times=times, timezone=timezone
        )
        self.bot.dispatch("digest_schedule_changed", coalition.id)
        await interaction.response.send_message(
            f"Digests will go out at {', '.join(coalition.digest_times)} ({coalition.timezone}).",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @app_commands.command(name="alert-role", description="Choose the role that alerts ping (critical needs, events)")
    @app_commands.describe(role="The role of the people who respond; leave it out to stop the pings")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def alert_role(self, interaction: discord.Interaction, role: discord.Role | None = None) -> None:
        await core_of(interaction).call(
            coalition_config.set_alert_role,
            actor_of(interaction),
            role.id if role else None,
            role_is_everyone=role is not None and role.is_default(),
        )
        text = f"Alerts will ping {role.mention}." if role else "Alerts will ping nobody."
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)

    @app_commands.command(name="freshness", description="How long posts stand before their posters are asked")
    @app_commands.describe(
        critical="Hours before a critical need's poster is asked whether it still stands (default 12)",
        high="Hours for high-urgency needs (default 24)",
        normal="Hours for normal needs and for every offer (default 72)",
        low="Hours for low-urgency needs (default 168, a week)",
    )
    @app_commands.checks.has_permissions(manage_guild=True)
    async def freshness(
        self,
        interaction: discord.Interaction,
        critical: app_commands.Range[int, 1, 720] | None = None,
        high: app_commands.Range[int, 1, 720] | None = None,
        normal: app_commands.Range[int, 1, 720] | None = None,
        low: app_commands.Range[int, 1, 720] | None = None,
    ) -> None:
        windows = await core_of(interaction).call(
            freshness.set_freshness_windows,
            actor_of(interaction),
            {"critical": critical, "high": high, "normal": normal, "low": low},
        )
        lines = [
            f"**{urgency.value}**: {hours} h" + ("" if urgency in windows.chosen else " (default)")
            for urgency, hours in windows.hours.items()
        ]
        await interaction.response.send_message(
            "Freshness windows: a post's poster is asked after its window whether it still stands, and an "
            "unanswered post is shown as unconfirmed after the same time again.\n" + "\n".join(lines),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @app_commands.command(name="area", description="The coalition's area for hazard alerts from public feeds")
    @app_commands.describe(
        location="Centre of the area (a town)", radius_km="How far around it hazards are alerted (km)"
    )
    @app_commands.autocomplete(location=place_autocomplete)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def area(
        self, interaction: discord.Interaction, location: str, radius_km: app_commands.Range[float, 1, 20000]
    ) -> None:
        chosen = await core_of(interaction).call(
            hazards.set_area, actor_of(interaction), location=location, radius_km=radius_km
        )
        self.bot.dispatch("hazard_settings_changed")
        await interaction.response.send_message(
            f"Hazard alerts cover {chosen.radius_km:,.0f} km around {escape(chosen.place_label)}. "
            "Choose the feeds with `/config feeds`.",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @app_commands.command(name="feeds", description="Turn a public hazard feed on or off, with a minimum severity")
    @app_commands.describe(
        feed="usgs: earthquakes; gdacs: cyclones, floods, quakes, volcanoes, droughts; nws: US weather alerts",
        enabled="Alert this coalition to the feed's hazards in its area",
        min_severity="usgs: a magnitude (5.5); gdacs: green, orange, red; nws: minor, moderate, severe, extreme",
    )
    @app_commands.checks.has_permissions(manage_guild=True)
    async def feeds(
        self,
        interaction: discord.Interaction,
        feed: Literal["usgs", "gdacs", "nws"],
        enabled: bool,
        min_severity: str | None = None,
    ) -> None:
        view = await core_of(interaction).call(
            hazards.set_feed, actor_of(interaction), feed=feed, enabled=enabled, min_severity=min_severity
        )
        self.bot.dispatch("hazard_settings_changed")
        lines = [
            f"{spec.label}: {'on' if choice_.enabled else 'off'}, {spec.describe(choice_.min_severity)}"
            for spec, choice_ in view.choices
        ]
        area = view.area
        lines.append(
            f"Area: {area.radius_km:,.0f} km around {escape(area.place_label)}."
            if area
            else "Area: not set yet; alerts start once `/config area` sets it."
        )
        await interaction.response.send_message("\n".join(lines), ephemeral=True, allowed_mentions=NO_PINGS)

    @app_commands.command(name="show", description="Show this server's Coalesce settings")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def show(self, interaction: discord.Interaction) -> None:
        summary = await core_of(interaction).call(coalition_config.show_config, actor_of(interaction))
        embed = discord.Embed(title=f"Coalesce settings: {escape(summary.coalition.name)}"[:256], colour=COLOUR)
        lines = []
        for kind in ChannelKind:
            channel_id = summary.channels.get(kind)
            lines.append(
                f"**{kind.value}**: {channel_name(channel_id, interaction.guild) if channel_id else 'not set'}"
            )
        embed.add_field(name="Channels", value="\n".join(lines), inline=False)
        embed.add_field(
            name="Digests",
            value=f"{', '.join(summary.coalition.digest_times)} ({summary.coalition.timezone})",
            inline=False,
        )
        found = (
            interaction.guild.get_role(summary.alert_role_id) if interaction.guild and summary.alert_role_id else None
        )
        role = f"@{escape(found.name)}" if found else "a deleted role" if summary.alert_role_id else "none"
        embed.add_field(name="Alerts ping", value=role, inline=False)
        watch = escape(summary.hazard_watch) if summary.hazard_watch else "no area set (`/config area`)"
        embed.add_field(name="Hazard alerts", value=watch, inline=False)
        embed.add_field(name="Open events", value=str(summary.open_events))
        embed.add_field(name="Organisations", value=f"{summary.verified_orgs} verified, {summary.pending_orgs} pending")
        await interaction.response.send_message(embed=fit(embed), ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(ConfigCog(bot))
