"""Digest round: the channel digest (with its chart) and every subscriber's personal digest, with many open posts.

Calls what the scheduled job calls (``run_digest_round``): one read and the rendering
in a worker thread, then one transaction on the loop that claims the slot and queues
every message. A ticking task measures how long the loop is held meanwhile.
"""

from __future__ import annotations

import asyncio
import gc
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.generator import BENCH_NOW, CoalitionGenerator, load_coalition, load_posts
from benchmarks.harness import LoopTicker
from benchmarks.scenarios.match_latency import GUILD_ID, SteppingClock, build_core, freeze_start_up

CHUNK = 20_000
TICK_S = 0.002
DIGEST_CHANNEL = 700_001


def _subscribe_all(core, generator: CoalitionGenerator, coalition_id: int, count: int, first_user: int) -> None:
    """Volunteers' filters: a third want everything, a third some sectors, a third sectors near a town."""
    from bot.digests import DigestFilter

    rng = generator.rng
    sectors = [s for s in ("wash", "food", "shelter", "health", "logistics", "nutrition")]
    with core.store.atomic():
        for i in range(count):
            roll = rng.random()
            if roll < 1 / 3:
                wanted = DigestFilter()
            else:
                chosen = frozenset(rng.sample(sectors, rng.randint(1, 2)))
                if roll < 2 / 3:
                    wanted = DigestFilter(sectors=chosen)
                else:
                    place = generator.place()
                    radius = float(rng.choice((25, 50, 100)))
                    wanted = DigestFilter(chosen, place.lat, place.lon, radius, place.label)
            core.store.digests.subscribe(coalition_id, first_user + i, wanted, BENCH_NOW)


async def _round(core, coalition_id: int, slot) -> tuple[float, float, Any]:
    from bot.services.digests import run_digest_round

    gc.collect()
    ticker = LoopTicker(TICK_S).start()
    await asyncio.sleep(TICK_S * 3)
    started = time.perf_counter()
    outcome = await run_digest_round(core, coalition_id, slot)
    elapsed = time.perf_counter() - started
    await asyncio.sleep(TICK_S * 3)
    await ticker.stop()
    return elapsed, ticker.max_stall_ms, outcome


async def measure(open_posts: int, subscribers: int, *, seed: int = 8) -> dict[str, Any]:
    from bot.services.digests import due_slot

    with tempfile.TemporaryDirectory(prefix="coalesce-bench-") as tmp:
        clock = SteppingClock(BENCH_NOW)
        core = build_core(Path(tmp) / "bench.db", clock)
        generator = CoalitionGenerator(seed=seed)
        org_count = max(50, min(2000, open_posts // 50))
        loaded = load_coalition(
            core.store.db, generator, guild_id=GUILD_ID, org_count=org_count, channels={"digest": DIGEST_CHANNEL}
        )
        core.store.db.execute(
            "UPDATE coalitions SET created_at = ? WHERE id = ?",
            [(BENCH_NOW - timedelta(days=7)).isoformat(), loaded.coalition_id],
        )
        for start in range(0, open_posts, CHUNK):
            n = min(CHUNK, open_posts - start)
            load_posts(core.store.db, loaded, list(generator.posts(n, org_count, need_share=0.5)))
        small = max(1, subscribers // 10)
        _subscribe_all(core, generator, loaded.coalition_id, small, 50_000)
        freeze_start_up()
        coalition = core.store.coalitions.get(loaded.coalition_id)
        slot = due_slot(coalition, clock())
        # Warm-up round (first chart of the process), then a tenth of the subscribers, then all.
        await _round(core, loaded.coalition_id, slot - timedelta(days=1))
        small_s, small_stall, _ = await _round(core, loaded.coalition_id, slot - timedelta(hours=12))
        _subscribe_all(core, generator, loaded.coalition_id, subscribers - small, 50_000 + small)
        full_s, full_stall, outcome = await _round(core, loaded.coalition_id, slot)
        core.store.close()
    return {
        "digest_round_s": full_s,
        "loop_max_stall_ms": max(full_stall, small_stall),
        "digest_round_s_tenth": small_s,
        "digest_growth_10x_subscribers": full_s / small_s,
        "digest_personal_sent": outcome.subscribers if outcome else None,
        "digest_personal_skipped": outcome.skipped_subscribers if outcome else None,
        "digest_open_posts": open_posts,
    }


async def run(sizes: dict[str, Any], *, seed: int = 8) -> dict[str, Any]:
    try:
        import bot.services.digests  # noqa: F401
    except ImportError as exc:
        return {"unavailable": f"the digest service is not in this checkout ({exc})"}
    return await measure(sizes["digest_open_posts"], sizes["digest_subscribers"], seed=seed)


if __name__ == "__main__":
    import sys

    posts = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    subs = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000
    print(asyncio.run(measure(posts, subs)))
