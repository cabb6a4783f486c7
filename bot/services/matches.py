"""Matches: proposing pairs, and carrying each one from proposal to delivery.

A proposal commits when both sides accept; the committed quantity is what both
posts have left at that moment, reserved on both in one transaction, so the
quantities committed against a post never exceed it. Every change writes its
audit row and its notifications (outbox) in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.core import Core
from bot.errors import Conflict, Forbidden, NotFound
from bot.matching import allocation, is_expired, is_matchable
from bot.models import (
    Actor,
    Coalition,
    Event,
    EventStatus,
    Match,
    MatchStatus,
    Org,
    Post,
    PostKind,
    PostStatus,
)
from bot.services.cards import MatchCard, match_card
from bot.services.notices import notify_user
from bot.services.proposals import SYSTEM_ACTOR, home_matches_channel, propose_for
from bot.text import escape
from bot.units import Movement, amount
from bot.windows import delivery_window

# Re-exported: callers think of cards and proposing as part of matching.
__all__ = ["SYSTEM_ACTOR", "MatchCard", "match_card", "propose_for"]


@dataclass(frozen=True, slots=True)
class ContactReveal:
    """What one side learns of the other once a match commits: sent by DM only."""

    card: MatchCard
    partner: Org
    own: Org


def contact_reveal(
    core: Core, match_id: int, partner_org_id: int, *, recipient_id: int, in_server: bool
) -> ContactReveal | None:
    """The partner's contact for ``recipient_id``, checked as the DM leaves, not when it was queued.

    None (and an audit entry saying why) unless the match is still committed or
    delivered, its event still open, and the recipient still in a server of the
    coalition (``in_server``, which only Discord knows) and a coordinator of the
    other side's org, itself still verified.
    """
    card = match_card(core, match_id)
    if partner_org_id == card.need_org.id:
        reveal = ContactReveal(card=card, partner=card.need_org, own=card.offer_org)
    elif partner_org_id == card.offer_org.id:
        reveal = ContactReveal(card=card, partner=card.offer_org, own=card.need_org)
    else:
        return None
    event = core.store.events.get(card.match.event_id)
    reason = (
        "match_ended" if card.match.status not in (MatchStatus.COMMITTED, MatchStatus.DELIVERED)
        else "event_closed" if event is None or event.status is not EventStatus.OPEN
        else "left_server" if not in_server
        else "left_org" if not core.store.orgs.is_member(reveal.own.id, recipient_id)
        else "org_not_verified" if not reveal.own.is_verified
        else None
    )  # fmt: skip
    if reason is None:
        return reveal
    core.store.audit.record(
        card.match.coalition_id, SYSTEM_ACTOR, "contact.withheld", f"match:{match_id}", core.clock(),
        reason=reason, recipient=recipient_id,
    )  # fmt: skip
    return None


def accept_match(core: Core, actor: Actor, match_id: int) -> MatchCard:
    """The actor accepts for their side; the match commits once both sides have."""
    coalition = core.coalition_of(actor)
    card = _card_for(core, coalition, match_id)
    on_need, on_offer = _sides(core, actor, card, "accept")
    _require_open_event(core, card)
    _expire_lazily(core, card)
    card = match_card(core, match_id)
    _require_status(card, MatchStatus.PROPOSED, "accepted")
    need_side = actor.user_id if on_need and card.match.need_accepted_by is None else None
    offer_side = actor.user_id if on_offer and card.match.offer_accepted_by is None else None
    if need_side is None and offer_side is None:
        waiting = card.offer_org if on_need else card.need_org
        raise Conflict(f"Your organisation already accepted {card.match.ref}; waiting for {escape(waiting.name)}.")
    now = core.clock()
    with core.store.atomic():
        core.store.matches.accept(match_id, need_side=need_side, offer_side=offer_side)
        core.store.audit.record(
            coalition.id, actor.user_id, "match.accept", f"match:{match_id}", now,
            side="both" if need_side and offer_side else "need" if need_side else "offer",
        )  # fmt: skip
        match = _get(core, match_id)
        if match.need_accepted_by is not None and match.offer_accepted_by is not None:
            _commit(core, coalition, card, actor, now)
        else:
            _refresh(core, match_id, now)
    return match_card(core, match_id)


def decline_match(core: Core, actor: Actor, match_id: int) -> MatchCard:
    """Either side turns a proposal down; both posts look for other partners."""
    coalition = core.coalition_of(actor)
    card = _card_for(core, coalition, match_id)
    _sides(core, actor, card, "decline")
    _require_status(card, MatchStatus.PROPOSED, "declined")
    now = core.clock()
    with core.store.atomic():
        core.store.matches.close(match_id, MatchStatus.DECLINED, actor.user_id, now, was=MatchStatus.PROPOSED)
        core.store.audit.record(coalition.id, actor.user_id, "match.decline", f"match:{match_id}", now)
        _refresh(core, match_id, now)
        propose_for(core, card.need.id, now)
        propose_for(core, card.offer.id, now)
    return match_card(core, match_id)


def deliver_match(core: Core, actor: Actor, match_id: int) -> MatchCard:
    """Either side confirms delivery; a post with nothing left and nothing pending is fulfilled."""
    coalition = core.coalition_of(actor)
    card = _card_for(core, coalition, match_id)
    _sides(core, actor, card, "mark delivered")
    _require_status(card, MatchStatus.COMMITTED, "marked delivered")
    now = core.clock()
    with core.store.atomic():
        core.store.matches.deliver(match_id, actor.user_id, now)
        core.store.audit.record(
            coalition.id, actor.user_id, "match.deliver", f"match:{match_id}", now, quantity=card.match.quantity
        )
        for post in (card.need, card.offer):
            _fulfil_if_done(core, post.id, actor.user_id, now)
        _refresh(core, match_id, now)
    return match_card(core, match_id)


def cancel_match(core: Core, actor: Actor, match_id: int) -> MatchCard:
    """Either side calls off a committed match: the reservation returns to both posts, which re-match."""
    coalition = core.coalition_of(actor)
    card = _card_for(core, coalition, match_id)
    _sides(core, actor, card, "cancel")
    _require_status(card, MatchStatus.COMMITTED, "cancelled")
    now = core.clock()
    with core.store.atomic():
        _cancel_committed(core, coalition, card.match, actor.user_id, now, reason=f"cancelled by <@{actor.user_id}>")
        propose_for(core, card.need.id, now)
        propose_for(core, card.offer.id, now)
    return match_card(core, match_id)


def retire_post(core: Core, post: Post, status: PostStatus, by: int, now: datetime, *, cancel_committed: bool) -> int:
    """Take a post out of matching (closed, withdrawn, expired); call inside a transaction.

    Its open proposals lapse; with ``cancel_committed`` its committed matches are
    cancelled too, giving the reservations back. The partners of those matches
    look for new pairs. Returns how many matches ended.
    """
    core.store.posts.set_status(post.id, status, now)
    coalition = core.store.coalitions.get(post.coalition_id)
    ended = 0
    partners: list[int] = []
    for match in core.store.matches.live_for_post(post.id):
        partner = match.offer_id if post.kind is PostKind.NEED else match.need_id
        if match.status is MatchStatus.PROPOSED:
            core.store.matches.close(match.id, MatchStatus.LAPSED, by, now, was=MatchStatus.PROPOSED)
            core.store.audit.record(
                post.coalition_id, by, "match.lapse", f"match:{match.id}", now, reason=f"{post.ref} {status.value}"
            )
            _refresh(core, match.id, now)
        elif cancel_committed:
            _cancel_committed(core, coalition, match, by, now, reason=f"{post.ref} was {status.value}")
        else:
            continue
        ended += 1
        partners.append(partner)
    for partner in partners:
        propose_for(core, partner, now)
    return ended


def end_event_proposals(core: Core, event: Event, by: int, now: datetime) -> int:
    """A closing event's open proposals lapse, so none of them can commit; call inside a transaction.

    Committed matches stand (the goods may be on their way). Returns how many ended.
    """
    ended = core.store.matches.proposed_for_event(event.id)
    for match in ended:
        core.store.matches.close(match.id, MatchStatus.LAPSED, by, now, was=MatchStatus.PROPOSED)
        core.store.audit.record(
            event.coalition_id, by, "match.lapse", f"match:{match.id}", now, reason=f"event:{event.id} closed"
        )
        _refresh(core, match.id, now)
    return len(ended)


def list_matches(
    core: Core, actor: Actor, *, status: MatchStatus | None = None, mine: bool = False, limit: int = 15
) -> list[MatchCard]:
    """Matches of the coalition, newest first: live ones unless a status is named."""
    coalition = core.coalition_of(actor)
    statuses = (status,) if status is not None else (MatchStatus.PROPOSED, MatchStatus.COMMITTED)
    org_ids = [o.id for o in core.store.orgs.of_member(coalition.id, actor.user_id)] if mine else None
    if org_ids == []:
        raise Forbidden("You are not a member of any organisation here, so none of these matches are yours.")
    found = core.store.matches.list(coalition.id, statuses=statuses, org_ids=org_ids, limit=limit)
    return [match_card(core, m.id) for m in found]


# --- inside a transaction ---------------------------------------------------------------------------


def _commit(core: Core, coalition: Coalition, card: MatchCard, actor: Actor, now: datetime) -> None:
    replaced = core.store.matches.get(card.match.replaces_id) if card.match.replaces_id else None
    if replaced is not None and replaced.status is MatchStatus.COMMITTED:
        # A hand-off: the stalled commitment gives its reservation back only now, so the need is never
        # covered twice; if it was delivered meanwhile, the need has nothing left and this one lapses.
        _cancel_committed(core, coalition, replaced, actor.user_id, now, reason=f"handed over to {card.match.ref}")
        propose_for(core, replaced.offer_id, now)
    # Read both posts under their lock: another process committing against either waits, then sees this one's.
    core.store.posts.lock(card.need.id, card.offer.id)
    need, offer = _post(core, card.need.id), _post(core, card.offer.id)
    # Each side in its own unit: whole units leave the offer, the need is credited what arrives, rounded down.
    moves = (
        allocation(need, offer, core.taxonomy)
        if is_matchable(need, now) and is_matchable(offer, now)
        else Movement(0, 0)
    )
    match_id = card.match.id
    reserved = bool(moves) and core.store.posts.reserve(need.id, moves.need)
    if reserved and not core.store.posts.reserve(offer.id, moves.offer):
        core.store.posts.release(need.id, moves.need)
        reserved = False
    if not reserved:
        # Nothing left on one side: other matches took it first, so this one lapses.
        core.store.matches.close(match_id, MatchStatus.LAPSED, actor.user_id, now, was=MatchStatus.PROPOSED)
        core.store.audit.record(coalition.id, actor.user_id, "match.lapse", f"match:{match_id}", now, reason="empty")
        _refresh(core, match_id, now)
        for post in (need, offer):
            propose_for(core, post.id, now)
        return
    core.store.matches.commit(match_id, moves.need, moves.offer, now, due_at=now + delivery_window(need.urgency))
    core.store.audit.record(
        coalition.id, actor.user_id, "match.commit", f"match:{match_id}", now,
        quantity=moves.need, offer_quantity=moves.offer, need=need.ref, offer=offer.ref,
    )  # fmt: skip
    # Contacts travel by DM only, to every coordinator of each side.
    for member_id in card.need_member_ids:
        core.store.outbox.enqueue(
            coalition.id,
            "contact_reveal",
            f"user:{member_id}",
            {"match_id": match_id, "partner_org_id": card.offer_org.id},
            now,
        )
    for member_id in card.offer_member_ids:
        core.store.outbox.enqueue(
            coalition.id,
            "contact_reveal",
            f"user:{member_id}",
            {"match_id": match_id, "partner_org_id": card.need_org.id},
            now,
        )
    _refresh(core, match_id, now)
    for post_id in (need.id, offer.id):
        _lapse_if_exhausted(core, post_id, match_id, actor.user_id, now)
    # Partial fulfilment: what is left on either side looks for partners at once.
    for post_id in (need.id, offer.id):
        propose_for(core, post_id, now)


def _cancel_committed(core: Core, coalition: Coalition, match: Match, by: int, now: datetime, *, reason: str) -> None:
    core.store.matches.close(match.id, MatchStatus.CANCELLED, by, now, was=MatchStatus.COMMITTED)
    core.store.posts.release(match.need_id, match.quantity)
    core.store.posts.release(match.offer_id, match.offer_quantity)
    core.store.audit.record(
        coalition.id, by, "match.cancel", f"match:{match.id}", now, quantity=match.quantity, reason=reason
    )
    _refresh(core, match.id, now)
    for post_id in (match.need_id, match.offer_id):
        post = _post(core, post_id)
        for member_id in core.store.orgs.member_ids(post.org_id):
            if member_id != by:
                notify_user(
                    core, coalition, member_id,
                    f"Match {match.ref} ({escape(amount(match.side_quantity(post.kind), post.unit))} of "
                    f"{escape(post.item_label)}) "
                    f"was {reason}. "
                    f"The quantity is open again for {post.ref}.",
                    now,
                )  # fmt: skip


def _lapse_if_exhausted(core: Core, post_id: int, except_match: int, by: int, now: datetime) -> None:
    """A post with nothing left can't honour its other proposals: they lapse, and their partners re-match."""
    post = _post(core, post_id)
    if post.remaining > 0:
        return
    partners = []
    for match in core.store.matches.live_for_post(post_id):
        if match.id == except_match or match.status is not MatchStatus.PROPOSED:
            continue
        core.store.matches.close(match.id, MatchStatus.LAPSED, by, now, was=MatchStatus.PROPOSED)
        core.store.audit.record(
            post.coalition_id, by, "match.lapse", f"match:{match.id}", now, reason=f"{post.ref} fully committed"
        )
        _refresh(core, match.id, now)
        partners.append(match.offer_id if post.kind is PostKind.NEED else match.need_id)
    for partner in partners:
        propose_for(core, partner, now)


def _fulfil_if_done(core: Core, post_id: int, by: int, now: datetime) -> None:
    post = _post(core, post_id)
    if post.status is PostStatus.OPEN and post.remaining == 0 and core.store.matches.committed_total(post_id) == 0:
        core.store.posts.set_status(post_id, PostStatus.FULFILLED, now)
        core.store.audit.record(post.coalition_id, by, "post.fulfil", f"post:{post.ref}", now)


def _refresh(core: Core, match_id: int, now: datetime) -> None:
    """Queue an edit of every message showing this match (rendered from the live state when sent)."""
    match = _get(core, match_id)
    channels = set(core.store.matches.message_channels(match_id))
    # And each side's matches channel, as before: an edit finds nothing to do where no message was sent yet.
    for post_id in (match.need_id, match.offer_id):
        post = _post(core, post_id)
        channel_id = home_matches_channel(core, match.coalition_id, _org(core, post.org_id).home_guild_id)
        if channel_id is not None:
            channels.add(channel_id)
    for channel_id in sorted(channels):
        core.store.outbox.enqueue(
            match.coalition_id, "match_update", f"channel:{channel_id}", {"match_id": match_id}, now
        )


# --- lookups and checks -------------------------------------------------------------------------------


def _expire_lazily(core: Core, card: MatchCard) -> None:
    now = core.clock()
    expired = [p for p in (card.need, card.offer) if is_expired(p, now)]
    if not expired:
        return
    with core.store.atomic():
        for post in expired:
            retire_post(core, post, PostStatus.EXPIRED, SYSTEM_ACTOR, now, cancel_committed=False)
            core.store.audit.record(post.coalition_id, SYSTEM_ACTOR, "post.expire", f"post:{post.ref}", now)


def _card_for(core: Core, coalition: Coalition, match_id: int) -> MatchCard:
    match = core.store.matches.get(match_id)
    if match is None or match.coalition_id != coalition.id:
        raise NotFound(f"There is no match M-{match_id} here. See `/match list`.")
    return match_card(core, match_id)


def _sides(core: Core, actor: Actor, card: MatchCard, verb: str) -> tuple[bool, bool]:
    """Which sides the actor may act for, checked now: a coordinator of a side's org, that org still verified.

    ``_card_for`` has already placed the match in the actor's coalition, so the
    orgs named here are ones the actor's own server shows.
    """
    on_need = card.need_org.is_verified and core.store.orgs.is_member(card.need_org.id, actor.user_id)
    on_offer = card.offer_org.is_verified and core.store.orgs.is_member(card.offer_org.id, actor.user_id)
    if not (on_need or on_offer):
        raise Forbidden(
            f"Only coordinators of {escape(card.need_org.name)} or {escape(card.offer_org.name)} (verified) can "
            f"{verb} {card.match.ref}."
        )
    return on_need, on_offer


def _require_open_event(core: Core, card: MatchCard) -> None:
    """Nothing of a closed event commits (its proposals ended when it closed; this closes the race)."""
    event = core.store.events.get(card.match.event_id)
    if event is None or event.status is not EventStatus.OPEN:
        raise Conflict(f"The event of {card.match.ref} is closed, so it can't be accepted now.")


def _require_status(card: MatchCard, wanted: MatchStatus, verb: str) -> None:
    if card.match.status is not wanted:
        raise Conflict(f"{card.match.ref} is {card.match.status.value}, so it can't be {verb} now.")


def _get(core: Core, match_id: int) -> Match:
    match = core.store.matches.get(match_id)
    if match is None:
        raise NotFound(f"There is no match M-{match_id}.")
    return match


def _post(core: Core, post_id: int) -> Post:
    post = core.store.posts.get(post_id)
    if post is None:
        raise NotFound(f"There is no post #{post_id}.")
    return post


def _org(core: Core, org_id: int) -> Org:
    org = core.store.orgs.get(org_id)
    if org is None:
        raise NotFound(f"There is no organisation #{org_id}.")
    return org


# Shared with the use cases that carry a match past its commitment (bot.services.delivery, .timeouts):
# one check of who may act, one refresh, one cancellation, whichever use case calls them.
card_for = _card_for
sides = _sides
require_status = _require_status
refresh_messages = _refresh
cancel_committed = _cancel_committed
fulfil_if_done = _fulfil_if_done
