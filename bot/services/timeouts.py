"""Time-outs: proposals nobody answers move on, and commitments nobody reports on are chased.

A proposal unanswered within its window (by the need's urgency) expires: both
sides are told and each post is proposed at once to its next-best partner (a
pair is never proposed twice, so the expired one never comes back). A commitment
without a delivery report by its deadline nudges both sides by DM; a second
lapse is reported in the log channel and, for a critical need, the stalled
quantity is proposed to the next-best offer as a hand-off, while the commitment
keeps its reservation until the hand-off commits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from bot.core import Core
from bot.models import ChannelKind, Match, MatchStatus, Urgency
from bot.services import matches as lifecycle
from bot.services.cards import match_card
from bot.services.notices import notify_channel, notify_user
from bot.services.proposals import SYSTEM_ACTOR, find_proposals, propose_pairs
from bot.text import escape
from bot.windows import delivery_window, proposal_window

# Rows per transaction: an expiry re-matches both its posts (a post's worth of matching each), so each
# expiry is its own transaction and the loop turns between them.
SWEEP_BATCH = 1


@dataclass(frozen=True, slots=True)
class TimeoutSweep:
    expired: int
    nudged: int
    escalated: int
    more: bool


def sweep(core: Core, now: datetime, *, limit: int = SWEEP_BATCH) -> TimeoutSweep:
    """Take one batch of due matches; ``more`` says the batch was full."""
    due = core.store.matches.due(now, limit=limit)
    expired = nudged = escalated = 0
    with core.store.atomic():
        for match in due:
            if match.status is MatchStatus.PROPOSED:
                _expire(core, match, now)
                expired += 1
            elif match.nudges == 0:
                _nudge(core, match, now)
                nudged += 1
            else:
                _escalate(core, match, now)
                escalated += 1
    return TimeoutSweep(expired=expired, nudged=nudged, escalated=escalated, more=len(due) >= limit)


def _expire(core: Core, match: Match, now: datetime) -> None:
    card = match_card(core, match.id)
    if not core.store.matches.close(match.id, MatchStatus.LAPSED, SYSTEM_ACTOR, now, was=MatchStatus.PROPOSED):
        return
    hours = int(proposal_window(card.need.urgency).total_seconds() // 3600)
    core.store.audit.record(match.coalition_id, SYSTEM_ACTOR, "match.timeout", f"match:{match.id}", now, hours=hours)
    lifecycle.refresh_messages(core, match.id, now)
    coalition = core.store.coalitions.get(match.coalition_id)
    text = (
        f"⌛ Proposal {match.ref} ({card.offer.ref} {escape(card.offer_org.name)} → {card.need.ref} "
        f"{escape(card.need_org.name)}, {escape(card.need.item_label)}) expired: "
        f"it was not accepted by both sides within {hours} h. "
        "Each post is proposed to its next-best partner now; this pair will not be proposed again."
    )
    for member_id in dict.fromkeys((*card.need_member_ids, *card.offer_member_ids)):
        notify_user(core, coalition, member_id, text, now)
    lifecycle.propose_for(core, match.need_id, now)
    lifecycle.propose_for(core, match.offer_id, now)


def _nudge(core: Core, match: Match, now: datetime) -> None:
    card = match_card(core, match.id)
    for member_id in dict.fromkeys((*card.need_member_ids, *card.offer_member_ids)):
        core.store.outbox.enqueue(
            match.coalition_id, "delivery_nudge", f"user:{member_id}", {"match_id": match.id}, now
        )
    core.store.matches.set_due(match.id, now + delivery_window(card.need.urgency), nudges=1)
    core.store.audit.record(match.coalition_id, SYSTEM_ACTOR, "match.nudge", f"match:{match.id}", now)


def _escalate(core: Core, match: Match, now: datetime) -> None:
    """Second lapse: admins hear of it; a critical need's stalled quantity is offered to the next-best offer."""
    card = match_card(core, match.id)
    core.store.matches.set_due(match.id, None, nudges=match.nudges + 1)
    handed = []
    if card.need.urgency is Urgency.CRITICAL:
        event = core.store.events.get(card.need.event_id)
        if event is not None:
            # Search as if the stalled quantity were still open; nothing is released until a hand-off commits.
            wanting = replace(card.need, remaining=card.need.remaining + match.quantity)
            found = find_proposals(core, wanting, radius_km=event.radius_km, now=now, limit=1)
            handed = propose_pairs(core, card.need, found, now, replaces_id=match.id)
    core.store.audit.record(
        match.coalition_id, SYSTEM_ACTOR, "match.escalate", f"match:{match.id}", now,
        hand_off=handed[0].match.ref if handed else None,
    )  # fmt: skip
    coalition = core.store.coalitions.get(match.coalition_id)
    committed = card.match.committed_at.strftime("%Y-%m-%d %H:%M UTC") if card.match.committed_at else "?"
    text = (
        f"⚠️ {match.ref}: {match.quantity:,} {escape(card.need.unit)} of {escape(card.need.item_label)} from "
        f"{escape(card.offer_org.name)} ({card.offer.ref}) to {escape(card.need_org.name)} ({card.need.ref}), "
        f"committed {committed}, has no delivery report after a reminder to both sides."
    )
    if handed:
        text += (
            f" The need is critical, so {handed[0].match.ref} proposes the quantity to "
            f"{escape(handed[0].offer_org.name)} ({handed[0].offer.ref}); "
            f"{match.ref} keeps its reservation until that one commits."
        )
    elif card.need.urgency is Urgency.CRITICAL:
        text += " The need is critical, but no other offer can cover it now."
    notify_channel(core, coalition, ChannelKind.LOG, text, now)
