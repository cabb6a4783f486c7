"""One response followed through, as each coordinator sees it: the transcript in docs/follow-through.md.

Regenerate the transcript with ``COALESCE_WRITE_DOCS=1 pytest tests/e2e/test_follow_through_transcript.py``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bot.app import create_bot
from cogs.dispatcher import dispatcher_of
from tests.e2e.matching_helpers import (
    ACCEPT,
    DELIVERED,
    button,
    buttons,
    match_message,
    post_need,
    post_offer,
    ready_world,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"
HOUR = 3600
pytestmark = pytest.mark.simcord(settle_timeout=60)


@pytest.fixture
def make_bot(database):
    return lambda: create_bot(database, scheduler=True)


class Recorder:
    """What each person and the log channel newly saw since the last step."""

    def __init__(self, world) -> None:
        self.world = world
        self.seen: set[int] = set()
        self.lines: list[str] = []

    def _sources(self):
        for name in ("alice", "bob", "carol"):
            channel = getattr(self.world, name).user.dm_channel
            yield f"DM to {name}", channel.history() if channel else []
        yield "#log", self.world.channels["log"].history()

    def step(self, title: str, reply=None) -> None:
        self.lines += ["", f"### {title}", ""]
        if reply is not None:
            content = reply.response.content if reply.response is not None else reply.followups[-1].content
            self.lines.append(f"- **reply (only the clicker sees it):** {_plain(content)}")
        for where, history in self._sources():
            for message in reversed(list(history)):
                if message.id in self.seen:
                    continue
                self.seen.add(message.id)
                labels = [b.label for b in buttons(message)]
                shown = f" — buttons: {' · '.join(f'[{label}]' for label in labels)}" if labels else ""
                self.lines.append(f"- **{where}:** {_plain(message.content)}{shown}")

    def skip_so_far(self) -> None:
        for _, history in self._sources():
            self.seen |= {m.id for m in history}


def _plain(text: str) -> str:
    text = re.sub(r"<t:(\d+):[a-zA-Z]>", "(a date)", text)
    return re.sub(r"<@!?\d+>", "@coordinator", text).replace("\n", " ")


async def test_a_response_followed_through_as_each_coordinator_sees_it(world):
    dispatcher_of(world.env.bot).poll.cancel()  # as in test_follow_through: retries are not needed here
    await ready_world(world)
    record = Recorder(world)
    record.skip_so_far()

    offered = await post_offer(world, world.carol, quantity=300, location="Galveston")
    record.step("Carol offers 300 bottles of water; nobody needs any yet", offered)
    posted = await post_need(world, world.alice, quantity=500, urgency="critical")
    record.step("Alice posts a critical need for 500 bottles: Carol's offer is proposed at once (M-1)", posted)
    await world.env.advance_time(2 * HOUR)
    record.step("Two hours pass: nobody answered M-1")
    await post_offer(world, world.bob, quantity=300, location="Baytown")
    await world.alice.click(match_message(world, "M-2"), custom_id=button(2, ACCEPT))
    accepted = await world.bob.click(match_message(world, "M-2"), custom_id=button(2, ACCEPT))
    record.step("Bob offers 300 bottles; Alice and Bob accept M-2 (committed)", accepted)
    await world.env.advance_time(6 * HOUR)
    record.step("Six hours pass without a delivery report (a critical need's delivery window)")
    await world.env.advance_time(4 * HOUR)
    record.step("Twelve hours after posting, Alice has not confirmed her need")
    await world.env.advance_time(2 * HOUR)
    record.step("Six more hours without a report: the second lapse")
    reported = await world.bob.click(match_message(world, "M-2"), custom_id=button(2, DELIVERED))
    record.step("Bob presses Delivered on M-2", reported)
    report = world.alice.user.dm_channel.last_message
    form = await world.alice.user.click(report, custom_id="coalesce:received:2")
    received = await world.alice.user.submit_modal(form, {"quantity": "250"})
    record.step("Alice presses Received and says 250 arrived", received)
    prompt = next(m for m in world.alice.user.dm_channel.history() if "Do these still stand" in m.content)
    confirmed = await world.alice.user.click(prompt, custom_id="coalesce:fresh:need:2:confirm")
    record.step("Alice answers the freshness prompt: Still needed", confirmed)

    text = "\n".join(record.lines)
    assert "on standby" in text and "expired" in text and "has no delivery report" in text
    assert "no delivery report after a reminder" in text and "Do these still stand" in text
    assert "reports **M-2** delivered" in text and "50 bottles not received" in text
    if os.environ.get("COALESCE_WRITE_DOCS"):
        path = DOCS / "follow-through.md"
        head = path.read_text(encoding="utf-8").split("<!-- transcript -->")[0]
        path.write_text(f"{head}<!-- transcript -->\n{text.strip()}\n", encoding="utf-8")
