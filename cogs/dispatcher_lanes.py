"""The dispatcher's queues in memory: a lane per destination, its rows in sending order, and the global pace.

A lane holds the rows this process has leased for one destination (a channel or a
DM), ordered by priority and then by age, and remembers when it may send again and
whether it is backlogged. Backlogged means its rate limit made a send wait lately:
the rows that keep arriving will wait too, so rows of a kind that registered a group
sender leave several to a message. The memory outlasts the lane's queue by
``BACKLOG_HOLD_S``, so a channel under steady load keeps grouping instead of spending
each fresh bucket on single messages.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sortedcontainers import SortedList

from bot.models import OutboxMessage

Entry = tuple[int, int, OutboxMessage]  # (priority, id, row): sending order

# At most this many rows are offered to a group sender at once (it takes as many as fit in one message).
GROUP_MAX = 25
# A lane stays backlogged this long after its last wait: two windows of a channel's message bucket (5 s).
BACKLOG_HOLD_S = 10.0


@dataclass
class Lane:
    """One destination's queue: its rows in sending order, and when it may send again."""

    target: str
    # Sorted, not a list kept in order: under a rate limit one channel's lane holds thousands of rows, and
    # inserting or dropping one rebuilt the whole list on the event loop (11 % of its time at 200 posts/s).
    rows: SortedList = field(default_factory=SortedList)  # of Entry
    entries: dict[int, Entry] = field(default_factory=dict)  # by row id
    parked_until: datetime | None = None
    backlogged_until: datetime | None = None
    worker: asyncio.Task[None] | None = None

    def head_key(self) -> tuple[int, int]:
        priority, row_id, _ = self.rows[0]
        return priority, row_id

    def backlogged(self, now: datetime) -> bool:
        return self.backlogged_until is not None and now < self.backlogged_until

    def waited(self, now: datetime) -> None:
        """A send met this destination's rate limit: what arrives in the next while will meet it too."""
        until = now + timedelta(seconds=BACKLOG_HOLD_S)
        self.backlogged_until = max(self.backlogged_until or until, until)

    def may_send(self, now: datetime) -> bool:
        return self.parked_until is None or self.parked_until <= now


class Lanes:
    """Every destination's lane, and the ids of the rows they hold (leased to this process)."""

    def __init__(self) -> None:
        self.by_target: dict[str, Lane] = {}
        self.held: set[int] = set()

    def get(self, target: str) -> Lane | None:
        return self.by_target.get(target)

    def __iter__(self):
        return iter(list(self.by_target.values()))

    def queue(self, row: OutboxMessage, priority: int) -> None:
        """Add a leased row to its destination's lane, in sending order; a row held already is ignored."""
        if row.id in self.held:
            return
        self.held.add(row.id)
        lane = self.by_target.get(row.target)
        if lane is None:
            lane = self.by_target[row.target] = Lane(row.target)
        entry = lane.entries[row.id] = (priority, row.id, row)
        lane.rows.add(entry)

    def drop(self, lane: Lane, ids: set[int]) -> None:
        """These rows left the lane (sent, given up or set aside): no longer held."""
        for row_id in ids:
            entry = lane.entries.pop(row_id, None)
            if entry is not None:
                lane.rows.remove(entry)
        self.held -= ids

    def forget(self, lost: set[int]) -> None:
        """Rows whose lease another process took: they are theirs now."""
        for lane in self.by_target.values():
            self.drop(lane, lost & lane.entries.keys())
        self.held -= lost

    def replace(self, lane: Lane, row: OutboxMessage) -> None:
        """Keep ``row``'s newer copy (its attempts counted) in its place."""
        priority, row_id, old = lane.entries[row.id]
        lane.rows.remove((priority, row_id, old))
        entry = lane.entries[row.id] = (priority, row_id, row)
        lane.rows.add(entry)

    @staticmethod
    def take(lane: Lane, now: datetime, groupable: Container[str]) -> list[OutboxMessage]:
        """The head row, or under backlog the run of waiting rows of its kind that one message may carry."""
        head = lane.rows[0][2]
        if not lane.backlogged(now) or head.kind not in groupable:
            return [head]
        batch = [head]
        for _, _, row in lane.rows.islice(1, GROUP_MAX):
            if row.kind != head.kind:
                break
            batch.append(row)
        return batch

    def ready(self, now: datetime, room: int) -> list[Lane]:
        """Up to ``room`` lanes with rows, no worker and no rate limit in force, highest priority head first."""
        ready = [lane for lane in self.by_target.values() if lane.rows and lane.worker is None and lane.may_send(now)]
        return sorted(ready, key=Lane.head_key)[: max(0, room)]

    def running(self) -> list[asyncio.Task[None]]:
        return [lane.worker for lane in self.by_target.values() if lane.worker is not None]

    def parked_moments(self) -> list[datetime]:
        """When parked lanes with rows may send again."""
        return [lane.parked_until for lane in self.by_target.values() if lane.parked_until and lane.rows]

    def prune(self, now: datetime) -> None:
        """Forget idle lanes with nothing queued, once their backlog memory has lapsed."""
        for target, lane in list(self.by_target.items()):
            if not lane.rows and lane.worker is None and not lane.backlogged(now):
                del self.by_target[target]


class GlobalPace:
    """Keeps this process's sends under ``per_s`` in any second (Discord's global limit, less a margin)."""

    def __init__(self, per_s: int) -> None:
        self.per_s = per_s
        self._sends: deque[float] = deque()  # loop times of recent sends

    async def slot(self) -> None:
        """Wait until one more request keeps this process under the pace."""
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            while self._sends and self._sends[0] <= now - 1.0:
                self._sends.popleft()
            if len(self._sends) < self.per_s:
                self._sends.append(now)
                return
            await asyncio.sleep(self._sends[0] + 1.0 - now)
