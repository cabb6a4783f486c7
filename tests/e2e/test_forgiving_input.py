"""Typing in a hurry: misspelt items and places, and dates in words, still post and match."""

from __future__ import annotations

from tests.conftest import assert_refused
from tests.e2e.matching_helpers import match_message, ready_world


async def test_a_misspelt_need_matches_an_offer_spelt_right(world):
    await ready_world(world, members=("alice", "bob"))

    need = await world.alice.slash(
        world.general, "need post", sector="health", item="insuline", quantity=40, location="Hoston", urgency="high"
    )
    offer = await world.bob.slash(
        world.general, "offer post", sector="health", item="insulin", quantity=40, location="Baytown"
    )

    assert not need.ephemeral, need.response.content
    assert "Read “insuline” as **Insulin**" in need.response.content
    assert "Read “Hoston” as **Houston, Texas, US**" in need.response.content
    assert "Insulin" in need.response.embeds[0].title
    assert "Read" not in offer.response.content
    assert "M-1" in offer.response.embeds[0].to_dict()["fields"][-1]["value"]
    proposal = match_message(world, "M-1")
    assert "Insulin" in str(proposal.embeds[0].to_dict())


async def test_two_close_spellings_of_a_new_item_match_each_other(world):
    await ready_world(world, members=("alice", "bob"))

    await world.alice.slash(
        world.general, "need post", sector="shelter", item="solar panels", quantity=4, location="Houston", urgency="low"
    )
    offer = await world.bob.slash(
        world.general, "offer post", sector="shelter", item="solar panles", quantity=4, location="Baytown"
    )

    assert "Read “solar panles” as **solar panel**" in offer.response.content
    assert match_message(world, "M-1")


async def test_hoston_autocompletes_with_houston_first(world):
    await ready_world(world, members=("alice",))

    choices = await world.alice.autocomplete(world.general, "need post", "location", "Hoston")

    assert choices[0]["name"] == "Houston, Texas, US"


async def test_bombay_autocompletes_and_posts_as_mumbai(world):
    await ready_world(world, members=("alice",))

    choices = await world.alice.autocomplete(world.general, "offer post", "location", "Bombay")

    assert choices[0]["name"] == "Mumbai, IN"


async def test_a_deadline_in_words_is_read_in_the_coalitions_zone(world):
    await ready_world(world, members=("alice",))
    await world.admin.slash(world.general, "config digest", times="08:00", timezone="America/Chicago")

    posted = await world.alice.slash(
        world.general, "need post", sector="wash", item="soap", quantity=5, location="Houston", urgency="low",
        needed_by="friday 18:00",
    )  # fmt: skip

    assert not posted.ephemeral, posted.response.content
    fields = {f["name"]: f["value"] for f in posted.response.embeds[0].to_dict()["fields"]}
    # Friday 4 December 2026, 18:00 in Chicago is 00:00 UTC on the 5th.
    assert fields["Needed by"] == "<t:1796428800:f>"


async def test_a_deadline_in_the_past_or_too_far_is_refused_and_nothing_is_posted(world):
    await ready_world(world, members=("alice",))
    base = {"sector": "wash", "item": "soap", "quantity": 5, "location": "Houston", "urgency": "low"}

    past = await world.alice.slash(world.general, "need post", **base, needed_by="yesterday")
    far = await world.alice.slash(world.general, "need post", **base, needed_by="9999-12-31")

    assert_refused(world.env, past, "already past")
    assert_refused(world.env, far, "ten years")
    listed = await world.alice.slash(world.general, "need list")
    assert "No open needs" in listed.response.embeds[0].description


async def test_a_misspelt_item_autocompletes_to_the_catalogue_item_first(world):
    await ready_world(world, members=("alice",))

    choices = await world.alice.autocomplete(world.general, "need post", "item", "insuline", sector="health")

    assert choices[0] == {"name": "Insulin", "value": "insulin"}
    assert choices[-1]["name"] == "insuline"  # what was typed stays available: a new item is allowed
