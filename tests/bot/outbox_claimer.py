"""One of two processes delivering a shared outbox: claims, "sends" (prints), marks sent, until none is left.

Run by ``test_outbox_leases``: ``python -m tests.bot.outbox_claimer DATABASE OWNER``. Prints
``sent <row id> <target>`` for each row it sent, in the order it sent them.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta

from bot.store import Store

LEASE = timedelta(seconds=30)


def main(database: str, owner: str) -> None:
    store = Store(database)
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < 2.0:
        now = datetime.now(UTC)
        rows = store.outbox.claim(owner, now, now + LEASE, limit=7)
        if rows:
            idle_since = time.monotonic()
        for row in rows:
            print(f"sent {row.id} {row.target}", flush=True)
            store.outbox.mark_sent(row.id, now)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])  # a SQLite path or a PostgreSQL URL
