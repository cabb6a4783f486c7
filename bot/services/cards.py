"""Match cards: a match with both posts, both orgs and their coordinators, ready to show. Never contacts."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core import Core
from bot.errors import NotFound
from bot.matching import allocation
from bot.models import Match, MatchStatus, Org, Post


@dataclass(frozen=True, slots=True)
class MatchCard:
    """Everything needed to show a match: both posts, both orgs and their coordinators. Never contacts."""

    match: Match
    need: Post
    offer: Post
    need_org: Org
    offer_org: Org
    need_member_ids: tuple[int, ...]
    offer_member_ids: tuple[int, ...]

    @property
    def live_quantity(self) -> int:
        """What the match moves: the committed amount, or what both sides have left while proposed."""
        if self.match.status is MatchStatus.PROPOSED and self.match.replaces_id is not None:
            # A hand-off moves the stalled commitment's quantity, which the need's remainder does not show.
            return min(self.match.quantity, self.offer.remaining)
        if self.match.status is MatchStatus.PROPOSED:
            return allocation(self.need.remaining, self.offer.remaining)
        return self.match.quantity


class OrgLookup:
    """Orgs and their coordinators, each read once per use case however many matches share them."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self._orgs: dict[int, Org] = {}
        self._members: dict[int, tuple[int, ...]] = {}

    def org(self, org_id: int) -> Org:
        if org_id not in self._orgs:
            org = self.core.store.orgs.get(org_id)
            if org is None:
                raise NotFound(f"There is no organisation #{org_id}.")
            self._orgs[org_id] = org
        return self._orgs[org_id]

    def members(self, org_id: int) -> tuple[int, ...]:
        if org_id not in self._members:
            self._members[org_id] = tuple(self.core.store.orgs.member_ids(org_id))
        return self._members[org_id]

    def card(self, match: Match, need: Post, offer: Post) -> MatchCard:
        return MatchCard(
            match=match,
            need=need,
            offer=offer,
            need_org=self.org(need.org_id),
            offer_org=self.org(offer.org_id),
            need_member_ids=self.members(need.org_id),
            offer_member_ids=self.members(offer.org_id),
        )


def match_card(core: Core, match_id: int) -> MatchCard:
    """The card of a stored match, read afresh."""
    match = core.store.matches.get(match_id)
    if match is None:
        raise NotFound(f"There is no match M-{match_id}.")
    need, offer = core.store.posts.get(match.need_id), core.store.posts.get(match.offer_id)
    if need is None or offer is None:
        raise NotFound(f"The posts of M-{match_id} are gone.")
    return OrgLookup(core).card(match, need, offer)
