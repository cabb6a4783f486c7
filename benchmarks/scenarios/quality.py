"""Match quality: replay a scenario in arrival order through the real services, against the hindsight optimum.

Every post goes through ``post_need`` / ``post_offer``; every proposal, whenever
the engine makes it (at posting, or later when a lapse sends a partner back to
matching), is accepted at once by both sides through ``accept_match`` — what the
Accept buttons call. The result is compared with OR-Tools' min-cost flow over the
same posts with hindsight (``benchmarks.optimal``).

Two engine figures:
- greedy: the state once the last post has been handled, as they arrived
  (non-critical pairs near first, :data:`bot.matching.NEAR_KM`, and in a busy
  town its own town first, :data:`bot.matching.LOCAL_KM`);
- final: once every hold has run out (:func:`bot.services.proposals.widen_due`,
  the sweep that lets a post that waited reach the whole event) and one more
  matching pass over every post still open with something left, proposals
  accepted the same way — what the engine reaches with the time it gives itself.
"""

from __future__ import annotations

import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.generator import CoalitionGenerator, load_coalition
from benchmarks.optimal import optimum
from benchmarks.scenarios.match_latency import GUILD_ID, SteppingClock, build_core, post
from bot.core import Core
from bot.errors import UserError
from bot.models import Actor, MatchStatus, Urgency


def run(sizes: dict[str, Any], *, seed: int = 8) -> dict[str, Any]:
    try:
        from bot.services.matches import accept_match, propose_for  # noqa: F401
    except ImportError as exc:
        return {"unavailable": f"the match services are not in this checkout ({exc})"}
    try:
        import ortools.graph.python.min_cost_flow  # noqa: F401
    except ImportError:
        return {"unavailable": "OR-Tools is not installed (pip install -r requirements-bench.txt)"}
    return replay(sizes["quality_posts"], seed=seed)


def replay(count: int, *, seed: int = 8) -> dict[str, Any]:
    from bot.matching import HOLD, MAX_REACH_LEVEL
    from bot.services.matches import propose_for
    from bot.services.proposals import widen_due

    with tempfile.TemporaryDirectory(prefix="coalesce-bench-") as tmp:
        clock = SteppingClock()
        core = build_core(Path(tmp) / "bench.db", clock)
        generator = CoalitionGenerator(seed=seed + 1)
        org_count = max(50, count // 10)
        loaded = load_coalition(core.store.db, generator, guild_id=GUILD_ID, org_count=org_count)
        actors = {
            org_id: Actor(user_id=user_id, guild_id=GUILD_ID, guild_name="Gulf Coast Relief")
            for org_id, user_id in zip(loaded.org_ids, loaded.org_user_ids, strict=True)
        }
        started = time.perf_counter()
        refused = 0
        for spec in generator.posts(count, org_count):
            clock.tick()
            try:
                post(core, loaded, spec)
            except UserError:
                refused += 1
            _accept_all(core, actors)
        replay_s = time.perf_counter() - started
        greedy = _committed(core)
        # Then time passes hour by hour until every post reaches the whole event, the sweep widening what waited
        # as production's timer does, and one more pass lets every open post look again.
        for _ in range(int(max(HOLD.values()) * (MAX_REACH_LEVEL + 1) / timedelta(hours=1))):
            clock.tick(3600)
            while widen_due(core, clock(), limit=1000):
                _accept_all(core, actors)
        open_ids = [
            row[0]
            for row in core.store.db.execute(
                "SELECT id FROM posts WHERE status = 'open' AND remaining > 0 ORDER BY id"
            ).fetchall()
        ]
        for post_id in open_ids:
            with core.store.atomic():
                propose_for(core, post_id, clock())
            _accept_all(core, actors)
        final = _committed(core)
        ids = [row[0] for row in core.store.db.execute("SELECT id FROM posts ORDER BY id").fetchall()]
        posts = [core.store.posts.get(post_id) for post_id in ids]
        event = core.store.events.get(loaded.event_id)
        started = time.perf_counter()
        best = optimum(posts, taxonomy=core.taxonomy, radius_km=event.radius_km)
        optimum_s = time.perf_counter() - started
        core.store.close()
    return {
        "quality_ratio_greedy": greedy["weighted"] / best.weighted_quantity if best.weighted_quantity else None,
        "quality_ratio_vs_optimal": final["weighted"] / best.weighted_quantity if best.weighted_quantity else None,
        "quality_distance_ratio_vs_optimal": (
            final["mean_km"] / best.mean_distance_km if best.mean_distance_km else None
        ),
        "quality_weighted_greedy": greedy["weighted"],
        "quality_weighted_final": final["weighted"],
        "quality_weighted_optimal": best.weighted_quantity,
        "quality_quantity_greedy": greedy["quantity"],
        "quality_quantity_optimal": best.quantity,
        "quality_mean_km_greedy": greedy["mean_km"],
        "quality_mean_km_final": final["mean_km"],
        "quality_mean_km_optimal": best.mean_distance_km,
        "quality_critical_share_greedy": greedy["critical_share"],
        "quality_by_urgency_greedy": greedy["by_urgency"],
        "quality_by_urgency_optimal": best.by_urgency,
        "quality_matches_committed": final["matches"],
        "quality_posts_refused": refused,
        "quality_replay_s": replay_s,
        "quality_optimum_s": optimum_s,
        "quality_optimum_arcs": best.arcs,
    }


def _accept_all(core: Core, actors: dict[int, Actor]) -> None:
    """Both sides accept every open proposal, oldest first, until none is left (commits may propose more)."""
    from bot.services.matches import accept_match

    seen: set[int] = set()
    while True:
        rows = core.store.db.execute(
            "SELECT m.id, n.org_id, o.org_id FROM matches m JOIN posts n ON n.id = m.need_id"
            " JOIN posts o ON o.id = m.offer_id WHERE m.status = 'proposed' ORDER BY m.id"
        ).fetchall()
        rows = [r for r in rows if r[0] not in seen]
        if not rows:
            return
        for match_id, need_org, offer_org in rows:
            seen.add(match_id)
            for org_id in (need_org, offer_org):
                try:
                    accept_match(core, actors[org_id], match_id)
                except UserError:
                    break  # lapsed meanwhile: nothing left on one side


def _committed(core: Core) -> dict[str, Any]:
    rows = core.store.db.execute(
        "SELECT m.quantity, m.distance_km, n.urgency FROM matches m JOIN posts n ON n.id = m.need_id"
        " WHERE m.status IN (?, ?)",
        [MatchStatus.COMMITTED.value, MatchStatus.DELIVERED.value],
    ).fetchall()
    quantity = sum(q for q, _, _ in rows)
    weighted = sum(q * Urgency(u).weight for q, _, u in rows)
    critical = sum(q for q, _, u in rows if u == Urgency.CRITICAL.value)
    by_urgency: dict[str, int] = {}
    for q, _, u in rows:
        by_urgency[u] = by_urgency.get(u, 0) + q
    return {
        "weighted": weighted,
        "quantity": quantity,
        "mean_km": sum(q * km for q, km, _ in rows) / quantity if quantity else 0.0,
        "critical_share": critical / quantity if quantity else 0.0,
        "matches": len(rows),
        "by_urgency": dict(sorted(by_urgency.items())),
    }


if __name__ == "__main__":
    import sys

    print(replay(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
