"""Plain-text notices, queued in the outbox inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from bot.core import Core
from bot.models import ChannelKind, Coalition


def notify_channel(core: Core, coalition: Coalition, kind: ChannelKind, text: str, now: datetime) -> int:
    """Queue ``text`` for each linked server's channel of ``kind``; returns how many were queued.

    Alerts also ping the role each server's admins chose for them (``/config alert-role``), and only it.
    """
    if kind is ChannelKind.ALERTS:
        targets = core.store.coalitions.alert_targets(coalition.id)
    else:
        targets = [(channel_id, None) for channel_id in core.store.coalitions.channel_targets(coalition.id, kind)]
    for channel_id, role_id in targets:
        payload: dict[str, object] = {"text": text, "role_id": role_id} if role_id else {"text": text}
        core.store.outbox.enqueue(coalition.id, "notice", f"channel:{channel_id}", payload, now)
    return len(targets)


def notify_user(core: Core, coalition: Coalition, user_id: int, text: str, now: datetime) -> None:
    core.store.outbox.enqueue(coalition.id, "notice", f"user:{user_id}", {"text": text}, now)
