"""Notifications under Discord's real rate limits: how soon proposals reach both sides, and what it costs.

The real bot (``create_bot``) runs under simcord with :mod:`benchmarks.discord_limits` in
front of the simulated API, so every request meets Discord's per-route buckets and global
limit through discord.py's own client. Time is simulated: the driver injects commands at
planned moments and moves the clock with ``env.advance_time``, so ten minutes of posting and
a burst's long tail cost seconds, and every figure here is in simulated seconds.

Phases:
1. steady: ``notify_rate_per_s`` posts a second for ``notify_steady_s`` seconds;
2. burst: ``notify_burst`` posts at once, then time runs until the outbox is drained;
3. head of line: one notice to another channel and one DM, first with every channel idle,
   then while one channel has a minute of messages queued.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import simcord
from simcord import interactions as sci
from simcord.enums import InteractionType
from simcord.http import router as scr

from benchmarks.discord_limits import GLOBAL_LIMIT, GLOBAL_WINDOW_S, RateLimitedAPI, discord_rate_limits
from benchmarks.generator import BENCH_NOW, CoalitionGenerator, load_coalition, load_posts
from benchmarks.harness import AckLog, Injector, median, percentile
from benchmarks.scenarios.e2e import CHANNEL_KINDS, post_options
from bot.app import create_bot

POSTED = re.compile(r"Posted (?:need|offer) \*\*[NO]-(\d+)\*\*")
MATCH_BUTTON = re.compile(r"coalesce:match:(\d+):")
SATURATING_MESSAGES = 60  # a minute of messages for one channel (5 per 5 s)
# Each saturating notice is long enough to need a message of its own: notices are joined under backlog.
SATURATING_TEXT = "·" * 1_500
DRAIN_STEP_S = 5.0
SETTLE_S = 120.0  # a settle that takes longer is a fault; fail well within the suite's timeout
DRAIN_LIMIT_S = 6 * 3600.0


class Record:
    """What the simulated API saw, in simulated seconds: replies naming posts, and messages naming matches."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.post_acked: dict[int, float] = {}
        self.match_shown: dict[int, float] = {}
        self.created: list[tuple[float, int]] = []  # (when, channel id) of each message created
        self.delivered: list[tuple[float, str]] = []  # (when, path) of each message created or edited
        self.proposals_per_message: list[tuple[float, int]] = []  # (when, matches shown) of each proposal message

    def now(self) -> float:
        return float(self.backend.clock.elapsed)

    def saw(self, method: str, path: str, body: Any) -> None:
        now = self.now()
        if not isinstance(body, dict):
            return
        if path.endswith("/callback") or path.startswith("/webhooks/"):
            data = body.get("data") if path.endswith("/callback") else body
            found = POSTED.search(str((data or {}).get("content") or ""))
            if found:
                self.post_acked.setdefault(int(found.group(1)), now)
            return
        if not path.startswith("/channels/") or "/messages" not in path or method not in ("POST", "PATCH"):
            return
        self.delivered.append((now, path))
        if method == "POST":
            self.created.append((now, int(path.split("/")[2])))
        shown = set(MATCH_BUTTON.findall(str(body.get("components") or "")))
        for match_id in shown:
            self.match_shown.setdefault(int(match_id), now)
        if method == "POST" and shown:
            self.proposals_per_message.append((now, len(shown)))


def _recording(record: Record):
    original = scr.dispatch

    def dispatch(backend: Any, method: str, path: str, **kwargs: Any) -> Any:
        result = original(backend, method, path, **kwargs)
        record.saw(method, path, kwargs.get("json"))
        return result

    return original, dispatch


async def run(sizes: dict[str, Any], *, seed: int = 8) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="coalesce-notify-") as tmp:
        started: dict[str, Any] = {}

        def clock() -> datetime:
            # The bot's clock follows simulated time from the benchmark's "now".
            env = started.get("env")
            return BENCH_NOW if env is None else BENCH_NOW + (env.now() - started["at"])

        bot = create_bot(Path(tmp) / "notify.db", clock=clock, scheduler=False, ops_port=0)
        with discord_rate_limits() as apis:
            async with simcord.run(bot, settle_timeout=SETTLE_S, check_errors=False) as env:
                started.update(env=env, at=env.now())
                [api] = apis
                record = Record(env.backend)
                original, recording = _recording(record)
                scr.dispatch = recording
                try:
                    return await _measure(env, bot, api, record, sizes, seed)
                finally:
                    scr.dispatch = original


async def _measure(env, bot, api: RateLimitedAPI, record: Record, sizes: dict[str, Any], seed: int) -> dict[str, Any]:
    guild = env.create_guild("Gulf Coast Relief")
    channels = {kind: guild.create_text_channel(kind) for kind in CHANNEL_KINDS}
    general = guild.create_text_channel("general")
    members_n = sizes["e2e_members"]
    members = [guild.add_member(env.create_user(f"coord{i}")) for i in range(members_n)]
    store = bot.core.store
    generator = CoalitionGenerator(seed=seed)
    loaded = load_coalition(
        store.db,
        generator,
        guild_id=guild.id,
        org_count=members_n,
        user_ids=[m.id for m in members],
        channels={kind: ch.id for kind, ch in channels.items()},
    )
    load_posts(store.db, loaded, list(generator.posts(sizes["e2e_open_posts"], members_n)))
    injector = Injector(env, guild, general, AckLog())  # only its option builder is used

    def work(count: int) -> list[tuple[int, dict[str, Any]]]:
        items = []
        for spec in generator.posts(count, members_n):
            member = members[spec.org_index]
            path, options = post_options(spec)
            items.append((member.id, injector.command_data(member, path, options)))
        return items

    def emit(member_id: int, data: dict[str, Any]) -> None:
        _, payload = sci.base_payload(
            env.backend,
            type=InteractionType.APPLICATION_COMMAND,
            channel_id=general.id,
            guild_id=guild.id,
            user_id=member_id,
            data=data,
        )
        env.backend.emit("INTERACTION_CREATE", payload)

    results: dict[str, Any] = {}
    await env.settle()

    # 1. Steady posting.
    rate, seconds = sizes["notify_rate_per_s"], sizes["notify_steady_s"]
    steady_start = record.now()
    first_post = _max_post_id(store)
    for member_id, data in work(int(rate * seconds)):
        emit(member_id, data)
        await env.advance_time(1 / rate)
    await _drain(env, bot)
    steady = _proposal_latencies(store, record, after_post=first_post, until_post=_max_post_id(store))
    results["notify_proposal_p50_s"] = median(steady)
    results["notify_proposal_p99_s"] = percentile(steady, 99)
    results["notify_steady_messages_per_post"] = _created_since(record, steady_start) / max(1, int(rate * seconds))

    # 2. A burst.
    burst_n = sizes["notify_burst"]
    items = work(burst_n)
    await env.advance_time(60.0)  # let every bucket refill: the burst starts from rest
    burst_start = record.now()
    first_post = _max_post_id(store)
    for member_id, data in items:
        emit(member_id, data)
    drained_at = await _drain(env, bot)
    burst = _proposal_latencies(store, record, after_post=first_post, until_post=_max_post_id(store))
    results["notify_burst_proposal_p50_s"] = median(burst)
    results["notify_burst_proposal_p99_s"] = percentile(burst, 99)
    delivered = [when for when, _ in record.delivered if when >= burst_start]
    results["notify_burst_makespan_s"] = (max(delivered) - burst_start) if delivered else float("nan")
    results["notify_burst_bound_s"] = _bound(api, burst_start)
    results["notify_makespan_vs_bound"] = results["notify_burst_makespan_s"] / max(results["notify_burst_bound_s"], 1.0)
    results["notify_burst_drained_s"] = drained_at - burst_start
    results["notify_messages_per_post"] = _created_since(record, burst_start) / burst_n
    names = {channel.id: kind for kind, channel in channels.items()}
    by_destination: dict[str, int] = defaultdict(int)
    for when, channel_id in record.created:
        if when >= burst_start:
            by_destination[names.get(channel_id, "dm")] += 1
    carried = [count for when, count in record.proposals_per_message if when >= burst_start]
    results["notify_burst_proposals_per_message"] = sum(carried) / max(1, len(carried))
    results["notify_burst_messages_per_post_by_destination"] = {
        kind: round(count / burst_n, 3) for kind, count in sorted(by_destination.items())
    }
    results["notify_burst_posts_acked"] = sum(1 for pid in record.post_acked if pid > first_post)

    # 3. Head of line: another channel and a DM, idle and then beside a saturated channel.
    await env.advance_time(60.0)
    idle = await _head_of_line_latencies(env, bot, channels, members[0], saturate=None)
    await env.advance_time(60.0)
    busy = await _head_of_line_latencies(env, bot, channels, members[0], saturate=channels["log"])
    results["notify_head_of_line_s"] = max(busy[k] - idle[k] for k in idle)
    results["notify_head_of_line_idle_s"] = idle
    results["notify_head_of_line_busy_s"] = busy

    limited = api.answers
    results["notify_requests"] = len(limited)
    results["notify_429_share"] = sum(1 for a in limited if a.status == 429) / max(1, len(limited))
    results["notify_429_global"] = sum(1 for a in limited if a.scope == "global")
    results["notify_invalid_requests_10min"] = api.max_invalid_10min
    results["notify_outbox_backlog"] = store.outbox.backlog()
    results["notify_simulated_s"] = record.now()
    return results


def _max_post_id(store) -> int:
    return int(store.db.execute("SELECT COALESCE(MAX(id), 0) FROM posts").fetchone()[0])


async def _drain(env, bot) -> float:
    """Run simulated time until nothing is left to deliver; returns the simulated moment it was done."""
    store = bot.core.store
    waited = 0.0
    while waited < DRAIN_LIMIT_S:
        await env.advance_time(DRAIN_STEP_S)
        waited += DRAIN_STEP_S
        if store.outbox.backlog() == 0:
            break
    return float(env.backend.clock.elapsed)


def _proposal_latencies(store, record: Record, *, after_post: int, until_post: int) -> list[float]:
    """Per post with proposals: from its acknowledgement until its last proposal was shown to both sides."""
    shown: dict[int, float] = defaultdict(float)
    missing: set[int] = set()
    for match_id, need_id, offer_id in store.db.execute("SELECT id, need_id, offer_id FROM matches").fetchall():
        post_id = max(need_id, offer_id)  # the later post is the one whose posting proposed the pair
        if not after_post < post_id <= until_post:
            continue
        when = record.match_shown.get(match_id)
        if when is None:
            missing.add(post_id)
            continue
        shown[post_id] = max(shown[post_id], when)
    latencies = [
        when - record.post_acked[pid] for pid, when in shown.items() if pid in record.post_acked and pid not in missing
    ]
    # A proposal never shown counts as infinitely late: it must not vanish from the percentile.
    latencies += [math.inf] * len(missing)
    return latencies


def _created_since(record: Record, since: float) -> int:
    return sum(1 for when, _ in record.created if when >= since)


def _bound(api: RateLimitedAPI, since: float) -> float:
    """The least time Discord's limits allow for the requests the burst actually made (429s aside).

    Each bucket lets ``limit`` requests through per window, the first window opening at
    the burst: n requests need ``ceil(n / limit) - 1`` more windows. The global limit
    is the same rule over every request.
    """
    per_bucket: dict[str, int] = defaultdict(int)
    total = 0
    for answer in api.requests(since):
        if answer.status == 429:
            continue
        total += 1
        _, key, *_ = api.bucket_of(answer.method, answer.path)
        per_bucket[key] += 1
    bound = (math.ceil(total / GLOBAL_LIMIT) - 1) * GLOBAL_WINDOW_S if total else 0.0
    for key, count in per_bucket.items():
        window = api.windows[key]
        bound = max(bound, (math.ceil(count / window.limit) - 1) * window.period_s)
    return bound


async def _head_of_line_latencies(env, bot, channels, member, *, saturate) -> dict[str, float]:
    """How long a notice to the alerts channel and a DM take from queueing to arrival."""
    core = bot.core
    now = core.clock()
    with core.store.atomic():
        if saturate is not None:
            for i in range(SATURATING_MESSAGES):
                core.store.outbox.enqueue(
                    1, "notice", f"channel:{saturate.id}", {"text": f"backlog {i} {SATURATING_TEXT}"}, now
                )
        alert = core.store.outbox.enqueue(1, "notice", f"channel:{channels['alerts'].id}", {"text": "probe"}, now)
        dm = core.store.outbox.enqueue(1, "notice", f"user:{member.id}", {"text": "probe"}, now)
    queued = float(env.backend.clock.elapsed)
    with env._bot_scope():  # as a command would: the dispatcher's work then runs on simulated time
        bot.get_cog("Dispatcher").kick()
    latencies: dict[str, float] = {}
    waited = 0.0
    while len(latencies) < 2 and waited < DRAIN_LIMIT_S:
        await env.advance_time(0.25)
        waited += 0.25
        for name, row_id in (("channel", alert), ("dm", dm)):
            if name not in latencies and core.store.outbox.get(row_id)["status"] == "sent":
                latencies[name] = float(env.backend.clock.elapsed) - queued
    await _drain(env, bot)
    return latencies


if __name__ == "__main__":
    import asyncio

    quick = {
        "e2e_members": 100,
        "e2e_open_posts": 1_000,
        "notify_rate_per_s": 2,
        "notify_steady_s": 30,
        "notify_burst": 50,
    }
    print(asyncio.run(run(quick)))
