"""One interface to the database for every repository, whichever database it is.

A repository speaks portable SQL (``?`` placeholders, ``INSERT ... ON CONFLICT``,
``RETURNING``, ``LEAST``/``GREATEST``) through five verbs: ``execute`` (a cursor
with ``fetchone``/``fetchall``/``rowcount``), ``executemany``, ``query`` (rows as
dicts), ``atomic`` (a transaction; nested, a savepoint) and the few named dialect
fragments below. Outside a transaction every statement commits on its own.

``database`` is a path (SQLite, the embedded default) or a ``postgresql://`` URL;
the PostgreSQL backend lives in :mod:`bot.store.postgres`, imported only when used.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from sqlite_utils import Database

from bot.store.checkpoints import Checkpointer

if TYPE_CHECKING:
    from bot.store.postgres import PostgresBackend

URL_SCHEMES = ("postgresql://", "postgres://")
Params = Sequence[Any] | dict[str, Any]
# What every repository is handed: one of the two, with the same verbs.
Backend: TypeAlias = "SQLiteBackend | PostgresBackend"


def is_url(database: str | Path) -> bool:
    """Whether ``database`` names a PostgreSQL database rather than a SQLite file."""
    return isinstance(database, str) and database.startswith(URL_SCHEMES)


class IntegrityError(Exception):
    """A statement broke a constraint (unique, foreign key, check), on either backend."""


class Unavailable(Exception):
    """The database cannot be opened or is not a database; the message says which and why."""


class Rows:
    """A statement's rows read whole: what ``execute`` returns for ``RETURNING`` on SQLite."""

    def __init__(self, rows: list[tuple], description: Any, rowcount: int) -> None:
        self._rows = rows
        self._next = 0
        self.description = description
        self.rowcount = rowcount

    def fetchone(self) -> tuple | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[tuple]:
        rest, self._next = self._rows[self._next :], len(self._rows)
        return rest

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.fetchall())


def open_backend(database: str | Path, *, readonly: bool = False, background_checkpoints: bool = False) -> Backend:
    """The backend for ``database``: :class:`SQLiteBackend` for a path, ``PostgresBackend`` for a URL."""
    if is_url(database):
        from bot.store.postgres import PostgresBackend

        return PostgresBackend(str(database), readonly=readonly)
    return SQLiteBackend(Path(database), readonly=readonly, background_checkpoints=background_checkpoints)


def insert_rows(db: Backend, into: str, rows: Sequence[Sequence[Any]], *, per_statement: int = 100) -> int:
    """Insert ``rows`` into ``into`` (``"table (column, ...)"``) with multi-row ``VALUES``; how many were inserted.

    A few rows (a post's proposals, their notices and audit entries) are one statement, which is atomic on its
    own: ``executemany`` stepped the engine once per row, inside a savepoint of its own. Larger batches are split
    (each statement binds at most ``per_statement`` rows, far below either database's limit on parameters) and
    inserted in one transaction.
    """
    if not rows:
        return 0
    one = "(" + ", ".join("?" for _ in rows[0]) + ")"
    if len(rows) <= per_statement:
        return _insert_values(db, into, one, rows)
    with db.atomic():
        return sum(
            _insert_values(db, into, one, rows[start : start + per_statement])
            for start in range(0, len(rows), per_statement)
        )


def _insert_values(db: Backend, into: str, one: str, rows: Sequence[Sequence[Any]]) -> int:
    sql = f"INSERT INTO {into} VALUES {', '.join(one for _ in rows)}"  # noqa: S608 - placeholders only
    return db.execute(sql, [value for row in rows for value in row]).rowcount


def _least(*values: Any) -> Any:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _greatest(*values: Any) -> Any:
    present = [v for v in values if v is not None]
    return max(present) if present else None


class _StringAgg:
    """PostgreSQL's ``string_agg(text, separator)``, which SQLite has built in only from 3.44."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.separator = ""

    def step(self, value: Any, separator: str) -> None:
        if value is not None:
            self.parts.append(str(value))
            self.separator = separator

    def finalize(self) -> str | None:
        return self.separator.join(self.parts) if self.parts else None


# How much of the database file SQLite reads through a memory map (address space, not memory). Beyond its small
# page cache, SQLite reads each page with a read() system call: 47 of them per post at 100,000 open posts, 2 with
# the map. The pages stay the kernel's page cache, shared and reclaimable, as they were.
MMAP_BYTES = 1 << 30


class SQLiteBackend:
    """One SQLite connection in autocommit mode: a statement commits alone unless ``atomic`` opened a transaction."""

    dialect = "sqlite"

    def __init__(self, path: Path, *, readonly: bool = False, background_checkpoints: bool = False) -> None:
        if sqlite3.sqlite_version_info < (3, 35):
            raise Unavailable(f"SQLite {sqlite3.sqlite_version} is too old: Coalesce needs 3.35 or later (RETURNING)")
        self.path = path
        self.readonly = readonly
        if readonly:
            if not path.is_file():
                raise Unavailable(f"There is no database at {path}.")
            uri = f"file:{path.resolve()}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.conn = conn
        # PostgreSQL's LEAST/GREATEST (NULLs ignored); SQLite's two-argument MIN/MAX would return NULL instead.
        conn.create_function("least", -1, _least, deterministic=True)
        conn.create_function("greatest", -1, _greatest, deterministic=True)
        if sqlite3.sqlite_version_info < (3, 44):
            conn.create_aggregate("string_agg", 2, _StringAgg)
        # sqlite-utils' Database over the same connection: its Migrations, and bulk loaders in benchmarks.
        self.sqlite = Database(conn)
        self.execute("PRAGMA foreign_keys = ON")
        self.execute("PRAGMA busy_timeout = 5000")
        # A savepoint keeps the pages its block changes in a sub-journal, and a sort a temporary B-tree: in memory,
        # not in temporary files (a nested block or a batch of rows was 2-3x slower on disk).
        self.execute("PRAGMA temp_store = MEMORY")
        self.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        try:
            self.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise Unavailable(f"{path} cannot be read as a Coalesce database ({exc}).") from None
        self._checkpointer: Checkpointer | None = None
        if not readonly:
            self.sqlite.enable_wal()
            # WAL makes NORMAL durable across process crashes; only an OS crash can lose the last commit.
            self.execute("PRAGMA synchronous = NORMAL")
            if background_checkpoints:
                self.execute("PRAGMA wal_autocheckpoint = 0")
                self._checkpointer = Checkpointer(path)
                self._checkpointer.start()

    # ----- the verbs -----

    def execute(self, sql: str, params: Params = ()) -> Any:
        try:
            cursor = self.conn.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
        if "RETURNING" in sql:
            # Read whole: an unfinished RETURNING statement would hold the write lock and its commit.
            rows = cursor.fetchall()
            return Rows(rows, cursor.description, max(cursor.rowcount, len(rows)))
        return cursor

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        with self.atomic():
            try:
                return self.conn.executemany(sql, rows).rowcount
            except sqlite3.IntegrityError as exc:
                raise IntegrityError(str(exc)) from exc

    def query(self, sql: str, params: Params = ()) -> Iterator[dict[str, Any]]:
        cursor = self.execute(sql, params)
        columns = [c[0] for c in cursor.description]
        for row in cursor:
            yield dict(zip(columns, row, strict=True))

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction; nested blocks become savepoints.

        Every savepoint has the same name: blocks nest strictly, and SQLite releases or rolls back to the most
        recent savepoint of a name. sqlite-utils names each one at random, which made every nested block prepare
        two statements SQLite's statement cache had never seen.
        """
        if not self.conn.in_transaction:
            with self.sqlite.atomic():
                yield
            return
        self.conn.execute("SAVEPOINT coalesce_block")
        try:
            yield
        except BaseException:
            # An error may have ended the whole transaction already; then there is nothing to roll back to.
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK TO SAVEPOINT coalesce_block")
                self.conn.execute("RELEASE SAVEPOINT coalesce_block")
            raise
        self.conn.execute("RELEASE SAVEPOINT coalesce_block")

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def on_statement(self, note: Callable[[str], None] | None) -> None:
        """Call ``note`` with each statement's text as it runs (None stops it)."""
        self.conn.set_trace_callback(note)

    # ----- named dialect differences -----

    def indexed_by(self, index: str) -> str:
        """A planner hint SQLite needs where its statistics mislead it; PostgreSQL plans without one."""
        return f"INDEXED BY {index}"

    def locking(self, *, skip_locked: bool = False) -> str:
        """Row locks for a read that a write in the same transaction depends on.

        SQLite has one writer at a time, so a write transaction already excludes every other.
        """
        return ""

    def serialize_claims(self, name: str) -> None:
        """Let one claimer at a time into ``name``'s claim (on SQLite the write lock already does)."""

    def after_explicit_ids(self, table: str) -> None:
        """Rows were inserted with ids of their own: the next generated id comes after them (SQLite's does)."""

    def tables_with_column(self, column: str) -> list[str]:
        tables = [row[0] for row in self.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return sorted(t for t in tables if column in {c.name for c in self.sqlite[t].columns})

    # ----- the database as a whole -----

    def integrity_problems(self) -> list[str]:
        """What ``PRAGMA integrity_check`` and ``foreign_key_check`` report; empty when sound."""
        problems = [row[0] for row in self.execute("PRAGMA integrity_check").fetchall() if row[0] != "ok"]
        problems += [
            f"foreign key: {table} row {rowid} -> {parent}"
            for table, rowid, parent, _ in self.execute("PRAGMA foreign_key_check").fetchall()
        ]
        return problems

    def size_bytes(self) -> int:
        """The database file and its write-ahead log: what the bot occupies on disk."""
        path = self.path
        return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())

    def reader(self) -> SQLiteBackend:
        """A read-only connection of its own (for a worker thread), which WAL lets read beside the writer."""
        return SQLiteBackend(self.path, readonly=True)

    def describe(self) -> str:
        return str(self.path)

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self.conn.close()
