"""WAL checkpoints on a thread of their own, so that no commit on the event loop pays for one.

By default SQLite checkpoints inside whichever commit pushes the WAL past 1,000
pages: on our single writer connection that is a command handler, and the
checkpoint's disk work shows up as a latency spike in that command. With
``wal_autocheckpoint`` off on the writer, this thread copies the WAL back
into the database every ``interval`` seconds with a PASSIVE checkpoint, which
never blocks the writer, and sqlite3 releases the GIL while it works.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger("coalesce.store")


class Checkpointer:
    def __init__(self, path: Path, *, interval: float = 1.0) -> None:
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="coalesce-wal-checkpoints", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        conn = sqlite3.connect(str(self.path), check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout = 1000")
            while not self._stop.wait(self.interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    log.warning("WAL checkpoint failed; the next one will catch up", exc_info=True)
        finally:
            conn.close()
