"""Near first, then wider: on the bot's own clock, a need that is not critical meets a far offer after its hold."""

from __future__ import annotations

import pytest

from bot.app import create_bot
from cogs.dispatcher import dispatcher_of
from tests.e2e.matching_helpers import post_need, post_offer, ready_world

HOUR = 3600
pytestmark = pytest.mark.simcord(settle_timeout=60)


@pytest.fixture
def make_bot(database):
    def build():
        return create_bot(database, scheduler=True)

    return build


@pytest.fixture(autouse=True)
def without_outbox_poll(simcord_env):
    dispatcher_of(simcord_env.bot).poll.cancel()


def proposals(world) -> list:
    return [m for m in world.channels["matches"].history() if "**M-" in m.content]


async def test_a_far_offer_is_proposed_to_a_normal_need_once_it_has_waited_six_hours(world, make_bot):
    await ready_world(world)
    await post_need(world, world.alice, quantity=100, urgency="normal")  # Houston
    posted = await post_offer(world, world.carol, quantity=100, location="Galveston")  # about 75 km away

    assert proposals(world) == []
    said = posted.response.content
    assert "No match near it yet: 1 fitting post(s) farther away" in said and "within 6 hours" in said
    await world.env.advance_time(5 * HOUR)
    assert proposals(world) == []

    await world.env.restart_bot(make_bot())  # the wait is kept in the database, not in memory
    dispatcher_of(world.env.bot).poll.cancel()
    await world.env.advance_time(1 * HOUR + 60)

    [proposal] = proposals(world)
    assert "N-1" in proposal.embeds[0].fields[0].name and "O-2" in proposal.embeds[0].fields[1].name


async def test_a_critical_need_meets_the_far_offer_at_once(world):
    await ready_world(world)
    await post_need(world, world.alice, quantity=100, urgency="critical")

    await post_offer(world, world.carol, quantity=100, location="Galveston")

    assert len(proposals(world)) == 1
