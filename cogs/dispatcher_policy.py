"""What the dispatcher makes of a notification and of Discord's answer: its priority, the wait, giving up.

Pure rules, no state: which kinds leave first, how long a rate limit or an outage
asks to wait, which refusals no retry can change, and the nonce that lets Discord
drop a repeat of the same row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord

from bot.models import OutboxMessage

Sender = Callable[[OutboxMessage, "discord.abc.Messageable"], Awaitable[None]]
# Sends several rows of one kind as one message; returns how many of them (from the first) it carried.
GroupSender = Callable[[list[OutboxMessage], "discord.abc.Messageable"], Awaitable[int]]

MAX_ATTEMPTS = 12
# When a 429 names no wait (no body field, no header), wait this long before trying again.
DEFAULT_RETRY_AFTER_S = 5.0
# Discord codes that no retry will change: unknown channel/user, DMs closed, missing access/permissions.
PERMANENT_CODES = {10003, 10013, 50001, 50007, 50013}
# The note admins get when a message is given up; never itself noted, so failures cannot chain.
FAILURE_NOTE = "delivery_failure"

# Priority by kind: lower leaves first. Kinds nobody listed here take DEFAULT_PRIORITY.
PROPOSALS, ANNOUNCEMENTS, DIGESTS = 0, 1, 2
DEFAULT_PRIORITY = ANNOUNCEMENTS
PRIORITIES: dict[str, int] = {
    "contact_reveal": PROPOSALS,
    "match_proposal": PROPOSALS,
    # Edits of a proposal keep its buttons true; they share its priority so they never overtake it.
    "match_update": PROPOSALS,
    "notice": ANNOUNCEMENTS,
    "post_announcement": ANNOUNCEMENTS,
    FAILURE_NOTE: ANNOUNCEMENTS,
    "digest": DIGESTS,
    "digest_dm": DIGESTS,
}


def backoff_seconds(attempts: int) -> float:
    """2, 4, 8 ... seconds, capped at ten minutes."""
    return float(min(600, 2 ** max(1, attempts + 1)))


def retry_after_of(error: discord.HTTPException | discord.RateLimited) -> float:
    """The wait a rate limit asks for: discord.py's ``retry_after``, else the response headers."""
    if isinstance(error, discord.RateLimited):
        return max(0.0, float(error.retry_after))
    headers = getattr(error.response, "headers", None) or {}
    for header in ("Retry-After", "X-RateLimit-Reset-After"):
        value = headers.get(header)
        if value is not None:
            try:
                return max(0.0, float(value))
            except ValueError:
                continue
    return DEFAULT_RETRY_AFTER_S


def is_global(error: discord.HTTPException) -> bool:
    """A 429 from the bot's global limit (every destination waits), not from one route's bucket."""
    headers = getattr(error.response, "headers", None) or {}
    return headers.get("X-RateLimit-Scope") == "global" or str(headers.get("X-RateLimit-Global", "")).lower() == "true"


def is_permanent(error: discord.HTTPException) -> bool:
    """Refusals a retry cannot fix: every 4xx except timeouts and rate limits, and the known codes."""
    if error.code in PERMANENT_CODES:
        return True
    return 400 <= error.status < 500 and error.status not in (408, 429)


def outbox_nonce(message: OutboxMessage) -> str:
    """A nonce unique to this outbox row; Discord drops a repeat with the same nonce for a few minutes."""
    return f"ob{message.id}-{int(message.created_at.timestamp())}"[:25]
