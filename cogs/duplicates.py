"""The duplicate warning's private message and its two buttons, **Update N-12** and **Post anyway**.

Buttons are persistent ``DynamicItem``s carrying the held post's id, so a click
works after a restart; the held post itself is in the store, and the services
check who may act when the click arrives.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import discord

from bot.app import GENERIC_APOLOGY, send_ephemeral
from bot.errors import UserError
from bot.models import PostKind
from bot.services import duplicates, posts
from bot.services.duplicates import DuplicateWarning
from bot.text import escape
from cogs.common import NO_PINGS, actor_of, core_of
from cogs.dispatcher import dispatcher_of
from cogs.posts_render import amount, post_embed, posted_reply

log = logging.getLogger("coalesce.duplicates")


class DuplicateButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"coalesce:dup:(?P<id>[0-9]{1,18}):(?P<action>update|post)",
):
    """**Update N-12** or **Post anyway** on a held post."""

    def __init__(self, pending_id: int, action: str, ref: str = "") -> None:
        label = f"Update {ref}".strip() if action == "update" else "Post anyway"
        style = discord.ButtonStyle.primary if action == "update" else discord.ButtonStyle.secondary
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=f"coalesce:dup:{pending_id}:{action}"))
        self.pending_id = pending_id
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> DuplicateButton:
        return cls(int(match["id"]), match["action"])

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        core, actor = core_of(interaction), actor_of(interaction)
        try:
            if self.action == "update":
                updated = await core.call(duplicates.update_from_pending, actor, self.pending_id)
                noun = "need" if updated.post.kind is PostKind.NEED else "offer"
                changed = ", ".join(updated.changes) or "nothing changed"
                matched = f" {updated.proposals} new match(es) proposed." if updated.proposals else ""
                done = f"Updated {noun} **{updated.post.ref}**: {changed}.{matched}"
                public, embed = done, post_embed(updated.post, await _org_name(interaction, updated.post.org_id))
            else:
                result = await core.call(posts.post_held, actor, self.pending_id)
                public, embed = posted_reply(result)
                done = f"Posted anyway as **{result.post.ref}**."
        except UserError as error:
            await send_ephemeral(interaction, error.message)
        except Exception:
            # A button is not an app command, so the tree's on_error never sees it: same policy, here.
            log.exception("button failed: interaction=%s custom_id=%s", interaction.id, self.item.custom_id)
            await send_ephemeral(interaction, GENERIC_APOLOGY)
        else:
            # The private warning loses its buttons; the channel sees the outcome, as it sees a post.
            await interaction.response.edit_message(content=done, view=None)
            await interaction.followup.send(public, embed=embed, allowed_mentions=NO_PINGS)
        finally:
            dispatcher_of(interaction.client).kick()


async def _org_name(interaction: discord.Interaction, org_id: int) -> str:
    core = core_of(interaction)
    org = await core.run(core.store.orgs.get, org_id)
    return org.name if org else "?"


def _ago(age: timedelta) -> str:
    minutes = max(0, int(age.total_seconds() // 60))
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    return f"{minutes // 60} h ago"


def warning_text(warning: DuplicateWarning) -> str:
    existing = warning.existing
    return (
        f"This looks like **{existing.ref}** (posted {_ago(warning.age)}): {escape(existing.item_label)}, "
        f"{amount(existing.quantity, existing.unit)} in {escape(existing.place_label)}. Nothing is posted yet: "
        f"**Update {existing.ref}** gives it this post's quantity, urgency, date and notes; **Post anyway** "
        "posts this one as well."
    )


def warning_view(warning: DuplicateWarning) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(DuplicateButton(warning.pending_id, "update", warning.existing.ref))
    view.add_item(DuplicateButton(warning.pending_id, "post"))
    return view


async def send_warning(interaction: discord.Interaction, warning: DuplicateWarning) -> None:
    """The warning, privately: as the response, or the follow-up to an early acknowledgement."""
    text, view = warning_text(warning), warning_view(warning)
    if interaction.response.is_done():
        await interaction.followup.send(text, view=view, ephemeral=True, allowed_mentions=NO_PINGS)
    else:
        await interaction.response.send_message(text, view=view, ephemeral=True, allowed_mentions=NO_PINGS)
