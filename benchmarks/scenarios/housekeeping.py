"""The housekeeping sweep over many open posts: freshness steps and time-outs, as a wake of the bot runs them.

N open posts (half needs, half offers) were posted over the three days before now,
each with its freshness step scheduled as posting schedules it (its window by
urgency), and a share of them carry proposals waiting for answers. Two wakes are
timed, through the service the housekeeping timer calls, with a ticker on the
loop measuring its longest stall:

* ``housekeeping_wake_ms``: a wake at the next due moment, the normal case;
* ``housekeeping_sweep_ms``: a minute's worth of due steps at once (a bot busy
  elsewhere, or woken late): the target, ≤ 200 ms;
* ``housekeeping_backlog_ms``: an hour's worth at once (the bot was down for an
  hour): no target, since each expired proposal re-matches both its posts, a
  post's worth of matching each; it is reported with its rows.

The loop's longest stall over all three is the second target (≤ 50 ms): batches
are small and the loop turns between them.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.generator import CoalitionGenerator
from benchmarks.harness import LoopTicker
from benchmarks.scenarios.match_latency import SteppingClock, build_core, freeze_start_up, populate
from bot.clock import to_iso
from bot.services import upkeep
from bot.services.post_lifecycle import expire_due

# Proposals waiting for answers: one need in this many has them (proposed through the service, as a post does).
PROPOSED_EVERY = 50


def _schedule_freshness(db) -> None:
    """What posting does for each post: stood as of its creation, asked after its window by urgency."""
    db.execute(
        "UPDATE posts SET confirmed_at = created_at, fresh_stage = 0, fresh_due_at = strftime("
        "'%Y-%m-%dT%H:%M:%S+00:00', created_at, CASE WHEN kind = 'offer' THEN '+72 hours'"
        " WHEN urgency = 'critical' THEN '+12 hours' WHEN urgency = 'high' THEN '+24 hours'"
        " WHEN urgency = 'low' THEN '+168 hours' ELSE '+72 hours' END) WHERE status = 'open'"
    )


def _propose_some(core, now) -> int:
    from bot.services.proposals import propose_for

    need_ids = [
        row[0]
        for row in core.store.db.execute(
            "SELECT id FROM posts WHERE kind = 'need' AND status = 'open' ORDER BY id"
        ).fetchall()
    ][::PROPOSED_EVERY]
    with core.store.atomic():
        for post_id in need_ids:
            propose_for(core, post_id, now)
    # Spread their time-outs over the next day, as proposals made through the day before would be.
    core.store.db.execute(
        "UPDATE matches SET due_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', ?, '+' || ((id * 7) % 1440) || ' minutes')"
        " WHERE status = 'proposed'",
        [to_iso(now)],
    )
    return int(core.store.db.execute("SELECT COUNT(*) FROM matches WHERE status = 'proposed'").fetchone()[0])


async def _timed_wake(core) -> tuple[float, float, upkeep.FollowUp]:
    ticker = LoopTicker().start()
    await asyncio.sleep(0)
    started = time.perf_counter()
    done = await upkeep.follow_up(core)
    elapsed_ms = (time.perf_counter() - started) * 1000
    await ticker.stop()
    return elapsed_ms, ticker.max_stall_ms, done


async def run(sizes: dict[str, Any], *, seed: int = 8) -> dict[str, Any]:
    open_posts = int(sizes.get("housekeeping_open_posts", 100_000))
    with tempfile.TemporaryDirectory(prefix="coalesce-housekeeping-") as directory:
        clock = SteppingClock()
        core = build_core(Path(directory) / "bench.db", clock)
        generator = CoalitionGenerator(seed=seed)
        populate(core, generator, per_kind=open_posts // 2, org_count=max(200, min(2000, open_posts // 40)))
        _schedule_freshness(core.store.db)
        proposed = _propose_some(core, clock.now)
        core.store.db.execute("ANALYZE")
        # Every step due up to now has been taken: the bot has been running all along.
        expire_due(core)
        await upkeep.follow_up(core)
        freeze_start_up()

        clock.now = max(clock.now, upkeep.next_due(core) or clock.now)
        wake_ms, wake_stall_ms, wake = await _timed_wake(core)
        clock.now += timedelta(minutes=1)
        sweep_ms, sweep_stall_ms, minute = await _timed_wake(core)
        clock.now += timedelta(hours=1)
        backlog_ms, backlog_stall_ms, backlog = await _timed_wake(core)
        core.store.close()
    return {
        "housekeeping_open_posts": open_posts,
        "housekeeping_proposals_waiting": proposed,
        "housekeeping_wake_ms": round(wake_ms, 2),
        "housekeeping_wake_rows": _rows(wake),
        "housekeeping_sweep_ms": round(sweep_ms, 1),
        "housekeeping_sweep_rows": _rows(minute),
        "housekeeping_backlog_ms": round(backlog_ms, 1),
        "housekeeping_backlog_rows": _rows(backlog),
        "housekeeping_loop_max_stall_ms": round(max(wake_stall_ms, sweep_stall_ms, backlog_stall_ms), 1),
    }


def _rows(done: upkeep.FollowUp) -> dict[str, int]:
    return {"prompts": done.prompts, "unconfirmed": done.unconfirmed, "proposals_expired": done.proposals_expired}
