"""/need: post what your organisation needs, list open needs, close one."""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserError
from bot.models import PostKind
from bot.services import post_lifecycle, posts
from bot.services.duplicates import DuplicateWarning
from bot.taxonomy import SECTORS
from cogs.common import (
    NO_PINGS,
    actor_of,
    choice,
    core_of,
    event_autocomplete,
    in_time,
    my_org_autocomplete,
    place_autocomplete,
    reply,
)
from cogs.duplicates import DuplicateButton, send_warning
from cogs.listing import listing_embed
from cogs.posts_render import post_embed, post_line, posted_reply

SECTOR_CHOICES = [app_commands.Choice(name=s.label, value=s.key) for s in SECTORS]


async def item_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Catalogue items, the chosen sector's first; what was typed is offered last, since free text is allowed."""
    sector = getattr(interaction.namespace, "sector", None)
    taxonomy = core_of(interaction).taxonomy
    try:
        items = taxonomy.search(current, sector=sector or None, limit=25)
    except UserError:
        items = taxonomy.search(current, limit=25)
    choices = [choice(item.label, item.key) for item in items]
    typed = " ".join(current.split())
    if typed and not any(c.name.casefold() == typed.casefold() for c in choices):
        choices = [*choices[:24], choice(typed, typed)]
    return choices


async def unit_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Units for the item already chosen first (its usual units and pack sizes), then the common ones."""
    taxonomy = core_of(interaction).taxonomy
    item = str(getattr(interaction.namespace, "item", "") or "")
    return [choice(unit, unit) for unit in taxonomy.units(current, item if taxonomy.get(item) else None)]


def my_post_autocomplete(kind: PostKind):
    async def complete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        found = await core_of(interaction).call(post_lifecycle.my_open_posts, actor_of(interaction), kind, current)
        return [choice(f"{p.ref} · {p.item_label} · {p.remaining:,}/{p.quantity:,} {p.unit}", p.ref) for p in found]

    return complete


async def send_listing(interaction: discord.Interaction, kind: PostKind, sector: str | None, mine: bool) -> None:
    lines = await core_of(interaction).call(
        post_lifecycle.list_posts, actor_of(interaction), kind, sector=sector, mine=mine
    )
    noun = "needs" if kind is PostKind.NEED else "offers"
    embed = listing_embed(
        f"Open {noun}" + (" of your organisations" if mine else ""),
        [post_line(line) for line in lines],
        empty=f"No open {noun}.",
        more_hint=": narrow the list with `sector` or `mine`",
    )
    await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)


@app_commands.guild_only()
class NeedCog(commands.GroupCog, group_name="need", group_description="What your organisation needs"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        # The duplicate warning's buttons serve /offer post too; one registration is enough.
        self.bot.add_dynamic_items(DuplicateButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(DuplicateButton)

    @app_commands.command(name="post", description="Post a need; matching offers are proposed at once")
    @app_commands.describe(
        sector="The sector (IASC cluster) of the need",
        item="What you need; pick from the list or type your own",
        quantity="How many (whole number)",
        location="Where it is needed (a city)",
        urgency="How urgent it is",
        unit="Unit: litres, kg, kits... with a size if it matters: bottles of 1.5 L, cartons of 24 tins",
        needed_by='When it is needed by: "2026-12-03", "tomorrow", "in 3 days", "friday 18:00" (coalition time)',
        notes="Public details (no phone numbers, e-mails or addresses: contacts are shared privately)",
        org="Which of your organisations posts it (if you belong to several)",
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
        urgency: Literal["critical", "high", "normal", "low"],
        unit: str | None = None,
        needed_by: str | None = None,
        notes: str | None = None,
        org: str | None = None,
        event: str | None = None,
    ) -> None:
        core = core_of(interaction)
        result = await in_time(
            interaction,
            lambda: core.start(
                posts.post_need,
                actor_of(interaction),
                sector=sector,
                item=item,
                quantity=quantity,
                location=location,
                urgency=urgency,
                unit=unit,
                needed_by=needed_by,
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

    @app_commands.command(name="list", description="List open needs, most urgent first")
    @app_commands.describe(sector="Only needs of this sector", mine="Only your organisations' needs")
    @app_commands.choices(sector=SECTOR_CHOICES)
    async def list(self, interaction: discord.Interaction, sector: str | None = None, mine: bool = False) -> None:
        await send_listing(interaction, PostKind.NEED, sector, mine)

    @app_commands.command(name="close", description="Close one of your organisation's needs")
    @app_commands.describe(id='The need\'s id, e.g. "N-12"')
    @app_commands.autocomplete(id=my_post_autocomplete(PostKind.NEED))
    async def close(self, interaction: discord.Interaction, id: str) -> None:
        result = await core_of(interaction).call(post_lifecycle.close_post, actor_of(interaction), PostKind.NEED, id)
        ended = (
            f" {result.ended_matches} of its matches ended; partners will be re-matched."
            if result.ended_matches
            else ""
        )
        await interaction.response.send_message(
            f"Closed need **{result.post.ref}**.{ended}",
            embed=post_embed(result.post, await _org_name(interaction, result.post.org_id)),
            allowed_mentions=NO_PINGS,
        )


async def _org_name(interaction: discord.Interaction, org_id: int) -> str:
    core = core_of(interaction)
    org = await core.run(core.store.orgs.get, org_id)
    return org.name if org else "?"


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(NeedCog(bot))
