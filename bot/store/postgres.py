"""The PostgreSQL backend: the same verbs as :class:`bot.store.backend.SQLiteBackend`, through psycopg 3.

The store's SQL is written once, with SQLite's ``?`` placeholders; :func:`placeholders`
rewrites each statement exactly once (cached) into psycopg's ``%s``, outside string
literals and quoted names, doubling any literal ``%``. Values come back as SQLite
gives them: ``SUM`` of integers an ``int`` (PostgreSQL says ``numeric``), ``AVG`` a
``float``, and a Python ``bool`` goes in as 0 or 1 (the schema keeps flags as integers).

The backend owns one connection, in autocommit mode like SQLite's; ``reader`` opens
another for a worker thread. A pool or a connection per thread fits behind the same verbs.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import IsolationLevel
from psycopg import sql as pgsql
from psycopg.adapt import Loader
from psycopg.rows import dict_row
from psycopg.types.numeric import Int2Dumper

from bot.store.backend import IntegrityError, Params, Unavailable

_NAMED = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)")


@lru_cache(maxsize=4096)
def placeholders(sql: str) -> str:
    """``sql`` with ``?`` and ``:name`` as psycopg's ``%s`` and ``%(name)s``, and every other ``%`` doubled.

    Quoted text ('...', "..."), comments and ``::`` casts are left as they are.
    """
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"":
            end = sql.find(c, i + 1)
            while end != -1 and end + 1 < n and sql[end + 1] == c:  # a doubled quote inside the literal
                end = sql.find(c, end + 2)
            end = n if end == -1 else end + 1
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif c == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end == -1 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif c == "?":
            out.append("%s")
            i += 1
        elif c == "%":
            out.append("%%")
            i += 1
        elif c == ":" and sql.startswith("::", i):
            out.append("::")
            i += 2
        elif c == ":" and (match := _NAMED.match(sql, i)):
            out.append(f"%({match.group(1)})s")
            i = match.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


class _NumberLoader(Loader):
    """``numeric`` as SQLite would answer: an ``int`` when whole (SUM of integers), else a ``float`` (AVG)."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        return float(text) if ("." in text or "e" in text.lower() or text.lower().endswith("nan")) else int(text)


def _adapt(conn: psycopg.Connection) -> None:
    # A Python bool goes in as 0 or 1, as SQLite stores it: the schema keeps flags as integers.
    conn.adapters.register_dumper(bool, Int2Dumper)
    conn.adapters.register_loader("numeric", _NumberLoader)


def connect(url: str, *, autocommit: bool = True) -> psycopg.Connection:
    try:
        conn = psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise Unavailable(f"PostgreSQL at {redacted(url)} cannot be reached ({' '.join(str(exc).split())}).") from None
    _adapt(conn)
    return conn


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


class PostgresBackend:
    dialect = "postgresql"

    def __init__(self, url: str, *, readonly: bool = False) -> None:
        self.url = url
        self.readonly = readonly
        self.conn = connect(url)
        self._note: Callable[[str], None] | None = None
        if readonly:
            # A reader's transaction sees one moment throughout, and cannot write.
            self.conn.isolation_level = IsolationLevel.REPEATABLE_READ
            self.conn.read_only = True

    # ----- the verbs -----

    def execute(self, sql: str, params: Params = ()) -> psycopg.Cursor:
        if self._note is not None:
            self._note(sql)
        try:
            return self.conn.execute(placeholders(sql), params)  # type: ignore[arg-type]
        except psycopg.errors.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        if self._note is not None:
            self._note(sql)
        with self.atomic(), self.conn.cursor() as cursor:
            try:
                cursor.executemany(placeholders(sql), rows)  # type: ignore[arg-type]
            except psycopg.errors.IntegrityError as exc:
                raise IntegrityError(str(exc)) from exc
            return cursor.rowcount

    def query(self, sql: str, params: Params = ()) -> Iterator[dict[str, Any]]:
        if self._note is not None:
            self._note(sql)
        with self.conn.cursor(row_factory=dict_row) as cursor:
            try:
                cursor.execute(placeholders(sql), params)  # type: ignore[arg-type]
            except psycopg.errors.IntegrityError as exc:
                raise IntegrityError(str(exc)) from exc
            rows = cursor.fetchall()
        yield from rows

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction; nested blocks become savepoints."""
        with self.conn.transaction():
            yield

    def on_statement(self, note: Callable[[str], None] | None) -> None:
        """Call ``note`` with each statement's text as it runs (None stops it)."""
        self._note = note

    @property
    def in_transaction(self) -> bool:
        return self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    # ----- named dialect differences -----

    def indexed_by(self, index: str) -> str:
        return ""

    def locking(self, *, skip_locked: bool = False) -> str:
        """``FOR UPDATE``: the rows read stay as read until this transaction ends; ``skip_locked`` passes them by."""
        return " FOR UPDATE SKIP LOCKED" if skip_locked else " FOR UPDATE"

    def serialize_claims(self, name: str) -> None:
        """One claimer of ``name`` at a time across processes, until this transaction ends."""
        self.execute("SELECT pg_advisory_xact_lock(hashtext(?))", [name])

    def after_explicit_ids(self, table: str) -> None:
        self.execute(
            pgsql.SQL("SELECT setval(pg_get_serial_sequence({t}, 'id'), GREATEST((SELECT MAX(id) FROM {n}), 1))")
            .format(t=pgsql.Literal(table), n=pgsql.Identifier(table))
            .as_string(self.conn)
        )

    def tables_with_column(self, column: str) -> list[str]:
        rows = self.execute(
            "SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t"
            " ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
            " WHERE c.table_schema = current_schema() AND c.column_name = ? AND t.table_type = 'BASE TABLE'",
            [column],
        ).fetchall()
        return sorted(row[0] for row in rows)

    # ----- the database as a whole -----

    def table_names(self) -> list[str]:
        rows = self.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
        ).fetchall()
        return [row[0] for row in rows]

    def integrity_problems(self) -> list[str]:
        """PostgreSQL checks every constraint as it writes; a database that answers has nothing to report here."""
        self.execute("SELECT 1").fetchone()
        return []

    def size_bytes(self) -> int:
        return int(self.execute("SELECT pg_database_size(current_database())").fetchone()[0])

    def reader(self) -> PostgresBackend:
        return PostgresBackend(self.url, readonly=True)

    def describe(self) -> str:
        return redacted(self.url)

    def dump(self, dest: str) -> None:
        """``pg_dump`` of the whole database to ``dest``, in its custom format (``pg_restore`` reads it)."""
        try:
            subprocess.run(  # noqa: S603 - a fixed program and our own arguments
                ["pg_dump", "--format=custom", "--no-owner", f"--file={dest}", f"--dbname={self.url}"],  # noqa: S607
                check=True,
                capture_output=True,
                text=True,
            )
        except FileNotFoundError:
            raise Unavailable("pg_dump was not found: install PostgreSQL's client tools (postgresql-client)") from None
        except subprocess.CalledProcessError as exc:
            raise Unavailable(f"pg_dump failed: {' '.join(exc.stderr.split())[:300]}") from None

    def close(self) -> None:
        self.conn.close()
