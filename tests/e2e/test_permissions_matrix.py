"""Who may run each command, as a table: allowed, refused with a clear private message, or hidden by Discord.

Roles: ``admin`` (Manage Server, in no org), ``member`` (of the verified org under
test), ``other`` (of another verified org), ``pending`` (of an org not yet
verified) and ``anyone`` (in no org). A command hidden from non-admins (its
default member permissions) is also tried with a server override that shows it,
and must still be refused. Add a row per new command or button.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from simcord import SetupError

from tests.conftest import assert_refused

ROLES = ("other", "pending", "anyone", "member", "admin")  # those who succeed last: success changes the world
OK, REFUSED, HIDDEN = "ok", "refused", "hidden"
ADMIN_ONLY = "Manage Server"


@dataclass(frozen=True)
class Row:
    command: str
    outcomes: dict[str, str]  # role -> OK | REFUSED | HIDDEN
    options: Callable[[object, str], dict] = lambda world, role: {}
    refusal: tuple[str, ...] = (ADMIN_ONLY,)
    refusal_by_role: dict[str, tuple[str, ...]] = field(default_factory=dict)


def admin_only(hidden: bool) -> dict[str, str]:
    return {role: OK if role == "admin" else HIDDEN if hidden else REFUSED for role in ROLES}


EVERYONE = dict.fromkeys(ROLES, OK)

ROWS = [
    Row("config channel", admin_only(hidden=True), lambda w, r: {"kind": "log", "channel": w.channels["log"]}),
    Row("config digest", admin_only(hidden=True), lambda w, r: {"times": "08:00", "timezone": "Europe/Paris"}),
    Row("config show", admin_only(hidden=True)),
    Row("config area", admin_only(hidden=True), lambda w, r: {"location": "Houston", "radius_km": 300}),
    Row("config feeds", admin_only(hidden=True), lambda w, r: {"feed": "usgs", "enabled": True}),
    Row("config alert-role", admin_only(hidden=True)),
    Row("config freshness", admin_only(hidden=True), lambda w, r: {"critical": 6}),
    Row(
        "org register",
        EVERYONE,
        lambda w, r: {
            "name": f"New Org of {r}",
            "sectors": "food",
            "location": "Houston",
            "contact": "ops@example.org",
        },
    ),
    Row("org verify", admin_only(hidden=False), lambda w, r: {"org": "Carol Aid"}),
    Row(
        "org add-member",
        {"member": OK, "other": REFUSED, "pending": REFUSED, "anyone": REFUSED, "admin": REFUSED},
        lambda w, r: {"member": w.dave, "org": "Houston Food Bank"},
        refusal=("not a member of Houston Food Bank",),
    ),
    Row(
        "org alerts",
        {"member": OK, "other": OK, "pending": OK, "anyone": REFUSED, "admin": REFUSED},
        lambda w, r: {"state": "off"},
        refusal=("not a member of any organisation",),
    ),
    Row("org info", EVERYONE, lambda w, r: {"org": "Houston Food Bank"}),
    Row("org list", EVERYONE),
    Row("event open", admin_only(hidden=False), lambda w, r: {"name": f"Flood {r}"}),
    Row("coalition create", admin_only(hidden=False), lambda w, r: {"name": "Gulf Coast VOAD"}),
    Row("coalition invite", admin_only(hidden=False)),
    # A server admin passes the permission check and is then told why this code or this leave cannot be.
    Row(
        "coalition join",
        dict.fromkeys(ROLES, REFUSED),
        lambda w, r: {"code": "ABCD-EFGH-JKMN"},
        refusal_by_role={"admin": ("No invite has that code",)},
    ),
    Row("coalition leave", dict.fromkeys(ROLES, REFUSED), refusal_by_role={"admin": ("nothing to leave",)}),
    Row("coalition info", EVERYONE),
    Row("event close", admin_only(hidden=False), lambda w, r: {"event": "Delta"}),
    Row("event list", EVERYONE),
    Row("audit", admin_only(hidden=True)),
    Row("status", admin_only(hidden=True)),
    Row(
        "need post",
        {"member": OK, "other": OK, "pending": REFUSED, "anyone": REFUSED, "admin": REFUSED},
        lambda w, r: {"sector": "wash", "item": "soap", "quantity": 5, "location": "Houston", "urgency": "high"},
        refusal_by_role={"pending": ("pending verification",), "anyone": ("not a member",), "admin": ("not a member",)},
    ),
    Row("need list", EVERYONE),
    Row(
        "need close",
        {"member": OK, "other": REFUSED, "pending": REFUSED, "anyone": REFUSED, "admin": REFUSED},
        lambda w, r: {"id": "N-1"},
        refusal=("Only coordinators of Houston Food Bank",),
    ),
    Row(
        "offer post",
        {"member": OK, "other": OK, "pending": REFUSED, "anyone": REFUSED, "admin": REFUSED},
        lambda w, r: {"sector": "wash", "item": "soap", "quantity": 5, "location": "Baytown"},
        refusal_by_role={"pending": ("pending verification",), "anyone": ("not a member",), "admin": ("not a member",)},
    ),
    Row("offer list", EVERYONE),
    Row(
        "offer withdraw",
        {"other": OK, "member": REFUSED, "pending": REFUSED, "anyone": REFUSED, "admin": REFUSED},
        lambda w, r: {"id": "O-2"},
        refusal=("Only coordinators of Gulf Water",),
    ),
    Row("match list", EVERYONE),
    Row(
        "digest now",
        {"member": OK, "other": OK, "pending": OK, "anyone": REFUSED, "admin": OK},
        refusal=("Only members of a registered organisation or server admins",),
    ),
    Row("digest subscribe", EVERYONE, lambda w, r: {"sectors": "wash"}),
    # Anyone may unsubscribe; in this world nobody subscribed, so each is told how to start instead.
    Row("digest unsubscribe", dict.fromkeys(ROLES, REFUSED), refusal=("/digest subscribe",)),
]


async def build(world) -> dict[str, object]:
    async def register(member, name):
        result = await member.slash(
            world.general, "org register", name=name, sectors="food, wash", location="Houston", contact="x@example.org"
        )
        assert result.ephemeral and "pending" in result.response.content

    await register(world.alice, "Houston Food Bank")
    await register(world.bob, "Gulf Water")
    await register(world.carol, "Carol Aid")
    for name in ("Houston Food Bank", "Gulf Water"):
        await world.admin.slash(world.general, "org verify", org=name)
    await world.admin.slash(world.general, "event open", name="Delta")
    # N-1 belongs to the member's org, O-2 to the other org's: the targets of close and withdraw.
    await world.alice.slash(
        world.general, "need post", sector="wash", item="soap", quantity=10, location="Houston", urgency="normal"
    )
    await world.bob.slash(world.general, "offer post", sector="wash", item="soap", quantity=4, location="Baytown")
    return {"admin": world.admin, "member": world.alice, "other": world.bob, "pending": world.carol,
            "anyone": world.dave}  # fmt: skip


async def run_as(world, actor, row: Row, role: str):
    return await actor.slash(world.general, row.command, **row.options(world, role))


@pytest.mark.parametrize("row", ROWS, ids=[row.command for row in ROWS])
async def test_permissions(world, row, caplog):
    caplog.set_level(logging.INFO, logger="coalesce")
    actors = await build(world)
    commands = {c.name: c for c in await world.env.bot.tree.fetch_commands()}
    seen = []

    for role in ROLES:
        expected = row.outcomes[role]
        actor = actors[role]
        words = row.refusal_by_role.get(role, row.refusal)
        if expected == HIDDEN:
            with pytest.raises(SetupError, match="not visible"):
                await run_as(world, actor, row, role)
            # A server may show the command to this member anyway; the bot must still refuse.
            world.guild.set_command_permissions(commands[row.command.split()[0]], {actor: True})
            expected = REFUSED
        cursor = world.env.error_cursor
        caplog.clear()
        result = await run_as(world, actor, row, role)
        if expected == OK:
            assert world.env.errors_since(cursor) == (), f"/{row.command} failed for {role}"
            # A refusal is not an error (it is answered where it arises): its outcome line tells it apart.
            assert "outcome=refused" not in caplog.text, f"{role} was refused /{row.command}"
            assert result.response is not None or result.deferred
        else:
            assert_refused(world.env, result, *words)
        seen.append((role, expected))

    assert [role for role, _ in seen] == list(ROLES)


async def test_every_row_names_every_role_and_every_command_has_a_row(simcord_env):
    from discord import app_commands

    for row in ROWS:
        assert set(row.outcomes) == set(ROLES), row.command
    synced = {c.qualified_name for c in simcord_env.bot.tree.walk_commands() if isinstance(c, app_commands.Command)}
    assert {row.command for row in ROWS} == synced


# --- the match buttons -------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["accept", "decline", "deliver", "cancel"])
async def test_only_the_two_matched_orgs_may_press_a_matchs_buttons(world, action):
    from tests.e2e.matching_helpers import button, match_message, post_need, post_offer, ready_world

    await ready_world(world)  # alice, bob and carol each coordinate a verified org
    await post_need(world, world.alice, quantity=50, urgency="high")
    await post_offer(world, world.bob, quantity=50, location="Baytown")
    if action in ("deliver", "cancel"):
        for side in (world.alice, world.bob):
            await side.click(match_message(world, "M-1"), custom_id=button(1, "accept"))
    people = {"outsider_org": world.carol, "anyone": world.dave, "admin": world.admin}

    for role in ("outsider_org", "anyone", "admin"):
        cursor = world.env.error_cursor
        refused = await people[role].click(match_message(world, "M-1"), custom_id=button(1, action))
        assert refused.ephemeral and "Only coordinators of" in refused.response.content, role
        assert world.env.errors_since(cursor) == ()

    done = await world.alice.click(match_message(world, "M-1"), custom_id=button(1, action))

    assert done.ephemeral and "Only coordinators" not in done.response.content
