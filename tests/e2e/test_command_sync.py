"""Slash commands are synced when they changed since the last sync, or when asked, not on every start."""

from __future__ import annotations

import fnmatch

from discord import app_commands

import run
from bot.app import SYNCED_COMMANDS, command_tree_hash
from bot.store import Store


def syncs(env) -> int:
    return sum(
        1 for r in env.http_requests if r.method == "PUT" and fnmatch.fnmatch(r.path, "/applications/*/commands")
    )


async def test_a_restart_with_the_same_commands_does_not_sync_again(world, make_bot):
    assert syncs(world.env) == 1, "the first start syncs"

    for _ in range(3):
        await world.env.restart_bot(make_bot())

    assert syncs(world.env) == 1
    result = await world.admin.slash(world.general, "event list")
    assert result.response is not None, "the commands synced before still work"


async def test_a_changed_command_tree_syncs_once_at_the_next_start(world, make_bot, database):
    store = Store(database)
    store.app_state.put(SYNCED_COMMANDS, "the hash of an older version of the commands")
    store.close()

    await world.env.restart_bot(make_bot())
    await world.env.restart_bot(make_bot())

    assert syncs(world.env) == 2


async def test_a_new_discord_without_the_commands_gets_them_even_if_the_hash_matches(database, clock):
    import simcord

    from bot.app import create_bot

    for _ in range(2):  # two simulated Discords in turn, one database: the second has none of the commands yet
        async with simcord.run(create_bot(database, clock=clock, scheduler=False)) as env:
            guild = env.create_guild("Relief")
            member = guild.add_member(env.create_user("dave"))
            result = await member.slash(guild.create_text_channel("general"), "event list")
            assert result.response is not None
            assert syncs(env) == 1


def test_the_hash_changes_with_any_name_description_or_option_and_only_then(simcord_env):
    tree = simcord_env.bot.tree
    before = command_tree_hash(tree)
    assert command_tree_hash(tree) == before, "stable for the same commands"

    changed = []
    for command in tree.walk_commands():
        if not isinstance(command, app_commands.Command):
            continue
        original = command.description
        command.description = original + "!"
        changed.append(command_tree_hash(tree))
        command.description = original
    assert len(changed) > 20 and before not in changed
    assert len(set(changed)) == len(changed), "each command's change is its own"
    tree.add_command(app_commands.Command(name="zzz", description="new", callback=_noop))
    assert command_tree_hash(tree) != before, "a new command"


async def _noop(interaction) -> None:
    return None


def test_sync_without_a_token_says_so_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)

    assert run.main(["sync", "--database", str(tmp_path / "x.db")]) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "DISCORD_TOKEN" in err
