"""Full garbage collections are held back while commands arrive, and run at the next quiet moment."""

from __future__ import annotations

import gc

import pytest

from bot.collection import AT_MOST_S, HELD_BACK, QUIET_S, QuietCollector

waiting = [False]  # whether a command's store work is still queued


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def thresholds():
    saved = gc.get_threshold()
    yield saved
    gc.set_threshold(*saved)


def promote_something() -> None:
    """A young collection that counts toward the full generation, as a burst's allocations cause."""
    gc.collect(1)


async def test_held_back_from_the_first_command_to_the_next_quiet_moment(thresholds):
    clock = Clock()
    collector = QuietCollector(lambda: waiting[0], clock=clock)
    collector.command_arrived()
    assert gc.get_threshold() == (thresholds[0], thresholds[1], HELD_BACK)
    promote_something()

    clock.now += QUIET_S / 2
    collector.command_arrived()  # one more command: quiet is counted from it
    clock.now += QUIET_S / 2
    collector.look()
    assert collector.holding_back and collector.full_passes == 0

    waiting[0] = True  # quiet, but a command's work is still on the store thread
    clock.now += QUIET_S / 2
    collector.look()
    assert collector.holding_back and collector.full_passes == 0

    waiting[0] = False
    collector.look()
    assert not collector.holding_back
    assert collector.full_passes == 1
    assert gc.get_threshold() == thresholds


async def test_a_quiet_moment_with_nothing_promoted_runs_no_pass(thresholds):
    clock = Clock()
    collector = QuietCollector(lambda: waiting[0], clock=clock)
    gc.collect()  # nothing promoted since
    collector.command_arrived()
    clock.now += QUIET_S
    collector.look()
    assert collector.full_passes == 0
    assert gc.get_threshold() == thresholds


async def test_load_that_never_pauses_still_gets_a_full_pass(thresholds):
    clock = Clock()
    collector = QuietCollector(lambda: waiting[0], clock=clock)
    passes = []
    for _ in range(3):
        for _ in range(int(AT_MOST_S / QUIET_S)):  # a command every second, for AT_MOST_S
            collector.command_arrived()
            clock.now += QUIET_S / 2
            collector.look()
            clock.now += QUIET_S / 2
        promote_something()
        collector.command_arrived()
        collector.look()
        passes.append(collector.full_passes)
    assert passes == [1, 2, 3]
    assert collector.holding_back  # still busy: held back again after each pass
    collector.close()
    assert gc.get_threshold() == thresholds
