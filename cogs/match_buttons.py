"""The match buttons: persistent ``DynamicItem``s that accept, decline, deliver or cancel one match.

A button's custom id carries the match id and the action, so a click works on any
message showing the match: its own proposal message, a grouped one, or one sent
before a restart. A grouped message gives each match its own row of buttons.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence

import discord

from bot.app import GENERIC_APOLOGY, log_outcome, send_ephemeral
from bot.core import Core
from bot.errors import NotFound, UserError
from bot.models import Actor, MatchStatus
from bot.services import authority, delivery, matches
from bot.services.matches import MatchCard
from bot.text import escape, parse_id
from cogs.common import acting_in, core_of
from cogs.dispatcher import dispatcher_of
from cogs.follow_through_views import ReceivedButton
from cogs.housekeeping import reschedule

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
# Discord allows five action rows on a message: a grouped message shows at most this many matches.
MAX_ROWS = 5


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
            await send_ephemeral(interaction, error.message)
        except Exception:
            # A button is not an app command, so the tree's on_error never sees it: same policy, here.
            log_outcome(interaction, "error", "error", action=action)
            log.exception("button failed: interaction=%s custom_id=%s", interaction.id, self.item.custom_id)
            await send_ephemeral(interaction, GENERIC_APOLOGY)
        else:
            log_outcome(interaction, "ok", "ok", action=action)
            await send_ephemeral(interaction, outcome(card, self.action, actor.user_id))
        finally:
            # Component clicks don't fire the app-command completion hook that kicks the dispatcher.
            dispatcher_of(interaction.client).kick()
            reschedule(interaction.client)


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


def match_items(card: MatchCard) -> list[discord.ui.Item]:
    """The buttons the match's status allows; none once it is over."""
    actions = BUTTONS_BY_STATUS.get(card.match.status, ())
    items: list[discord.ui.Item] = []
    if actions and card.match.is_reported:
        # Reported by the offering side: what is left is the needing side's confirmation (or calling it off).
        items.append(ReceivedButton(card.match.id))
        actions = ("cancel",)
    items += [MatchButton(card.match.id, action) for action in actions]
    return items


def match_view(card: MatchCard) -> discord.ui.View | None:
    """A match's own message's buttons; None once it is over."""
    return group_view([card])


def group_view(cards: Sequence[MatchCard]) -> discord.ui.View | None:
    """Each match's buttons on its own row, in the order the message shows the matches; None if none is live."""
    if len(cards) > MAX_ROWS:
        raise ValueError(f"a message holds the buttons of at most {MAX_ROWS} matches")
    view = discord.ui.View(timeout=None)
    for row, card in enumerate(cards):
        for item in match_items(card):
            if len(cards) > 1:
                item.row = row
            view.add_item(item)
    return view if view.children else None
