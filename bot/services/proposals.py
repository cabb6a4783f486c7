"""Proposals: finding a post's best new partners and putting each pair to both sides.

Candidates come from a bounded, indexed read (never a scan of the open posts)
and are scored exactly by :mod:`bot.matching`; a pair is proposed at most once.
"""

from __future__ import annotations

from datetime import datetime

from bot.core import Core
from bot.matching import (
    HOLD,
    LOCAL_LEVEL,
    MAX_REACH_LEVEL,
    NEAR_LEVEL,
    PRESSING,
    Candidate,
    Proposal,
    busy_since,
    evaluate,
    is_busy,
    is_matchable,
    level_steps,
    rank_candidates,
    reach_level,
)
from bot.models import ChannelKind, EventStatus, MatchStatus, Post, PostKind, Urgency
from bot.services.cards import MatchCard, OrgLookup
from bot.store.matches import NewMatch
from bot.units import factor, mismatch_hint
from bot.windows import proposal_window

SYSTEM_ACTOR = 0  # audit rows written by the bot itself (expiry, lapses)


def home_matches_channel(core: Core, coalition_id: int, home_guild_id: int | None) -> int | None:
    """The matches channel of the server an org registered in; the lead server's when that server left."""
    return core.store.federation.home_channel(coalition_id, home_guild_id, ChannelKind.MATCHES)


def proposal_targets(core: Core, coalition_id: int, proposal: Proposal, orgs: OrgLookup) -> list[str]:
    """Where a proposal is shown: each side's own server's matches channel, else that side's coordinators by DM.

    Without a matches channel the buttons would reach nobody; a DM keeps the match actionable.
    Both sides in one server share its one message.
    """
    targets: list[str] = []
    for org_id in (proposal.need.org_id, proposal.offer.org_id):
        channel_id = orgs.matches_channel(coalition_id, orgs.org(org_id).home_guild_id)
        if channel_id is not None:
            targets.append(f"channel:{channel_id}")
        else:
            targets += [f"user:{user_id}" for user_id in orgs.members(org_id)]
    return list(dict.fromkeys(targets))


def read_candidates(
    core: Core, post: Post, *, radius_km: float, now: datetime, just_stored: bool = False
) -> list[Candidate]:
    """The bounded candidate set for ``post`` from the index (read-only).

    The same item reads twice as many candidates per cell as each group of its
    relatives (its parent, its siblings, its children), which score lower for fit.
    Siblings and children are read as families (:meth:`bot.taxonomy.Taxonomy.reading`):
    one probe per cell for all of them, where one per item per cell was 88 probes
    for a staple item, the slowest posts' largest cost. One read serves a post's
    proposals and, when none is found, the reasons given in its reply
    (:func:`farther_partners`, :func:`unit_mismatch`). ``just_stored``: ``post`` was inserted in this
    transaction and has no pairs yet (:meth:`bot.store.posts.Posts.candidates`).
    """
    per_cell = max(6, 2 * core.settings.proposals_per_post)
    relatives = max(2, per_cell // 2)
    items, families = core.taxonomy.reading(post.item_key)
    limits = {key: per_cell if key == post.item_key else relatives for key in items}
    return core.store.posts.candidates(
        post, limits=limits, families=dict.fromkeys(families, relatives), radius_km=radius_km, now=now,
        just_stored=just_stored,
    )  # fmt: skip


def find_proposals(
    core: Core,
    post: Post,
    *,
    radius_km: float,
    now: datetime,
    limit: int,
    candidates: list[Candidate] | None = None,
) -> list[Proposal]:
    """The best new pairs for ``post`` (read-only): a bounded candidate set from the index, scored exactly.

    ``candidates``: what :func:`read_candidates` returned for this post, when the caller already has it.
    """
    if candidates is None:
        candidates = read_candidates(core, post, radius_km=radius_km, now=now)
    ranked = rank_candidates(post, candidates, taxonomy=core.taxonomy, radius_km=radius_km, now=now, limit=limit)
    others = core.store.posts.get_many(choice.id for choice in ranked)
    proposals = []
    for choice in ranked:
        other = others.get(choice.id)
        if other is None:
            continue
        need, offer = (post, other) if post.kind is PostKind.NEED else (other, post)
        proposal = evaluate(need, offer, taxonomy=core.taxonomy, radius_km=radius_km, now=now)
        if proposal is not None:
            proposals.append(proposal)
    return proposals


def propose_for(core: Core, post_id: int, now: datetime) -> list[MatchCard]:
    """Propose the post's best new pairs, up to ``proposals_per_post`` open proposals; call inside a transaction.

    Returns the new proposals' cards, built from what is already in hand.
    """
    post = core.store.posts.get(post_id)
    if post is None or not is_matchable(post, now):
        return []
    event = core.store.events.get(post.event_id)
    if event is None or event.status is not EventStatus.OPEN:
        return []
    waiting = sum(1 for m in core.store.matches.live_for_post(post.id) if m.status is MatchStatus.PROPOSED)
    slots = core.settings.proposals_per_post - waiting
    if slots <= 0:
        return []
    return propose_pairs(core, post, find_proposals(core, post, radius_km=event.radius_km, now=now, limit=slots), now)


def starting_reach(
    core: Core,
    *,
    event_id: int,
    org_id: int,
    lat: float,
    lon: float,
    urgency: Urgency,
    deadline: datetime | None,
    now: datetime,
) -> int:
    """Where a post made now starts looking: its own town when others have posted near it lately, else near at once.

    In a busy area a partner in the same town usually appears within hours; in a quiet one waiting would only
    delay the post (see :mod:`bot.matching`, town first where it is busy). Decided once, before the post is
    stored, so the post is written once with it.
    """
    if reach_level(urgency, now, deadline, now, start=LOCAL_LEVEL) != LOCAL_LEVEL:
        return NEAR_LEVEL  # critical, or a deadline a day away: the whole event at once
    recent = core.store.posts.posted_near(event_id, lat, lon, since=busy_since(urgency, now), other_than_org=org_id)
    return LOCAL_LEVEL if is_busy(lat, lon, recent) else NEAR_LEVEL


def propose_new(
    core: Core, post: Post, candidates: list[Candidate], now: datetime, *, radius_km: float, orgs: OrgLookup
) -> list[MatchCard]:
    """A post just stored proposes its best pairs among ``candidates`` (:func:`read_candidates`).

    What :func:`propose_for` does, without reading again what the posting holds: the post, its open event,
    and no proposal waiting yet (where it starts looking was settled as it was stored: :func:`starting_reach`).
    """
    if not is_matchable(post, now):
        return []
    limit = core.settings.proposals_per_post
    found = find_proposals(core, post, radius_km=radius_km, now=now, limit=limit, candidates=candidates)
    return propose_pairs(core, post, found, now, orgs=orgs)


def propose_pairs(
    core: Core,
    post: Post,
    proposals: list[Proposal],
    now: datetime,
    *,
    replaces_id: int | None = None,
    orgs: OrgLookup | None = None,
) -> list[MatchCard]:
    """Store and announce these proposals found for ``post``; each expires unanswered after its window.

    ``orgs``: the use case's lookup, when it reads orgs and channels of its own (each is read once).
    """
    orgs = orgs or OrgLookup(core)
    orgs.prefetch(org_id for p in proposals for org_id in (p.need.org_id, p.offer.org_id))
    new = [
        NewMatch(
            need_id=proposal.need.id, offer_id=proposal.offer.id, score=proposal.score,
            distance_km=round(proposal.distance_km, 1), quantity=proposal.quantity,
            offer_quantity=proposal.offer_quantity, due_at=now + proposal_window(proposal.need.urgency),
            replaces_id=replaces_id,
        )
        for proposal in proposals
    ]  # fmt: skip
    by_pair = {(p.need.id, p.offer.id): p for p in proposals}
    stored = [
        (m, by_pair[m.need_id, m.offer_id])
        for m in core.store.matches.propose(post.coalition_id, post.event_id, new, now)
    ]
    audited: list[tuple[str, dict[str, object]]] = [
        (f"match:{m.id}", {"need": p.need.ref, "offer": p.offer.ref, "score": round(p.score, 3)}) for m, p in stored
    ]
    notices = [
        (target, {"match_id": m.id}) for m, p in stored for target in proposal_targets(core, post.coalition_id, p, orgs)
    ]
    core.store.audit.record_many(post.coalition_id, SYSTEM_ACTOR, "match.propose", audited, now)
    core.store.outbox.enqueue_many(post.coalition_id, "match_proposal", notices, now)
    return [orgs.card(m, p.need, p.offer) for m, p in stored]


def unit_mismatch(core: Core, post: Post, candidates: list[Candidate]) -> str | None:
    """Why nothing was proposed although posts of a compatible item are near: their units don't convert.

    Asked only when a post found no partner, of the candidates its search read: "offers of Water exist in
    litres; say your bottle size to match them".
    """
    own = core.taxonomy.unit(post.item_key, post.unit)
    other_kind = "Offers" if post.kind is PostKind.NEED else "Needs"
    for other in candidates:
        other_unit = core.taxonomy.unit(other.item_key, other.unit)
        need_unit, offer_unit = (own, other_unit) if post.kind is PostKind.NEED else (other_unit, own)
        if factor(need_unit, offer_unit) is None:
            return mismatch_hint(need_unit, offer_unit, item=post.item_label, own=own, other_kind=other_kind)
    return None


def widen_due(core: Core, now: datetime, *, limit: int = 500) -> int:
    """Posts whose reach has grown since they last looked propose their new, farther partners.

    Returns how many posts widened; each in its own short transaction, at most once per level.
    """
    due = core.store.posts.due_for_widening(now, _STEPS, max_level=MAX_REACH_LEVEL, pressing=PRESSING, limit=limit)
    for post_id, urgency, created_at, deadline, level in due:
        with core.store.atomic():
            propose_for(core, post_id, now)
            widened = reach_level(Urgency(urgency), created_at, deadline, now, start=level)
            core.store.posts.set_reach_level(post_id, widened)
    return len(due)


def next_widening(core: Core) -> datetime | None:
    """When :func:`widen_due` next has work: the earliest moment an open post's reach grows."""
    return core.store.posts.next_widening(_STEPS, max_level=MAX_REACH_LEVEL, pressing=PRESSING)


# (level, how long after posting a post at that level reaches farther), by urgency: what the sweep looks for.
_STEPS = {urgency: level_steps(urgency) for urgency in HOLD}


def farther_partners(core: Core, post: Post, candidates: list[Candidate], *, radius_km: float, now: datetime) -> int:
    """How many of ``post``'s candidates would pair with it if it reached the whole event now (a few at most).

    An offer with partners only farther than its near reach is waiting for a near need first, not on standby.
    """
    return len(
        rank_candidates(
            post, candidates, taxonomy=core.taxonomy, radius_km=radius_km, now=now, limit=3, min_level=MAX_REACH_LEVEL
        )
    )
