"""Peak memory: the bot process (``create_bot`` under simcord) with many open posts loaded, then matched.

Runs in a fresh subprocess so the figure is the bot's alone; the peak is the
process's high-water mark (VmHWM, what ``ru_maxrss`` reports for a process not
started by a larger one). Posts are bulk-loaded in chunks (the
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
DELIVER_EVERY = 250


def _rss_mb() -> float:
    """Peak resident memory of this process so far, in MB.

    Linux carries ``ru_maxrss`` across ``execve``, so a child spawned by a large parent
    would report the parent's size; the kernel's high-water mark of this address space
    (VmHWM) starts afresh at exec. Elsewhere, ``ru_maxrss``.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


async def _child(open_posts: int, matched: int, seed: int) -> dict[str, Any]:
    from benchmarks.generator import BENCH_NOW
    from benchmarks.harness import realistic_transport
    from benchmarks.scenarios.match_latency import SteppingClock
    from bot.app import create_bot

    clock = SteppingClock(BENCH_NOW)
    with tempfile.TemporaryDirectory(prefix="coalesce-bench-") as tmp:
        bot = create_bot(Path(tmp) / "bench.db", clock=clock, scheduler=False, ops_port=0)
        with realistic_transport():
            return await _in_simcord(bot, clock, open_posts, matched, seed)


async def _in_simcord(bot, clock, open_posts: int, matched: int, seed: int) -> dict[str, Any]:
    import simcord

    from benchmarks.generator import CoalitionGenerator, load_coalition, load_posts
    from benchmarks.scenarios.match_latency import post

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
        matched_mb = 0.0
        proposals = 0
        dispatcher = bot.get_cog("Dispatcher")
        for i, spec in enumerate(generator.posts(matched, org_count)):
            clock.tick()
            proposals += len(post(core, loaded, spec).proposals)
            if i % DELIVER_EVERY == DELIVER_EVERY - 1 or i == matched - 1:
                matched_mb = max(matched_mb, _rss_mb())
                # Announcements and proposals leave as they would; the simulated server's
                # request log and transcript (test aids, not Discord) are dropped as they go.
                await dispatcher.deliver_due()
                await env.settle(timeout=600.0)
                env.backend.http_requests.clear()
                env.backend.transcript.clear()
        return {
            "peak_rss_mb": _rss_mb(),
            "peak_rss_mb_ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rss_after_start_mb": started_mb,
            "rss_after_load_mb": loaded_mb,
            "rss_matched_before_delivery_mb": matched_mb,
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
