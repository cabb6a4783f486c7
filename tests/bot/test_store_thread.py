"""The store thread: work handed to it counts as waiting from that moment, and runs in the order handed over."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from bot.core import Core
from bot.store import Store


async def test_work_counts_as_waiting_from_the_moment_it_is_handed_over(database):
    core = Core(store=Store(database))
    try:
        assert not core.store_busy()
        released = threading.Event()
        ran: list[str] = []
        first = core.submit(lambda: (released.wait(), ran.append("first")))
        # A command that arrives next in a burst asks before the first one's work has even started: it must see it.
        assert core.store_busy()
        second = core.submit(ran.append, "second")
        assert core.store_busy()
        released.set()
        await first
        await second
        assert ran == ["first", "second"]
        await _turns_until(lambda: not core.store_busy())
    finally:
        core.close()


async def test_a_failed_work_still_leaves_the_store_thread_free(database):
    core = Core(store=Store(database))
    try:
        failing = core.submit(int, "not a number")
        try:
            await failing
        except ValueError:
            pass
        await _turns_until(lambda: not core.store_busy())
        assert await core.call(lambda c, x: x * 2, 21) == 42
    finally:
        core.close()


async def _turns_until(condition: Callable[[], bool], turns: int = 5) -> None:
    """A finished work's count is settled by a callback the loop runs within a turn or two."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)  # one loop turn, no time
    raise AssertionError(f"not within {turns} loop turns")
