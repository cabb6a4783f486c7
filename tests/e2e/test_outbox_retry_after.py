"""A 429 on the simulator's own clock: the row waits exactly its ``retry_after`` and then arrives once.

The bot here reads simcord's clock (``discord.utils.utcnow``), so the dispatcher's timers and its idea of
now move together when the test advances simulated time.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import create_bot
from cogs.dispatcher import dispatcher_of
from cogs.dispatcher_policy import DEFAULT_RETRY_AFTER_S
from tests.conftest import confine_store
from tests.e2e.test_outbox_faults import MESSAGES, core_of, outbox_rows, register


@pytest.fixture
def simcord_bot(database):
    bot = create_bot(database, scheduler=False, ops_port=0)
    confine_store(bot)
    yield bot
    bot.core.close()


async def test_verification_dm_honours_a_429_and_then_arrives_once(world):
    env = world.env
    await register(world, world.alice)
    env.inject_error("POST", MESSAGES, status=429, code=0, message="You are being rate limited.", times=1)

    await world.admin.slash(world.general, "org verify", org="Houston Food Bank")

    limited_at = core_of(world).clock()
    assert core_of(world).store.orgs.by_name(1, "Houston Food Bank").is_verified
    [row] = outbox_rows(world)
    resume = limited_at + timedelta(seconds=DEFAULT_RETRY_AFTER_S)
    assert row["status"] == "pending" and row["next_attempt_at"] == resume.isoformat(timespec="seconds")
    assert dispatcher_of(env.bot).paused_until(f"user:{world.alice.user.id}") == resume

    await env.advance_time(DEFAULT_RETRY_AFTER_S - 1)
    assert world.alice.user.dm_channel is None or world.alice.user.dm_channel.history() == []
    await env.advance_time(1)

    dms = world.alice.user.dm_channel.history()
    assert len(dms) == 1 and "now verified" in dms[0].content
    await env.advance_time(60)
    assert len(world.alice.user.dm_channel.history()) == 1
    assert [r["status"] for r in outbox_rows(world)] == ["sent"]
