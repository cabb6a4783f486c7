"""Scoring and allocation: pure functions over models, no SQL and no Discord.

A need and an offer *pair* when they belong to the same event, are of compatible
items (the same item, a synonym, a parent, a child or a sibling in the
taxonomy), their units convert (:mod:`bot.units`: litres to gallons, cartons of
24 tins to tins, never bottles to litres without a bottle size), both still have
something left, neither has expired, they come from different organisations, and
they lie within the event's radius of each other.

Pairs are ranked by a score in [0, 1] that weighs how urgent the need is (0.30),
how well the item fits and how close the two are (0.25 each), how much of the
need the offer covers and how soon either deadline falls (0.10 each). Urgency
weighs most because supply is scarce in a disaster: replayed against the
hindsight optimum (benchmarks, match quality), a lighter urgency term let early
low-urgency needs take what later critical ones needed. Closeness decays within
tens of kilometres, not across the whole event: a truck driving 40 km instead of
15 is what a coordinator notices.

Near first, then wider. Matching at once is first come, first served: a need
that arrives while only far offers exist takes one, and the near offer posted an
hour later finds it gone (replayed, trucks drove 2.0x the optimum's distance).
So a pair that is not critical is proposed at once only when it is near
(:data:`NEAR_KM` by the need's urgency), and a post's reach doubles each time it
waits its :data:`HOLD` without finding all it needs, up to the whole event: a
sweep (:func:`bot.services.proposals.widen_due`) proposes its new partners at
each step. A critical need, or a post whose deadline is a day away, reaches the
whole event at once.

Town first where it is busy. Replayed, more than half of what the hindsight
optimum moves stays within 5 km (the same town), while the engine moved most of
it 20-40 km: in a busy area a partner in the post's own town usually appears
within hours, and taking one 35 km away at once leaves the town's own partner to
someone farther still. So a post that others have posted near in the last half
of its hold (:func:`busy_since`) first reaches only :data:`LOCAL_KM` (level
:data:`LOCAL_LEVEL`) for that half hold; in a quiet area waiting would only delay
it, and it starts near as before. Either way the whole event is reached after
three holds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import NamedTuple

from bot.geo import distance_from, distance_km
from bot.grid import LOCAL_KM, cell_of, local_cell_of, local_cells, search_cells
from bot.models import Post, PostKind, PostStatus, Urgency
from bot.taxonomy import Taxonomy
from bot.units import Movement, factor, movement

__all__ = ["LOCAL_KM", "cell_of", "local_cell_of", "local_cells", "search_cells"]  # the grid, where matching reads it

# Weights of the score's terms; they sum to 1 so a perfect pair scores 1.
FIT_WEIGHT = 0.25
COVERAGE_WEIGHT = 0.10
PROXIMITY_WEIGHT = 0.25
URGENCY_WEIGHT = 0.30
DEADLINE_WEIGHT = 0.10
# Closeness halves about every 21 km (e^(-d/30)): 15 km scores 0.61, 40 km 0.26, 100 km 0.04.
PROXIMITY_SCALE_KM = 30.0

# How far a pair that is not critical reaches at first, by the need's urgency: a city and its suburbs.
NEAR_KM = {Urgency.HIGH: 60.0, Urgency.NORMAL: 40.0, Urgency.LOW: 40.0}
# How long a post waits at each reach before it doubles (offers wait as a normal need).
HOLD = {Urgency.HIGH: timedelta(hours=1), Urgency.NORMAL: timedelta(hours=6), Urgency.LOW: timedelta(hours=12)}
# After three doublings (40 -> 80 -> 160 -> 320 km) a post reaches the whole event.
MAX_REACH_LEVEL = 3
NEAR_LEVEL = 0
# Where a post in a busy area looks first, for the first half of its hold: its town (bot.grid.LOCAL_KM).
LOCAL_LEVEL = -1

# A deadline within a day presses fully; two weeks or more away, not at all.
PRESSING = timedelta(days=1)
RELAXED = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class Proposal:
    """A scored pair of a need and an offer that may become a match."""

    need: Post
    offer: Post
    fit: float
    distance_km: float
    score: float
    moves: Movement

    @property
    def quantity(self) -> int:
        """What the need would be credited now, in its own unit."""
        return self.moves.need

    @property
    def offer_quantity(self) -> int:
        """What would leave the offer now, in the offer's unit."""
        return self.moves.offer


def is_expired(post: Post, now: datetime) -> bool:
    """An open post whose deadline (needed_by / available_until) has passed."""
    return post.status is PostStatus.OPEN and post.deadline is not None and post.deadline <= now


def is_matchable(post: Post, now: datetime) -> bool:
    """Open, with something left, and not past its deadline."""
    return post.status is PostStatus.OPEN and post.remaining > 0 and not is_expired(post, now)


def reach_level(
    urgency: Urgency, created_at: datetime, deadline: datetime | None, now: datetime, *, start: int = NEAR_LEVEL
) -> int:
    """How far a post reaches now, as a level: :data:`LOCAL_LEVEL` (its town), then :data:`NEAR_LEVEL`, doubling once
    per hold waited; all the way at once when it is critical or its deadline is a day away.

    ``start`` is where the post began (its stored ``reach_level``): a post in a busy area starts local and is near
    after half its hold; one in a quiet area starts near. Time only ever widens it.
    """
    if urgency is Urgency.CRITICAL or (deadline is not None and deadline - now <= PRESSING):
        return MAX_REACH_LEVEL
    hold = HOLD[urgency]
    waited = now - created_at
    by_time = LOCAL_LEVEL if waited < hold / 2 else int(waited / hold)
    return max(LOCAL_LEVEL, min(MAX_REACH_LEVEL, max(start, by_time)))


def level_steps(urgency: Urgency) -> list[tuple[int, timedelta]]:
    """(level, how long after posting a post at that level reaches farther), for the sweep."""
    hold = HOLD[urgency]
    return [(LOCAL_LEVEL, hold / 2)] + [(level, hold * (level + 1)) for level in range(NEAR_LEVEL, MAX_REACH_LEVEL)]


def reach_km(need_urgency: Urgency, *, level: int, radius_km: float) -> float:
    """How far apart a pair may be, given the further-reaching of its two posts' levels."""
    if need_urgency is Urgency.CRITICAL or level >= MAX_REACH_LEVEL:
        return radius_km
    if level <= LOCAL_LEVEL:
        return min(radius_km, LOCAL_KM)
    return min(radius_km, NEAR_KM[need_urgency] * 2**level)


def busy_since(urgency: Urgency, now: datetime) -> datetime:
    """Posts by other organisations near a new post since this moment make its area busy (half its hold)."""
    return now - HOLD[urgency] / 2


def is_busy(lat: float, lon: float, others: Iterable[tuple[float, float]]) -> bool:
    """Whether any of these recent posts of other organisations lies within the local reach of (lat, lon)."""
    return any(distance_km(lat, lon, other_lat, other_lon) <= LOCAL_KM for other_lat, other_lon in others)


def deadline_pressure(deadline: datetime | None, now: datetime) -> float:
    """1 when the deadline is a day away or less, falling linearly to 0 at two weeks; 0 without one."""
    if deadline is None:
        return 0.0
    left = deadline - now
    if left <= PRESSING:
        return 1.0
    if left >= RELAXED:
        return 0.0
    return (RELAXED - left) / (RELAXED - PRESSING)


def pair_movement(need: Post, offer: Post, taxonomy: Taxonomy) -> Movement:
    """What the pair can move now, each side in its own unit; empty when their units don't convert."""
    ratio = factor(taxonomy.unit(need.item_key, need.unit), taxonomy.unit(offer.item_key, offer.unit))
    return movement(need.remaining, offer.remaining, ratio)


def pair_score(
    *,
    fit: float,
    need_remaining: int,
    credited: int,
    urgency: Urgency,
    deadlines: tuple[datetime | None, datetime | None],
    distance_km: float,
    radius_km: float,
    now: datetime,
) -> float:
    """The score of a pair already known to be compatible, from 0 (worst) to 1 (best).

    ``credited`` is what the need would receive from the pair, in the need's unit.
    """
    pressure = max(deadline_pressure(deadlines[0], now), deadline_pressure(deadlines[1], now))
    return _score(fit, need_remaining, credited, urgency, pressure, distance_km, radius_km)


# Each urgency's weight as a share of the most urgent's (an enum property read twice per scored pair otherwise).
_URGENCY_SHARE = {urgency: urgency.weight / Urgency.CRITICAL.weight for urgency in Urgency}


def _score(
    fit: float, need_remaining: int, credited: int, urgency: Urgency, pressure: float, distance: float, radius_km: float
) -> float:
    coverage = min(credited, need_remaining) / need_remaining if need_remaining > 0 else 0.0
    proximity = math.exp(-distance / PROXIMITY_SCALE_KM) if radius_km > 0 else 0.0
    return (
        FIT_WEIGHT * fit
        + COVERAGE_WEIGHT * coverage
        + PROXIMITY_WEIGHT * proximity
        + URGENCY_WEIGHT * _URGENCY_SHARE[urgency]
        + DEADLINE_WEIGHT * pressure
    )


def evaluate(need: Post, offer: Post, *, taxonomy: Taxonomy, radius_km: float, now: datetime) -> Proposal | None:
    """The proposal for this pair, or None when they are not candidates for each other."""
    if need.kind is not PostKind.NEED or offer.kind is not PostKind.OFFER:
        return None
    if need.event_id != offer.event_id or need.coalition_id != offer.coalition_id or need.org_id == offer.org_id:
        return None
    if not (is_matchable(need, now) and is_matchable(offer, now)):
        return None
    fit = taxonomy.fit(need.item_key, offer.item_key)
    if fit <= 0.0:
        return None
    distance = distance_km(need.lat, need.lon, offer.lat, offer.lon)
    level = max(
        reach_level(need.urgency, need.created_at, need.deadline, now, start=need.reach_level),
        reach_level(offer.urgency, offer.created_at, offer.deadline, now, start=offer.reach_level),
    )
    if distance > reach_km(need.urgency, level=level, radius_km=radius_km):
        return None
    moves = pair_movement(need, offer, taxonomy)
    if not moves:
        return None
    score = pair_score(
        fit=fit,
        need_remaining=need.remaining,
        credited=moves.need,
        urgency=need.urgency,
        deadlines=(need.deadline, offer.deadline),
        distance_km=distance,
        radius_km=radius_km,
        now=now,
    )
    return Proposal(need=need, offer=offer, fit=fit, distance_km=distance, score=score, moves=moves)


def best_proposals(
    post: Post,
    candidates: Iterable[Post],
    *,
    taxonomy: Taxonomy,
    radius_km: float,
    now: datetime,
    limit: int,
    exclude: frozenset[int] = frozenset(),
) -> list[Proposal]:
    """The ``limit`` best proposals for ``post`` among ``candidates`` (posts of the other kind).

    ``exclude`` holds ids of candidates already paired with ``post``: a pair is
    never proposed twice. Ties go to the older candidate (first come, first served).
    """
    found: list[Proposal] = []
    seen: set[int] = set()
    for other in candidates:
        if other.id in exclude or other.id in seen:
            continue
        seen.add(other.id)
        need, offer = (post, other) if post.kind is PostKind.NEED else (other, post)
        proposal = evaluate(need, offer, taxonomy=taxonomy, radius_km=radius_km, now=now)
        if proposal is not None:
            found.append(proposal)
    found.sort(key=lambda p: (-p.score, (p.offer if post.kind is PostKind.NEED else p.need).id))
    return found[: max(limit, 0)]


class Candidate(NamedTuple):
    """The few fields of an open post that ranking reads; what the candidate index returns.

    A named tuple: a post builds a few hundred of them, and a frozen dataclass costs four times as much to make.
    """

    id: int
    item_key: str
    remaining: int
    unit: str
    lat: float
    lon: float
    urgency: Urgency
    deadline: datetime | None
    created_at: datetime
    reach_level: int = NEAR_LEVEL


class Ranked(NamedTuple):
    """A candidate's place in the ranking for one post (a named tuple, like :class:`Candidate`)."""

    id: int
    score: float


def rank_candidates(
    post: Post,
    candidates: Iterable[Candidate],
    *,
    taxonomy: Taxonomy,
    radius_km: float,
    now: datetime,
    limit: int,
    min_level: int = 0,
) -> list[Ranked]:
    """The ``limit`` best candidates for ``post``, scored like :func:`evaluate`.

    The candidates are already open, unexpired, of another org and not yet paired
    with ``post`` (the store's query guarantees it); this checks item fit and
    distance, and scores. It reads plain fields so that ranking a few hundred
    candidates stays well under a millisecond; callers confirm the winners with
    :func:`evaluate` on full posts.
    """
    is_need = post.kind is PostKind.NEED
    own_unit = taxonomy.unit(post.item_key, post.unit)
    own_level = max(min_level, reach_level(post.urgency, post.created_at, post.deadline, now, start=post.reach_level))
    own_pressure = deadline_pressure(post.deadline, now)
    distance_to = distance_from(post.lat, post.lon)
    # A post's few hundred candidates share a handful of items and units: what depends only on those is worked
    # out once per call (fit, and the unit ratio, whose Fraction arithmetic cost most of the ranking).
    fits: dict[str, float] = {}
    ratios: dict[tuple[str, str], Fraction | int | None] = {}
    ranked: dict[int, Ranked] = {}
    for other in candidates:
        if other.id in ranked:
            continue
        fit = fits.get(other.item_key)
        if fit is None:
            pair = (post.item_key, other.item_key) if is_need else (other.item_key, post.item_key)
            fit = fits[other.item_key] = taxonomy.fit(*pair)
        if fit <= 0.0:
            continue
        unit_key = (other.item_key, other.unit)
        if unit_key in ratios:
            ratio = ratios[unit_key]
        else:
            other_unit = taxonomy.unit(*unit_key)
            ratio = factor(own_unit, other_unit) if is_need else factor(other_unit, own_unit)
            ratio = ratios[unit_key] = 1 if ratio == 1 else ratio  # the same unit: no fractions below
        if ratio is None:
            continue  # nothing says how their units convert (bottles of unknown size against litres)
        distance = distance_to(other.lat, other.lon)
        if distance > radius_km:
            continue  # beyond any reach (the wide cells cover twice the radius)
        need_urgency = post.urgency if is_need else other.urgency
        # The pair reaches as far as the farther-reaching of its two posts. The other's level is worked out only
        # when the post's own reach falls short: reach only grows with the level.
        if distance > reach_km(need_urgency, level=own_level, radius_km=radius_km):
            if own_level >= MAX_REACH_LEVEL:
                continue
            level = reach_level(other.urgency, other.created_at, other.deadline, now, start=other.reach_level)
            if level <= own_level or distance > reach_km(need_urgency, level=level, radius_km=radius_km):
                continue
        need_remaining, offer_remaining = (
            (post.remaining, other.remaining) if is_need else (other.remaining, post.remaining)
        )
        if ratio == 1:  # the same unit, the common case: movement() without building a Movement
            credited = min(need_remaining, offer_remaining)
            if credited <= 0:
                continue
        else:
            moves = movement(need_remaining, offer_remaining, ratio)
            if not moves:
                continue
            credited = moves.need
        pressure = own_pressure if other.deadline is None else max(own_pressure, deadline_pressure(other.deadline, now))
        score = _score(fit, need_remaining, credited, need_urgency, pressure, distance, radius_km)
        ranked[other.id] = Ranked(other.id, score)
    return sorted(ranked.values(), key=lambda r: (-r.score, r.id))[: max(limit, 0)]


def allocation(need: Post, offer: Post, taxonomy: Taxonomy) -> Movement:
    """What a match commits when both sides accept: all the offer can give, no more than the need asks.

    Each side in its own unit (see :func:`bot.units.movement`).
    """
    return pair_movement(need, offer, taxonomy)
