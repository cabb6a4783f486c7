"""Match cards: a match with both posts, both orgs and their coordinators, ready to show. Never contacts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.core import Core
from bot.errors import NotFound
from bot.models import ChannelKind, Match, MatchStatus, Org, Post, PostKind
from bot.units import Unit, amount, conversion, factor, movement


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
    need_unit: Unit
    offer_unit: Unit

    @property
    def live_quantity(self) -> int:
        """What the need gets, in its unit: the committed amount, or what both sides have left while proposed."""
        return self._live()[0]

    @property
    def live_offer_quantity(self) -> int:
        """What leaves the offer, in its unit."""
        return self._live()[1]

    def _live(self) -> tuple[int, int]:
        if self.match.status is MatchStatus.PROPOSED:
            # A hand-off moves the stalled commitment's quantity, which the need's remainder does not show.
            wanted = self.match.quantity if self.match.replaces_id is not None else self.need.remaining
            moves = movement(wanted, self.offer.remaining, factor(self.need_unit, self.offer_unit))
            return moves.need, moves.offer
        return self.match.quantity, self.match.offer_quantity

    @property
    def converts(self) -> bool:
        """Whether the two posts count in different units (then both amounts and the conversion are shown)."""
        return self.need_unit.label != self.offer_unit.label

    def amounts(self) -> str:
        """Each side's quantity in its own unit, and the conversion when one was used (plain text, not escaped).

        "300 kits", or "200 litres → 52 gallons (200 L ≈ 52.8 gal)": what leaves the offer, what the need is
        credited (rounded down to its unit), and the exact conversion.
        """
        need_quantity, offer_quantity = self._live()
        if not self.converts:
            return amount(need_quantity, self.need_unit)
        shown = conversion(offer_quantity, self.offer_unit, self.need_unit)
        moved = f"{amount(offer_quantity, self.offer_unit)} → {amount(need_quantity, self.need_unit)}"
        return f"{moved} ({shown})" if shown else moved

    def side_amount(self, kind: PostKind) -> str:
        """One side's quantity in its own unit ("52 gallons"), for a message to that side."""
        need_quantity, offer_quantity = self._live()
        if kind is PostKind.NEED:
            return amount(need_quantity, self.need_unit)
        return amount(offer_quantity, self.offer_unit)


class OrgLookup:
    """Orgs and their coordinators, each read once per use case however many matches share them."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self._orgs: dict[int, Org] = {}
        self._members: dict[int, tuple[int, ...]] = {}
        # (coalition, home server) -> its matches channel, looked up once per use case (proposals).
        self.matches_channels: dict[tuple[int, int | None], int | None] = {}

    def prefetch(self, org_ids: Iterable[int]) -> None:
        """Read these orgs and their coordinators now, all in two statements, for the cards about to be built."""
        wanted = [org_id for org_id in dict.fromkeys(org_ids) if org_id not in self._orgs]
        if not wanted:
            return
        self._orgs.update(self.core.store.orgs.get_many(wanted))
        for org_id, members in self.core.store.orgs.member_ids_of(wanted).items():
            self._members[org_id] = tuple(members)

    def matches_channel(self, coalition_id: int, home_guild_id: int | None) -> int | None:
        """The matches channel of an org's home server (see ``proposals.home_matches_channel``), read once."""
        home = (coalition_id, home_guild_id)
        if home not in self.matches_channels:
            self.matches_channels[home] = self.core.store.federation.home_channel(
                coalition_id, home_guild_id, ChannelKind.MATCHES
            )
        return self.matches_channels[home]

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
            need_unit=self.core.taxonomy.unit(need.item_key, need.unit),
            offer_unit=self.core.taxonomy.unit(offer.item_key, offer.unit),
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
