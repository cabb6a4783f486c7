"""/match, and the wiring of the match buttons and senders.

The buttons live in :mod:`cogs.match_buttons`, the outbox senders that show posts
and matches in :mod:`cogs.match_senders`; this cog registers both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.models import MatchStatus
from bot.services import matches
from cogs.common import NO_PINGS, actor_of, core_of
from cogs.dispatcher import dispatcher_of
from cogs.listing import listing_embed
from cogs.match_buttons import MatchButton
from cogs.match_senders import MatchSenders
from cogs.posts_render import match_line

if TYPE_CHECKING:
    from bot.app import CoalesceBot


@app_commands.guild_only()
class MatchCog(commands.GroupCog, group_name="match", group_description="Proposed and committed matches"):
    def __init__(self, bot: CoalesceBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(MatchButton)
        senders = MatchSenders(self.bot)
        dispatcher = dispatcher_of(self.bot)
        dispatcher.register("post_announcement", senders.announcement, group=senders.announcements)
        dispatcher.register("match_proposal", senders.proposal, group=senders.proposals)
        dispatcher.register("match_update", senders.update, group=senders.updates)
        dispatcher.register("contact_reveal", senders.contact)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(MatchButton)

    @app_commands.command(name="list", description="List matches: live ones, or those of one status")
    @app_commands.describe(status="Only matches in this state", mine="Only matches of your organisations")
    async def list(
        self,
        interaction: discord.Interaction,
        status: Literal["proposed", "committed", "delivered", "declined", "cancelled", "lapsed"] | None = None,
        mine: bool = False,
    ) -> None:
        """List matches."""
        cards = await core_of(interaction).call(
            matches.list_matches, actor_of(interaction), status=MatchStatus(status) if status else None, mine=mine
        )
        embed = listing_embed(
            f"Matches: {status}" if status else "Live matches (proposed and committed)",
            [match_line(c) for c in cards],
            empty="No matches yet.",
            more_hint=": narrow the list with `status` or `mine`",
        )
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(MatchCog(cast("CoalesceBot", bot)))
