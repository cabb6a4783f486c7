"""Follow-through on Discord: the freshness prompts, delivery nudges and delivery reports sent by DM.

Each leaves through the outbox (kinds ``freshness_prompt``, ``delivery_nudge``,
``delivery_report``) and is rendered from the live state when it is sent, so a
post closed or a match delivered meanwhile is left out or not asked about.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import discord
from discord.ext import commands

from bot.models import MatchStatus, OutboxMessage, PostKind
from bot.services import freshness
from bot.services.cards import match_card
from bot.text import escape
from cogs.common import NO_PINGS
from cogs.dispatcher import dispatcher_of, outbox_nonce
from cogs.follow_through_views import FreshnessButton, OnTheWayButton, ReceivedButton
from cogs.match_buttons import MatchButton
from cogs.posts_render import URGENCY_MARK, amount, when

if TYPE_CHECKING:
    from bot.app import CoalesceBot

ITEMS = (FreshnessButton, ReceivedButton, OnTheWayButton)


class FollowThrough(commands.Cog):
    def __init__(self, bot: CoalesceBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*ITEMS)
        dispatcher = dispatcher_of(self.bot)
        dispatcher.register("freshness_prompt", self.send_freshness_prompt)
        dispatcher.register("delivery_nudge", self.send_delivery_nudge)
        dispatcher.register("delivery_report", self.send_delivery_report)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*ITEMS)

    async def send_freshness_prompt(self, message: OutboxMessage, destination: discord.abc.Messageable) -> None:
        """One DM for several posts: a line and a row of buttons each, in the same order."""
        ids = [int(i) for i in message.payload["post_ids"]]  # type: ignore[union-attr]
        posts = await self.bot.core.call(freshness.prompt_posts, ids)
        if not posts:
            return  # all closed meanwhile: nothing to ask
        lines = ["🔔 **Do these still stand?** Nothing is removed if you don't answer, but unanswered posts are"
                 " listed as *unconfirmed* after a while. One row of buttons per post, in this order:"]  # fmt: skip
        view = discord.ui.View(timeout=None)
        for row, post in enumerate(posts):
            noun = "need" if post.kind is PostKind.NEED else "offer"
            mark = f" · {URGENCY_MARK[post.urgency]}" if post.kind is PostKind.NEED else ""
            lines.append(
                f"{row + 1}. {noun} **{post.ref}**: {amount(post.quantity, post.unit)} of {escape(post.item_label)} in "
                f"{escape(post.place_label)}{mark} ({post.remaining:,} not yet pledged), posted {when(post.created_at)}"
            )
            for action in ("confirm", "quantity", "close"):
                button = FreshnessButton(post.kind, post.id, action)
                button.item.row = row
                view.add_item(button)
        await destination.send("\n".join(lines), view=view, allowed_mentions=NO_PINGS, nonce=outbox_nonce(message))

    async def send_delivery_nudge(self, message: OutboxMessage, destination: discord.abc.Messageable) -> None:
        card = await self.bot.core.call(match_card, int(message.payload["match_id"]))  # type: ignore[call-overload]
        match = card.match
        if match.status is not MatchStatus.COMMITTED or match.is_reported:
            return  # delivered, reported or called off meanwhile
        view = discord.ui.View(timeout=None)
        view.add_item(MatchButton(match.id, "deliver"))
        view.add_item(OnTheWayButton(match.id))
        view.add_item(MatchButton(match.id, "cancel"))
        text = (
            f"⏰ **{match.ref}**: {amount(match.quantity, card.need.unit)} of {escape(card.need.item_label)} from "
            f"**{escape(card.offer_org.name)}** to **{escape(card.need_org.name)}**, "
            f"committed {when(match.committed_at)}, "
            "has no delivery report yet. Has it arrived? **Delivered** reports it, **Still on the way** asks again "
            "in 12 h, **Cancel** returns the quantity to both posts. Without an answer the coalition's admins are "
            "told."
        )
        await destination.send(text, view=view, allowed_mentions=NO_PINGS, nonce=outbox_nonce(message))

    async def send_delivery_report(self, message: OutboxMessage, destination: discord.abc.Messageable) -> None:
        card = await self.bot.core.call(match_card, int(message.payload["match_id"]))  # type: ignore[call-overload]
        match = card.match
        if not match.is_reported:
            return  # confirmed or cancelled meanwhile
        view = discord.ui.View(timeout=None)
        view.add_item(ReceivedButton(match.id))
        text = (
            f"📦 **{escape(card.offer_org.name)}** reports **{match.ref}** delivered: "
            f"{amount(match.quantity, card.need.unit)} of {escape(card.need.item_label)} for {card.need.ref}. "
            "Press **Received** once it is with you; if less arrived, lower the quantity in the form and the rest "
            "returns to both posts."
        )
        await destination.send(text, view=view, allowed_mentions=NO_PINGS, nonce=outbox_nonce(message))


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(FollowThrough(cast("CoalesceBot", bot)))
