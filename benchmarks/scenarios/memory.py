"""Peak memory: the bot process (``create_bot`` under simcord) with many open posts loaded, then matched.

Runs in a fresh subprocess so the figure is the bot's alone; the peak is
``resource.getrusage(RUSAGE_SELF).ru_maxrss``. Posts are bulk-loaded in chunks (the
generator never holds them all), then posts arrive through the posting service,
each finding and proposing its matches.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

CHUNK = 10_000


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


async def _child(open_posts: int, matched: int, seed: int) -> dict[str, Any]:
    import simcord

    from benchmarks.generator import BENCH_NOW, CoalitionGenerator, load_coalition, load_posts
    from benchmarks.scenarios.match_latency import SteppingClock, post
    from bot.app import create_bot

    clock = SteppingClock(BENCH_NOW)
    with tempfile.TemporaryDirectory(prefix="coalesce-bench-") as tmp:
        bot = create_bot(Path(tmp) / "bench.db", clock=clock, scheduler=False)
        async with simcord.run(bot, check_errors=False) as env:
            guild = env.create_guild("Gulf Coast Relief")
            channels = {kind: guild.create_text_channel(kind).id for kind in ("needs", "offers", "matches")}
            core = bot.core
            _ = core.gazetteer, core.taxonomy
            started_mb = _rss_mb()
            generator = CoalitionGenerator(seed=seed)
            org_count = max(50, min(2000, open_posts // 50))
            loaded = load_coalition(core.store.db, generator, guild_id=guild.id, org_count=org_count, channels=channels)
            for start in range(0, open_posts, CHUNK):
                load_posts(core.store.db, loaded, list(generator.posts(min(CHUNK, open_posts - start), org_count)))
            loaded_mb = _rss_mb()
            proposals = 0
            for spec in generator.posts(matched, org_count):
                clock.tick()
                proposals += len(post(core, loaded, spec).proposals)
            await bot.get_cog("Dispatcher").deliver_due()
            await env.settle(timeout=600.0)
            return {
                "peak_rss_mb": _rss_mb(),
                "rss_after_start_mb": started_mb,
                "rss_after_load_mb": loaded_mb,
                "memory_proposals": proposals,
                "memory_open_posts": open_posts,
            }


def run(sizes: dict[str, Any], *, seed: int = 8) -> dict[str, Any]:
    try:
        import bot.services.posts  # noqa: F401
    except ImportError as exc:
        return {"unavailable": f"the posting service is not in this checkout ({exc})"}
    command = [
        sys.executable, "-m", "benchmarks.scenarios.memory", "--child",
        str(sizes["memory_open_posts"]), str(sizes["memory_matched_posts"]), str(seed),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory child failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__" and len(sys.argv) >= 5 and sys.argv[1] == "--child":
    import logging

    # OR-Tools (benchmarks only) pulls in pandas, which sqlite-utils imports whenever it is
    # installed: about 35 MB the bot never has in production. Keep it out of this process.
    sys.modules["pandas"] = None  # type: ignore[assignment]

    logging.basicConfig(level=logging.ERROR)
    print(json.dumps(asyncio.run(_child(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))))
