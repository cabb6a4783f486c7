"""Embeds and lines for needs, offers and matches. Places are city labels; contacts never appear here."""

from __future__ import annotations

from datetime import datetime

import discord

from bot.matching import HOLD
from bot.models import MatchStatus, Post, PostKind, PostStatus, Urgency
from bot.services.matches import ContactReveal, MatchCard
from bot.services.post_lifecycle import PostLine
from bot.services.posts import PostResult
from bot.taxonomy import sector_by_key
from bot.text import escape
from cogs.common import COLOUR, mention_list
from cogs.listing import fit

URGENCY_MARK = {
    Urgency.CRITICAL: "🔴 critical",
    Urgency.HIGH: "🟠 high",
    Urgency.NORMAL: "🟢 normal",
    Urgency.LOW: "⚪ low",
}
STATUS_MARK = {
    MatchStatus.PROPOSED: "🟡 proposed",
    MatchStatus.COMMITTED: "🤝 committed",
    MatchStatus.DELIVERED: "✅ delivered",
    MatchStatus.DECLINED: "✖️ declined",
    MatchStatus.CANCELLED: "↩️ cancelled",
    MatchStatus.LAPSED: "⌛ lapsed",
}
STATUS_COLOUR = {
    MatchStatus.PROPOSED: discord.Colour.gold(),
    MatchStatus.COMMITTED: discord.Colour.blue(),
    MatchStatus.DELIVERED: discord.Colour.green(),
}


def status_mark(card: MatchCard) -> str:
    """A match's state at a glance; a delivery the needing side has not confirmed yet says so."""
    if card.match.is_reported:
        return "📦 reported delivered"
    return STATUS_MARK[card.match.status]


def amount(quantity: int, unit: str) -> str:
    return f"{quantity:,} {escape(unit)}"


def when(moment: datetime | None) -> str:
    """A date Discord shows in each reader's own time zone."""
    return discord.utils.format_dt(moment, "f") if moment else "—"


def post_summary(post: Post) -> str:
    """One line: what, how much is left, where."""
    left = "" if post.remaining == post.quantity else f" ({post.remaining:,} left)"
    return f"**{escape(post.item_label)}**: {amount(post.quantity, post.unit)}{left} · {escape(post.place_label)}"


def post_embed(post: Post, org_name: str, *, event_name: str | None = None) -> discord.Embed:
    """A post as its poster and the channel see it."""
    noun = "Need" if post.kind is PostKind.NEED else "Offer"
    embed = discord.Embed(title=f"{post.ref} · {noun}: {escape(post.item_label)}"[:256], colour=COLOUR)
    embed.description = f"**{amount(post.quantity, post.unit)}** in {escape(post.place_label)}"
    embed.add_field(name="Organisation", value=escape(org_name))
    embed.add_field(name="Sector", value=sector_by_key(post.sector).label)
    if post.kind is PostKind.NEED:
        embed.add_field(name="Urgency", value=URGENCY_MARK[post.urgency])
    if post.deadline:
        embed.add_field(
            name="Needed by" if post.kind is PostKind.NEED else "Available until", value=when(post.deadline)
        )
    if post.remaining != post.quantity or post.status is not PostStatus.OPEN:
        embed.add_field(name="Left", value=f"{post.remaining:,} · {post.status.value}")
    if post.notes:
        embed.add_field(name="Notes", value=escape(post.notes)[:1024], inline=False)
    if event_name:
        embed.set_footer(text=f"Event: {event_name}")
    return fit(embed)


def posted_reply(result: PostResult) -> tuple[str, discord.Embed]:
    """The answer to /need post and /offer post: the id, the post, and the matches found at once."""
    post = result.post
    embed = post_embed(post, result.org.name, event_name=result.event.name)
    if result.proposals:
        lines = []
        for card in result.proposals:
            other = card.offer if post.kind is PostKind.NEED else card.need
            other_org = card.offer_org if post.kind is PostKind.NEED else card.need_org
            moved = f" · moves {escape(card.amounts())}" if card.converts else ""
            lines.append(
                f"**{card.match.ref}** ↔ {other.ref} {escape(other_org.name)}: {post_summary(other)}, "
                f"{card.match.distance_km:,.0f} km{moved}"
            )
        embed.add_field(name="Best matches, proposed now", value="\n".join(lines)[:1024], inline=False)
        where = "in the matches channel" if result.proposals_in_channel else "on the proposal sent to them by DM"
        follow = f"Both organisations accept or decline {where}."
    elif result.unit_hint:
        follow = f"No match yet. {escape(result.unit_hint)}"
    elif result.farther:
        follow = (
            f"No match near it yet: {result.farther} fitting post(s) farther away. If nothing nearer appears "
            f"within {hold_text(post)}, the nearest of them is proposed (near posts meet first: trucks drive less)."
        )
    elif result.standby:
        follow = (
            "It is on standby: no one needs this now; we will propose it the moment someone does — "
            "please don't ship it unasked."
        )
    else:
        follow = "No match yet: you will be proposed one as soon as a fitting post appears."
    noun = "need" if post.kind is PostKind.NEED else "offer"
    read = "".join(f" Read “{escape(typed)}” as **{escape(meant)}**." for typed, meant in result.readings)
    return f"Posted {noun} **{post.ref}**.{read} {follow}", fit(embed)


def announcement_embed(payload: dict[str, object]) -> discord.Embed:
    """A new post, as announced in the needs or offers channel (built from the outbox payload)."""
    is_need = payload["kind"] == PostKind.NEED.value
    embed = discord.Embed(
        title=f"{payload['ref']} · {'Need' if is_need else 'Offer'}: {escape(payload['item'])}"[:256],
        colour=discord.Colour.red() if payload.get("urgency") == Urgency.CRITICAL.value and is_need else COLOUR,
    )
    quantity = int(payload["quantity"])  # type: ignore[call-overload]
    embed.description = f"**{quantity:,} {escape(payload['unit'])}** in {escape(payload['place'])}"
    embed.add_field(name="Organisation", value=escape(str(payload["org"])))
    embed.add_field(name="Sector", value=sector_by_key(str(payload["sector"])).label)
    if is_need:
        embed.add_field(name="Urgency", value=URGENCY_MARK[Urgency(str(payload["urgency"]))])
    if payload.get("deadline"):
        moment = datetime.fromisoformat(str(payload["deadline"]))
        embed.add_field(name="Needed by" if is_need else "Available until", value=when(moment))
    if payload.get("notes"):
        embed.add_field(name="Notes", value=escape(str(payload["notes"]))[:1024], inline=False)
    return fit(embed)


# Discord's embed limits: a description of 4,096 characters, 6,000 across the whole embed.
EMBED_DESCRIPTION_MAX = 4096
EMBED_TOTAL_MAX = 6000
EMBED_TITLE_MAX = 256
ANNOUNCEMENT_LINE_MAX = 300


def _flat(value: object) -> str:
    """User text on one line of a list: whitespace runs (newlines too) become one space, markdown escaped."""
    return escape(" ".join(str(value).split()))


def announcement_line(payload: dict[str, object]) -> str:
    """One post of a grouped announcement: ref, urgency, amount, item, place, organisation; user text escaped."""
    is_need = payload["kind"] == PostKind.NEED.value
    mark = URGENCY_MARK[Urgency(str(payload["urgency"]))].split()[0] + " " if is_need else ""
    line = (
        f"`{_flat(payload['ref'])}` {mark}**{int(payload['quantity']):,} {_flat(payload['unit'])}** of "  # type: ignore[call-overload]
        f"{_flat(payload['item'])} in {_flat(payload['place'])} · {_flat(payload['org'])}"
    )
    return line if len(line) <= ANNOUNCEMENT_LINE_MAX else line[: ANNOUNCEMENT_LINE_MAX - 1] + "…"


def announcements_embed(payloads: list[dict[str, object]]) -> tuple[discord.Embed, int]:
    """Several new posts as one message, a line each, within every embed limit; returns it and how many it holds."""
    lines: list[str] = []
    size = 0
    for payload in payloads:
        line = announcement_line(payload)
        if size + len(line) + 1 > EMBED_DESCRIPTION_MAX:
            break
        lines.append(line)
        size += len(line) + 1
    lines = lines or [announcement_line(payloads[0])]
    kinds = {str(p["kind"]) for p in payloads[: len(lines)]}
    noun = (
        {PostKind.NEED.value: "needs", PostKind.OFFER.value: "offers"}.get(kinds.pop(), "posts")
        if len(kinds) == 1
        else "posts"
    )
    critical = any(
        p.get("urgency") == Urgency.CRITICAL.value and p["kind"] == PostKind.NEED.value for p in payloads[: len(lines)]
    )
    embed = discord.Embed(
        title=f"{len(lines)} new {noun}"[:EMBED_TITLE_MAX],
        colour=discord.Colour.red() if critical else COLOUR,
        description="\n".join(lines),
    )
    embed.set_footer(text="Details: /need list and /offer list")
    return embed, len(lines)


def ended_note(count: int) -> str:
    return f" {count} of its matches ended; the other sides will be re-matched." if count else ""


def post_line(line: PostLine) -> str:
    post = line.post
    mark = URGENCY_MARK[post.urgency].split()[0] + " " if post.kind is PostKind.NEED else ""
    due = f" · by {discord.utils.format_dt(post.deadline, 'd')}" if post.deadline else ""
    unconfirmed = f" · ❔ unconfirmed since {when(post.unconfirmed_since)}" if post.unconfirmed_since else ""
    return f"`{post.ref}` {mark}{post_summary(post)} · {escape(line.org_name)}{due}{unconfirmed}"


def match_headline(card: MatchCard) -> str:
    """The message text above a match card; it names (and, when first sent, pings) both sides' coordinators."""
    need_people = mention_list(list(card.need_member_ids)) or "no coordinators"
    offer_people = mention_list(list(card.offer_member_ids)) or "no coordinators"
    return (
        f"Match **{card.match.ref}**: {escape(card.need_org.name)} ({need_people}) needs what "
        f"{escape(card.offer_org.name)} ({offer_people}) offers."
    )


def match_embed(card: MatchCard) -> discord.Embed:
    """The live state of a match: posts, quantities left, who has accepted."""
    match, need, offer = card.match, card.need, card.offer
    embed = discord.Embed(
        title=f"{match.ref} · {escape(need.item_label)} · {status_mark(card)}"[:256],
        colour=STATUS_COLOUR.get(match.status, discord.Colour.light_grey()),
    )
    embed.add_field(
        name=f"Need {need.ref} · {escape(card.need_org.name)}"[:256],
        value=f"{post_summary(need)}\n{URGENCY_MARK[need.urgency]}"
        + (f" · needed by {when(need.deadline)}" if need.deadline else ""),
        inline=False,
    )
    embed.add_field(
        name=f"Offer {offer.ref} · {escape(card.offer_org.name)}"[:256],
        value=post_summary(offer) + (f"\navailable until {when(offer.deadline)}" if offer.deadline else ""),
        inline=False,
    )
    embed.add_field(name="Quantity", value=escape(card.amounts())[:1024])
    embed.add_field(name="Distance", value=f"{match.distance_km:,.0f} km")
    embed.add_field(name="Status", value=status_line(card), inline=False)
    embed.set_footer(text=f"Score {match.score:.2f} · contacts are shared by DM once both sides accept")
    return fit(embed)


def status_line(card: MatchCard) -> str:
    match = card.match
    need_name, offer_name = escape(card.need_org.name), escape(card.offer_org.name)
    if match.status is MatchStatus.PROPOSED:
        accepted = [
            name
            for name, by in ((need_name, match.need_accepted_by), (offer_name, match.offer_accepted_by))
            if by is not None
        ]
        if not accepted:
            return f"Waiting for {need_name} and {offer_name} to accept."
        waiting = offer_name if match.need_accepted_by is not None else need_name
        return f"Accepted by {accepted[0]}; waiting for {waiting}."
    if match.is_reported:
        return (
            f"Reported delivered {when(match.reported_at)} by {offer_name}: "
            f"{escape(card.amounts())}. Waiting for {need_name} to press **Received**."
        )
    if match.status is MatchStatus.COMMITTED:
        return (
            f"Committed {when(match.committed_at)}: {escape(card.amounts())} reserved. "
            "Contacts were sent by DM; the giving side presses **Delivered** once it has arrived."
        )
    if match.status is MatchStatus.DELIVERED:
        return f"Delivered {when(match.delivered_at)}: {escape(card.amounts())}."
    return {
        MatchStatus.DECLINED: "Declined; both posts look for other partners.",
        MatchStatus.CANCELLED: "Cancelled; the quantity is open again on both posts.",
        MatchStatus.LAPSED: "Lapsed: one of the posts closed, expired or has nothing left.",
    }[match.status]


def match_line(card: MatchCard) -> str:
    return (
        f"`{card.match.ref}` {status_mark(card)} · {escape(card.amounts())} "
        f"{escape(card.need.item_label)} · {card.offer.ref} {escape(card.offer_org.name)} → {card.need.ref} "
        f"{escape(card.need_org.name)} · {card.match.distance_km:,.0f} km"
    )


def contact_message(reveal: ContactReveal) -> str:
    """The DM each side's coordinators receive when a match commits."""
    card = reveal.card
    contact = escape(reveal.partner.contact) if reveal.partner.contact else "(no longer on file; ask an admin)"
    return (
        f"🤝 **{card.match.ref} is committed**: {escape(card.amounts())} of "
        f"{escape(card.need.item_label)} from **{escape(card.offer_org.name)}** ({escape(card.offer.place_label)}) to "
        f"**{escape(card.need_org.name)}** ({escape(card.need.place_label)}).\n"
        f"Contact for **{escape(reveal.partner.name)}**: {contact}\n"
        "Arrange the handover directly. When it has arrived, the giving side presses **Delivered** on the match "
        "and the receiving side confirms with **Received**; "
        "if it falls through, **Cancel** returns the quantity to both posts. Please keep this contact private."
    )


def hold_text(post: Post) -> str:
    """How long a post waits for a near partner before it reaches farther ("6 hours")."""
    hours = round(HOLD.get(post.urgency, HOLD[Urgency.NORMAL]).total_seconds() / 3600)
    return f"{hours} hour{'s' if hours != 1 else ''}"
