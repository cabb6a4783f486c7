"""Retention: an org's private contact is erased once the responses it took part in are long closed.

Closing an event tells admins to export what they need; ``retention_days`` later
the contacts go. An org's events are those it posted in, or every event of its
coalition when it never posted. Its contact is purged when all of them closed
more than ``retention_days`` ago, it registered before that too, and its
coalition has no open event (while a response runs, any org may be matched and
its contact shared).
"""

from __future__ import annotations

from datetime import timedelta

from bot.clock import to_iso
from bot.core import Core

SYSTEM_ACTOR = 0

_EXPIRED = """
SELECT o.id, o.coalition_id FROM orgs o
WHERE o.contact != '' AND o.created_at <= :cutoff
  AND NOT EXISTS (SELECT 1 FROM events e WHERE e.coalition_id = o.coalition_id AND e.status = 'open')
  AND EXISTS (SELECT 1 FROM events e WHERE e.coalition_id = o.coalition_id)
  AND NOT EXISTS (
    SELECT 1 FROM events e
    WHERE e.coalition_id = o.coalition_id AND (e.closed_at IS NULL OR e.closed_at > :cutoff)
      AND (e.id IN (SELECT p.event_id FROM posts p WHERE p.org_id = o.id)
           OR NOT EXISTS (SELECT 1 FROM posts p WHERE p.org_id = o.id))
  )
ORDER BY o.id
"""


def purge_expired_contacts(core: Core) -> int:
    """Erase the contacts that retention allows no longer; each erasure is audited. Returns how many."""
    now = core.clock()
    cutoff = to_iso(now - timedelta(days=core.settings.retention_days))
    db = core.store.db
    with core.store.atomic():
        expired = db.execute(_EXPIRED, {"cutoff": cutoff}).fetchall()
        for org_id, coalition_id in expired:
            db.execute("UPDATE orgs SET contact = '' WHERE id = ?", [org_id])
            core.store.audit.record(
                coalition_id, SYSTEM_ACTOR, "retention.purge", f"org:{org_id}", now,
                retention_days=core.settings.retention_days,
            )  # fmt: skip
    return len(expired)
