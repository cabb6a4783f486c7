"""Allocation is exact, whatever happens and in whatever order.

Random sequences of posts, accepts, declines, cancels, deliveries (reported by
the offering side, received in full or less by the needing side), quantity
changes, withdrawals, expiries, proposal time-outs and hand-offs of stalled
critical commitments, on a real SQLite file, must never commit more than an offer holds
or more than a need asked, and every post's quantity must balance:
quantity = remaining + committed + delivered, each in the post's own unit.
Posts count in mixed units (litres, gallons, m³, bottles with and without a
size), so every conversion and its rounding is exercised: a need is never
credited more than the offer's goods amount to.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from bot.errors import UserError
from bot.models import Actor, MatchStatus, PostKind
from bot.services import delivery, freshness, matches, post_lifecycle, posts, timeouts
from bot.units import factor
from tests.e2e.matching_helpers import GUILD, core_world

ORGS = (("Houston Food Bank", 11, "Houston"), ("Baytown Relief", 12, "Baytown"), ("Galveston Aid", 13, "Galveston"))
ITEMS = ("bottled water", "drinking water", "water", "tarpaulin")
PLACES = ("Houston", "Baytown", "Galveston")
UNITS = (None, "litres", "gallons", "m³", "bottles", "bottles of 1.5 L", "bottles (0.5 L)", "cases of 6 bottles of 1 L")
OUTSIDER = Actor(user_id=99, guild_id=GUILD, name="outsider")


class Allocation(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="coalesce-alloc-"))
        self.world = core_world(self.directory / "coalesce.db", post_rate_limit=10_000, proposals_per_post=2)
        for name, user_id, place in ORGS:
            self.world.add_org(name, user_id, location=place)
        self.actors = [*self.world.coordinators.values(), OUTSIDER]
        self.coordinator = {self.world.orgs[name].id: actor for name, actor in self.world.coordinators.items()}
        self.refused = 0

    def teardown(self) -> None:
        self.world.core.store.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    @property
    def core(self):
        return self.world.core

    def _all(self, table: str) -> list[int]:
        return [row[0] for row in self.core.store.db.execute(f"SELECT id FROM {table} ORDER BY id").fetchall()]  # noqa: S608

    def _with_status(self, status: MatchStatus) -> list[int]:
        rows = self.core.store.db.execute("SELECT id FROM matches WHERE status = ? ORDER BY id", [status.value])
        return [row[0] for row in rows.fetchall()]

    def _tomorrow(self) -> str:
        return (self.world.clock.now + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")

    def _attempt(self, action, *args) -> None:
        try:
            action(*args)
        except UserError:
            self.refused += 1

    @rule(
        who=st.integers(0, 2),
        item=st.sampled_from(ITEMS),
        place=st.sampled_from(PLACES),
        quantity=st.integers(1, 60),
        urgency=st.sampled_from(["critical", "high", "normal", "low"]),
        dated=st.booleans(),
        unit=st.sampled_from(UNITS),
    )
    def post_need(self, who, item, place, quantity, urgency, dated, unit):
        posts.post_need(
            self.core, self.actors[who], sector="wash", item=item, quantity=quantity, location=place,
            urgency=urgency, needed_by=self._tomorrow() if dated else None, unit=unit,
        )  # fmt: skip

    @rule(
        who=st.integers(0, 2),
        item=st.sampled_from(ITEMS),
        place=st.sampled_from(PLACES),
        quantity=st.integers(1, 60),
        unit=st.sampled_from(UNITS),
    )
    def post_offer(self, who, item, place, quantity, unit):
        posts.post_offer(
            self.core, self.actors[who], sector="wash", item=item, quantity=quantity, location=place, unit=unit
        )

    @rule(
        action=st.sampled_from(["accept", "accept", "decline", "deliver", "cancel"]),
        pick=st.integers(0, 10_000),
        who=st.integers(0, 3),
    )
    def click(self, action, pick, who):
        ids = self._all("matches")
        if not ids:
            return
        service = {
            "accept": matches.accept_match,
            "decline": matches.decline_match,
            "deliver": matches.deliver_match,
            "cancel": matches.cancel_match,
        }[action]
        self._attempt(service, self.core, self.actors[who], ids[pick % len(ids)])

    @rule(pick=st.integers(0, 10_000))
    def both_sides_accept(self, pick):
        ids = self._with_status(MatchStatus.PROPOSED)
        if not ids:
            return
        card = matches.match_card(self.core, ids[pick % len(ids)])
        for org in (card.need_org, card.offer_org):
            self._attempt(matches.accept_match, self.core, self.coordinator[org.id], card.match.id)

    @rule(pick=st.integers(0, 10_000), deliver=st.booleans(), need_side=st.booleans())
    def committed_match_ends(self, pick, deliver, need_side):
        ids = self._with_status(MatchStatus.COMMITTED)
        if not ids:
            return
        card = matches.match_card(self.core, ids[pick % len(ids)])
        actor = self.coordinator[(card.need_org if need_side else card.offer_org).id]
        self._attempt(matches.deliver_match if deliver else matches.cancel_match, self.core, actor, card.match.id)

    @rule(pick=st.integers(0, 10_000), share=st.floats(0.0, 1.0), reported=st.booleans())
    def received_maybe_less(self, pick, share, reported):
        """The offering side may report it first; the needing side confirms some or all of it."""
        ids = self._with_status(MatchStatus.COMMITTED)
        if not ids:
            return
        card = matches.match_card(self.core, ids[pick % len(ids)])
        if reported:
            self._attempt(delivery.report_delivered, self.core, self.coordinator[card.offer_org.id], card.match.id)
        received = max(1, round(card.match.quantity * share))
        self._attempt(delivery.receive, self.core, self.coordinator[card.need_org.id], card.match.id, received)

    @rule(pick=st.integers(0, 10_000), quantity=st.integers(1, 80))
    def quantity_changes(self, pick, quantity):
        ids = self._all("posts")
        if not ids:
            return
        post = self.core.store.posts.get(ids[pick % len(ids)])
        actor = self.coordinator[post.org_id]
        self._attempt(freshness.change_quantity, self.core, actor, post.kind, post.id, str(quantity))

    @rule(pick=st.integers(0, 10_000), who=st.integers(0, 3))
    def withdraw_or_close(self, pick, who):
        ids = self._all("posts")
        if not ids:
            return
        post = self.core.store.posts.get(ids[pick % len(ids)])
        self._attempt(post_lifecycle.close_post, self.core, self.actors[who], post.kind, post.ref)

    @rule(hours=st.integers(1, 48))
    def time_passes(self, hours):
        # In steps of at most 6 h, so a stalled critical commitment is nudged and then escalated (a hand-off).
        while hours > 0:
            step = min(hours, 6)
            hours -= step
            self.world.clock.now += timedelta(hours=step)
            now = self.world.clock.now
            post_lifecycle.expire_due(self.core)
            while freshness.sweep(self.core, now).more:
                pass
            while timeouts.sweep(self.core, now).more:
                pass

    @invariant()
    def quantities_balance(self):
        for post_id in self._all("posts"):
            post = self.core.store.posts.get(post_id)
            committed = self.core.store.matches.committed_total(post_id)
            delivered = self.core.store.matches.delivered_total(post_id)
            assert 0 <= post.remaining <= post.quantity
            assert post.quantity == post.remaining + committed + delivered, (post, committed, delivered)

    @invariant()
    def matches_pair_a_need_with_an_offer_once(self):
        rows = self.core.store.db.execute(
            "SELECT need_id, offer_id, status, quantity, offer_quantity FROM matches"
        ).fetchall()
        assert len({(row[0], row[1]) for row in rows}) == len(rows)
        taxonomy = self.core.taxonomy
        for need_id, offer_id, status, quantity, offer_quantity in rows:
            need, offer = self.core.store.posts.get(need_id), self.core.store.posts.get(offer_id)
            assert need.kind is PostKind.NEED and offer.kind is PostKind.OFFER
            assert need.org_id != offer.org_id
            ratio = factor(taxonomy.unit(need.item_key, need.unit), taxonomy.unit(offer.item_key, offer.unit))
            assert ratio is not None, (need.unit, offer.unit)  # never proposed across units that don't convert
            if status in (MatchStatus.COMMITTED.value, MatchStatus.DELIVERED.value):
                assert 1 <= quantity <= need.quantity and 1 <= offer_quantity <= offer.quantity
                # Rounding never creates goods: the need is credited at most what the offer's units amount to.
                assert quantity <= offer_quantity * ratio

    @invariant()
    def a_hand_off_only_ever_replaces_a_commitment(self):
        rows = self.core.store.db.execute(
            "SELECT h.need_id, r.need_id, r.status FROM matches h JOIN matches r ON r.id = h.replaces_id"
        ).fetchall()
        for hand_off_need, replaced_need, replaced_status in rows:
            assert hand_off_need == replaced_need
            assert replaced_status in ("committed", "delivered", "cancelled")

    @invariant()
    def every_commit_reveals_contacts_by_dm_only(self):
        targets = [
            row[0]
            for row in self.core.store.db.execute("SELECT target FROM outbox WHERE kind = 'contact_reveal'").fetchall()
        ]
        assert all(target.startswith("user:") for target in targets)


Allocation.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestAllocation = Allocation.TestCase


class FollowThroughAllocation(Allocation):
    """The same invariants where pairs commit often: one item and one unit, mostly critical needs, and time
    passing in steps that nudge, escalate and hand off stalled commitments, with receipts in full or less."""

    @rule(
        who=st.integers(0, 2),
        place=st.sampled_from(PLACES),
        quantity=st.integers(1, 60),
        urgency=st.sampled_from(["critical", "critical", "high", "normal"]),
    )
    def post_need(self, who, place, quantity, urgency):
        posts.post_need(
            self.core, self.actors[who], sector="wash", item="bottled water", quantity=quantity, location=place,
            urgency=urgency,
        )  # fmt: skip

    @rule(who=st.integers(0, 2), place=st.sampled_from(PLACES), quantity=st.integers(1, 60))
    def post_offer(self, who, place, quantity):
        posts.post_offer(
            self.core, self.actors[who], sector="wash", item="bottled water", quantity=quantity, location=place
        )

    @rule(who=st.integers(0, 2), place=st.sampled_from(PLACES), quantity=st.integers(1, 60))
    def commitments_stall_while_an_offer_stands_by(self, who, place, quantity):
        """An offer arrives while needs are covered, then 12 h pass: stalled critical commitments hand off to it."""
        self.post_offer(who, place, quantity)
        self.time_passes(12)

    @rule(pick=st.integers(0, 10_000))
    def hand_off_accepted(self, pick):
        rows = self.core.store.db.execute(
            "SELECT id FROM matches WHERE replaces_id IS NOT NULL AND status = 'proposed' ORDER BY id"
        ).fetchall()
        if rows:
            card = matches.match_card(self.core, rows[pick % len(rows)][0])
            for org in (card.need_org, card.offer_org):
                self._attempt(matches.accept_match, self.core, self.coordinator[org.id], card.match.id)


FollowThroughAllocation.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestFollowThroughAllocation = FollowThroughAllocation.TestCase
