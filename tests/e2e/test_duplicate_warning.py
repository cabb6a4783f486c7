"""Posting what looks like one of your org's open posts: a private warning, and nothing posted until a click."""

from __future__ import annotations

from tests.e2e.matching_helpers import ready_world

SOAP = {"sector": "wash", "item": "soap", "location": "Houston"}


async def need(world, member, quantity: int, **options):
    values = {**SOAP, "quantity": quantity, "urgency": "normal", **options}
    return await member.slash(world.general, "need post", **values)


def labels(response) -> list[str]:
    return [button["label"] for row in response.components for button in row.get("components", [])]


async def open_needs(world) -> str:
    listed = await world.alice.slash(world.general, "need list")
    return listed.response.embeds[0].description


async def held_need(world, clock, *, first: int = 40, second: int = 50, **options):
    await need(world, world.alice, first)
    clock.advance(hours=2)
    return await need(world, world.alice, second, **options)


async def test_a_repeated_need_gets_a_private_warning_and_nothing_is_posted(world, clock):
    await ready_world(world, members=("alice",))

    held = await held_need(world, clock)

    assert held.ephemeral
    assert "This looks like **N-1** (posted 2 h ago)" in held.response.content
    assert labels(held.response) == ["Update N-1", "Post anyway"]
    listed = await open_needs(world)
    assert "N-1" in listed and "N-2" not in listed
    needs_channel = [m for m in world.channels["needs"].history() if m.embeds]
    assert len(needs_channel) == 1


async def test_post_anyway_posts_it_and_the_channel_sees_it(world, clock):
    await ready_world(world, members=("alice",))
    held = await held_need(world, clock)

    clicked = await world.alice.click(held.response, label="Post anyway")

    assert "Posted anyway as **N-2**" in clicked.response.content
    assert labels(clicked.response) == []
    public = [m for m in world.general.history() if "Posted need **N-2**" in (m.content or "")]
    assert len(public) == 1 and not public[0].flags.ephemeral
    listed = await open_needs(world)
    assert "N-1" in listed and "N-2" in listed


async def test_update_gives_the_existing_post_the_new_terms_and_posts_nothing_new(world, clock):
    await ready_world(world, members=("alice",))
    held = await held_need(
        world, clock, urgency="critical", needed_by="2026-12-05", notes="for the shelter at the school"
    )

    clicked = await world.alice.click(held.response, label="Update N-1")

    assert "Updated need **N-1**: quantity 40 → 50" in clicked.response.content
    assert "urgency normal → critical" in clicked.response.content
    listed = await open_needs(world)
    assert "N-2" not in listed
    shown = await world.alice.slash(world.general, "need list", mine=True)
    assert "50" in shown.response.embeds[0].description
    public = [m for m in world.general.history() if "Updated need **N-1**" in (m.content or "")]
    fields = {f.name: f.value for f in public[0].embeds[0].fields}
    assert fields["Notes"] == "for the shelter at the school" and "critical" in fields["Urgency"]


async def test_a_post_closed_since_the_warning_is_not_updated(world, clock):
    await ready_world(world, members=("alice",))
    held = await held_need(world, clock)
    await world.alice.slash(world.general, "need close", id="N-1")

    late = await world.alice.click(held.response, label="Update N-1")

    assert late.ephemeral and "no longer open" in late.response.content


async def test_the_buttons_work_after_a_restart(world, clock, make_bot):
    await ready_world(world, members=("alice",))
    held = await held_need(world, clock)

    await world.env.restart_bot(make_bot())
    clicked = await world.alice.click(held.response, label="Post anyway")

    assert "Posted anyway as **N-2**" in clicked.response.content


async def test_different_terms_are_no_duplicate(world, clock):
    await ready_world(world, members=("alice",))
    await need(world, world.alice, 40)

    more = await need(world, world.alice, 200)
    elsewhere = await need(world, world.alice, 40, location="Galveston")
    other_item = await need(world, world.alice, 40, item="buckets")
    clock.advance(hours=25)
    next_day = await need(world, world.alice, 40)

    for result in (more, elsewhere, other_item, next_day):
        assert not result.ephemeral, result.response.content
        assert "Posted need" in result.response.content


async def test_an_offer_is_warned_alike(world, clock):
    await ready_world(world, members=("bob",))
    await world.bob.slash(world.general, "offer post", **SOAP, quantity=30)
    clock.advance(minutes=20)

    held = await world.bob.slash(world.general, "offer post", **SOAP, quantity=30)

    assert held.ephemeral and "This looks like **O-1** (posted 20 min ago)" in held.response.content
    refused = await world.bob.click(held.response, label="Update O-1")
    assert "Updated offer **O-1**: nothing changed" in refused.response.content
