"""CSV export: one file per kind of record, an HXL hashtag row under each header.

Export reads on its own read-only connection, so it can run while the bot
writes; contacts and coordinators' Discord ids leave only when asked for, and a
spreadsheet never runs a cell as a formula.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from bot.errors import UserError
from bot.geo import Gazetteer, default_gazetteer
from bot.interop.columns import Column, match_columns, org_columns, post_columns, spreadsheet_safe
from bot.models import PostKind
from bot.store import connect
from bot.store.exports import ExportRows

FILES = ("orgs", "needs", "offers", "matches")


def export_dir(
    database: str | Path,
    directory: str | Path,
    *,
    coalition_id: int | None = None,
    include_contacts: bool = False,
    gazetteer: Gazetteer | None = None,
) -> dict[str, int]:
    """Write orgs.csv, needs.csv, offers.csv and matches.csv for one coalition; return rows written per file.

    Contacts and coordinators' Discord ids are left out unless ``include_contacts``.
    """
    gazetteer = gazetteer or default_gazetteer()
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    db = connect(database, readonly=True)
    try:
        rows = ExportRows(db)
        chosen = one_coalition(rows.coalition_ids(), coalition_id)
        tables: dict[str, tuple[list[Column], Iterable[dict]]] = {
            "orgs": (org_columns(gazetteer), rows.orgs(chosen)),
            "needs": (post_columns(gazetteer, PostKind.NEED), rows.posts(chosen, "need")),
            "offers": (post_columns(gazetteer, PostKind.OFFER), rows.posts(chosen, "offer")),
            "matches": (match_columns(), rows.matches(chosen)),
        }
        written = {}
        for name, (columns, found) in tables.items():
            shown = [c for c in columns if include_contacts or not c.private]
            written[name] = _write(out / f"{name}.csv", shown, found)
        return written
    finally:
        db.close()


def _write(path: Path, columns: list[Column], rows: Iterable[dict]) -> int:
    partial = path.with_name(path.name + ".partial")
    count = 0
    with partial.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([c.header for c in columns])
        writer.writerow([c.hxl for c in columns])
        for row in rows:
            cells = [c.value(row) for c in columns]
            writer.writerow([spreadsheet_safe(v) if isinstance(v, str) else v for v in cells])
            count += 1
    partial.replace(path)
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
