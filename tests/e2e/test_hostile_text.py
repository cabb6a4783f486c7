"""Hostile text in every field people type, through every command and click: nothing it says renders as markup.

The world is built with masked links, bold, spoilers, headings, subtext, quotes
and lists in org names, descriptions, contacts, event names, items and notes;
then every command and button a coordinator or admin has is used, and every
message each person and channel saw (content, embed titles, descriptions and
fields; footers show no markdown) is read back. Whatever renderer someone adds,
if a command here reaches it, this test reads it.
"""

from __future__ import annotations

import re

from tests.e2e.matching_helpers import ACCEPT, button

LINK = "[Verify](https://evil.example/{})"
ORG_A = "[Verify](https://evil.example/a) **Aid** ||x||"
ORG_B = "# Head ~~Relief~~ [Verify](https://evil.example/b)"
DESCRIPTION = "-# small > quote 1. list [Verify](https://evil.example/d) __u__"
CONTACT = "[Call us](https://evil.example/c) ops@example.org"
EVENT = "> [Verify](https://evil.example/e) **Storm**"
ITEM = "[Verify](https://evil.example/i) **kits**"
NOTES = "||spoiler|| `code` [Verify](https://evil.example/n) - item"

# What a renderer that forgot to escape would leave in the raw text Discord renders.
SURVIVORS = [
    re.compile(r"(?<!\\)\[(Verify|Call us)(?<!\\)\]\("),  # a masked link
    re.compile(r"(?<!\\)\*\*(Aid|Storm|kits)(?<!\\)\*\*"),
    re.compile(r"(?<!\\)\|\|(x|spoiler)"),
    re.compile(r"(?<!\\)~~Relief"),
    re.compile(r"(?<!\\)__u"),
    re.compile(r"(?<!\\)`code"),
    re.compile(r"(^|\n)\s*(# Head|-# small|> \\?\[Verify)"),  # heading, subtext, quote at a line's start
]


def texts_of(message) -> list[str]:
    found = [message.content or ""]
    for embed in message.embeds:
        found += [embed.title or "", embed.description or ""]
        found += [f"{field.name}\n{field.value}" for field in embed.fields]
    return found


def result_texts(result) -> list[str]:
    messages = ([result.response] if result.response is not None else []) + list(result.followups)
    return [text for message in messages for text in texts_of(message)]


def assert_inert(texts: list[str], where: str) -> None:
    for text in texts:
        for pattern in SURVIVORS:
            found = pattern.search(text)
            assert found is None, f"{where}: {pattern.pattern!r} survived in {text!r}"


async def test_hostile_text_in_every_field_renders_as_plain_text_everywhere(world):
    admin, alice, bob, room = world.admin, world.alice, world.bob, world.general
    results = []

    async def run(member, command, **options):
        result = await member.slash(room, command, **options)
        results.append((f"/{command} by {member.name}", result))
        return result

    for kind, channel in world.channels.items():
        await run(admin, "config channel", kind=kind, channel=channel)
    for member, name in ((alice, ORG_A), (bob, ORG_B)):
        await run(
            member, "org register", name=name, sectors="wash, food", location="Houston", contact=CONTACT,
            description=DESCRIPTION,
        )  # fmt: skip
    await run(admin, "org verify", org="1")
    await run(admin, "org verify", org="2")
    await run(admin, "event open", name=EVENT, location="Houston")
    await run(alice, "need post", sector="wash", item=ITEM, quantity=50, location="Houston", urgency="critical",
              notes=NOTES)  # fmt: skip
    await run(bob, "offer post", sector="wash", item=ITEM, quantity=50, location="Baytown", notes=NOTES)
    proposal = next(m for m in world.channels["matches"].history() if "M-1" in m.content)
    results.append(("accept by alice", await alice.click(proposal, custom_id=button(1, ACCEPT))))
    proposal = next(m for m in world.channels["matches"].history() if "M-1" in m.content)
    results.append(("accept by bob", await bob.click(proposal, custom_id=button(1, ACCEPT))))
    for member, command, options in (
        (world.dave, "org list", {}),
        (world.dave, "org info", {"org": "1"}),
        (world.dave, "need list", {}),
        (world.dave, "offer list", {}),
        (world.dave, "match list", {"status": "committed"}),
        (world.dave, "event list", {}),
        (admin, "audit", {}),
        (admin, "config show", {}),
        (alice, "digest now", {}),
        (world.dave, "org info", {"org": ORG_A}),
        (world.dave, "org info", {"org": "[Nobody](https://evil.example/x) **Aid**"}),
    ):
        await run(member, command, **options)

    seen = 0
    for where, result in results:
        texts = result_texts(result)
        seen += len(texts)
        assert_inert(texts, where)
    channels = [room, *world.channels.values()]
    dms = [member.user.dm_channel for member in (admin, alice, bob)]
    for channel in (*channels, *dms):
        for message in channel.history():
            texts = texts_of(message)
            seen += len(texts)
            assert_inert(texts, f"#{getattr(channel, 'name', None) or 'DM'}")
    # The hostile text did reach each kind of place (so the checks above read something).
    everything = "\n".join(t for c in (*channels, *dms) for m in c.history() for t in texts_of(m))
    assert r"\[Call us\](https://evil.example/c)" in everything  # the contact, by DM
    assert r"\[Verify\](https://evil.example/a)" in everything
    assert "Storm" in everything and "kits" in everything and "spoiler" in everything
    assert seen > 100
