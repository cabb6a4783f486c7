"""The follow-through buttons and forms: freshness answers, Received, Still on the way.

Persistent ``DynamicItem``s like the match buttons: the custom id carries the
post or match and the action, so a prompt sent before a restart still works.
Each click calls one service and answers the clicker privately; the services
queue whatever the others must see.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

import discord

from bot.app import GENERIC_APOLOGY, log_outcome, send_ephemeral
from bot.errors import UserError
from bot.models import PostKind
from bot.services import delivery, freshness, post_lifecycle
from bot.services.authority import servers_of_match, servers_of_post
from bot.text import parse_id
from cogs.common import acting_in, core_of
from cogs.dispatcher import dispatcher_of
from cogs.posts_render import amount

log = logging.getLogger("coalesce.follow_through")

FRESHNESS_LABELS = {
    PostKind.NEED: {"confirm": "Still needed", "quantity": "Change quantity", "close": "Close"},
    PostKind.OFFER: {"confirm": "Still available", "quantity": "Change quantity", "close": "Withdraw"},
}
FRESHNESS_STYLES = {
    "confirm": discord.ButtonStyle.success,
    "quantity": discord.ButtonStyle.primary,
    "close": discord.ButtonStyle.secondary,
}


async def guarded(interaction: discord.Interaction, action: Callable[[], Awaitable[str | None]]) -> None:
    """Run a click's action and answer privately: a user error in its words, anything else an apology."""
    from cogs.housekeeping import reschedule

    kind = str((interaction.data or {}).get("custom_id", "")).split(":")
    what = f"button={kind[1] if len(kind) > 1 else '?'}"
    try:
        text = await action()
    except UserError as error:
        log_outcome(interaction, "refused", error.code, action=what)
        text = error.message
    except Exception:
        # Components are not app commands: the tree's on_error never sees them, so the same policy is here.
        log_outcome(interaction, "error", "error", action=what)
        log.exception("follow-through click failed: interaction=%s", interaction.id)
        text = GENERIC_APOLOGY
    else:
        log_outcome(interaction, "ok", "ok", action=what)
    finally:
        dispatcher_of(interaction.client).kick()
        reschedule(interaction.client)  # type: ignore[arg-type]
    if text is not None:
        await send_ephemeral(interaction, text)


class FreshnessButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"coalesce:fresh:(?P<kind>need|offer):(?P<id>\d+):(?P<action>confirm|quantity|close)",
):
    """Still needed / Still available, Change quantity, Close / Withdraw, for one post of a prompt."""

    def __init__(self, kind: PostKind, post_id: int, action: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=FRESHNESS_LABELS[kind][action],
                style=FRESHNESS_STYLES[action],
                custom_id=f"coalesce:fresh:{kind.value}:{post_id}:{action}",
            )
        )
        self.kind, self.post_id, self.action = kind, post_id, action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> FreshnessButton:
        return cls(PostKind(match["kind"]), parse_id(match["id"]) or 0, match["action"])

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        core = core_of(interaction)
        if self.action == "quantity":
            # Who may change it is checked when the form is sent; here only whether it is still open.
            still_open = await core.call(freshness.prompt_posts, [self.post_id])
            if not still_open:
                await send_ephemeral(interaction, f"{self.kind.prefix}-{self.post_id} is no longer open.")
                return
            await interaction.response.send_modal(QuantityModal(self.kind, self.post_id, still_open[0].quantity))
            return

        async def act() -> str:
            actor = await acting_in(interaction, await core.call(servers_of_post, self.post_id))
            ref = f"{self.kind.prefix}-{self.post_id}"
            if self.action == "confirm":
                post = await core.call(freshness.confirm_post, actor, self.kind, self.post_id)
                hours = int((await core.call(freshness.window_of, post)).total_seconds() // 3600)
                return f"Thank you: {post.ref} is confirmed as it stands. We will ask again in {hours} h."
            closed = await core.call(post_lifecycle.close_post, actor, self.kind, ref)
            verb = "Closed" if self.kind is PostKind.NEED else "Withdrew"
            return f"{verb} {closed.post.ref}." + (
                f" {closed.ended_matches} of its matches ended; partners will be re-matched."
                if closed.ended_matches
                else ""
            )

        await guarded(interaction, act)


class QuantityModal(discord.ui.Modal, title="Change quantity"):
    def __init__(self, kind: PostKind, post_id: int, current: int) -> None:
        super().__init__(custom_id=f"coalesce:fresh-quantity:{kind.value}:{post_id}")
        self.kind, self.post_id = kind, post_id
        self.quantity: discord.ui.TextInput = discord.ui.TextInput(
            label="New total quantity", default=str(current), max_length=13, custom_id="quantity"
        )
        self.add_item(self.quantity)

    async def on_submit(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        core = core_of(interaction)

        async def act() -> str:
            actor = await acting_in(interaction, await core.call(servers_of_post, self.post_id))
            post = await core.call(freshness.change_quantity, actor, self.kind, self.post_id, self.quantity.value)
            return f"{post.ref} now stands at {amount(post.quantity, post.unit)} ({post.remaining:,} not yet pledged)."

        await guarded(interaction, act)


class ReceivedButton(discord.ui.DynamicItem[discord.ui.Button], template=r"coalesce:received:(?P<id>\d+)"):
    """The needing side confirms what arrived: a form with the committed quantity, which may be lowered."""

    def __init__(self, match_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Received", style=discord.ButtonStyle.success, custom_id=f"coalesce:received:{match_id}"
            )
        )
        self.match_id = match_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> ReceivedButton:
        return cls(parse_id(match["id"]) or 0)

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        core = core_of(interaction)
        found = await core.run(core.store.matches.get, self.match_id)
        committed = found.quantity if found else 0
        await interaction.response.send_modal(ReceivedModal(self.match_id, committed))


class ReceivedModal(discord.ui.Modal, title="Received"):
    def __init__(self, match_id: int, committed: int) -> None:
        super().__init__(custom_id=f"coalesce:received-form:{match_id}")
        self.match_id = match_id
        self.quantity: discord.ui.TextInput = discord.ui.TextInput(
            label="Quantity received (lower it if less came)",
            default=str(committed),
            max_length=13,
            custom_id="quantity",
        )
        self.add_item(self.quantity)

    async def on_submit(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        core = core_of(interaction)

        async def act() -> str:
            actor = await acting_in(interaction, await core.call(servers_of_match, self.match_id))
            card = await core.call(delivery.receive, actor, self.match_id, self.quantity.value)
            return f"Thank you: {card.match.ref} is delivered ({amount(card.match.quantity, card.need.unit)})."

        await guarded(interaction, act)


class OnTheWayButton(discord.ui.DynamicItem[discord.ui.Button], template=r"coalesce:onway:(?P<id>\d+)"):
    """Still on the way: the delivery is chased again in 12 hours."""

    def __init__(self, match_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Still on the way", style=discord.ButtonStyle.primary, custom_id=f"coalesce:onway:{match_id}"
            )
        )
        self.match_id = match_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> OnTheWayButton:
        return cls(parse_id(match["id"]) or 0)

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        core = core_of(interaction)

        async def act() -> str:
            actor = await acting_in(interaction, await core.call(servers_of_match, self.match_id))
            card = await core.call(delivery.still_on_the_way, actor, self.match_id)
            return f"Noted: {card.match.ref} is on its way. We will ask again in 12 h."

        await guarded(interaction, act)
