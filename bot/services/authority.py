"""Where a click from a DM may act: the servers of the coalition its match or post belongs to.

A click in a DM carries no server of its own. The Discord layer asks Discord
whether the clicker still belongs to one of these servers before acting for them
there (see ``cogs.common.acting_in``); the services then check the org.
"""

from __future__ import annotations

from bot.core import Core
from bot.errors import NotFound


def servers_of_match(core: Core, match_id: int) -> list[int]:
    match = core.store.matches.get(match_id)
    guild_ids = core.store.coalitions.guild_ids(match.coalition_id) if match else []
    if not guild_ids:
        raise NotFound(f"There is no match M-{match_id}.")
    return guild_ids


def servers_of_post(core: Core, post_id: int) -> list[int]:
    post = core.store.posts.get(post_id)
    guild_ids = core.store.coalitions.guild_ids(post.coalition_id) if post else []
    if not guild_ids:
        raise NotFound(f"There is no post #{post_id}.")
    return guild_ids
