"""What an admin reads when they point a kind of notice at a channel."""

from __future__ import annotations

import pytest

EXPECTED = {
    "needs": "will receive an announcement of each new need.",
    "offers": "will receive an announcement of each new offer.",
    "matches": "will receive match proposals, with Accept and Decline buttons.",
    "digest": "will receive scheduled status digests.",
    "alerts": "will receive alerts of events opened and critical needs.",
    "log": "will receive admin notes: registrations, delivery failures.",
}


@pytest.mark.parametrize("kind", list(EXPECTED))
async def test_setting_a_channel_says_in_a_sentence_what_it_will_receive(world, kind):
    result = await world.admin.slash(world.general, "config channel", kind=kind, channel=world.channels[kind])

    text = result.response.content
    assert text == f"<#{world.channels[kind].id}> {EXPECTED[kind]}"
    assert " are announced" not in text
