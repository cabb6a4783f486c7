"""One coalition across servers: A invites, B joins, C stays outside and sees nothing of theirs."""

from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import assert_refused
from tests.e2e.federation_helpers import configure, federate, invite_code, labels, register, server
from tests.e2e.matching_helpers import button

CONTACT_A = "alice-ops@example.org"
CONTACT_B = "bob-ops@example.org"


@pytest.fixture
async def three(simcord_env):
    """Servers A and B in one coalition, each with a verified org; C on its own with an org of its own."""
    env = simcord_env
    a, b, c = server(env, "Houston Hub"), server(env, "Baytown Base"), server(env, "Corpus Camp")
    alice, bob, carol = (
        a.guild.add_member(env.create_user("alice")),
        b.guild.add_member(env.create_user("bob")),
        c.guild.add_member(env.create_user("carol")),
    )
    for place in (a, b, c):
        await configure(place)
    await federate(a, b)
    await register(a, alice, "Houston Food Bank", "Houston", CONTACT_A)
    await register(b, bob, "Baytown Relief", "Baytown", CONTACT_B)
    await register(c, carol, "Corpus Aid", "Corpus Christi", "carol-ops@example.org")
    opened = await a.admin.slash(a.general, "event open", name="Hurricane Delta", location="Houston")
    assert not opened.ephemeral, opened.response.content
    await c.admin.slash(c.general, "event open", name="Coastal Flood", location="Corpus Christi")
    return env, a, b, c, alice, bob, carol


async def post_need(place, member, quantity: int = 500):
    result = await member.slash(
        place.general, "need post", sector="wash", item="bottled water", quantity=quantity, location="Houston",
        urgency="high",
    )  # fmt: skip
    assert not result.ephemeral, result.response.content
    return result


async def post_offer(place, member, quantity: int = 300, location: str = "Baytown"):
    result = await member.slash(
        place.general, "offer post", sector="wash", item="drinking water", quantity=quantity, location=location
    )
    assert not result.ephemeral, result.response.content
    return result


async def test_a_need_in_one_server_meets_an_offer_in_another_and_commits_from_each_side(three):
    env, a, b, _c, alice, bob, _carol = three
    await post_need(a, alice)

    await post_offer(b, bob)

    in_a, in_b = a.matches_message("M-1"), b.matches_message("M-1")
    assert labels(in_a) == labels(in_b) == {"Accept", "Decline"}
    assert alice.mention in in_a.content and bob.mention in in_b.content
    first = await alice.click(in_a, custom_id=button(1, "accept"))
    assert first.ephemeral and "commits as soon as Baytown Relief" in first.response.content
    second = await bob.click(b.matches_message("M-1"), custom_id=button(1, "accept"))
    assert second.ephemeral and "committed" in second.response.content
    assert CONTACT_B in alice.user.dm_channel.last_message.content
    assert CONTACT_A in bob.user.dm_channel.last_message.content
    for place in (a, b):
        shown = place.matches_message("M-1")
        assert "committed" in shown.embeds[0].title and labels(shown) == {"Delivered", "Cancel"}
    for place in (a, b):
        for message in (m for channel in place.channels.values() for m in channel.history()):
            assert CONTACT_A not in message.content and CONTACT_B not in message.content
    assert env.errors == []


async def test_a_side_whose_server_has_no_matches_channel_gets_the_proposal_by_dm(simcord_env):
    env = simcord_env
    a, b = server(env, "Houston Hub"), server(env, "Baytown Base", channels=False)
    alice, bob = a.guild.add_member(env.create_user("alice")), b.guild.add_member(env.create_user("bob"))
    await configure(a)
    await federate(a, b)
    await register(a, alice, "Houston Food Bank", "Houston", CONTACT_A)
    await register(b, bob, "Baytown Relief", "Baytown", CONTACT_B)
    await a.admin.slash(a.general, "event open", name="Hurricane Delta", location="Houston")
    await post_need(a, alice)

    posted = await post_offer(b, bob)

    assert "by DM" in posted.response.content
    by_dm = bob.user.dm_channel.last_message
    assert "**M-1**" in by_dm.content and labels(by_dm) == {"Accept", "Decline"}
    assert labels(a.matches_message("M-1")) == {"Accept", "Decline"}
    await alice.click(a.matches_message("M-1"), custom_id=button(1, "accept"))
    done = await bob.user.click(by_dm, custom_id=button(1, "accept"))
    assert "committed" in done.response.content
    assert CONTACT_A in bob.user.dm_channel.last_message.content


async def test_a_server_outside_the_coalition_sees_nothing_of_it(three):
    env, a, b, c, alice, bob, carol = three
    await post_need(a, alice)
    await post_offer(b, bob)
    c_admin = c.admin

    for command in ("need list", "offer list", "match list", "org list", "event list"):
        shown = await carol.slash(c.general, command)
        text = str(shown.response.embeds[0].to_dict()) if shown.response.embeds else shown.response.content
        for word in ("Houston Food Bank", "Baytown Relief", "Hurricane Delta", "bottled water", "N-1", "M-1"):
            assert word not in text, (command, word)
    for option, command in (("org", "org verify"), ("org", "org info"), ("event", "event close")):
        offered = await c_admin.autocomplete(c.general, command, option, "")
        offered += await c_admin.autocomplete(c.general, command, option, "Hou")
        assert all("Houston" not in choice["name"] and "Delta" not in choice["name"] for choice in offered)
    food_bank_id = env.bot.core.store.orgs.by_name(1, "Houston Food Bank").id
    assert_refused(env, await carol.slash(c.general, "org info", org=str(food_bank_id)), "No organisation")
    assert_refused(env, await c_admin.slash(c.general, "event close", event="1"), "No open event")
    assert_refused(env, await carol.slash(c.general, "need close", id="N-1"), "N-1")

    crafted = craft_button_message(env, c.general, button(1, "accept"))
    refused = await carol.click(crafted, custom_id=button(1, "accept"))

    assert refused.ephemeral and "no match M-1 here" in refused.response.content
    assert env.bot.core.store.matches.get(1).status.value == "proposed"
    for channel in c.channels.values():
        for message in channel.history():
            assert "Houston Food Bank" not in str(message.embeds and message.embeds[0].to_dict())
            assert "M-1" not in message.content and "N-1" not in message.content


def craft_button_message(env, channel, custom_id: str):
    """A message in ``channel`` carrying a button with a forged id, as a hostile client could present one."""
    env.backend.create_message(
        channel.id,
        env.bot.user.id,
        "forged",
        components=[{"type": 1, "components": [{"type": 2, "style": 1, "label": "Accept", "custom_id": custom_id}]}],
    )
    return channel.last_message


async def test_a_digest_in_the_joined_server_counts_the_other_servers_needs(three):
    _env, a, b, _c, alice, _bob, _carol = three
    await post_need(a, alice)
    await alice.slash(
        a.general, "need post", sector="food", item="rice", quantity=50, location="Houston", urgency="normal"
    )

    posted = await b.admin.slash(b.general, "digest now")

    assert not posted.ephemeral
    digest = b.general.last_message.embeds[0]
    assert digest.title == "Status digest: Gulf Coast VOAD"
    assert any("Open needs (2)" in field.name for field in digest.fields)


async def test_an_org_is_vetted_where_it_registered_and_verified_everywhere(three):
    env, a, b, _c, _alice, _bob, _carol = three
    dana = b.guild.add_member(env.create_user("dana"))
    await register(b, dana, "Bayou Shelter", "Baytown", "dana@example.org", verify=False)

    refused = await a.admin.slash(a.general, "org verify", org="Bayou Shelter")
    done = await b.admin.slash(b.general, "org verify", org="Bayou Shelter")

    assert_refused(env, refused, "registered in the server Baytown Base", "its admins verify it")
    assert not done.ephemeral
    listed = await a.admin.slash(a.general, "org list", status="verified")
    assert "Bayou Shelter" in listed.response.embeds[0].description


async def test_each_servers_admins_set_only_their_own_channels(three):
    _env, a, b, _c, alice, bob, _carol = three
    elsewhere = a.guild.create_text_channel("proposals")

    await a.admin.slash(a.general, "config channel", kind="matches", channel=elsewhere)
    await post_need(a, alice)
    await post_offer(b, bob)

    assert "**M-1**" in elsewhere.last_message.content
    assert labels(b.matches_message("M-1")) == {"Accept", "Decline"}
    for place, name in ((a, "#proposals"), (b, "#matches")):
        shown = await place.admin.slash(place.general, "config show")
        [channels] = [f.value for f in shown.response.embeds[0].fields if f.name == "Channels"]
        assert f"**matches**: {name}" in channels


async def test_audit_shows_which_server_each_action_came_from(three):
    _env, a, _b, _c, _alice, _bob, _carol = three

    shown = await a.admin.slash(a.general, "audit", action="org.verify")
    exported = await a.admin.slash(a.general, "audit", action="coalition", export=True)

    lines = shown.response.embeds[0].description.splitlines()
    assert any("in *Houston Hub*" in line for line in lines)
    assert any("in *Baytown Base*" in line for line in lines)
    rows = list(csv.DictReader(io.StringIO((await exported.response.attachments[0].read()).decode("utf-8"))))
    assert [(r["action"], r["server"]) for r in rows] == [
        ("coalition.create", "Houston Hub"),
        ("coalition.invite", "Houston Hub"),
        ("coalition.join", "Baytown Base"),
    ]


def snapshot(env) -> dict[str, set[tuple]]:
    """Every row of the coalition-held records, as they stand."""
    db = env.bot.core.store.db
    return {
        table: set(db.execute(f"SELECT * FROM {table}").fetchall())  # noqa: S608 - fixed names
        for table in ("orgs", "org_members", "events", "posts", "matches")
    }


async def test_leaving_and_joining_again_keep_every_row(three):
    env, a, b, _c, alice, bob, _carol = three
    await post_need(a, alice)
    await post_offer(b, bob)
    await alice.click(a.matches_message("M-1"), custom_id=button(1, "accept"))
    await bob.click(b.matches_message("M-1"), custom_id=button(1, "accept"))
    before = snapshot(env)
    audit_before = {row[0] for row in env.bot.core.store.db.execute("SELECT id FROM audit_log")}

    left = await b.admin.slash(b.general, "coalition leave")

    assert left.ephemeral and "keeps its records" in left.response.content
    assert snapshot(env) == before
    assert "N-1" not in str((await bob.slash(b.general, "need list")).response.embeds[0].to_dict())
    assert "Baytown Relief" in (await alice.slash(a.general, "org list")).response.embeds[0].description
    info = await a.admin.slash(a.general, "coalition info")
    assert "Baytown Base" not in info.response.embeds[0].description

    code = invite_code(await a.admin.slash(a.general, "coalition invite"))
    rejoined = await b.admin.slash(b.general, "coalition join", code=code)

    assert rejoined.ephemeral and "Gulf Coast VOAD" in rejoined.response.content
    assert snapshot(env) == before
    audit_after = {row[0] for row in env.bot.core.store.db.execute("SELECT id FROM audit_log")}
    assert audit_before < audit_after
    assert "N-1" in str((await bob.slash(b.general, "need list")).response.embeds[0].to_dict())
    info = await b.admin.slash(b.general, "coalition info")
    assert "Houston Hub** (leads)" in info.response.embeds[0].description
    assert "Baytown Base" in info.response.embeds[0].description


async def test_a_joining_server_brings_its_records_with_their_ids(three):
    env, a, _b, c, alice, _bob, carol = three
    await post_need(a, alice)
    dup = c.guild.add_member(env.create_user("erin"))
    await register(c, dup, "Houston Food Bank", "Corpus Christi", "erin@example.org")
    offer = await post_offer(c, carol, quantity=40, location="Corpus Christi")
    assert "O-2" in offer.response.content
    corpus_ids = {row[0] for row in env.bot.core.store.db.execute("SELECT id FROM orgs WHERE coalition_id = 3")}

    code = invite_code(await a.admin.slash(a.general, "coalition invite"))
    joined = await c.admin.slash(c.general, "coalition join", code=code)

    assert "Renamed **Houston Food Bank** to **Houston Food Bank (Corpus Camp)**" in joined.response.content
    store = env.bot.core.store
    assert {row[0] for row in store.db.execute("SELECT id FROM orgs WHERE coalition_id = 1")} >= corpus_ids
    listed = await alice.slash(a.general, "offer list")
    assert "O-2" in str(listed.response.embeds[0].to_dict())
    events = await alice.slash(a.general, "event list")
    assert "Coastal Flood" in events.response.embeds[0].description
    shown = await a.admin.slash(a.general, "audit", action="org.register")
    assert any("in *Corpus Camp*" in line for line in shown.response.embeds[0].description.splitlines())
    assert store.db.execute("SELECT COUNT(*) FROM posts WHERE coalition_id != 1").fetchone()[0] == 0


async def test_an_invite_code_works_once_and_for_24_hours(three, clock):
    env, a, b, c, _alice, _bob, _carol = three
    lone = server(env, "Dallas Depot")
    used = invite_code(await a.admin.slash(a.general, "coalition invite"))
    await c.admin.slash(c.general, "coalition join", code=used.lower())
    stale = invite_code(await a.admin.slash(a.general, "coalition invite"))
    clock.advance(hours=24, seconds=1)

    reused = await lone.admin.slash(lone.general, "coalition join", code=used)
    expired = await lone.admin.slash(lone.general, "coalition join", code=stale)
    garbage = await lone.admin.slash(lone.general, "coalition join", code="hello")
    unknown = await lone.admin.slash(lone.general, "coalition join", code="ABCD-EFGH-JKMN")
    fresh = invite_code(await lone.admin.slash(lone.general, "coalition invite"))
    shared = await b.admin.slash(b.general, "coalition join", code=fresh)

    assert_refused(env, reused, "already used")
    assert_refused(env, expired, "expired")
    assert_refused(env, garbage, "not an invite code")
    assert_refused(env, unknown, "No invite has that code")
    assert_refused(env, shared, "Leave it first")
    assert env.bot.core.store.coalitions.guild_ids(1) == sorted([a.guild.id, b.guild.id, c.guild.id])


async def test_only_the_leading_server_names_a_shared_coalition(three):
    env, _a, b, _c, _alice, _bob, _carol = three

    refused = await b.admin.slash(b.general, "coalition create", name="Baytown Coalition")

    assert_refused(env, refused, "another server leads")
