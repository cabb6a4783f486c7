"""Load injection into the real bot under simcord, and a loop-lag ticker.

simcord's member actors settle the loop after every action (about 50 ms), one
person at a time: right for behaviour tests, wrong for load. Here gateway
``INTERACTION_CREATE`` payloads go straight into the running client, as Discord
would deliver them, many in flight at once; the time each interaction is
acknowledged is taken where the bot's HTTP call for its callback reaches the
simulated API.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import discord
from discord import app_commands
from simcord import interactions as sci
from simcord.enums import AppCommandType, InteractionType
from simcord.http import router as scr

NOOP_COMMAND = "bench-noop"


def add_noop_command(bot: discord.Client) -> None:
    """A command that answers and does nothing else: the machinery's own ceiling."""

    @app_commands.command(name=NOOP_COMMAND, description="Benchmark: answer at once and do nothing else")
    async def noop(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("ok")

    bot.tree.add_command(noop)  # type: ignore[attr-defined]


@dataclass
class AckLog:
    """When each injected interaction was sent (or planned) and acknowledged."""

    sent: dict[int, float] = field(default_factory=dict)
    acked: dict[int, float] = field(default_factory=dict)
    on_ack: Callable[[int], None] | None = None

    def latencies_ms(self, ids: list[int]) -> list[float]:
        return [(self.acked[i] - self.sent[i]) * 1000 for i in ids if i in self.acked]


@contextmanager
def ack_timing() -> Iterator[AckLog]:
    """Record the moment each interaction callback reaches the simulated API."""
    log = AckLog()
    original = scr.dispatch

    def timed(backend: Any, method: str, path: str, **kwargs: Any) -> Any:
        result = original(backend, method, path, **kwargs)
        if method == "POST" and path.endswith("/callback"):
            interaction_id = int(path.split("/")[2])
            log.acked.setdefault(interaction_id, time.perf_counter())
            if log.on_ack is not None:
                log.on_ack(interaction_id)
        return result

    scr.dispatch = timed
    try:
        yield log
    finally:
        scr.dispatch = original


class _NoCopy:
    @staticmethod
    def deepcopy(value: Any) -> Any:
        return value


@contextmanager
def realistic_transport() -> Iterator[None]:
    """Two simulator-only behaviours off, for every command alike (the no-op included).

    - simcord answers HTTP requests synchronously, so a coroutine sending many messages
      in a row (the outbox dispatcher) would never give the loop back; over a real
      connection each send awaits the reply. Here every request (API and interaction
      webhooks alike) reaches the simulated API at once, then suspends its caller once.
    - simcord keeps a deep copy of every request body for test assertions (about a fifth
      of the run's CPU); the benchmark reads none of it, so the copy is skipped.
    """
    from simcord.http.client import FakeHTTPClient, FakeWebhookAdapter

    originals = {cls: cls.request for cls in (FakeHTTPClient, FakeWebhookAdapter)}
    original_copy = scr.copy

    def yielding(original: Any) -> Any:
        async def request(self: Any, *args: Any, **kwargs: Any) -> Any:
            # The request leaves at once (as bytes written to a socket do); the caller then
            # waits one loop turn for the answer instead of getting it synchronously.
            result = await original(self, *args, **kwargs)
            await asyncio.sleep(0)
            return result

        return request

    for cls, original in originals.items():
        cls.request = yielding(original)  # type: ignore[method-assign]
    scr.copy = _NoCopy  # type: ignore[assignment]
    try:
        yield
    finally:
        for cls, original in originals.items():
            cls.request = original  # type: ignore[method-assign]
        scr.copy = original_copy


# Entries of the simulator's request and event record kept before it is dropped (see Injector.trim_logs).
TRIM_AT = 500


class Injector:
    """Builds slash-command payloads once, then emits them into the client without settling."""

    def __init__(self, env: Any, guild: Any, channel: Any, log: AckLog) -> None:
        self.env = env
        self.backend = env.backend
        self.guild = guild
        self.channel = channel
        self.log = log
        self._roots: dict[str, dict[str, Any]] = {}

    def root(self, name: str) -> dict[str, Any]:
        if name not in self._roots:
            root = self.backend.find_command(name, self.guild.id, type=AppCommandType.CHAT_INPUT)
            if root is None:
                raise LookupError(f"/{name} is not synced")
            self._roots[name] = root
        return self._roots[name]

    def command_data(self, member: Any, path: str, options: dict[str, Any]) -> dict[str, Any]:
        """The ``data`` of a slash command, built by simcord's own option builder (validated)."""
        parts = path.split()
        root = self.root(parts[0])
        leaf, nesting = sci.walk_to_subcommand(root, parts[1:])
        leaf_options, resolved = sci.build_options(member, path, leaf, options, channel_id=self.channel.id)
        data: dict[str, Any] = {
            "id": root["id"],
            "name": root["name"],
            "type": root.get("type", AppCommandType.CHAT_INPUT),
            "options": sci.nest_options(root, nesting, leaf_options),
        }
        if resolved:
            data["resolved"] = resolved
        return data

    def emit(self, member_id: int, data: dict[str, Any], *, sent_at: float | None = None) -> int:
        """Deliver one INTERACTION_CREATE; returns the interaction id."""
        record, payload = sci.base_payload(
            self.backend,
            type=InteractionType.APPLICATION_COMMAND,
            channel_id=self.channel.id,
            guild_id=self.guild.id,
            user_id=member_id,
            data=data,
        )
        self.log.sent[record.id] = time.perf_counter() if sent_at is None else sent_at
        self.backend.emit("INTERACTION_CREATE", payload)
        if len(self.backend.transcript) > TRIM_AT:
            self.trim_logs()
        return record.id

    def trim_logs(self) -> None:
        """The simulated API keeps every request and event, for tests' assertions, which benchmarks do not make.

        Dropped as the run goes: in the bot's process (a simulator's artefact, not production's) they were
        80,000 objects by the end of a 10 s phase, walked by every full pass of the garbage collector.
        """
        self.backend.http_requests.clear()
        self.backend.transcript.clear()


async def closed_loop(injector: Injector, work: list[tuple[int, dict[str, Any]]], *, window: int) -> list[int]:
    """Keep ``window`` commands in flight until all are acknowledged; returns the ids in order sent."""
    loop = asyncio.get_running_loop()
    ids: list[int] = []
    done = asyncio.Event()
    queue = iter(work)
    remaining = len(work)

    def send_next() -> None:
        item = next(queue, None)
        if item is not None:
            ids.append(injector.emit(*item))

    def acked(_interaction_id: int) -> None:
        nonlocal remaining
        remaining -= 1
        if remaining == 0:
            done.set()
        else:
            loop.call_soon(send_next)

    injector.log.on_ack = acked
    try:
        for _ in range(min(window, len(work))):
            send_next()
        await asyncio.wait_for(done.wait(), timeout=max(60.0, len(work) * 0.05))
    finally:
        injector.log.on_ack = None
    return ids


async def open_loop(
    injector: Injector, work: list[tuple[int, dict[str, Any]]], *, rate_per_s: float, ticker: LoopTicker | None = None
) -> list[int]:
    """Emit each command at its planned arrival time (``rate_per_s``), whatever the bot is doing.

    Latency is measured from the planned time, so a stalled loop shows as queueing delay
    instead of silently slowing the arrivals down.
    """
    ids: list[int] = []
    start = time.perf_counter() + 0.01
    for i, (member_id, data) in enumerate(work):
        planned = start + i / rate_per_s
        wait = planned - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)  # the loop idles (or runs the bot) until the next arrival
        ids.append(injector.emit(member_id, data, sent_at=planned))
    return ids


class LoopTicker:
    """Measures the event loop's stalls as a production lag monitor does: how late a short timer fires.

    Between ticks the loop is free to wait in ``select`` as a bot's loop waits on its sockets, which lets go
    of the GIL: the store's thread runs then. An earlier ticker spun with ``sleep(0)`` and so did the
    arrivals of ``open_loop``; the loop thread then held the GIL without pause, the store's thread got it
    only when the interpreter forced a switch (every 5 ms), and a post of 60 statements waited for it 60
    times. The commands queued behind (2,000 at the end of a 10 s phase at 200/s) were the heap every full
    collection walked.
    """

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        # An array, not a list: the collector never walks it (a list of a spinning ticker's 5 million gaps
        # added 120 ms to every full pass of a 10 s phase).
        self.gaps: array[float] = array("d")
        self._task: asyncio.Task[None] | None = None
        self._stop = False

    async def _run(self) -> None:
        last = time.perf_counter()
        while not self._stop:
            await asyncio.sleep(self.interval)
            now = time.perf_counter()
            self.gaps.append(now - last - self.interval)
            last = now

    def start(self) -> LoopTicker:
        self._stop = False
        self.gaps = array("d")
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def stop(self) -> None:
        self._stop = True
        if self._task is not None:
            await self._task

    @property
    def max_stall_ms(self) -> float:
        return max(self.gaps, default=0.0) * 1000

    @property
    def p99_stall_ms(self) -> float:
        return percentile(self.gaps, 99) * 1000


def speed_reference_ms(iterations: int = 2_000_000) -> float:
    """How long this machine takes, now, for a fixed pure-Python loop: the yardstick beside a latency figure.

    A shared virtual machine's speed drifts by half from one minute to the next (the same loop took 0.69 to
    1.03 s within the hour), and every figure in milliseconds drifts with it; set beside the figure, it
    tells a slower machine from slower code.
    """
    start = time.perf_counter()
    total = 0
    for i in range(iterations):
        total += i
    return (time.perf_counter() - start) * 1000


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: the figure is a value that happened)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
