"""Online backup of the database, safe while the bot is writing: SQLite's backup API, or pg_dump.

sqlite3's backup API copies a consistent snapshot page by page; a writer that
commits meanwhile makes the copy restart from the changed pages, so the result
is always one committed state, never a mix.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

PAGES_PER_STEP = 256


def backup_database(source_path: str | Path, dest_path: str | Path) -> dict[str, int]:
    """Copy the database at ``source_path`` to ``dest_path``; return each table's row count in the copy.

    The copy is written beside ``dest_path`` and renamed into place only once it
    is complete and passes ``PRAGMA integrity_check``, so a failed backup never
    leaves a half-written file where a good one was expected.
    """
    source_path, dest_path = Path(source_path), Path(dest_path)
    if not source_path.exists():
        raise FileNotFoundError(f"no database at {source_path}")
    if dest_path.resolve() == source_path.resolve():
        raise ValueError("the backup must go to another file than the database itself")
    dest_path.parent.mkdir(parents=True, exist_ok=True)
    partial = dest_path.with_name(dest_path.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        return _copy(source_path, partial, dest_path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _copy(source_path: Path, partial: Path, dest_path: Path) -> dict[str, int]:
    source = sqlite3.connect(f"file:{source_path.resolve()}?mode=ro", uri=True)
    try:
        source.execute("PRAGMA busy_timeout = 5000")
        target = sqlite3.connect(partial)
        try:
            source.backup(target, pages=PAGES_PER_STEP)
            # A backup file stands alone: no -wal beside it to lose.
            target.execute("PRAGMA journal_mode = DELETE")
            problems = [row[0] for row in target.execute("PRAGMA integrity_check").fetchall() if row[0] != "ok"]
            if problems:
                raise sqlite3.DatabaseError(f"backup failed its integrity check: {problems[:3]}")
            counts = row_counts(target)
        finally:
            target.close()
    finally:
        source.close()
    os.replace(partial, dest_path)
    return counts


def row_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Rows in every table of ``conn``, by table name (SQLite's own tables left out)."""
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    return {name: conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names}  # noqa: S608


def dump_database(url: str, dest_path: str | Path) -> dict[str, int]:
    """``pg_dump`` the PostgreSQL database at ``url`` to ``dest_path``; return each table's row count at the time.

    As with SQLite's, the dump is written beside ``dest_path`` and renamed into place only once complete.
    ``pg_dump`` reads one snapshot, so the copy is one committed state while the bot keeps writing.
    """
    from bot.store.postgres import PostgresBackend

    dest_path = Path(dest_path)
    dest_path.parent.mkdir(parents=True, exist_ok=True)
    partial = dest_path.with_name(dest_path.name + ".partial")
    partial.unlink(missing_ok=True)
    db = PostgresBackend(url, readonly=True)
    try:
        db.dump(str(partial))
        counts = {
            name: int(db.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0])  # noqa: S608 - names from the schema
            for name in db.table_names()
        }
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        db.close()
    os.replace(partial, dest_path)
    return counts
