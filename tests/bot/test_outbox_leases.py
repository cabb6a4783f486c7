"""Outbox leases: a row is claimed before it is sent, a destination by one process at a time, and lapses."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from bot.models import ChannelKind
from bot.services import coalition_config
from bot.store import Store
from tests.conftest import FakeClock
from tests.e2e.matching_helpers import ADMIN

ROOT = Path(__file__).resolve().parents[2]
LEASE = timedelta(seconds=60)
NOW = FakeClock().now
TARGETS = [f"channel:{100 + i}" for i in range(5)] + [f"user:{200 + i}" for i in range(3)]


def fresh(new_database) -> Store:
    from bot.core import Core

    store = Store(new_database("coalesce"))
    coalition_config.set_channel(Core(store=store, clock=lambda: NOW), ADMIN, ChannelKind.LOG, 4242)
    return store


def queue(store: Store, count: int) -> list[int]:
    with store.atomic():
        return [
            store.outbox.enqueue(1, "notice", TARGETS[i % len(TARGETS)], {"text": str(i)}, NOW) for i in range(count)
        ]


def test_a_destination_held_by_one_process_is_not_claimed_by_another_until_its_lease_lapses(new_database):
    store = fresh(new_database)
    first, second = queue(store, 2)[0], None
    with store.atomic():
        second = store.outbox.enqueue(1, "notice", TARGETS[0], {"text": "later"}, NOW)

    held = store.outbox.claim("a", NOW, NOW + LEASE, limit=1)
    assert [m.id for m in held] == [first]

    taken = store.outbox.claim("b", NOW, NOW + LEASE, limit=10)
    assert second not in [m.id for m in taken]  # same destination as a's row: in order, so not b's
    assert store.outbox.next_due_at("b", NOW) == NOW + LEASE  # b wakes when a's claim lapses, not before

    lapsed = NOW + LEASE + timedelta(seconds=1)  # a crashed: its claim lapses and b takes the row, first
    retaken = store.outbox.claim("b", lapsed, lapsed + LEASE, limit=10)
    assert [m.id for m in retaken][:1] == [first] and second in [m.id for m in retaken]
    store.close()


def test_a_renewed_lease_keeps_its_rows_and_a_released_one_frees_them(new_database):
    store = fresh(new_database)
    ids = queue(store, 4)
    assert len(store.outbox.claim("a", NOW, NOW + LEASE, limit=10)) == 4

    later = NOW + LEASE - timedelta(seconds=1)
    assert store.outbox.renew("a", later + LEASE) == set(ids)
    assert store.outbox.claim("b", NOW + LEASE + timedelta(seconds=1), NOW + 2 * LEASE, limit=10) == []

    store.outbox.release("a")
    assert sorted(m.id for m in store.outbox.claim("b", NOW, NOW + LEASE, limit=10)) == ids
    store.close()


def test_two_processes_on_one_database_send_each_row_exactly_once_and_in_order(new_database):
    store = fresh(new_database)
    ids = queue(store, 400)
    path = store.database
    store.close()

    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.bot.outbox_claimer", str(path), owner],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for owner in ("a", "b")
    ]  # fmt: skip
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err

    sent: list[int] = []
    per_target: dict[tuple[int, str], list[int]] = defaultdict(list)
    for process, (out, _) in enumerate(outputs):
        for line in out.splitlines():
            _, row_id, target = line.split()
            sent.append(int(row_id))
            per_target[process, target].append(int(row_id))
    assert sorted(sent) == ids  # every row, none twice
    assert all(rows == sorted(rows) for rows in per_target.values())  # each process sent a destination in order
    reopened = Store(path)
    assert reopened.outbox.backlog() == 0
    reopened.close()
