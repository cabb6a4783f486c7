"""/org: register, verify and describe organisations. Contacts never appear here."""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.models import Org, OrgStatus
from bot.services import orgs
from bot.taxonomy import sector_by_key
from bot.text import escape
from cogs.common import (
    COLOUR,
    NO_PINGS,
    actor_of,
    core_of,
    mention_list,
    my_org_autocomplete,
    org_autocomplete,
    place_autocomplete,
)
from cogs.listing import fit, listing_embed


def org_embed(org: Org, member_ids: list[int] | None = None) -> discord.Embed:
    """The public face of an org: name, sectors, coarse place, status. Never the contact."""
    embed = discord.Embed(title=escape(org.name), colour=COLOUR)
    if org.description:
        embed.description = escape(org.description)
    embed.add_field(name="Status", value="✅ verified" if org.is_verified else "⏳ pending verification")
    embed.add_field(name="Based in", value=escape(org.place_label))
    embed.add_field(name="Sectors", value=", ".join(sector_by_key(s).label for s in org.sectors), inline=False)
    if member_ids is not None:
        embed.add_field(name="Coordinators", value=mention_list(member_ids) or "none", inline=False)
    embed.set_footer(text=f"Org #{org.id} · contact details are shared only with matched partners")
    return fit(embed)


@app_commands.guild_only()
class OrgCog(commands.GroupCog, group_name="org", group_description="Organisations in this coalition"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="register", description="Register your organisation; an admin then verifies it")
    @app_commands.describe(
        name="The organisation's name",
        sectors="Sectors you work in, comma-separated (e.g. wash, shelter, food)",
        location="Where you are based (a city)",
        contact="Phone or e-mail for matched partners only; never shown publicly",
        description="One or two lines about what you do",
    )
    @app_commands.autocomplete(location=place_autocomplete)
    async def register(
        self,
        interaction: discord.Interaction,
        name: str,
        sectors: str,
        location: str,
        contact: str,
        description: str | None = None,
    ) -> None:
        org = await core_of(interaction).call(
            orgs.register_org,
            actor_of(interaction),
            name=name,
            sectors=sectors,
            location=location,
            contact=contact,
            description=description,
        )
        await interaction.response.send_message(
            f"Registered **{escape(org.name)}** (org #{org.id}). It is pending until a "
            "server admin verifies it with `/org verify`; your contact stays private and is shared only with "
            "partners in a committed match.",
            embed=org_embed(org),
            ephemeral=True,
        )

    @app_commands.command(name="verify", description="Verify an organisation so it can post (Manage Server)")
    @app_commands.describe(org="The organisation to verify")
    @app_commands.autocomplete(org=org_autocomplete)
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def verify(self, interaction: discord.Interaction, org: str) -> None:
        verified = await core_of(interaction).call(orgs.verify_org, actor_of(interaction), org)
        await interaction.response.send_message(
            f"**{escape(verified.name)}** is verified; its coordinators can now post.",
            embed=org_embed(verified),
            allowed_mentions=NO_PINGS,
        )

    @app_commands.command(name="add-member", description="Add a coordinator to your organisation")
    @app_commands.describe(member="The person to add", org="Which of your organisations (if several)")
    @app_commands.autocomplete(org=my_org_autocomplete)
    async def add_member(
        self, interaction: discord.Interaction, member: discord.Member, org: str | None = None
    ) -> None:
        joined = await core_of(interaction).call(
            orgs.add_member, actor_of(interaction), member_id=member.id, member_is_bot=member.bot, org_text=org
        )
        await interaction.response.send_message(
            f"{member.mention} now acts for **{escape(joined.name)}**.",
            allowed_mentions=discord.AllowedMentions(users=[member], everyone=False, roles=False),
        )

    @app_commands.command(name="alerts", description="DMs when an event opens near your organisation: on or off")
    @app_commands.describe(
        state="on: a DM to your coordinators when an event opens near you; off: none",
        org="Which of your organisations (if several)",
    )
    @app_commands.autocomplete(org=my_org_autocomplete)
    async def alerts(
        self, interaction: discord.Interaction, state: Literal["on", "off"], org: str | None = None
    ) -> None:
        changed = await core_of(interaction).call(
            orgs.set_event_alerts, actor_of(interaction), on=state == "on", org_text=org
        )
        name = escape(changed.name)
        text = (
            f"{name}'s coordinators will get a DM when an event opens near {escape(changed.place_label)}."
            if changed.event_alerts
            else f"{name}'s coordinators will no longer get DMs when an event opens nearby."
        )
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)

    @app_commands.command(name="info", description="Show an organisation's public profile")
    @app_commands.describe(org="The organisation")
    @app_commands.autocomplete(org=org_autocomplete)
    async def info(self, interaction: discord.Interaction, org: str) -> None:
        profile = await core_of(interaction).call(orgs.org_info, actor_of(interaction), org)
        await interaction.response.send_message(
            embed=org_embed(profile.org, profile.member_ids), allowed_mentions=NO_PINGS
        )

    @app_commands.command(name="list", description="List the organisations in this coalition")
    @app_commands.describe(status="Only verified or only pending organisations")
    async def list(
        self, interaction: discord.Interaction, status: Literal["verified", "pending"] | None = None
    ) -> None:
        found = await core_of(interaction).call(
            orgs.list_orgs, actor_of(interaction), status=OrgStatus(status) if status else None
        )
        lines = [
            f"{'✅' if o.is_verified else '⏳'} **{escape(o.name)}** — {escape(o.place_label)} · {', '.join(o.sectors)}"
            for o in found
        ]
        embed = listing_embed(
            "Organisations",
            lines,
            empty="No organisations yet. Register yours with `/org register`.",
            more_hint=": see one with `/org info`, or list by `status`",
        )
        await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(OrgCog(bot))
