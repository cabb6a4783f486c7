"""What a housekeeping wake does with what fell due: freshness steps, match time-outs and posts whose reach
grows (near first, then wider), in batches.

Each batch is one short transaction over rows read through a partial index of due
moments, so the cost follows what is due, not how many posts are open; the loop
is handed back between batches, so a backlog (a bot that was down for hours)
never stalls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.core import Core
from bot.services import freshness, timeouts
from bot.services.proposals import next_widening, widen_due

WIDEN_BATCH = 200  # posts widened per batch; the loop runs between batches


@dataclass(frozen=True, slots=True)
class FollowUp:
    prompts: int = 0
    unconfirmed: int = 0
    proposals_expired: int = 0
    nudged: int = 0
    escalated: int = 0
    widened: int = 0

    @property
    def changed(self) -> bool:
        return any((self.prompts, self.unconfirmed, self.proposals_expired, self.nudged, self.escalated, self.widened))


async def follow_up(core: Core) -> FollowUp:
    """Take every due freshness step and time-out, a batch per trip to the store thread."""
    prompts = unconfirmed = 0
    while True:
        fresh = await core.call(freshness.sweep, core.clock())
        prompts, unconfirmed = prompts + fresh.prompts, unconfirmed + fresh.unconfirmed
        if not fresh.more:
            break
    lapsed = nudged = escalated = 0
    while True:
        timed = await core.call(timeouts.sweep, core.clock())
        lapsed, nudged, escalated = lapsed + timed.expired, nudged + timed.nudged, escalated + timed.escalated
        if not timed.more:
            break
    widened = 0
    while True:
        step = await core.call(widen_due, core.clock(), limit=WIDEN_BATCH)
        widened += step
        if step < WIDEN_BATCH:
            break
    return FollowUp(prompts, unconfirmed, lapsed, nudged, escalated, widened)


def next_due(core: Core) -> datetime | None:
    """The soonest deadline, freshness step, match time-out or widening (indexed MINs), if any."""
    store = core.store
    moments = [
        store.posts.next_deadline(),
        store.freshness.next_due_at(),
        store.matches.next_due_at(),
        next_widening(core),
    ]
    return min((m for m in moments if m is not None), default=None)
