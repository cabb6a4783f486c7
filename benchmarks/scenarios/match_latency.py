"""Match latency against scale: post a need (or an offer) and find its proposals, through the service a command calls.

The store holds N open offers and N open needs (skewed, concentrated: see the generator);
each measured call is ``post_need`` / ``post_offer`` — validation, the duplicate check, insert,
announcement, candidate search, scoring and proposals, in one transaction — without Discord. A post
that looks like one of its org's open posts gets the duplicate warning, and its **Post anyway** is
measured as a command of its own.
"""

from __future__ import annotations

import gc
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.databases import database_for
from benchmarks.generator import BENCH_NOW, CoalitionGenerator, LoadedCoalition, PostSpec, load_coalition, load_posts
from benchmarks.harness import median, percentile, speed_reference_ms
from bot.core import Core
from bot.models import Actor, PostKind
from bot.settings import load_settings
from bot.store import Store

GUILD_ID = 900_001


@dataclass
class SteppingClock:
    """Moves one second per reading-batch: posts get distinct times, rate limits see a realistic pace."""

    now: datetime = BENCH_NOW

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 1.0) -> None:
        self.now += timedelta(seconds=seconds)


def build_core(path: Path | str, clock) -> Core:
    settings = load_settings(environ={}).with_overrides(database=path)
    # As the bot builds it: WAL checkpoints on their own thread, never inside a post's commit.
    return Core(store=Store(path, background_checkpoints=True), settings=settings, clock=clock)


def freeze_start_up() -> None:
    """What the bot does at the end of its start-up (``CoalesceBot.setup_hook``): long-lived objects frozen.

    Without it a full collection walks the gazetteer and every module now and then, inside whichever
    post happens to be running: a stall the bot process does not have.
    """
    gc.collect()
    gc.freeze()


def settle_load(core: Core) -> None:
    """The load's writes on disk and the write-ahead log emptied before the first measured post.

    A running bot's old writes reached the disk long ago. Straight after writing 400 MB of posts, the first
    checkpoint's fsync made the kernel write all of it, and the ext4 journal held a post's commit meanwhile:
    5 and 8 commits of 1,500 took over 2 ms (up to 12.5 ms) in two runs at 100k, 0 and 1 with this.
    """
    if core.store.db.dialect == "sqlite":
        core.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    os.sync()


def populate(core: Core, generator: CoalitionGenerator, *, per_kind: int, org_count: int) -> LoadedCoalition:
    loaded = load_coalition(core.store.db, generator, guild_id=GUILD_ID, org_count=org_count)
    specs = generator.posts_of(PostKind.OFFER, per_kind, org_count) + generator.posts_of(
        PostKind.NEED, per_kind, org_count
    )
    load_posts(core.store.db, loaded, specs)
    return loaded


def actor_for(loaded: LoadedCoalition, spec: PostSpec) -> Actor:
    return Actor(user_id=loaded.org_user_ids[spec.org_index], guild_id=loaded.guild_id, guild_name="Gulf Coast Relief")


def post(core: Core, loaded: LoadedCoalition, spec: PostSpec, *, allow_duplicate: bool = True):
    """Post ``spec`` exactly as the /need post and /offer post commands do (autocomplete values).

    A generated org repeats one of its posts by chance. With ``allow_duplicate`` the post is stored as a
    person's **Post anyway** would store it; without, the duplicate check may return its warning instead,
    and :func:`post_anyway` is that click.
    """
    from bot.services.posts import post_need, post_offer

    actor = actor_for(loaded, spec)
    if spec.kind is PostKind.NEED:
        return post_need(
            core, actor, sector=spec.sector, item=spec.item_key, quantity=spec.quantity,
            location=spec.place.key, urgency=spec.urgency.value, allow_duplicate=allow_duplicate,
        )  # fmt: skip
    return post_offer(
        core, actor, sector=spec.sector, item=spec.item_key, quantity=spec.quantity, location=spec.place.key,
        allow_duplicate=allow_duplicate,
    )  # fmt: skip


def post_anyway(core: Core, loaded: LoadedCoalition, spec: PostSpec, warning):
    """The **Post anyway** click on a duplicate warning: the held post, posted."""
    from bot.services.posts import post_held

    return post_held(core, actor_for(loaded, spec), warning.pending_id)


def measure_size(
    open_per_kind: int, samples: int, *, seed: int = 8, profile: bool = False, backend: str = "sqlite"
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="coalesce-bench-") as tmp:
        clock = SteppingClock()
        core = build_core(database_for(backend, tmp), clock)
        generator = CoalitionGenerator(seed=seed)
        org_count = max(200, min(2000, open_per_kind // 20))
        loaded = populate(core, generator, per_kind=open_per_kind, org_count=org_count)
        settle_load(core)
        freeze_start_up()
        reference = speed_reference_ms()
        timings, proposals, warnings, profiler, statements = _sample(
            core, loaded, generator, clock, org_count, samples, profile
        )
        core.store.close()
    both = timings[PostKind.NEED] + timings[PostKind.OFFER]
    out = {
        "p50_ms": median(both),
        "p99_ms": percentile(both, 99),
        "need_p99_ms": percentile(timings[PostKind.NEED], 99),
        "offer_p99_ms": percentile(timings[PostKind.OFFER], 99),
        "proposals_per_post": proposals / max(1, samples),
        "duplicate_warnings": warnings,
        "speed_reference_ms": reference,
    }
    if profiler is not None:
        out["profile"] = profiler
    if statements:
        out["statements_per_post"] = {
            "mean": sum(statements) / len(statements),
            "p50": median(statements),
            "p99": percentile(statements, 99),
        }
    return out


def _sample(core, loaded, generator, clock, org_count: int, samples: int, profile: bool):
    from bot.services.duplicates import DuplicateWarning

    timings: dict[PostKind, list[float]] = {PostKind.NEED: [], PostKind.OFFER: []}
    proposals = warnings = 0
    warmup = 20
    profiler = None
    # With --profile, also how many SQL statements each post command runs (the store's statement hook).
    statements: list[float] = []
    executed = [0]
    connection = core.store.db if profile else None
    if connection is not None:
        connection.on_statement(lambda _sql: executed.__setitem__(0, executed[0] + 1))
    for i in range(samples + warmup):
        kind = PostKind.NEED if i % 2 == 0 else PostKind.OFFER
        spec = generator.post(kind, org_count)
        clock.tick(5)  # one post every 5 s across the coalition: no member nears the rate limit
        if i == warmup and profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        executed[0] = 0
        start = time.perf_counter()
        result = post(core, loaded, spec, allow_duplicate=False)
        elapsed = time.perf_counter() - start
        if i >= warmup:
            timings[kind].append(elapsed * 1000)
            statements.append(executed[0])
        if isinstance(result, DuplicateWarning):
            # A generated org repeated one of its posts: the warning was one command, Post anyway is another.
            warnings += i >= warmup
            executed[0] = 0
            start = time.perf_counter()
            result = post_anyway(core, loaded, spec, result)
            elapsed = time.perf_counter() - start
            if i >= warmup:
                timings[kind].append(elapsed * 1000)
                statements.append(executed[0])
        if i >= warmup:
            proposals += len(result.proposals)
    if profiler is not None:
        profiler.disable()
    if connection is not None:
        connection.on_statement(None)
    return timings, proposals, warnings, profiler, (statements if connection is not None else [])


def run(sizes: dict[str, Any], *, seed: int = 8, backend: str = "sqlite") -> dict[str, Any]:
    """The latency curve over ``match_sizes``; on a second backend, its largest and a tenth of it only."""
    try:
        import bot.services.posts  # noqa: F401
    except ImportError as exc:
        return {"unavailable": f"the posting service is not in this checkout ({exc})"}
    results: dict[str, Any] = {"match_curve": {}}
    measured = (
        sizes["match_sizes"] if backend == "sqlite" else [max(sizes["match_sizes"]) // 10, max(sizes["match_sizes"])]
    )
    for size in measured:
        results["match_curve"][size] = measure_size(size, sizes["match_samples"], seed=seed, backend=backend)
    curve = results["match_curve"]
    large = max(sizes["match_sizes"])
    mid = large // 10  # the growth is over one decade: 10k -> 100k (1k -> 10k when quick)
    results["match_p99_ms_100k"] = curve[large]["p99_ms"]
    results["match_p50_ms_100k"] = curve[large]["p50_ms"]
    results["match_growth_10k_to_100k"] = curve[large]["p99_ms"] / curve[mid]["p99_ms"]
    results["match_speed_reference_ms_100k"] = curve[large]["speed_reference_ms"]
    results["match_growth_p50_10k_to_100k"] = curve[large]["p50_ms"] / curve[mid]["p50_ms"]
    return results


if __name__ == "__main__":
    import sys

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    figures = measure_size(size, 400, profile="--profile" in sys.argv)
    profiler = figures.pop("profile", None)
    print(figures)
    if profiler is not None:
        import pstats

        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
