"""Plain notices (``notice`` rows and the failure notes admins get): alone, or several as one message.

A notice's text was rendered by its service, user text escaped. Under backlog the
dispatcher hands several waiting notices of one destination to :func:`send_notices`,
which joins those that ping the same (or no) role into one message of at most
Discord's 2,000 characters.
"""

from __future__ import annotations

import discord

from bot.models import OutboxMessage
from cogs.dispatcher_policy import outbox_nonce

CONTENT_MAX = 2000


def _role_of(message: OutboxMessage) -> int | None:
    role_id = message.payload.get("role_id")
    return int(role_id) if role_id else None  # type: ignore[call-overload]


def _text_of(messages: list[OutboxMessage], role_id: int | None) -> str:
    text = "\n".join(str(m.payload["text"]) for m in messages)
    return f"<@&{role_id}> {text}" if role_id else text


def _mentions(role_id: int | None) -> discord.AllowedMentions:
    """An alert may ping the one role its server chose, never anyone else."""
    if role_id is None:
        return discord.AllowedMentions.none()
    role = discord.Object(role_id)  # type: ignore[call-overload]
    return discord.AllowedMentions(everyone=False, users=False, roles=[role])


async def send_notice(message: OutboxMessage, destination: discord.abc.Messageable) -> None:
    """One notice as its own message."""
    role_id = _role_of(message)
    await destination.send(
        _text_of([message], role_id)[:CONTENT_MAX], allowed_mentions=_mentions(role_id), nonce=outbox_nonce(message)
    )


async def send_notices(messages: list[OutboxMessage], destination: discord.abc.Messageable) -> int:
    """The waiting notices that ping what the first pings, one a line, as one message; returns how many."""
    role_id = _role_of(messages[0])
    carried = 1
    while (
        carried < len(messages)
        and _role_of(messages[carried]) == role_id
        and len(_text_of(messages[: carried + 1], role_id)) <= CONTENT_MAX
    ):
        carried += 1
    if carried == 1:
        await send_notice(messages[0], destination)
        return 1
    await destination.send(
        _text_of(messages[:carried], role_id), allowed_mentions=_mentions(role_id), nonce=outbox_nonce(messages[0])
    )
    return carried
