"""The outbox senders that show posts and matches on Discord: announcements, proposals, their edits, contacts.

Every message edit leaves through the outbox (``match_update``), so a failed edit is
retried and the message always ends up showing the live state. Under backlog the
dispatcher hands a sender several waiting rows of its kind: announcements then leave
as one list, proposals up to five to a message (:mod:`cogs.proposal_groups`), and
edits of one message as one edit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import discord

from bot.core import Core
from bot.models import OutboxMessage
from bot.services import authority, matches
from bot.services.matches import MatchCard
from cogs.common import NO_PINGS, server_still_joined
from cogs.dispatcher import outbox_nonce
from cogs.match_buttons import group_view, match_view
from cogs.posts_render import (
    announcement_embed,
    announcements_embed,
    contact_message,
    match_embed,
    match_headline,
)
from cogs.proposal_groups import group

if TYPE_CHECKING:
    from bot.app import CoalesceBot


def match_id_of(message: OutboxMessage) -> int:
    return int(message.payload["match_id"])  # type: ignore[call-overload]


def pinging(user_ids: list[int]) -> discord.AllowedMentions:
    """Mentions that ping these coordinators and nobody else (no roles, no @everyone)."""
    people = [discord.Object(uid) for uid in user_ids]
    return discord.AllowedMentions(users=people, roles=False, everyone=False, replied_user=False)


def unshown_cards(core: Core, match_ids: list[int], channel_id: int) -> list[MatchCard]:
    """On the store thread: the cards of these matches, from the first, up to one already shown in the channel.

    A match shown before (its confirmation was lost) or named twice ends the run: it is edited on its own.
    """
    cards: list[MatchCard] = []
    for match_id in match_ids:
        if match_id in {c.match.id for c in cards} or core.store.matches.message_id(match_id, channel_id):
            break
        cards.append(matches.match_card(core, match_id))
    return cards


def save_messages(core: Core, match_ids: list[int], channel_id: int, message_id: int) -> None:
    with core.store.atomic():
        for match_id in match_ids:
            core.store.matches.save_message(match_id, channel_id, message_id)


def shown_with(core: Core, match_ids: list[int], channel_id: int) -> tuple[int, int | None, list[MatchCard]]:
    """On the store thread: how many of these edits (from the first) address the first one's message, that
    message, and the live cards of every match it shows."""
    message_id = core.store.matches.message_id(match_ids[0], channel_id)
    carried = 1
    for match_id in match_ids[1:]:
        if core.store.matches.message_id(match_id, channel_id) != message_id:
            break
        carried += 1
    if message_id is None:
        return carried, None, []
    shown = core.store.matches.message_matches(channel_id, message_id) or [match_ids[0]]
    return carried, message_id, [matches.match_card(core, match_id) for match_id in shown]


async def channel_of(destination: discord.abc.Messageable) -> discord.abc.Messageable:
    """Where a proposal is shown: a user's DM channel when no matches channel is set, so edits can address it."""
    if isinstance(destination, discord.abc.User):
        return destination.dm_channel or await destination.create_dm()
    return destination


class MatchSenders:
    """Registered with the dispatcher by the match cog; reads the live state as each row leaves."""

    def __init__(self, bot: CoalesceBot) -> None:
        self.bot = bot

    async def announcement(self, message: OutboxMessage, destination: discord.abc.Messageable) -> None:
        await destination.send(
            embed=announcement_embed(message.payload), allowed_mentions=NO_PINGS, nonce=outbox_nonce(message)
        )

    async def announcements(self, messages: list[OutboxMessage], destination: discord.abc.Messageable) -> int:
        """Several waiting announcements as one message (under backlog); returns how many it carried."""
        embed, carried = announcements_embed([m.payload for m in messages])
        await destination.send(embed=embed, allowed_mentions=NO_PINGS, nonce=outbox_nonce(messages[0]))
        return carried

    async def proposal(self, message: OutboxMessage, destination: discord.abc.Messageable) -> None:
        """Post the proposal, pinging both sides' coordinators only, and remember the message for edits."""
        core = self.bot.core
        channel = await channel_of(destination)
        cards = await core.run(unshown_cards, core, [match_id_of(message)], getattr(channel, "id", 0))
        if not cards:
            # Sent before (the confirmation was lost): show the live state instead of a second copy.
            await self.update(message, channel)
            return
        [card] = cards
        sent = await channel.send(
            match_headline(card),
            embed=match_embed(card),
            view=match_view(card) or discord.utils.MISSING,
            allowed_mentions=pinging([*card.need_member_ids, *card.offer_member_ids]),
            nonce=outbox_nonce(message),
        )
        await core.run(core.store.matches.save_message, card.match.id, sent.channel.id, sent.id)

    async def proposals(self, messages: list[OutboxMessage], destination: discord.abc.Messageable) -> int:
        """Several waiting proposals on one message, each with its own row of buttons; returns how many it carried.

        A proposal already shown here (its confirmation was lost) ends the group: it is edited on its own.
        """
        core = self.bot.core
        channel = await channel_of(destination)
        cards = await core.run(unshown_cards, core, [match_id_of(m) for m in messages], getattr(channel, "id", 0))
        shown = group(cards) if len(cards) > 1 else None
        if shown is None or shown.count < 2:
            await self.proposal(messages[0], channel)
            return 1
        carried = cards[: shown.count]
        sent = await channel.send(
            shown.content,
            embeds=shown.embeds,
            view=group_view(carried) or discord.utils.MISSING,
            allowed_mentions=pinging(shown.people),
            nonce=outbox_nonce(messages[0]),
        )
        await core.run(save_messages, core, [card.match.id for card in carried], sent.channel.id, sent.id)
        return shown.count

    async def update(self, message: OutboxMessage, destination: discord.abc.Messageable) -> None:
        """Edit the message showing this match in this channel to the live state of every match it shows."""
        await self.updates([message], destination)

    async def updates(self, messages: list[OutboxMessage], destination: discord.abc.Messageable) -> int:
        """Edit the head row's message once for the run of waiting edits that address it; returns how many.

        Nothing to do where the match was never shown: its proposal is still queued and shows the live state.
        """
        core = self.bot.core
        channel_id = getattr(destination, "id", 0)
        carried, message_id, cards = await core.run(shown_with, core, [match_id_of(m) for m in messages], channel_id)
        if message_id is None:
            return carried
        target = cast("discord.TextChannel", destination).get_partial_message(message_id)
        if len(cards) == 1:
            await target.edit(
                content=match_headline(cards[0]),
                embed=match_embed(cards[0]),
                view=match_view(cards[0]),
                allowed_mentions=NO_PINGS,
            )
            return carried
        shown = group(cards, edit=True)
        await target.edit(content=shown.content, embeds=shown.embeds, view=group_view(cards), allowed_mentions=NO_PINGS)
        return carried

    async def contact(self, message: OutboxMessage, destination: discord.abc.Messageable) -> None:
        """The partner's contact, only if the recipient still qualifies as it leaves (see ``contact_reveal``)."""
        core = self.bot.core
        match_id = match_id_of(message)
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
