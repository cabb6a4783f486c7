"""/match, the match buttons, and the outbox senders that show posts and matches on Discord.

Buttons are persistent ``DynamicItem``s: their custom id carries the match id and
the action, so a click works on any proposal message, even one sent before a
restart. Every message edit leaves through the outbox (``match_update``), so a
failed edit is retried and the message always ends up showing the live state.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import GENERIC_APOLOGY, log_outcome, send_ephemeral
from bot.core import Core
from bot.errors import NotFound, UserError
from bot.models import Actor, MatchStatus, OutboxMessage
from bot.services import authority, delivery, matches
from bot.services.matches import MatchCard
from bot.text import escape, parse_id
from cogs.common import NO_PINGS, acting_in, actor_of, core_of, server_still_joined
from cogs.dispatcher import dispatcher_of, outbox_nonce
from cogs.follow_through_views import ReceivedButton
from cogs.housekeeping import reschedule
from cogs.listing import listing_embed
from cogs.posts_render import (
    announcement_embed,
    announcements_embed,
    contact_message,
    match_embed,
    match_headline,
    match_line,
)

if TYPE_CHECKING:
    from bot.app import CoalesceBot

log = logging.getLogger("coalesce.match")

ACTIONS: dict[str, tuple[str, discord.ButtonStyle]] = {
    "accept": ("Accept", discord.ButtonStyle.success),
    "decline": ("Decline", discord.ButtonStyle.danger),
    "deliver": ("Delivered", discord.ButtonStyle.success),
    "cancel": ("Cancel", discord.ButtonStyle.secondary),
}
BUTTONS_BY_STATUS = {
    MatchStatus.PROPOSED: ("accept", "decline"),
    MatchStatus.COMMITTED: ("deliver", "cancel"),
}
SERVICES: dict[str, Callable[[Core, Actor, int], MatchCard]] = {
    "accept": matches.accept_match,
    "decline": matches.decline_match,
    "deliver": delivery.report_delivered,
    "cancel": matches.cancel_match,
}


class MatchButton(
    discord.ui.DynamicItem[discord.ui.Button],
    # Any id is taken here and read strictly below: a malformed one is answered "not found", not ignored.
    template=rf"coalesce:match:(?P<id>[^:]{{1,40}}):(?P<action>{'|'.join(ACTIONS)})",
):
    """One of a match's buttons; answers the clicker privately and queues the message's update."""

    def __init__(self, match_id: int, action: str) -> None:
        label, style = ACTIONS[action]
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=f"coalesce:match:{match_id}:{action}"))
        self.match_id = match_id
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> MatchButton:
        return cls(parse_id(match["id"]) or 0, match["action"])

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        core = core_of(interaction)
        action = f"button=match.{self.action}"
        try:
            if not self.match_id:
                raise NotFound("That button names no match. See `/match list`.")
            actor = await acting_in(interaction, await core.call(authority.servers_of_match, self.match_id))
            card = await core.call(SERVICES[self.action], actor, self.match_id)
        except UserError as error:
            log_outcome(interaction, "refused", error.code, action=action)
            await _reply(interaction, error.message)
        except Exception:
            # A button is not an app command, so the tree's on_error never sees it: same policy, here.
            log_outcome(interaction, "error", "error", action=action)
            log.exception("button failed: interaction=%s custom_id=%s", interaction.id, self.item.custom_id)
            await _reply(interaction, GENERIC_APOLOGY)
        else:
            log_outcome(interaction, "ok", "ok", action=action)
            await _reply(interaction, outcome(card, self.action, actor.user_id))
        finally:
            # Component clicks don't fire the app-command completion hook that kicks the dispatcher.
            dispatcher_of(interaction.client).kick()
            reschedule(interaction.client)


async def _reply(interaction: discord.Interaction, text: str) -> None:
    await send_ephemeral(interaction, text)


def outcome(card: MatchCard, action: str, user_id: int) -> str:
    """What the clicker is told after their click went through."""
    match = card.match
    ref = match.ref
    if action == "accept":
        if match.status is MatchStatus.COMMITTED:
            return (
                f"{ref} is committed: {escape(card.amounts())} reserved. The other side's contact is "
                "on its way to you by DM."
            )
        if match.status is MatchStatus.LAPSED:
            return f"{ref} lapsed: one side has nothing left to give or receive. New matches will be proposed."
        waiting = escape(card.offer_org.name if match.need_accepted_by == user_id else card.need_org.name)
        return f"You accepted {ref}. It commits as soon as {waiting} accepts too."
    if action == "decline":
        return f"You declined {ref}. Both posts will be matched with other partners."
    if action == "deliver" and match.is_reported:
        return (
            f"Thank you: {ref} is reported delivered ({escape(card.amounts())}). "
            f"{escape(card.need_org.name)} confirms with **Received**."
        )
    if action == "deliver":
        return f"Thank you: {ref} is delivered ({escape(card.amounts())})."
    return f"{ref} is cancelled; {escape(card.amounts())} are open again on both posts."


def match_view(card: MatchCard) -> discord.ui.View | None:
    """The buttons the match's status allows; none once it is over."""
    actions = BUTTONS_BY_STATUS.get(card.match.status, ())
    if not actions:
        return None
    view = discord.ui.View(timeout=None)
    if card.match.is_reported:
        # Reported by the offering side: what is left is the needing side's confirmation (or calling it off).
        view.add_item(ReceivedButton(card.match.id))
        actions = ("cancel",)
    for action in actions:
        view.add_item(MatchButton(card.match.id, action))
    return view


@app_commands.guild_only()
class MatchCog(commands.GroupCog, group_name="match", group_description="Proposed and committed matches"):
    def __init__(self, bot: CoalesceBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(MatchButton)
        dispatcher = dispatcher_of(self.bot)
        dispatcher.register("post_announcement", self.send_announcement, group=self.send_announcements)
        dispatcher.register("match_proposal", self.send_proposal)
        dispatcher.register("match_update", self.send_update)
        dispatcher.register("contact_reveal", self.send_contact)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(MatchButton)

    @app_commands.command(name="list", description="List matches: live ones, or those of one status")
    @app_commands.describe(status="Only matches in this state", mine="Only matches of your organisations")
    async def list(
        self,
        interaction: discord.Interaction,
        status: Literal["proposed", "committed", "delivered", "declined", "cancelled", "lapsed"] | None = None,
        mine: bool = False,
    ) -> None:
        """List matches."""
        cards = await core_of(interaction).call(
            matches.list_matches, actor_of(interaction), status=MatchStatus(status) if status else None, mine=mine
        )
        embed = listing_embed(
            f"Matches: {status}" if status else "Live matches (proposed and committed)",
            [match_line(c) for c in cards],
            empty="No matches yet.",
            more_hint=": narrow the list with `status` or `mine`",
        )
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)

    # --- outbox senders -----------------------------------------------------------------------------

    async def send_announcement(self, message: OutboxMessage, destination: discord.abc.Messageable) -> None:
        await destination.send(
            embed=announcement_embed(message.payload), allowed_mentions=NO_PINGS, nonce=outbox_nonce(message)
        )

    async def send_announcements(self, messages: list[OutboxMessage], destination: discord.abc.Messageable) -> int:
        """Several waiting announcements as one message (under backlog); returns how many it carried."""
        embed, carried = announcements_embed([m.payload for m in messages])
        await destination.send(embed=embed, allowed_mentions=NO_PINGS, nonce=outbox_nonce(messages[0]))
        return carried

    async def send_proposal(self, message: OutboxMessage, destination: discord.abc.Messageable) -> None:
        """Post the proposal, pinging both sides' coordinators only, and remember the message for edits."""
        core = self.bot.core
        card = await core.call(matches.match_card, int(message.payload["match_id"]))  # type: ignore[call-overload]
        if isinstance(destination, discord.abc.User):
            # Shown by DM when no matches channel is set: edits then address the DM channel.
            destination = destination.dm_channel or await destination.create_dm()
        channel_id = getattr(destination, "id", 0)
        if await core.run(core.store.matches.message_id, card.match.id, channel_id) is not None:
            # Sent before (the confirmation was lost): show the live state instead of a second copy.
            await self.send_update(message, destination)
            return
        people = [discord.Object(uid) for uid in (*card.need_member_ids, *card.offer_member_ids)]
        sent = await destination.send(
            match_headline(card),
            embed=match_embed(card),
            view=match_view(card) or discord.utils.MISSING,
            allowed_mentions=discord.AllowedMentions(users=people, roles=False, everyone=False, replied_user=False),
            nonce=outbox_nonce(message),
        )
        await core.run(core.store.matches.save_message, card.match.id, sent.channel.id, sent.id)

    async def send_update(self, message: OutboxMessage, destination: discord.abc.Messageable) -> None:
        """Edit the match's message in this channel to its live state; nothing to do if it was never sent."""
        core = self.bot.core
        card = await core.call(matches.match_card, int(message.payload["match_id"]))  # type: ignore[call-overload]
        message_id = await core.run(core.store.matches.message_id, card.match.id, getattr(destination, "id", 0))
        if message_id is None:
            return  # the proposal is still queued and will show the live state when it leaves
        channel = cast("discord.TextChannel", destination)
        await channel.get_partial_message(message_id).edit(
            content=match_headline(card),
            embed=match_embed(card),
            view=match_view(card),
            allowed_mentions=NO_PINGS,
        )

    async def send_contact(self, message: OutboxMessage, destination: discord.abc.Messageable) -> None:
        """The partner's contact, only if the recipient still qualifies as it leaves (see ``contact_reveal``)."""
        core = self.bot.core
        match_id = int(message.payload["match_id"])  # type: ignore[call-overload]
        recipient_id = int(message.target.partition(":")[2])
        servers = await core.call(authority.servers_of_match, match_id)
        in_server = await server_still_joined(self.bot, servers, recipient_id) is not None
        reveal = await core.call(
            matches.contact_reveal,
            match_id,
            int(message.payload["partner_org_id"]),  # type: ignore[call-overload]
            recipient_id=recipient_id,
            in_server=in_server,
        )
        if reveal is not None:
            await destination.send(contact_message(reveal), allowed_mentions=NO_PINGS, nonce=outbox_nonce(message))


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(MatchCog(cast("CoalesceBot", bot)))
