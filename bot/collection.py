"""Full garbage collections wait for a quiet moment while commands are arriving.

A full pass of CPython's collector walks every object it tracks, holding the GIL: the
event loop stops for as long. The collector starts one whenever the long-lived objects
have grown by a quarter, and a burst of commands grows them fast: each command queued
for the store thread keeps its interaction, coroutines and payloads alive until its turn.
At 200 posts/s the passes ran back to back as the queue grew, up to 150 ms each, so the
loop's longest stalls were the collector's.

While commands arrive, the automatic full pass is held back (the young generations are
still collected as usual, and most garbage dies there). It runs once no command has
arrived for ``QUIET_S`` and no command's work is left on the store thread: nobody is
then waiting on the loop. The outbox may go on sending for minutes under Discord's rate
limits; that does not count, since nobody waits on a notification to the millisecond. Under load that never pauses the
pass still runs every ``AT_MOST_S``, so memory held by garbage cycles stays bounded.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import time
from collections.abc import Callable

# No command for this long (and none still at work): a full pass keeps nobody waiting.
QUIET_S = 1.0
# Under load without a pause, a full pass runs at least this often all the same.
AT_MOST_S = 300.0
# The full generation's threshold while held back: never reached within AT_MOST_S.
HELD_BACK = 1_000_000


class QuietCollector:
    """Holds back the collector's full passes from the first command to the next quiet moment."""

    def __init__(self, people_waiting: Callable[[], bool], *, clock: Callable[[], float] = time.monotonic) -> None:
        self._people_waiting = people_waiting
        self._clock = clock
        self._last_command = 0.0
        self._last_full = clock()
        self._check: asyncio.TimerHandle | None = None
        self._thresholds: tuple[int, int, int] | None = None
        self.full_passes = 0  # run here, at quiet moments or by the AT_MOST_S rule
        self.last_pass_ms: float | None = None

    @property
    def holding_back(self) -> bool:
        return self._check is not None

    def command_arrived(self) -> None:
        self._last_command = self._clock()
        if self._check is not None:
            return
        self._thresholds = gc.get_threshold()
        gc.set_threshold(self._thresholds[0], self._thresholds[1], HELD_BACK)
        self._check = self._later()

    def _later(self) -> asyncio.TimerHandle:
        # Scheduled from an empty context: the look belongs to no command (a simulated Discord that follows a
        # command's timers, to move its clock when they fire, leaves it alone), and real time paces it.
        loop = asyncio.get_running_loop()
        return contextvars.Context().run(loop.call_later, QUIET_S, self.look)

    def look(self) -> None:
        """Run the held-back pass if the bot is quiet (or it is overdue); look again later if it is not."""
        if self._check is not None:
            self._check.cancel()  # called early (not by its timer): one look pending at a time
        now = self._clock()
        quiet = now - self._last_command >= QUIET_S and not self._people_waiting()
        if quiet or now - self._last_full >= AT_MOST_S:
            self._collect(now)
        if quiet:
            self._check = None
            self._restore()
        else:
            self._check = self._later()

    def _collect(self, now: float) -> None:
        # Only if a young collection promoted anything since the last full pass: otherwise there is nothing new.
        if gc.get_count()[2] or now - self._last_full >= AT_MOST_S:
            started = time.perf_counter()
            gc.collect()
            self.last_pass_ms = (time.perf_counter() - started) * 1000
            self.full_passes += 1
        self._last_full = now

    def _restore(self) -> None:
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None

    def close(self) -> None:
        """Stop holding back: the collector's own schedule again."""
        if self._check is not None:
            self._check.cancel()
            self._check = None
        self._restore()
