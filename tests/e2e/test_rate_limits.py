"""Discord's rate limits, as the benchmarks model them: one limited destination never holds back the others.

These tests run the bot behind :mod:`benchmarks.discord_limits`: discord.py's own client
meets per-channel buckets, ``X-RateLimit-*`` headers and real 429 answers.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cogs.dispatcher import dispatcher_of
from cogs.posts_render import (
    EMBED_DESCRIPTION_MAX,
    EMBED_TITLE_MAX,
    EMBED_TOTAL_MAX,
    announcements_embed,
)
from tests.e2e.rate_limited import LIMITS, make_bot, simcord_env  # noqa: F401 - fixtures

LONG_WAIT_S = 600.0


async def set_channel(world, kind: str) -> None:
    result = await world.admin.slash(world.general, "config channel", kind=kind, channel=world.channels[kind])
    assert result.ephemeral


async def test_a_channel_answering_429_for_minutes_delays_no_dm_and_no_other_channel(world):
    await set_channel(world, "log")
    await set_channel(world, "alerts")
    alerts, log_channel = world.channels["alerts"], world.channels["log"]
    [api] = LIMITS
    api.block_channel(alerts.id, LONG_WAIT_S)

    await world.admin.slash(world.general, "event open", name="Flood")  # its alert meets the 429
    await world.alice.slash(
        world.general, "org register", name="Houston Food Bank", sectors="food", location="Houston", contact="a@b.org"
    )
    await world.admin.slash(world.general, "org verify", org="Houston Food Bank")

    assert alerts.history() == []
    assert "awaiting verification" in log_channel.history()[0].content  # another channel: at once
    assert "now verified" in world.alice.user.dm_channel.last_message.content  # a DM: at once
    dispatcher = dispatcher_of(world.env.bot)
    assert dispatcher.paused_until(f"channel:{alerts.id}") is not None
    assert dispatcher.paused_until(f"user:{world.alice.user.id}") is None
    refused = [a for a in api.answers if a.status == 429]
    assert len(refused) == 1  # discord.py raised instead of retrying into the wall; the dispatcher parked it

    await world.env.advance_time(LONG_WAIT_S)

    assert [m.content for m in alerts.history()] == ["Event opened: **Flood**."]
    assert len([a for a in api.answers if a.status == 429]) == 1


async def test_notices_waiting_on_a_rate_limited_channel_arrive_together_as_one_message(world):
    await set_channel(world, "alerts")
    alerts = world.channels["alerts"]
    [api] = LIMITS
    api.block_channel(alerts.id, LONG_WAIT_S)

    for name in ("Flood", "Storm", "Fire"):
        await world.admin.slash(world.general, "event open", name=name)
    assert alerts.history() == []
    await world.env.advance_time(LONG_WAIT_S)

    assert [m.content for m in alerts.history()] == [
        "Event opened: **Flood**.\nEvent opened: **Storm**.\nEvent opened: **Fire**."
    ]


def _payload(i: int, text: str, kind: str) -> dict[str, object]:
    return {
        "ref": f"{'N' if kind == 'need' else 'O'}-{i}",
        "kind": kind,
        "org": text,
        "sector": "food",
        "item": text,
        "quantity": 1 + i,
        "unit": text[:20] or "kg",
        "place": text,
        "urgency": "critical" if i % 3 == 0 else "normal",
        "deadline": None,
        "notes": text,
    }


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(st.text(min_size=0, max_size=400), min_size=1, max_size=40),
    kind=st.sampled_from(["need", "offer"]),
)
def test_coalesced_announcements_stay_within_every_embed_limit_and_escape_user_text(texts, kind):
    payloads = [_payload(i, text, kind) for i, text in enumerate(texts)]

    embed, carried = announcements_embed(payloads)

    data = embed.to_dict()
    assert 1 <= carried <= len(payloads)
    assert len(data["title"]) <= EMBED_TITLE_MAX
    assert len(data["description"]) <= EMBED_DESCRIPTION_MAX
    assert len(embed) <= EMBED_TOTAL_MAX
    lines = data["description"].split("\n")
    assert len(lines) == carried
    for line, payload in zip(lines, payloads, strict=False):
        assert line.startswith(f"`{payload['ref']}`")
    for marker in ("**", "__", "~~", "`"):
        # User text never closes or opens formatting: each marker it contains arrives escaped.
        for payload in payloads[:carried]:
            if marker in str(payload["org"]):
                assert "\\" in data["description"]


@pytest.mark.parametrize("count", [1, 5, 25])
def test_a_coalesced_announcement_names_each_post_once(count):
    payloads = [_payload(i, "Gulf *Relief*", "need") for i in range(count)]

    embed, carried = announcements_embed(payloads)

    assert carried == count
    assert embed.title == f"{count} new needs"
    assert embed.description is not None and "Gulf \\*Relief\\*" in embed.description
    assert all(f"`N-{i}`" in embed.description for i in range(count))
