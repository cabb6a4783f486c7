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


def purge_expired_contacts(core: Core) -> int:
    """Erase the contacts that retention allows no longer; each erasure is audited. Returns how many."""
    now = core.clock()
    cutoff = to_iso(now - timedelta(days=core.settings.retention_days))
    with core.store.atomic():
        expired = core.store.orgs.contacts_past_retention(cutoff)
        for org_id, coalition_id in expired:
            core.store.orgs.erase_contact(org_id)
            core.store.audit.record(
                coalition_id, SYSTEM_ACTOR, "retention.purge", f"org:{org_id}", now,
                retention_days=core.settings.retention_days,
            )  # fmt: skip
    return len(expired)
