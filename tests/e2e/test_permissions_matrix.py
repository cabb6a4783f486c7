"""Who may run each command, as a table: allowed, refused with a clear private message, or hidden by Discord.

Roles: ``admin`` (Manage Server, in no org), ``member`` (of the verified org under
test), ``other`` (of another verified org), ``pending`` (of an org not yet
verified) and ``anyone`` (in no org). A command hidden from non-admins (its
default member permissions) is also tried with a server override that shows it,
and must still be refused. Add a row per new command or button.
"""

from __future__ import annotations

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
    Row("org info", EVERYONE, lambda w, r: {"org": "Houston Food Bank"}),
    Row("org list", EVERYONE),
    Row("event open", admin_only(hidden=False), lambda w, r: {"name": f"Flood {r}"}),
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
    Row("match list", EVERYONE),
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
    return {"admin": world.admin, "member": world.alice, "other": world.bob, "pending": world.carol,
            "anyone": world.dave}  # fmt: skip


async def run_as(world, actor, row: Row, role: str):
    return await actor.slash(world.general, row.command, **row.options(world, role))


@pytest.mark.parametrize("row", ROWS, ids=[row.command for row in ROWS])
async def test_permissions(world, row):
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
        result = await run_as(world, actor, row, role)
        if expected == OK:
            assert world.env.errors_since(cursor) == (), f"{role} was refused /{row.command}"
            assert result.response is not None or result.deferred
        else:
            assert_refused(world.env, result, *words)
        seen.append((role, expected))

    assert [role for role, _ in seen] == list(ROLES)


def test_every_row_names_every_role_and_every_command_has_a_row():
    for row in ROWS:
        assert set(row.outcomes) == set(ROLES), row.command
    names = {row.command for row in ROWS}
    for required in ("config channel", "config digest", "config show", "org register", "org verify",
                     "org add-member", "org info", "org list", "event open", "event close", "event list",
                     "audit", "status"):  # fmt: skip
        assert required in names
