"""Two bot processes on one database: a burst of posts and accepts from both, then one dies holding leases.

Each process is a core with a store (a connection) of its own. On PostgreSQL their calls run in
threads released together; SQLite takes one writer at a time, so there they take turns.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core import Core
from bot.models import MatchStatus
from bot.services import matches, posts
from bot.store import Store
from tests.bot.test_claimed_once import at_once
from tests.e2e.matching_helpers import core_world

NEEDERS = ("Houston Food Bank", "Galveston Aid", "Pasadena Pantry")
GIVERS = ("Baytown Relief", "Katy Cares", "Sugar Land Supply")
QUANTITIES = (10, 25, 70)  # each more than twice the last: one org's posts are never taken for duplicates
LEASE = timedelta(seconds=30)


def test_two_processes_posting_and_accepting_at_once_store_each_post_once_and_never_over_allocate(database, backend):
    w = core_world(database, proposals_per_post=3, post_rate_limit=1_000)
    needers = [w.add_org(name, 100 + i) for i, name in enumerate(NEEDERS)]
    givers = [w.add_org(name, 200 + i, location="Baytown") for i, name in enumerate(GIVERS)]
    other = Core(store=Store(database), settings=w.core.settings, clock=w.clock)
    try:
        # The burst: one process posts every need while the other posts every offer.
        def post_needs() -> list:
            return [
                posts.post_need(w.core, actor, sector="wash", item="bottled water", quantity=q, urgency="high",
                                location="Houston")
                for actor in needers for q in QUANTITIES
            ]  # fmt: skip

        def post_offers() -> list:
            return [
                posts.post_offer(other, actor, sector="wash", item="bottled water", quantity=q, location="Baytown")
                for actor in givers for q in QUANTITIES
            ]  # fmt: skip

        needs, offers = at_once(backend, post_needs, post_offers)
        posted = [r.post.id for r in (*needs, *offers)]
        assert len(set(posted)) == len(posted) == 18
        stored = [w.core.store.posts.get(post_id) for post_id in posted]
        assert all(post is not None for post in stored)

        # Every proposal accepted by both sides at once: the needing side through one process, the offering
        # side through the other.
        proposed = _proposed(w.core, posted)
        assert proposed, "the burst proposed nothing"
        actor_of_org = {w.orgs[name].id: w.coordinators[name] for name in (*NEEDERS, *GIVERS)}
        for match in proposed.values():
            need = w.core.store.posts.get(match.need_id)
            offer = w.core.store.posts.get(match.offer_id)
            at_once(
                backend,
                lambda m=match, n=need: _accept(w.core, actor_of_org[n.org_id], m.id),
                lambda m=match, o=offer: _accept(other, actor_of_org[o.org_id], m.id),
            )

        committed = [m for m in (w.core.store.matches.get(i) for i in proposed) if m.status is MatchStatus.COMMITTED]
        assert committed, "no accepted proposal committed"
        for post in (w.core.store.posts.get(i) for i in posted):
            promised = w.core.store.matches.committed_total(post.id)
            assert 0 <= promised <= post.quantity, f"{post.ref}: {promised} of {post.quantity} committed"
            assert post.remaining == post.quantity - promised, f"{post.ref}: remaining {post.remaining}"
    finally:
        other.store.close()
        w.core.store.close()


def test_a_process_killed_holding_leases_leaves_its_rows_to_the_other_once_they_lapse(database, backend):
    w = core_world(database)
    store = w.core.store
    now = w.clock.now
    ids = [store.outbox.enqueue(1, "notice", f"channel:{500 + i % 7}", {"text": f"n{i}"}, now) for i in range(60)]
    dying = Store(database)
    survivor = Store(database)
    try:
        held = dying.outbox.claim("dying", now, now + LEASE, limit=20)
        assert held
        dying.close()  # killed: its leases stay until they lapse

        sent: list[int] = []
        sent += _drain(survivor, "survivor", now)
        assert not {m.id for m in held} & set(sent), "a row leased to a live claim was sent by another process"
        sent += _drain(survivor, "survivor", now + LEASE + timedelta(seconds=1))
        assert sorted(sent) == ids  # every row, none twice
        assert survivor.outbox.backlog() == 0
    finally:
        survivor.close()
        store.close()


def _drain(store: Store, owner: str, now) -> list[int]:
    sent = []
    while rows := store.outbox.claim(owner, now, now + LEASE, limit=7):
        for row in rows:
            store.outbox.mark_sent(row.id, now)
            sent.append(row.id)
    return sent


def _accept(core: Core, actor, match_id: int) -> None:
    try:
        matches.accept_match(core, actor, match_id)
    except Exception as exc:  # a proposal another accept used up lapses or is refused in words: never over-allocated
        if type(exc).__module__ != "bot.errors":
            raise


def _proposed(core: Core, post_ids: list[int]) -> dict:
    found = {}
    for post_id in post_ids:
        for match in core.store.matches.live_for_post(post_id):
            found[match.id] = match
    return found
