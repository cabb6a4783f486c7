"""CSV export: one file per kind of record, an HXL hashtag row under each header, and a 3W beside them.

Export reads on its own read-only connection, so it can run while the bot
writes; contacts and coordinators' Discord ids leave only when asked for, and a
spreadsheet never runs a cell as a formula. The files appear together or not at
all: each is written beside its final name and renamed once every one is whole.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterable
from pathlib import Path

from bot.errors import UserError
from bot.geo import Gazetteer, default_gazetteer
from bot.interop.columns import (
    Column,
    event_columns,
    match_columns,
    org_columns,
    post_columns,
    spreadsheet_safe,
    three_w_columns,
)
from bot.interop.three_w import three_w_rows
from bot.models import PostKind
from bot.store import Unavailable, is_url, reading
from bot.store.exports import ExportRows

FILES = ("events", "orgs", "needs", "offers", "matches", "3w")
PARTIAL = ".partial"


def export_dir(
    database: str | Path,
    directory: str | Path,
    *,
    coalition_id: int | None = None,
    include_contacts: bool = False,
    gazetteer: Gazetteer | None = None,
) -> dict[str, int]:
    """Write events, orgs, needs, offers, matches and 3w CSV files for one coalition; return rows per file.

    Contacts and coordinators' Discord ids are left out unless ``include_contacts``.
    A failure leaves nothing behind: no partial file, no folder it created.
    """
    out = Path(directory)
    if not is_url(database) and not Path(database).is_file():
        raise UserError(f"There is no database at {database}: start the bot once, or name one with --database.")
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file; give a folder to export into.")
    gazetteer = gazetteer or default_gazetteer()
    created = not out.exists()
    try:
        with reading(database) as reader:
            return _export(reader.exports, out, coalition_id, include_contacts, gazetteer)
    except Unavailable as exc:
        raise UserError(str(exc)) from None
    except BaseException:
        for name in FILES:
            (out / f"{name}.csv{PARTIAL}").unlink(missing_ok=True)
        if created and out.exists():
            shutil.rmtree(out, ignore_errors=True)
        raise


def _export(
    rows: ExportRows,
    out: Path,
    coalition_id: int | None,
    include_contacts: bool,
    gazetteer: Gazetteer,
) -> dict[str, int]:
    written: dict[str, int] = {}
    chosen = one_coalition(rows.coalition_ids(), coalition_id)
    out.mkdir(parents=True, exist_ok=True)
    needs, offers = list(rows.posts(chosen, "need")), list(rows.posts(chosen, "offer"))
    orgs, matches = list(rows.orgs(chosen)), list(rows.matches(chosen))
    tables: dict[str, tuple[list[Column], Iterable[dict]]] = {
        "events": (event_columns(gazetteer), rows.events(chosen)),
        "orgs": (org_columns(gazetteer), orgs),
        "needs": (post_columns(gazetteer, PostKind.NEED), needs),
        "offers": (post_columns(gazetteer, PostKind.OFFER), offers),
        "matches": (match_columns(), matches),
        "3w": (three_w_columns(gazetteer), three_w_rows(orgs, needs + offers, matches)),
    }
    for name, (columns, found) in tables.items():
        shown = [c for c in columns if include_contacts or not c.private]
        written[name] = _write(out / f"{name}.csv{PARTIAL}", shown, found)
    for name in tables:
        (out / f"{name}.csv{PARTIAL}").replace(out / f"{name}.csv")
    return written


def _write(path: Path, columns: list[Column], rows: Iterable[dict]) -> int:
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([c.header for c in columns])
        writer.writerow([c.hxl for c in columns])
        for row in rows:
            cells = [c.value(row) for c in columns]
            writer.writerow(
                [
                    spreadsheet_safe(v) if isinstance(v, str) and not c.numeric else v
                    for c, v in zip(columns, cells, strict=True)
                ]
            )
            count += 1
    return count


def one_coalition(ids: list[int], coalition_id: int | None) -> int:
    """The coalition to export or import: the one named, or the database's only one."""
    if coalition_id is not None:
        if coalition_id not in ids:
            raise UserError(f"There is no coalition {coalition_id} in this database.")
        return coalition_id
    if len(ids) == 1:
        return ids[0]
    if not ids:
        raise UserError("This database has no coalition yet: run the bot in a server first.")
    raise UserError(f"This database holds several coalitions ({', '.join(map(str, ids))}); name one.")
