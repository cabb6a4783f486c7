"""/status: is the bot healthy? Uptime, the outbox's backlog and failures, the last digest, the database's size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core import Core
from bot.models import Actor
from bot.services.coalition_config import require_admin


@dataclass(frozen=True, slots=True)
class StatusReport:
    uptime: timedelta
    pending: int  # this coalition's notices waiting to leave (due now or retrying)
    failed: int  # this coalition's notices given up on (see /audit action:outbox.failed)
    sent: int
    backlog: int  # pending notices across every coalition this bot serves
    last_digest_at: datetime | None
    last_digest_kind: str  # "scheduled" or "on demand" (/digest now); "" before the first
    database_bytes: int


def status(core: Core, actor: Actor, *, started_at: datetime) -> StatusReport:
    require_admin(actor)
    coalition = core.coalition_of(actor)
    counts = core.store.outbox.counts(coalition.id)
    last = core.store.digests.last_digest(coalition.id)
    return StatusReport(
        uptime=max(timedelta(0), core.clock() - started_at),
        pending=counts.get("pending", 0),
        failed=counts.get("failed", 0),
        sent=counts.get("sent", 0),
        backlog=core.store.outbox.backlog(),
        last_digest_at=last[0] if last else None,
        last_digest_kind=last[1] if last else "",
        database_bytes=core.store.size_bytes(),
    )
