"""/offer: post what your organisation can give, list open offers, withdraw one."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.models import PostKind
from bot.services import post_lifecycle, posts
from bot.services.duplicates import DuplicateWarning
from cogs.common import (
    NO_PINGS,
    actor_of,
    core_of,
    event_autocomplete,
    in_time,
    my_org_autocomplete,
    place_autocomplete,
    reply,
)
from cogs.duplicates import send_warning
from cogs.need import (
    SECTOR_CHOICES,
    item_autocomplete,
    my_post_autocomplete,
    send_listing,
    unit_autocomplete,
)
from cogs.posts_render import post_embed, posted_reply


@app_commands.guild_only()
class OfferCog(commands.GroupCog, group_name="offer", group_description="What your organisation can give"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="post", description="Post an offer; matching needs are proposed at once")
    @app_commands.describe(
        sector="The sector (IASC cluster) of the offer",
        item="What you can give; pick from the list or type your own",
        quantity="How many (whole number)",
        location="Where it is (a city)",
        unit="Unit: litres, kg, kits... with a size if it matters: bottles of 1.5 L, cartons of 24 tins",
        available_until='Until when: "2026-12-03", "tomorrow", "in 3 days", "friday 18:00" (coalition time)',
        notes="Public details (no phone numbers, e-mails or addresses: contacts are shared privately)",
        org="Which of your organisations offers it (if you belong to several)",
        event="Which open event it belongs to (if several are open)",
    )
    @app_commands.choices(sector=SECTOR_CHOICES)
    @app_commands.autocomplete(
        item=item_autocomplete,
        unit=unit_autocomplete,
        location=place_autocomplete,
        org=my_org_autocomplete,
        event=event_autocomplete(open_only=True),
    )
    async def post(
        self,
        interaction: discord.Interaction,
        sector: str,
        item: str,
        quantity: app_commands.Range[int, 1, 1_000_000_000],
        location: str,
        unit: str | None = None,
        available_until: str | None = None,
        notes: str | None = None,
        org: str | None = None,
        event: str | None = None,
    ) -> None:
        core = core_of(interaction)
        result = await in_time(
            interaction,
            lambda: core.start(
                posts.post_offer,
                actor_of(interaction),
                sector=sector,
                item=item,
                quantity=quantity,
                location=location,
                unit=unit,
                available_until=available_until,
                notes=notes,
                org=org,
                event=event,
            ),
            ephemeral=False,
        )
        if isinstance(result, DuplicateWarning):
            await send_warning(interaction, result)
            return
        content, embed = posted_reply(result)
        await reply(interaction, content, embed=embed)

    @app_commands.command(name="list", description="List open offers")
    @app_commands.describe(sector="Only offers of this sector", mine="Only your organisations' offers")
    @app_commands.choices(sector=SECTOR_CHOICES)
    async def list(self, interaction: discord.Interaction, sector: str | None = None, mine: bool = False) -> None:
        await send_listing(interaction, PostKind.OFFER, sector, mine)

    @app_commands.command(name="withdraw", description="Withdraw one of your organisation's offers")
    @app_commands.describe(id='The offer\'s id, e.g. "O-7"')
    @app_commands.autocomplete(id=my_post_autocomplete(PostKind.OFFER))
    async def withdraw(self, interaction: discord.Interaction, id: str) -> None:
        result = await core_of(interaction).call(post_lifecycle.close_post, actor_of(interaction), PostKind.OFFER, id)
        ended = (
            f" {result.ended_matches} of its matches ended; partners will be re-matched."
            if result.ended_matches
            else ""
        )
        core = core_of(interaction)
        org = await core.run(core.store.orgs.get, result.post.org_id)
        await interaction.response.send_message(
            f"Withdrew offer **{result.post.ref}**.{ended}",
            embed=post_embed(result.post, org.name if org else "?"),
            allowed_mentions=NO_PINGS,
        )


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(OfferCog(bot))
