"""Every cog loads, and every slash command a person sees explains itself."""

from __future__ import annotations

import re
from pathlib import Path

from discord import app_commands

README = Path(__file__).resolve().parents[2] / "README.md"

PLACEHOLDER = "…"  # discord.py's description when none was given


def all_commands(bot) -> list[app_commands.Command]:
    return [c for c in bot.tree.walk_commands() if isinstance(c, app_commands.Command)]


async def test_every_command_and_option_has_a_description(simcord_env):
    missing = []
    for command in all_commands(simcord_env.bot):
        if not command.description or command.description == PLACEHOLDER:
            missing.append(f"/{command.qualified_name}")
        for parameter in command.parameters:
            if not parameter.description or parameter.description == PLACEHOLDER:
                missing.append(f"/{command.qualified_name} {parameter.name}")
    for group in simcord_env.bot.tree.walk_commands():
        if isinstance(group, app_commands.Group) and group.description in ("", PLACEHOLDER):
            missing.append(f"/{group.qualified_name} (group)")
    assert missing == []


async def test_command_names_are_unique_and_the_contract_is_present(simcord_env):
    names = [c.qualified_name for c in all_commands(simcord_env.bot)]

    assert len(names) == len(set(names))
    for contracted in (
        "config channel",
        "config digest",
        "config show",
        "org register",
        "org verify",
        "org add-member",
        "org info",
        "org list",
        "event open",
        "event close",
        "event list",
    ):
        assert contracted in names


async def test_admin_commands_are_hidden_from_members_without_manage_server(simcord_env):
    guild = simcord_env.create_guild("g")
    channel = guild.create_text_channel("general")
    member = guild.add_member(simcord_env.create_user("someone"))

    visible = set(member.available_commands(channel))

    assert "org register" in visible
    assert "config channel" not in visible


def readme_commands() -> dict[str, set[str]]:
    """The README's command table: each command with the options it lists."""
    readme = README.read_text(encoding="utf-8")
    section = readme.split("<!-- commands:start -->")[1].split("<!-- commands:end -->")[0]
    documented = {}
    for line in section.splitlines():
        found = re.match(r"\| `/([a-z -]+)` \|[^|]+\|([^|]*)\|", line)
        if found:
            options = {o.strip(" *") for o in found.group(2).split(",") if o.strip()}
            documented[found.group(1)] = options
    return documented


async def test_the_readme_documents_exactly_the_commands_the_bot_syncs(simcord_env):
    documented = readme_commands()
    synced = {c.qualified_name: {p.name for p in c.parameters} for c in all_commands(simcord_env.bot)}

    assert documented == synced
