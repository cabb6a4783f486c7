"""/audit and /status, as a server admin uses them."""

from __future__ import annotations

import csv
import io
import re

import pytest
from simcord import SetupError

from tests.conftest import assert_refused


async def register(world, member, name):
    return await member.slash(
        world.general, "org register", name=name, sectors="food", location="Houston", contact="ops@example.org"
    )


async def history(world):
    await world.admin.slash(world.general, "config channel", kind="log", channel=world.channels["log"])
    await register(world, world.alice, "Houston Food Bank")
    await register(world, world.bob, "Gulf Water")
    await world.admin.slash(world.general, "org verify", org="Houston Food Bank")
    await world.admin.slash(world.general, "event open", name="Hurricane Delta")


async def test_admin_sees_who_changed_what_newest_first(world):
    await history(world)

    shown = await world.admin.slash(world.general, "audit")

    assert shown.ephemeral
    lines = shown.response.embeds[0].description.splitlines()
    assert [line.split("**")[1] for line in lines] == [
        "event.open", "org.verify", "org.register", "org.register", "config.channel",
    ]  # fmt: skip
    assert f"<@{world.admin.user.id}>" in lines[0] and f"<@{world.bob.user.id}>" in lines[2]
    assert "name=Gulf Water" in lines[2]
    assert "ops@example.org" not in shown.response.embeds[0].description


async def test_audit_filters_by_action_and_by_member(world):
    await history(world)

    by_action = await world.admin.slash(world.general, "audit", action="org")
    by_member = await world.admin.slash(world.general, "audit", member=world.alice)

    assert [line.split("**")[1] for line in by_action.response.embeds[0].description.splitlines()] == [
        "org.verify", "org.register", "org.register",
    ]  # fmt: skip
    [only] = by_member.response.embeds[0].description.splitlines()
    assert "org.register" in only and "Houston Food Bank" in only


async def test_audit_export_is_a_csv_of_every_entry_oldest_first(world):
    await history(world)

    exported = await world.admin.slash(world.general, "audit", export=True)

    assert exported.ephemeral
    [attachment] = exported.response.attachments
    assert attachment.filename == "coalesce-audit.csv"
    rows = list(csv.DictReader(io.StringIO((await attachment.read()).decode("utf-8"))))
    assert [r["action"] for r in rows] == ["config.channel", "org.register", "org.register", "org.verify", "event.open"]
    assert rows[1]["actor_id"] == str(world.alice.user.id)
    assert rows[0]["at"] == "2026-12-01T12:00:00+00:00"
    assert "5 audit entries" in exported.response.content


async def test_exported_cells_cannot_run_as_spreadsheet_formulas(world):
    await register(world, world.alice, "=HYPERLINK(1)")

    exported = await world.admin.slash(world.general, "audit", export=True)

    text = (await exported.response.attachments[0].read()).decode("utf-8")
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["detail"].startswith('{"name": "=HYPERLINK')
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in row.values())


async def test_an_unknown_action_filter_finds_nothing_rather_than_failing(world):
    await history(world)
    shown = await world.admin.slash(world.general, "audit", action="teleport")
    assert shown.response.embeds[0].description == "No matching entries."


async def test_status_shows_uptime_backlog_failures_and_last_digest(world, clock):
    await world.admin.slash(world.general, "config channel", kind="alerts", channel=world.channels["alerts"])
    world.env.inject_error(
        "POST", f"/channels/{world.channels['alerts'].id}/messages", status=404, code=10003, message="Unknown Channel"
    )
    await world.admin.slash(world.general, "event open", name="Flood")  # its alert is given up
    world.env.inject_error("POST", "/channels/*/messages", status=500)
    await world.admin.slash(world.general, "event open", name="Fire")  # its alert waits to be retried
    clock.advance(hours=3, minutes=5)

    before = await world.admin.slash(world.general, "status")
    core = world.env.bot.core
    core.store.db.execute(
        "INSERT INTO digest_runs (coalition_id, slot, ran_at) VALUES (1, ?, ?)",
        ["2026-12-01T14:00:00+00:00", "2026-12-01T14:00:05+00:00"],
    )
    after = await world.admin.slash(world.general, "status")

    assert before.ephemeral
    fields = {f.name: f.value for f in before.response.embeds[0].fields}
    assert fields["Uptime"].startswith("3h 5m")
    assert fields["Notices"].startswith("1 waiting, 1 failed, 0 sent")
    assert fields["Last digest"] == "none yet"
    # The file and its write-ahead log: how much of the log is checkpointed yet depends on a background thread.
    assert re.fullmatch(r"\d[\d,]*\.\d (KB|MB)", fields["Database"]), fields["Database"]
    assert "/audit action:outbox.failed" in before.response.embeds[0].footer.text
    later = {f.name: f.value for f in after.response.embeds[0].fields}
    assert later["Last digest"].startswith("<t:") and later["Last digest"].endswith(":R> (scheduled)")


async def test_status_reports_a_digest_asked_for_with_digest_now(world, clock):
    await world.admin.slash(world.general, "config channel", kind="digest", channel=world.channels["digest"])
    clock.advance(minutes=5)

    await world.admin.slash(world.general, "digest now")
    shown = await world.admin.slash(world.general, "status")

    fields = {f.name: f.value for f in shown.response.embeds[0].fields}
    moment = int(clock().timestamp())
    assert fields["Last digest"] == f"<t:{moment}:R> (on demand)"


async def test_audit_and_status_are_hidden_from_members_and_refused_even_if_a_server_shows_them(world):
    await history(world)
    commands = {c.name: c for c in await world.env.bot.tree.fetch_commands()}

    for name in ("audit", "status"):
        with pytest.raises(SetupError, match="not visible"):
            await world.alice.slash(world.general, name)
        world.guild.set_command_permissions(commands[name], {world.alice: True})
        refused = await world.alice.slash(world.general, name)
        assert_refused(world.env, refused, "Manage Server")
