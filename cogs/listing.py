"""Listings as embeds that always fit Discord's limits, whatever people named their orgs and posts.

Discord refuses a whole message whose embed breaks a limit (4,096 characters of
description, 1,024 per field, 25 fields, 256 of title, 6,000 in all): one long
name would break the command for everyone. Every listing is built here, and
ends "…and N more" when its lines do not all fit.
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.digest_render import DESCRIPTION, EMBED_TOTAL, FIELD_NAME, FIELD_VALUE, FOOTER, MAX_FIELDS, TITLE, fit_lines
from cogs.common import COLOUR


def listing_embed(
    title: str,
    lines: Sequence[str],
    *,
    empty: str,
    more_hint: str = "",
    total: int | None = None,
    footer: str = "",
) -> discord.Embed:
    """``lines`` as the description, cut to fit with "…and N more{more_hint}"; ``empty`` when there are none.

    ``total`` counts lines the caller already left out (a service's limit), so
    "more" counts them too.
    """
    embed = discord.Embed(title=title[:TITLE], colour=COLOUR)
    if footer:
        embed.set_footer(text=footer[:FOOTER])
    room = min(DESCRIPTION, EMBED_TOTAL - len(embed.title or "") - len(footer[:FOOTER]))
    if not lines and not total:
        embed.description = empty[:room]
    else:
        embed.description = fit_lines(lines, room, total=total, more=lambda n: f"…and {n} more{more_hint}")
    return embed


def fit(embed: discord.Embed) -> discord.Embed:
    """The embed cut to every Discord limit, in place: a last guard for embeds built field by field."""
    if embed.title:
        embed.title = embed.title[:TITLE]
    if embed.description:
        embed.description = embed.description[:DESCRIPTION]
    if embed.footer.text:
        embed.set_footer(text=embed.footer.text[:FOOTER], icon_url=embed.footer.icon_url)
    fields = embed.fields[:MAX_FIELDS]
    embed.clear_fields()
    for field in fields:
        embed.add_field(
            name=(field.name or "\u200b")[:FIELD_NAME],
            value=(field.value or "\u200b")[:FIELD_VALUE],
            inline=field.inline,
        )
    while len(embed) > EMBED_TOTAL and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    if len(embed) > EMBED_TOTAL and embed.description:
        embed.description = embed.description[: max(0, len(embed.description) - (len(embed) - EMBED_TOTAL))]
    return embed
