"""How long the bot waits before it chases: freshness, proposals, deliveries. Pure.

Each window scales with urgency, because the cost of a stale or stalled post
does: a critical need that silently went away wastes a convoy; a low one
costs a line on a list. The reasons for each default are in docs/follow-through.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from bot.models import PostKind, Urgency

# Hours after a post was last confirmed before its poster is asked whether it still stands.
FRESHNESS_HOURS = {Urgency.CRITICAL: 12, Urgency.HIGH: 24, Urgency.NORMAL: 72, Urgency.LOW: 168}
MAX_FRESHNESS_HOURS = 24 * 30
# Hours a proposal waits for both sides before it goes to the next-best partner (by the need's urgency).
PROPOSAL_HOURS = {Urgency.CRITICAL: 2, Urgency.HIGH: 6, Urgency.NORMAL: 24, Urgency.LOW: 48}
# Hours after a commitment before its delivery is chased.
DELIVERY_HOURS = {Urgency.CRITICAL: 6, Urgency.HIGH: 24, Urgency.NORMAL: 24, Urgency.LOW: 24}
# "Still on the way" buys this much more time.
STILL_ON_THE_WAY = timedelta(hours=12)
# At most one freshness DM per coordinator in this long; later prompts wait and share one message.
PROMPT_SPACING = timedelta(hours=1)


def freshness_window(kind: PostKind, urgency: Urgency, chosen: Mapping[str, int] | None = None) -> timedelta:
    """How long a post stands unasked; offers carry no urgency of their own and use ``normal``'s."""
    level = urgency if kind is PostKind.NEED else Urgency.NORMAL
    hours = (chosen or {}).get(level.value, FRESHNESS_HOURS[level])
    return timedelta(hours=hours)


def proposal_window(need_urgency: Urgency) -> timedelta:
    return timedelta(hours=PROPOSAL_HOURS[need_urgency])


def delivery_window(need_urgency: Urgency) -> timedelta:
    return timedelta(hours=DELIVERY_HOURS[need_urgency])
