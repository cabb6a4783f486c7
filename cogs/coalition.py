"""/coalition: name this server's coalition, invite other servers, join one, leave it, see who is in it."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.services import coalitions
from bot.text import escape as esc
from cogs.common import COLOUR, NO_PINGS, actor_of, core_of


@app_commands.guild_only()
class CoalitionCog(commands.GroupCog, group_name="coalition", group_description="One coalition across several servers"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="create", description="Name the coalition this server leads (Manage Server)")
    @app_commands.describe(name="The coalition's name, e.g. Gulf Coast VOAD")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def create(self, interaction: discord.Interaction, name: str) -> None:
        coalition = await core_of(interaction).call(coalitions.create_coalition, actor_of(interaction), name)
        await interaction.response.send_message(
            f"This server leads the coalition **{esc(coalition.name)}**. Invite other servers with "
            "`/coalition invite`.",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @app_commands.command(name="invite", description="A single-use code for another server to join (Manage Server)")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def invite(self, interaction: discord.Interaction) -> None:
        issued = await core_of(interaction).call(coalitions.invite, actor_of(interaction))
        await interaction.response.send_message(
            f"Give this code to the admins of the server joining **{esc(issued.coalition.name)}**: `{issued.code}`\n"
            f"They run `/coalition join code:{issued.code}`. It works once, until "
            f"{discord.utils.format_dt(issued.expires_at, 'f')} (24 hours).",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @app_commands.command(name="join", description="Join another server's coalition with its code (Manage Server)")
    @app_commands.describe(code="The code its admins got from /coalition invite")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def join(self, interaction: discord.Interaction, code: str) -> None:
        joined = await core_of(interaction).call(coalitions.join, actor_of(interaction), code)
        moved = joined.moved.rows
        lines = [
            f"This server is now part of **{esc(joined.coalition.name)}**. It brought along "
            f"{moved.get('orgs', 0)} organisations, {moved.get('events', 0)} events, {moved.get('posts', 0)} needs "
            f"and offers and {moved.get('matches', 0)} matches; ids are unchanged."
        ]
        for old, new in [*joined.moved.renamed_orgs, *joined.moved.renamed_events]:
            lines.append(f"Renamed **{esc(old)}** to **{esc(new)}**: the coalition already had that name.")
        lines.append("This server's channels stay as you set them; digests and schedules are the coalition's.")
        await interaction.response.send_message("\n".join(lines), ephemeral=True, allowed_mentions=NO_PINGS)

    @app_commands.command(name="leave", description="Leave this server's coalition (Manage Server)")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def leave(self, interaction: discord.Interaction) -> None:
        left = await core_of(interaction).call(coalitions.leave, actor_of(interaction))
        await interaction.response.send_message(
            f"This server left **{esc(left.former.name)}**, which keeps its records, including the "
            f"{left.orgs_staying} organisations registered here. This server now forms a coalition of its own.",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @app_commands.command(name="info", description="This coalition's member servers")
    async def info(self, interaction: discord.Interaction) -> None:
        found = await core_of(interaction).call(coalitions.info, actor_of(interaction))
        embed = discord.Embed(title=f"Coalition: {esc(found.coalition.name)}"[:256], colour=COLOUR)
        lines = []
        for server in found.servers:
            lead = " (leads)" if server.is_lead else ""
            contact = f" · admins: <#{server.admin_channel_id}>" if server.admin_channel_id else ""
            since = discord.utils.format_dt(server.link.linked_at, "D")
            lines.append(f"**{esc(server.link.guild_name or str(server.link.guild_id))}**{lead}, since {since}"
                         f"{contact}")  # fmt: skip
        embed.description = "\n".join(lines)[:4000]
        embed.set_footer(text=f"{found.orgs} organisations · times in {found.coalition.timezone}")
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(CoalitionCog(bot))
