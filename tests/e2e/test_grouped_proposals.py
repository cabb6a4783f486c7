"""Proposals queued behind a rate-limited matches channel leave up to five to a message, each with its own buttons.

These tests run the bot behind Discord's modelled rate limits (5 messages per 5 s per
channel): the first proposals leave one to a message as always; those that queue
behind the full bucket leave together.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import discord
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.app import create_bot
from bot.digest_render import DESCRIPTION, EMBED_TOTAL, TITLE
from bot.models import Match, MatchStatus, Org, OrgStatus, Post, PostKind, PostStatus, Urgency
from bot.services.cards import MatchCard
from bot.units import count_unit
from cogs.match_buttons import MAX_ROWS, group_view
from cogs.proposal_groups import CONTENT_MAX, group
from tests.e2e.matching_helpers import ACCEPT, button, buttons, post_need, post_offer, ready_world
from tests.e2e.rate_limited import simcord_env  # noqa: F401 - fixture

DECLINE = "decline"
BUCKET_S = 5.0
SETTLE_S = 2 * BUCKET_S  # an action's settle outlasts a bucket's reset (see tests.e2e.rate_limited)
MATCH_ID = re.compile(r"coalesce:match:(\d+):")
# Quantities far enough apart (more than twice) that no need looks like a duplicate of another.
QUANTITIES = (10, 25, 60, 150, 400, 1_000, 2_500, 6_000, 15_000, 40_000)


@pytest.fixture
def make_bot(database):
    """The bot on simcord's clock, proposing up to ten partners per post: one offer can meet every need."""

    def build():
        return create_bot(database, clock=discord.utils.utcnow, scheduler=False, proposals_per_post=len(QUANTITIES))

    return build


def shown_matches(message) -> list[int]:
    """The matches a message carries buttons for, in row order."""
    ids: list[int] = []
    for child in buttons(message):
        found = MATCH_ID.match(child.custom_id or "")
        if found and int(found.group(1)) not in ids:
            ids.append(int(found.group(1)))
    return ids


def grouped(world) -> list:
    return [m for m in world.channels["matches"].history() if len(m.embeds) > 1]


async def queue_proposals_behind_a_full_bucket(world) -> None:
    """Ten needs, then one offer proposed to all ten at once: twice what the channel takes in 5 s."""
    await ready_world(world)
    for quantity in QUANTITIES:
        await post_need(world, world.alice, quantity=quantity, urgency="critical")
    await post_offer(world, world.bob, quantity=100_000, location="Baytown")
    await world.env.advance_time(3 * BUCKET_S)


def group_message(world):
    [message] = [m for m in grouped(world) if len(shown_matches(m)) >= 3]
    return message


async def test_proposals_queued_behind_a_saturated_matches_channel_arrive_grouped_in_one_message(world):
    await queue_proposals_behind_a_full_bucket(world)

    history = world.channels["matches"].history()
    shown = [match_id for message in history for match_id in shown_matches(message)]
    assert sorted(shown) == list(range(1, len(QUANTITIES) + 1))  # every proposal, each on one message
    singles = [m for m in history if len(shown_matches(m)) == 1]
    assert len(singles) >= 5  # the bucket's first five leave as they always did, one to a message
    assert all(m.content.startswith("Match **M-") and len(m.embeds) == 1 for m in singles)
    group = group_message(world)
    ids = shown_matches(group)
    assert 3 <= len(ids) <= 5 and len(group.embeds) == len(ids)
    assert len(history) < len(shown)
    for row, match_id in zip(group.components, ids, strict=True):
        # One action row per proposal, with that proposal's own Accept and Decline.
        assert [(b.label, b.custom_id) for b in row.children] == [
            ("Accept", button(match_id, ACCEPT)),
            ("Decline", button(match_id, DECLINE)),
        ]
    for match_id, embed in zip(ids, group.embeds, strict=True):
        assert embed.title.startswith(f"M-{match_id} ·") and "proposed" in embed.title
        assert f"Match **M-{match_id}**" in group.content
    assert world.alice.mention in group.content and world.bob.mention in group.content


async def test_accepting_the_third_proposal_of_a_group_accepts_only_that_match(world):
    await queue_proposals_behind_a_full_bucket(world)
    group = group_message(world)
    ids = shown_matches(group)
    third, others = ids[2], [i for i in ids if i != ids[2]]

    accepted = await world.alice.click(group, custom_id=button(third, ACCEPT))
    await world.env.advance_time(BUCKET_S)

    assert accepted.ephemeral and f"You accepted M-{third}" in accepted.response.content
    group = group_message(world)
    assert shown_matches(group) == ids  # the same message, every row still there
    assert "Accepted by Houston Food Bank" in group.embeds[2].description
    assert all("Waiting for Houston Food Bank and" in group.embeds[i].description for i in (0, 1))

    committed = await world.bob.click(group, custom_id=button(third, ACCEPT))
    await world.env.advance_time(BUCKET_S)

    assert committed.ephemeral and "committed" in committed.response.content
    group = group_message(world)
    assert "committed" in group.embeds[2].title
    assert [b.label for b in group.components[2].children] == ["Delivered", "Cancel"]
    for row, match_id in zip(group.components, ids, strict=True):
        if match_id != third:
            assert [b.label for b in row.children] == ["Accept", "Decline"]
    assert "Contact for" in world.alice.user.dm_channel.last_message.content

    declined = await world.alice.click(group, custom_id=button(others[0], DECLINE))
    again = await world.alice.click(group_message(world), custom_id=button(others[1], ACCEPT))
    await world.env.advance_time(BUCKET_S)

    assert declined.ephemeral and f"You declined M-{others[0]}" in declined.response.content
    assert again.ephemeral and f"You accepted M-{others[1]}" in again.response.content
    group = group_message(world)
    assert "declined" in group.embeds[0].title
    assert others[0] not in shown_matches(group)  # its buttons are gone, the others' remain
    assert set(shown_matches(group)) == set(ids) - {others[0]}


async def test_a_grouped_messages_buttons_keep_working_after_a_restart(world, make_bot):
    await queue_proposals_behind_a_full_bucket(world)
    ids = shown_matches(group_message(world))
    third = ids[2]

    await world.env.restart_bot(make_bot())
    await world.alice.click(group_message(world), custom_id=button(third, ACCEPT))
    committed = await world.bob.click(group_message(world), custom_id=button(third, ACCEPT))
    await world.env.advance_time(BUCKET_S)

    assert committed.ephemeral and "committed" in committed.response.content
    group = group_message(world)
    assert "committed" in group.embeds[2].title
    assert [[b.label for b in row.children] for row in group.components] == [
        ["Delivered", "Cancel"] if match_id == third else ["Accept", "Decline"] for match_id in ids
    ]


# --- grouped messages within Discord's limits, whatever people typed ------------------------------------

HOSTILE = st.sampled_from(
    [
        "**bold** __under__ ~~strike~~ ||spoiler|| `code`",
        "<@123456789012345678> <@&42> <#42> @everyone @here",
        "[click me](https://evil.example/phish) https://evil.example",
        "# heading\n> quote\n- list\n1. numbered",
        "\\*escaped already\\* \\",
        "x" * 300,
        "*_" * 160,
        "🚰" * 200,
        "\u202eexe.png",
    ]
)
TEXT = st.one_of(HOSTILE, st.text(min_size=1, max_size=320), st.builds(lambda a, b: a + b, HOSTILE, HOSTILE))
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
UNESCAPED = re.compile(r"(?<!\\)[\[*_~|`]")
OUR_MENTION = re.compile(r"(?<!\\)<@(\d+)>")


def _org(org_id: int, name: str) -> Org:
    return Org(org_id, 1, name, ("wash",), "Houston", 29.7, -95.3, "secret", "", OrgStatus.VERIFIED, 1, NOW)


def _post(post_id: int, kind: PostKind, org_id: int, text: str, unit: str) -> Post:
    return Post(
        post_id, kind, 1, 1, org_id, "wash", "water", text, 500, 500, unit, text, 29.7, -95.3,
        Urgency.CRITICAL, None, text, PostStatus.OPEN, 1, NOW,
    )  # fmt: skip


def _card(match_id: int, status: MatchStatus, texts: list[str], people: list[int]) -> MatchCard:
    need_name, offer_name, need_text, offer_text, unit = (texts * 5)[:5]
    match = Match(
        match_id, 1, 1, 2 * match_id, 2 * match_id + 1, 0.9, 12.0, 300, status,
        people[0] if status is MatchStatus.COMMITTED else None, None, NOW,
        NOW if status is MatchStatus.COMMITTED else None, None, 300,
    )  # fmt: skip
    return MatchCard(
        match=match,
        need=_post(2 * match_id, PostKind.NEED, 10, need_text, unit),
        offer=_post(2 * match_id + 1, PostKind.OFFER, 11, offer_text, unit),
        need_org=_org(10, need_name),
        offer_org=_org(11, offer_name),
        need_member_ids=tuple(people),
        offer_member_ids=tuple(p + 1 for p in people),
        need_unit=count_unit(unit),
        offer_unit=count_unit(unit),
    )


@settings(max_examples=80, deadline=None)
@example(texts=[["*_" * 160]] * 5, statuses=[MatchStatus.PROPOSED] * 7, people=[10**17], edit=False)
@given(
    texts=st.lists(st.lists(TEXT, min_size=1, max_size=5), min_size=2, max_size=7),
    statuses=st.lists(st.sampled_from(list(MatchStatus)), min_size=7, max_size=7),
    people=st.lists(st.integers(10**17, 10**18), min_size=1, max_size=15, unique=True),
    edit=st.booleans(),
)
def test_grouped_proposals_stay_within_every_limit_and_escape_user_text(texts, statuses, people, edit):
    cards = [_card(i + 1, statuses[i], t, people) for i, t in enumerate(texts)]

    shown = group(cards, edit=edit)

    assert 1 <= shown.count <= min(len(cards), MAX_ROWS) and len(shown.embeds) == shown.count
    assert edit is False or shown.count == min(len(cards), MAX_ROWS)
    assert len(shown.content) <= CONTENT_MAX
    assert sum(len(embed) for embed in shown.embeds) <= EMBED_TOTAL
    for card, embed in zip(cards, shown.embeds, strict=False):
        data = embed.to_dict()
        assert len(data["title"]) <= TITLE and len(data.get("description", "")) <= DESCRIPTION
        assert data["title"].startswith(f"M-{card.match.id} ·")
        for text in (data["title"], data["description"]):
            # User text never forms a link, a mention or formatting: every marker in it arrives escaped.
            assert not UNESCAPED.search(text.replace("**", "")), text
            assert not re.search(r"(?<!\\)<[@#]", text) and "@everyone" not in text and "\u202e" not in text
    allowed = set(shown.people)
    assert set(OUR_MENTION.findall(shown.content)) <= {str(p) for p in allowed}
    assert allowed <= {p for card in cards for p in (*card.need_member_ids, *card.offer_member_ids)}
    assert "@everyone" not in shown.content and not re.search(r"(?<!\\)<[@#]&?\d", OUR_MENTION.sub("", shown.content))
    view = group_view(cards[: shown.count])
    rows = {child.row for child in view.children} if view is not None else set()
    assert len(rows) <= MAX_ROWS
    for card in cards[: shown.count]:
        live = [c for c in (view.children if view else []) if f":{card.match.id}:" in (c.custom_id or "")]
        assert len({c.row for c in live}) <= 1  # one row per proposal, holding only its own buttons
