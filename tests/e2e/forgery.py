"""Requests Discord's client would never send, but a crafted one can: sent straight to the gateway.

simcord's actors refuse to click a button the message does not carry or to run a
guild-only command in a DM, as Discord's client does; these helpers bypass that,
as an attacker scripting the API would.
"""

from __future__ import annotations

from typing import Any

from discord import InteractionType
from simcord.actors import _component_interaction, _dispatch_actor_interaction, _visible_message


async def forged_click(actor: Any, message: Any, custom_id: str):
    """Click ``custom_id`` on ``message``, whatever buttons the message really carries."""
    stored = _visible_message(actor, message)
    return await _component_interaction(actor, stored, {"custom_id": custom_id, "component_type": 2})


def leaf_paths(bot) -> list[tuple[str, ...]]:
    """Every runnable slash command of the bot's tree, as its name path (("org", "register"), ("audit",) ...)."""
    paths: list[tuple[str, ...]] = []

    def walk(command, prefix: tuple[str, ...]) -> None:
        path = (*prefix, command.name)
        children = getattr(command, "commands", None)
        if children is None:
            paths.append(path)
            return
        for child in children:
            walk(child, path)

    for command in bot.tree.get_commands():
        walk(command, ())
    return sorted(paths)


async def forged_dm_command(env, user: Any, path: tuple[str, ...], options: list[dict] | None = None):
    """Send the slash command ``path`` from ``user``'s DM with the bot, though it is not offered there."""
    root = env.backend.find_command(path[0], None)
    assert root is not None, f"/{path[0]} is not synced"
    nested: list[dict] = list(options or [])
    for depth, name in reversed(list(enumerate(path[1:], start=1))):
        kind = 1 if depth == len(path) - 1 else 2  # a subcommand, or a group of them
        nested = [{"name": name, "type": kind, "options": nested}]
    data = {"id": root["id"], "name": root["name"], "type": 1, "options": nested}
    return await _dispatch_actor_interaction(user, InteractionType.application_command.value, user.dm_channel, data)
