"""The store: SQLite through sqlite-utils, spoken to in verbs of the domain.

SQL lives in this package only. One connection, used on the event loop: every
query the loop runs is short and indexed, so a thread hop would cost more than
it saves; heavy reads (digests, exports) open their own read connection in a
worker thread, which WAL lets run beside the writer.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from bot.migrations import migrations
from bot.store.app_state import AppState
from bot.store.audit import AuditLog
from bot.store.checkpoints import Checkpointer
from bot.store.coalitions import Coalitions
from bot.store.digests import Digests
from bot.store.events import Events
from bot.store.federation import Federation
from bot.store.follow_through import Freshness
from bot.store.hazards import Hazards
from bot.store.imports import Imports
from bot.store.matches import Matches
from bot.store.orgs import Orgs
from bot.store.outbox import Outbox
from bot.store.pending import PendingPosts
from bot.store.posts import Posts


def connect(path: str | Path, *, readonly: bool = False) -> Database:
    """A sqlite-utils Database on ``path`` with the pragmas every connection needs."""
    if readonly:
        conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, check_same_thread=False)
        db = Database(conn)
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = Database(sqlite3.connect(str(path), check_same_thread=False))
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA busy_timeout = 5000")
    if not readonly:
        db.enable_wal()
        # WAL makes NORMAL durable across process crashes; only an OS crash can lose the last commit.
        db.execute("PRAGMA synchronous = NORMAL")
    return db


class Store:
    """Owns the connection and hands out one repository per idea of the domain."""

    def __init__(self, path: str | Path, *, background_checkpoints: bool = False) -> None:
        """``background_checkpoints``: a long-running process's store (the bot) moves WAL checkpoints to a thread."""
        self.path = Path(path)
        self.db = connect(self.path)
        migrations.apply(self.db)
        self._checkpointer: Checkpointer | None = None
        if background_checkpoints:
            self.db.execute("PRAGMA wal_autocheckpoint = 0")
            self._checkpointer = Checkpointer(self.path)
            self._checkpointer.start()
            # A store dropped without close() (a test's bot, a restarted one) still stops its thread.
            weakref.finalize(self, self._checkpointer.stop)
        self.coalitions = Coalitions(self.db)
        self.orgs = Orgs(self.db)
        self.events = Events(self.db)
        self.audit = AuditLog(self.db)
        self.outbox = Outbox(self.db)
        self.digests = Digests(self.db)
        self.posts = Posts(self.db)
        self.pending = PendingPosts(self.db)
        self.matches = Matches(self.db)
        self.federation = Federation(self.db)
        self.freshness = Freshness(self.db)
        self.hazards = Hazards(self.db)
        self.imports = Imports(self.db)
        self.app_state = AppState(self.db)

    def confine_to_current_thread(self, *, excused: Callable[[], bool] = lambda: False) -> None:
        """Note in ``strays`` every statement run from another thread than this one (tests assert none).

        The bot runs every store call on its store thread (``Core.run``); one made from the event loop
        would share the connection with that thread mid-transaction. ``excused()`` is asked about each
        stray statement (a test arranging or reading the database between steps is not the bot).
        """
        owner = threading.get_ident()
        self.strays: list[str] = []

        def note(statement: str) -> None:
            if threading.get_ident() != owner and len(self.strays) < 20 and not excused():
                self.strays.append(f"{threading.current_thread().name}: {statement[:200]}")

        self.db.conn.set_trace_callback(note)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction; nested blocks become savepoints."""
        with self.db.atomic():
            yield

    def integrity_problems(self) -> list[str]:
        """What ``PRAGMA integrity_check`` and ``foreign_key_check`` report; empty when sound."""
        problems = [row[0] for row in self.db.execute("PRAGMA integrity_check").fetchall()]
        problems = [p for p in problems if p != "ok"]
        problems += [
            f"foreign key: {table} row {rowid} -> {parent}"
            for table, rowid, parent, _ in self.db.execute("PRAGMA foreign_key_check").fetchall()
        ]
        return problems

    def applied_migrations(self) -> list[str]:
        return [m.name for m in migrations.applied(self.db)]

    def pending_migrations(self) -> list[str]:
        return [m.name for m in migrations.pending(self.db)]

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self.db.close()
