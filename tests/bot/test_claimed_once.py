"""Two processes on one database claim each digest slot and each hazard alert once, however they interleave.

Each process is a store of its own (its own connection). On PostgreSQL the two claim in
threads released together; on SQLite they take turns, as its one writer makes them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.core import Core
from bot.hazards.feeds import Hazard
from bot.services import digests
from bot.store import Store
from tests.bot.test_digests import Seed, outbox_rows, seeded_round

SLOT = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


def at_once(backend: str, *calls: Callable[[], object]) -> list[object]:
    """Each call's result: in threads released together on PostgreSQL, one after another on SQLite."""
    if backend == "sqlite":
        return [call() for call in calls]
    start = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        start.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_processes_running_one_slot_send_its_digest_once(database, backend):
    first = Core(store=Store(database), clock=lambda: SLOT)
    second = Core(store=Store(database), clock=lambda: SLOT)
    try:
        coalition_id = seeded_round(Seed(first), first)
        for rounds in range(3):
            slot = SLOT + timedelta(hours=12 * rounds)
            outcomes = at_once(
                backend,
                lambda slot=slot: asyncio.run(digests.run_digest_round(first, coalition_id, slot)),
                lambda slot=slot: asyncio.run(digests.run_digest_round(second, coalition_id, slot)),
            )
            assert sum(outcome is not None for outcome in outcomes) == 1
        assert first.store.digests.run_count(coalition_id) == 3
        assert len(outbox_rows(second)) == 3  # one channel digest per slot, none twice
    finally:
        first.store.close()
        second.store.close()


def test_two_processes_seeing_one_hazard_alert_a_coalition_once(database, backend):
    stores = [Store(database), Store(database)]
    try:
        now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
        coalition = stores[0].coalitions.for_guild(1, "G", now, timezone="UTC", digest_times="08:00")
        for n in range(20):
            quake = Hazard("usgs", f"us{n}", "earthquake", f"M 6.{n}", "Houston", 29.76, -95.37, "M 6.1", 6.1, now,
                           "https://example.org", 100.0)  # fmt: skip
            ids = at_once(backend, *(lambda s=s, q=quake: s.hazards.remember(q, now) for s in stores))
            assert ids[0] == ids[1]  # one hazard, whichever process saw it first
            claims = at_once(
                backend, *(lambda s=s, h=ids[0]: s.hazards.claim_alert(coalition.id, h, now) for s in stores)
            )
            assert sorted(claims) == [False, True]
    finally:
        for store in stores:
            store.close()
