"""Units in the chat: numbers a logistician would sign, in each side's own unit, with the conversion shown."""

from __future__ import annotations

from tests.conftest import assert_refused
from tests.e2e.matching_helpers import ACCEPT, button, match_message, post_need, post_offer, ready_world


def _matches_posted(world) -> list:
    return [m for m in world.channels["matches"].history() if "**M-" in m.content]


async def test_litres_are_never_proposed_as_bottles_until_the_bottle_size_is_given(world):
    await ready_world(world)
    await post_offer(world, world.bob, item="water", quantity=250, unit="litres", location="Baytown")

    bottles = await post_need(world, world.alice, item="bottled water", quantity=500, unit="bottles")

    assert _matches_posted(world) == []
    said = bottles.response.content
    assert "exist in litres" in said and "say your bottle size" in said and "bottles of 1.5 L" in said

    sized = await post_need(world, world.carol, item="bottled water", quantity=500, unit="bottles (1.5 L)")

    assert "M-1" in str(sized.response.embeds[0].to_dict())
    quantity = match_message(world, "M-1").embeds[0].fields[2].value
    assert quantity == "250 litres → 166 bottles of 1.5 L (250 L ≈ 166.7 bottles of 1.5 L)"
    assert "250 bottles" not in str([m.embeds[0].to_dict() for m in _matches_posted(world)])


async def test_gallons_and_litres_convert_and_committing_over_commits_neither_side(world):
    await ready_world(world)
    await post_need(world, world.alice, item="water", quantity=100, unit="gallons", urgency="high")

    await post_offer(world, world.bob, item="water", quantity=200, unit="L", location="Baytown")

    proposal = match_message(world, "M-1")
    assert proposal.embeds[0].fields[2].value == "200 litres → 52 gallons (200 L ≈ 52.8 gal)"
    await world.alice.click(proposal, custom_id=button(1, ACCEPT))
    committed = await world.bob.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))

    assert "200 litres → 52 gallons" in committed.response.content
    assert "200 L ≈ 52.8 gal" in world.alice.user.dm_channel.last_message.content
    needs = await world.dave.slash(world.general, "need list")
    assert "100 gallons (48 left)" in needs.response.embeds[0].description
    offers = await world.dave.slash(world.general, "offer list")
    assert "200 litres" not in offers.response.embeds[0].description  # nothing of it is left to offer


async def test_tins_and_cartons_of_24_tins_convert(world):
    await ready_world(world)
    await post_need(world, world.alice, sector="nutrition", item="baby formula", quantity=100, unit="tins")

    await post_offer(
        world, world.bob, sector="nutrition", item="baby formula", quantity=10, unit="carton of 24 tins",
        location="Baytown",
    )  # fmt: skip

    moved = match_message(world, "M-1").embeds[0].fields[2].value
    assert moved == "5 carton of 24 tins → 100 tins (5 carton of 24 tins = 120 tins)"


async def test_a_bad_size_is_refused_privately_and_posts_nothing(world, simcord_bot):
    await ready_world(world)

    refused = await world.alice.slash(
        world.general, "need post", sector="wash", item="bottled water", quantity=5, location="Houston",
        urgency="normal", unit="bottles of 0 L",
    )  # fmt: skip

    assert_refused(world.env, refused, "more than zero")
    assert simcord_bot.core.store.db.execute("SELECT COUNT(*) FROM posts").fetchone()[0] == 0


async def test_the_unit_autocomplete_offers_the_chosen_items_usual_units_and_sizes_first(world):
    await ready_world(world)

    offered = await world.alice.autocomplete(
        world.general, "need post", "unit", "", sector="wash", item="bottled_water"
    )  # fmt: skip

    names = [c["name"] for c in offered]
    assert names[:4] == ["bottles", "bottles of 0.5 L", "bottles of 1.5 L", "litres"]
    assert names.index("bottles of 1.5 L") < names.index("kits")
