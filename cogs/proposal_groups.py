"""Several match proposals on one message, within every Discord limit, whatever people typed.

Under backlog a matches channel sends about one message a second; one message carries
up to five proposals (Discord's five action rows, one row of buttons each) so the
proposals leave five times as fast. Discord refuses a whole message whose content
passes 2,000 characters or whose embeds pass 6,000 together, so each proposal gets a
compact embed of its share of the room, user text is shortened before it is escaped
(a cut never splits an escape), and a group carries only as many proposals as its
content can name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import discord

from bot.digest_render import EMBED_TOTAL, TITLE
from bot.models import Post, PostKind
from bot.services.matches import MatchCard
from bot.text import escape
from cogs.common import mention_list
from cogs.match_buttons import MAX_ROWS
from cogs.posts_render import STATUS_COLOUR, URGENCY_MARK, status_line, status_mark

CONTENT_MAX = 2000
# Raw characters of one piece of user text (a name, an item, a place) in a grouped card; escaping may double it.
TEXT_CAP = 60
# Coordinators named (and pinged) per side in a group's content; the rest are counted.
PEOPLE_CAP = 5


@dataclass(frozen=True)
class Group:
    """One message showing ``count`` proposals: its text, an embed per proposal, and who it may ping."""

    content: str
    embeds: list[discord.Embed]
    count: int
    people: list[int]


def clip(text: object, cap: int = TEXT_CAP) -> str:
    """User text shortened to ``cap`` characters and then escaped, so a cut never breaks an escape."""
    value = " ".join(str(text).split())
    return escape(value if len(value) <= cap else value[: cap - 1] + "…")


def cut(text: str, room: int) -> str:
    """Our own rendered text cut to ``room`` characters; a trailing backslash would escape the ellipsis."""
    if len(text) <= room:
        return text
    return text[: max(0, room - 1)].rstrip("\\") + "…"


def group_line(card: MatchCard, *, mentions: bool = True) -> str:
    """A proposal's line in the group's content; it names (and, when first sent, pings) both sides."""

    def side(name: str, people: tuple[int, ...]) -> str:
        if not mentions:
            return clip(name)
        return f"{clip(name)} ({mention_list(list(people), limit=PEOPLE_CAP) or 'no coordinators'})"

    return (
        f"Match **{card.match.ref}**: {side(card.need_org.name, card.need_member_ids)} needs what "
        f"{side(card.offer_org.name, card.offer_member_ids)} offers."
    )


def group_content(cards: Sequence[MatchCard], *, mentions: bool = True) -> str:
    head = f"**{len(cards)} match proposals**, each with its own buttons below, in this order:"
    return "\n".join([head, *(group_line(card, mentions=mentions) for card in cards)])


def post_line(post: Post, org_name: str, card: MatchCard) -> str:
    left = "" if post.remaining == post.quantity else f" ({post.remaining:,} left)"
    urgency = f" · {URGENCY_MARK[post.urgency]}" if post.kind is PostKind.NEED else ""
    noun = "Need" if post.kind is PostKind.NEED else "Offer"
    return (
        f"**{noun}** {post.ref} · {clip(org_name)}: {clip(post.item_label)}, {post.quantity:,} "
        f"{clip(post.unit, 30)}{left} · {clip(post.place_label)}{urgency}"
    )


def group_embed(card: MatchCard, room: int) -> discord.Embed:
    """A proposal's compact card in a group, at most ``room`` characters as Discord counts them."""
    match = card.match
    title = cut(f"{match.ref} · {clip(card.need.item_label)} · {status_mark(card)}", TITLE)
    embed = discord.Embed(title=title, colour=STATUS_COLOUR.get(match.status, discord.Colour.light_grey()))
    lines = [
        post_line(card.need, card.need_org.name, card),
        post_line(card.offer, card.offer_org.name, card),
        f"**Moves** {clip(card.amounts(), 2 * TEXT_CAP)} · {match.distance_km:,.0f} km · score {match.score:.2f}",
        status_line(card),
    ]
    embed.description = cut("\n".join(lines), max(1, room - len(title)))
    return embed


def group(cards: Sequence[MatchCard], *, edit: bool = False) -> Group:
    """As many of ``cards`` (from the first, at most five) as one message can show; at least the first.

    An ``edit`` shows every card its message already shows: if naming their coordinators no longer fits (more
    joined since), the content names the sides alone (an edit pings no one anyway).
    """
    chosen = list(cards[:MAX_ROWS])
    while not edit and len(chosen) > 1 and len(group_content(chosen)) > CONTENT_MAX:
        chosen.pop()
    content = group_content(chosen)
    if len(content) > CONTENT_MAX:
        content = cut(group_content(chosen, mentions=False), CONTENT_MAX)
    room = EMBED_TOTAL // len(chosen)
    people = [
        uid for card in chosen for uid in (*card.need_member_ids[:PEOPLE_CAP], *card.offer_member_ids[:PEOPLE_CAP])
    ]
    return Group(content, [group_embed(card, room) for card in chosen], len(chosen), list(dict.fromkeys(people)))
