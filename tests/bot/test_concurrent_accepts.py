"""Two bot processes accepting against one offer at the same moment commit exactly what one process would.

Each process is a core with its own store (its own connection) on one PostgreSQL database;
the two needs' accepts run in two threads released together, round after round. SQLite has
one writer at a time, so only PostgreSQL can race them.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from bot.core import Core
from bot.models import MatchStatus, PostKind
from bot.services import matches, post_lifecycle, posts
from bot.store import Store
from tests.e2e.matching_helpers import core_world

ROUNDS = 25
NEED, OFFER = 10, 15  # the offer covers one need and half the other


@pytest.mark.postgresql_only
def test_two_processes_accepting_against_one_offer_at_once_never_commit_more_than_it_holds(database):
    w = core_world(database, proposals_per_post=2)
    first, second = w.add_org("Houston Food Bank", 11), w.add_org("Galveston Aid", 13, location="Houston")
    giver = w.add_org("Baytown Relief", 12, location="Baytown")
    other = Core(store=Store(database), settings=w.core.settings, clock=w.clock)
    overlapping = 0
    try:
        for _ in range(ROUNDS):
            w.clock.now += timedelta(days=1)  # a day apart: no duplicate warning, no rate limit
            needs = [
                posts.post_need(w.core, actor, sector="wash", item="bottled water", quantity=NEED, urgency="high",
                                location="Houston").post
                for actor in (first, second)
            ]  # fmt: skip
            offered = posts.post_offer(
                w.core, giver, sector="wash", item="bottled water", quantity=OFFER, location="Baytown"
            )
            ids = {card.need.id: card.match.id for card in offered.proposals}
            assert set(ids) == {n.id for n in needs}
            for match_id in ids.values():
                matches.accept_match(w.core, giver, match_id)  # the offering side first, one by one

            errors, overlapped = race([(w.core, first, ids[needs[0].id]), (other, second, ids[needs[1].id])])
            assert errors == []
            overlapping += overlapped

            committed = [w.core.store.matches.get(match_id) for match_id in ids.values()]
            assert sorted(m.status for m in committed) == [MatchStatus.COMMITTED, MatchStatus.COMMITTED]
            assert sorted(m.offer_quantity for m in committed) == [OFFER - NEED, NEED]
            offer = w.core.store.posts.get(offered.post.id)
            assert offer.remaining == 0
            assert w.core.store.matches.committed_total(offer.id) == OFFER
            for need in needs:  # the need covered in half stays open: close it so the next round starts clean
                left = w.core.store.posts.get(need.id)
                if left.remaining:
                    actor = first if need.id == needs[0].id else second
                    post_lifecycle.close_post(w.core, actor, PostKind.NEED, left.ref)
    finally:
        other.store.close()
        w.core.store.close()
    assert overlapping >= ROUNDS // 2  # the accepts did run at once, not one after the other


def race(accepts: list[tuple[Core, object, int]]) -> tuple[list[BaseException], bool]:
    """Run the accepts in threads released together; what they raised, and whether they overlapped in time."""
    start = threading.Barrier(len(accepts))
    errors: list[BaseException] = []
    spans: list[tuple[float, float]] = []

    def accept(core: Core, actor, match_id: int) -> None:
        start.wait()
        began = time.perf_counter()
        try:
            matches.accept_match(core, actor, match_id)
        except BaseException as exc:
            errors.append(exc)
        spans.append((began, time.perf_counter()))

    threads = [threading.Thread(target=accept, args=args) for args in accepts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (a0, a1), (b0, b1) = spans
    return errors, a0 < b1 and b0 < a1
