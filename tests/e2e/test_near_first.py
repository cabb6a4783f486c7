"""Near first, then wider: on the bot's own clock, a need that is not critical meets a far offer after its hold.

In a busy town it looks in the town first.
"""

from __future__ import annotations

import pytest

from bot.app import create_bot
from tests.e2e.matching_helpers import post_need, post_offer, ready_world

HOUR = 3600
pytestmark = pytest.mark.simcord(settle_timeout=60)


@pytest.fixture
def make_bot(database):
    def build():
        return create_bot(database, scheduler=True)

    return build


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
    await world.env.advance_time(1 * HOUR + 60)

    [proposal] = proposals(world)
    assert "N-1" in proposal.embeds[0].fields[0].name and "O-2" in proposal.embeds[0].fields[1].name


async def test_a_critical_need_meets_the_far_offer_at_once(world):
    await ready_world(world)
    await post_need(world, world.alice, quantity=100, urgency="critical")

    await post_offer(world, world.carol, quantity=100, location="Galveston")

    assert len(proposals(world)) == 1


async def test_in_a_busy_town_a_need_meets_the_offer_posted_in_its_own_town_not_the_one_37_km_away(world):
    await ready_world(world)
    for town in ("Houston", "Baytown"):  # Galveston Aid posts in both towns: both are busy
        await post_need(world, world.carol, quantity=5, location=town, item="hygiene kit")
    await post_offer(world, world.bob, quantity=100, location="Baytown")  # O-3

    waiting = await post_need(world, world.alice, quantity=100)  # N-4, Houston
    assert proposals(world) == []
    assert "No match near it yet: 1 fitting post(s) farther away" in waiting.response.content
    await world.env.advance_time(1 * HOUR)
    await post_offer(world, world.carol, quantity=100, location="Houston")  # O-5, an hour later

    [proposal] = proposals(world)
    assert "N-4" in proposal.embeds[0].fields[0].name and "O-5" in proposal.embeds[0].fields[1].name
