"""The store: the database, spoken to in verbs of the domain.

SQL lives in this package only, written once for both backends (see
:mod:`bot.store.backend`): SQLite, one file, the embedded default, or PostgreSQL,
named by a ``postgresql://`` URL, for several processes on one database. Nothing
outside the store knows which one it talks to.

One connection, used on the event loop: every query the loop runs is short and
indexed, so a thread hop would cost more than it saves; heavy reads (digests,
exports) take a reader of their own (:meth:`Store.reading`) in a worker thread,
which WAL (or PostgreSQL's MVCC) lets run beside the writer.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.migrations import migrations
from bot.store.app_state import AppState
from bot.store.audit import AuditLog
from bot.store.backend import SQLiteBackend, Unavailable, is_url, open_backend
from bot.store.coalitions import Coalitions
from bot.store.digests import Digests
from bot.store.events import Events
from bot.store.exports import ExportRows
from bot.store.federation import Federation
from bot.store.follow_through import Freshness
from bot.store.hazards import Hazards
from bot.store.imports import Imports
from bot.store.matches import Matches
from bot.store.ops import OpsReads
from bot.store.orgs import Orgs
from bot.store.outbox import Outbox
from bot.store.pending import PendingPosts
from bot.store.posts import Posts

__all__ = ["Reader", "Store", "Unavailable", "is_url", "reading"]


@dataclass(frozen=True, slots=True)
class Reader:
    """The heavy reads, on a read-only connection inside one transaction: every row from one moment."""

    digests: Digests
    exports: ExportRows


@contextmanager
def reading(database: str | Path) -> Iterator[Reader]:
    """A :class:`Reader` on ``database`` without opening it for writing (exports of a database not in use).

    Raises :class:`Unavailable` when there is no such database or it cannot be read.
    """
    db = open_backend(database, readonly=True)
    try:
        with _read_transaction(db) as reader:
            yield reader
    finally:
        db.close()


@contextmanager
def _read_transaction(db) -> Iterator[Reader]:
    with db.atomic():
        yield Reader(Digests(db), ExportRows(db))


class Store:
    """Owns the connection and hands out one repository per idea of the domain."""

    def __init__(self, database: str | Path, *, background_checkpoints: bool = False) -> None:
        """``database``: a SQLite file's path or a ``postgresql://`` URL.

        ``background_checkpoints``: a long-running process's store (the bot) moves SQLite's WAL checkpoints
        to a thread.
        """
        self.database = database if is_url(database) else Path(database)
        self.db = open_backend(database, background_checkpoints=background_checkpoints)
        # A store dropped without close() (a test's bot, a restarted one) still stops its threads.
        weakref.finalize(self, self.db.close)
        self._migrate()
        self.posts = Posts(self.db)
        self.posts.refresh_families()
        self.coalitions = Coalitions(self.db)
        self.orgs = Orgs(self.db)
        self.events = Events(self.db)
        self.audit = AuditLog(self.db)
        self.outbox = Outbox(self.db)
        self.digests = Digests(self.db)
        self.pending = PendingPosts(self.db)
        self.matches = Matches(self.db)
        self.federation = Federation(self.db)
        self.freshness = Freshness(self.db)
        self.hazards = Hazards(self.db)
        self.imports = Imports(self.db)
        self.app_state = AppState(self.db)
        self.ops = OpsReads(self.db)
        self.exports = ExportRows(self.db)

    def _migrate(self) -> None:
        if isinstance(self.db, SQLiteBackend):
            migrations.apply(self.db.sqlite)
        else:
            from bot import migrations_pg

            migrations_pg.apply(self.db)

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

        self.db.on_statement(note)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction; nested blocks become savepoints."""
        with self.db.atomic():
            yield

    @contextmanager
    def reading(self) -> Iterator[Reader]:
        """The heavy reads on a read-only connection of their own, for a worker thread, all from one moment."""
        db = self.db.reader()
        try:
            with _read_transaction(db) as reader:
                yield reader
        finally:
            db.close()

    def integrity_problems(self) -> list[str]:
        """What the database reports against its own consistency; empty when sound."""
        return self.db.integrity_problems()

    def size_bytes(self) -> int:
        """What the database occupies on disk."""
        return self.db.size_bytes()

    def describe(self) -> str:
        """Where the database is, to show an operator (a URL's password left out)."""
        return self.db.describe()

    def applied_migrations(self) -> list[str]:
        if isinstance(self.db, SQLiteBackend):
            return [m.name for m in migrations.applied(self.db.sqlite)]
        from bot import migrations_pg

        return migrations_pg.applied(self.db)

    def pending_migrations(self) -> list[str]:
        if isinstance(self.db, SQLiteBackend):
            return [m.name for m in migrations.pending(self.db.sqlite)]
        from bot import migrations_pg

        return migrations_pg.pending(self.db)

    def close(self) -> None:
        self.db.close()
