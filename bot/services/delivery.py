"""Two-party delivery: the offering side reports it, the needing side confirms what arrived.

**Delivered** from the offering side marks the match *reported delivered* and asks
the needing side to confirm with **Received**; the needing side's **Received**
(or **Delivered**) closes it as delivered. A smaller quantity received lowers
the commitment and returns the difference to both posts, which re-match.
"""

from __future__ import annotations

from datetime import datetime

from bot.core import Core
from bot.errors import Conflict, Forbidden, InvalidInput
from bot.models import Actor, MatchStatus
from bot.services import matches as lifecycle
from bot.services.cards import MatchCard, match_card
from bot.services.notices import notify_user
from bot.text import escape
from bot.units import amount, factor, movement
from bot.windows import STILL_ON_THE_WAY


def report_delivered(core: Core, actor: Actor, match_id: int) -> MatchCard:
    """**Delivered**: from the needing side it closes the match; from the offering side it is a report."""
    coalition = core.coalition_of(actor)
    card = lifecycle.card_for(core, coalition, match_id)
    on_need, _ = lifecycle.sides(core, actor, card, "mark delivered")
    lifecycle.require_status(card, MatchStatus.COMMITTED, "marked delivered")
    if on_need:
        return receive(core, actor, match_id)
    if card.match.is_reported:
        raise Conflict(
            f"{card.match.ref} is already reported delivered; waiting for {escape(card.need_org.name)}'s Received."
        )
    now = core.clock()
    with core.store.atomic():
        core.store.matches.report_delivered(match_id, actor.user_id, now)
        core.store.audit.record(coalition.id, actor.user_id, "match.report", f"match:{match_id}", now)
        lifecycle.refresh_messages(core, match_id, now)
        for member_id in card.need_member_ids:
            core.store.outbox.enqueue(coalition.id, "delivery_report", f"user:{member_id}", {"match_id": match_id}, now)
    return match_card(core, match_id)


def receive(core: Core, actor: Actor, match_id: int, quantity: int | str | None = None) -> MatchCard:
    """**Received**: the needing side confirms; with a smaller quantity, the rest returns to both posts."""
    coalition = core.coalition_of(actor)
    card = lifecycle.card_for(core, coalition, match_id)
    on_need, _ = lifecycle.sides(core, actor, card, "confirm receipt of")
    if not on_need:
        raise Forbidden(
            f"Only coordinators of {escape(card.need_org.name)}, who receive it, can confirm {card.match.ref}."
        )
    lifecycle.require_status(card, MatchStatus.COMMITTED, "confirmed received")
    committed = card.match.quantity
    received = committed if quantity is None or str(quantity).strip() == "" else _whole(quantity, committed)
    now = core.clock()
    # The offer's side of what arrived, in its own unit: as many of its units as the received amount needs.
    sent = movement(received, card.match.offer_quantity, factor(card.need_unit, card.offer_unit)).offer
    sent = card.match.offer_quantity if received == committed or not sent else sent
    with core.store.atomic():
        short, offer_short = committed - received, card.match.offer_quantity - sent
        if short:
            core.store.matches.set_committed_quantity(match_id, received, sent)
            core.store.posts.release(card.need.id, short)
            core.store.posts.release(card.offer.id, offer_short)
        core.store.matches.deliver(match_id, actor.user_id, now)
        core.store.audit.record(
            coalition.id, actor.user_id, "match.deliver", f"match:{match_id}", now,
            quantity=received, committed=committed, reported_by=card.match.reported_by,
        )  # fmt: skip
        for post in (card.need, card.offer):
            lifecycle.fulfil_if_done(core, post.id, actor.user_id, now)
        lifecycle.refresh_messages(core, match_id, now)
        if short:
            _tell_offer_side(core, card, received, amount(offer_short, card.offer_unit), now)
            lifecycle.propose_for(core, card.need.id, now)
            lifecycle.propose_for(core, card.offer.id, now)
    return match_card(core, match_id)


def still_on_the_way(core: Core, actor: Actor, match_id: int) -> MatchCard:
    """**Still on the way**: the delivery is chased again in 12 hours, not now."""
    coalition = core.coalition_of(actor)
    card = lifecycle.card_for(core, coalition, match_id)
    lifecycle.sides(core, actor, card, "update")
    lifecycle.require_status(card, MatchStatus.COMMITTED, "updated")
    now = core.clock()
    with core.store.atomic():
        core.store.matches.set_due(match_id, now + STILL_ON_THE_WAY, nudges=0)
        core.store.audit.record(coalition.id, actor.user_id, "match.on_the_way", f"match:{match_id}", now)
    return match_card(core, match_id)


def _whole(text: int | str, committed: int) -> int:
    try:
        value = int(str(text).strip().replace(",", "").replace("_", ""))
    except ValueError:
        raise InvalidInput("Give the quantity received as a whole number, like 250.") from None
    if not 1 <= value <= committed:
        raise InvalidInput(
            f"The quantity received must be from 1 to the {committed:,} committed; if nothing arrived, press "
            "**Cancel** on the match instead."
        )
    return value


def _tell_offer_side(core: Core, card: MatchCard, received: int, returned: str, now: datetime) -> None:
    coalition = core.store.coalitions.get(card.match.coalition_id)
    for member_id in card.offer_member_ids:
        notify_user(
            core, coalition, member_id,
            f"{escape(card.need_org.name)} confirmed {card.match.ref}: {received:,} of "
            f"{escape(amount(card.match.quantity, card.need_unit))} of {escape(card.need.item_label)} received. "
            f"{escape(returned)} not received are open again on {card.offer.ref}.",
            now,
        )  # fmt: skip
