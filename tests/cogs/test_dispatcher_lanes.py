"""The dispatcher's lanes: rows leave each destination in priority order, then in the order they were queued;
under backlog a run of one kind leaves together, and a lane remembers its backlog for a while."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.models import OutboxMessage
from cogs.dispatcher_lanes import BACKLOG_HOLD_S, GROUP_MAX, Lanes
from cogs.dispatcher_policy import PRIORITIES

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
KINDS = sorted(PRIORITIES)
GROUPABLE = {"match_proposal", "post_announcement", "notice"}


def row(row_id: int, kind: str, target: str) -> OutboxMessage:
    return OutboxMessage(row_id, 1, kind, target, "{}", 0, NOW)


ROWS = st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from(["channel:1", "channel:2", "user:3"])), max_size=60)


@given(rows=ROWS, order=st.randoms(use_true_random=False), backlogged=st.booleans())
def test_each_destination_sends_by_priority_then_age_whatever_order_rows_were_claimed(rows, order, backlogged):
    lanes = Lanes()
    messages = [row(i + 1, kind, target) for i, (kind, target) in enumerate(rows)]
    claimed = list(messages)
    order.shuffle(claimed)
    for message in claimed + claimed[:5]:  # a row claimed twice is queued once
        lanes.queue(message, PRIORITIES[message.kind])

    for lane in lanes:
        if backlogged:
            lane.waited(NOW)
        sent: list[OutboxMessage] = []
        while lane.rows:
            batch = Lanes.take(lane, NOW, GROUPABLE)
            assert len({m.kind for m in batch}) == 1 and len(batch) <= GROUP_MAX
            assert len(batch) == 1 or (backlogged and batch[0].kind in GROUPABLE)
            sent += batch
            lanes.drop(lane, {m.id for m in batch})
        expected = sorted((m for m in messages if m.target == lane.target), key=lambda m: (PRIORITIES[m.kind], m.id))
        assert [m.id for m in sent] == [m.id for m in expected]
    assert lanes.held == set()


def test_a_lane_stays_backlogged_for_a_while_after_its_last_wait_and_is_then_forgotten():
    lanes = Lanes()
    lanes.queue(row(1, "match_proposal", "channel:1"), 0)
    [lane] = list(lanes)
    lane.waited(NOW)
    lanes.drop(lane, {1})

    lanes.prune(NOW + timedelta(seconds=BACKLOG_HOLD_S - 1))
    lanes.queue(row(2, "match_proposal", "channel:1"), 0)
    lanes.queue(row(3, "match_proposal", "channel:1"), 0)
    assert lanes.get("channel:1") is lane
    assert [m.id for m in Lanes.take(lane, NOW + timedelta(seconds=BACKLOG_HOLD_S - 1), GROUPABLE)] == [2, 3]
    assert [m.id for m in Lanes.take(lane, NOW + timedelta(seconds=BACKLOG_HOLD_S), GROUPABLE)] == [2]

    lanes.drop(lane, {2, 3})
    lanes.prune(NOW + timedelta(seconds=BACKLOG_HOLD_S))
    assert lanes.get("channel:1") is None
