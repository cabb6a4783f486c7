"""CSV import of orgs, needs and offers: every row checked as the slash commands would, then all or nothing."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import from_iso
from bot.core import Core
from bot.errors import CoalesceError, UserError
from bot.interop.columns import org_columns, post_columns, unsafe_undone
from bot.interop.export import one_coalition
from bot.matching import cell_of
from bot.models import EventStatus, OrgStatus, PostKind, Urgency
from bot.store import Store
from bot.store.orgs import name_key
from bot.store.posts import NewPost
from bot.taxonomy import sector_by_key
from bot.validation import check_deadline, clean_text, parse_deadline

MAX_PROBLEMS = 50


class ImportRejected(CoalesceError):
    """The files hold rows that cannot be imported; nothing was written. ``problems`` names each."""

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:MAX_PROBLEMS]
        more = f"\n... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        super().__init__("nothing imported:\n" + "\n".join(shown) + more)
        self.problems = problems


@dataclass
class _Table:
    """A CSV file read for import: each row as {header: text}, with the line it came from."""

    name: str
    rows: list[tuple[int, dict[str, str]]]


def read_table(path: Path, headers: dict[str, str]) -> _Table:
    """Rows keyed by our header names; a column is found by its header or by its HXL tag."""
    text = path.read_text(encoding="utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    if not lines:
        return _Table(path.name, [])
    header = [h.strip().casefold() for h in lines[0]]
    body_start = 1
    tags = header
    if len(lines) > 1 and all(cell.strip().startswith("#") for cell in lines[1] if cell.strip()):
        tags = [t.strip().casefold().replace(" ", "") for t in lines[1]]
        body_start = 2
    position: dict[str, int] = {}
    for ours, hxl in headers.items():
        if ours in header:
            position[ours] = header.index(ours)
        elif hxl.casefold() in tags:
            position[ours] = tags.index(hxl.casefold())
    rows = []
    for offset, cells in enumerate(lines[body_start:], start=body_start + 1):
        if not any(cell.strip() for cell in cells):
            continue
        rows.append(
            (offset, {ours: unsafe_undone(cells[i]).strip() if i < len(cells) else "" for ours, i in position.items()})
        )
    return _Table(path.name, rows)


@dataclass(frozen=True, slots=True)
class _OrgRow:
    name: str
    sectors: tuple[str, ...]
    place_key: str
    place_label: str
    lat: float
    lon: float
    contact: str
    description: str
    verified: bool
    coordinators: tuple[int, ...]


def import_dir(core: Core, directory: str | Path, *, coalition_id: int | None = None, actor_id: int = 0) -> dict:
    """Import orgs.csv, needs.csv and offers.csv (whichever exist) into one coalition, in one transaction.

    Every row is checked first, as the slash commands would check it; any problem
    raises :class:`ImportRejected` naming each file and line, and nothing is
    written. Posts name their org (registered before, or in orgs.csv) and an open
    event by name. Returns the rows imported per file.
    """
    folder = Path(directory)
    present = {
        name: folder / f"{name}.csv" for name in ("orgs", "needs", "offers") if (folder / f"{name}.csv").exists()
    }
    if not present:
        raise ImportRejected([f"{folder}: no orgs.csv, needs.csv or offers.csv to import"])
    coalition = core.store.coalitions.get(one_coalition(core.store.coalitions.ids(), coalition_id))
    problems: list[str] = []
    new_orgs: list[tuple[int, _OrgRow]] = []
    if "orgs" in present:
        table = read_table(present["orgs"], {c.header: c.hxl for c in org_columns(core.gazetteer)})
        new_orgs = _check_orgs(core, coalition.id, table, problems)
    posts: dict[PostKind, list[tuple[int, dict]]] = {}
    known_orgs = {name_key(row.name): row for _, row in new_orgs}
    for kind, name in ((PostKind.NEED, "needs"), (PostKind.OFFER, "offers")):
        if name in present:
            table = read_table(present[name], {c.header: c.hxl for c in post_columns(core.gazetteer, kind)})
            posts[kind] = _check_posts(core, coalition, kind, table, known_orgs, problems)
    if problems:
        raise ImportRejected(problems)
    now = core.clock()
    counts = {"orgs": 0, "needs": 0, "offers": 0}
    with core.store.atomic():
        for _, row in new_orgs:
            org_id = _insert_org(core, coalition.id, row, actor_id, now)
            core.store.audit.record(coalition.id, actor_id, "org.import", f"org:{org_id}", now, name=row.name)
            counts["orgs"] += 1
        for kind, rows in posts.items():
            for _, values in rows:
                org = core.store.orgs.by_name(coalition.id, values.pop("org_name"))
                assert org is not None  # noqa: S101 - checked above, or inserted just before
                post_id = core.store.posts.insert(NewPost(org_id=org.id, posted_by=actor_id, **values), now)
                core.store.audit.record(
                    coalition.id, actor_id, f"{kind.value}.import", f"post:{kind.prefix}-{post_id}", now, org=org.id
                )
                counts["needs" if kind is PostKind.NEED else "offers"] += 1
        core.store.audit.record(coalition.id, actor_id, "interop.import", str(folder.name), now, **counts)
    return counts


def import_into(database: str | Path, directory: str | Path, *, coalition_id: int | None = None) -> dict:
    """:func:`import_dir` on the database at ``database`` (for ``python run.py import DIR``)."""
    store = Store(database)
    try:
        return import_dir(Core(store=store), directory, coalition_id=coalition_id)
    finally:
        store.close()


def _check_orgs(core: Core, coalition_id: int, table: _Table, problems: list[str]) -> list[tuple[int, _OrgRow]]:
    from bot.services.orgs import MAX_CONTACT, MAX_DESCRIPTION, MAX_NAME

    checked: list[tuple[int, _OrgRow]] = []
    seen: set[str] = set()
    for line, cells in table.rows:
        try:
            name = clean_text(cells.get("name"), "organisation name", max_length=MAX_NAME)
            if name_key(name) in seen or core.store.orgs.by_name(coalition_id, name) is not None:
                raise UserError(f"An organisation called {name} is already registered here.")
            raw_sectors = [s for s in cells.get("sectors", "").replace(",", ";").split(";") if s.strip()]
            if not raw_sectors:
                raise UserError("List at least one sector, separated by semicolons (e.g. wash;shelter).")
            sectors = tuple(dict.fromkeys(sector_by_key(s).key for s in raw_sectors))
            place = core.gazetteer.resolve(cells.get("place", ""))
            contact = clean_text(cells.get("contact"), "contact", max_length=MAX_CONTACT, required=False)
            description = clean_text(
                cells.get("description"), "description", max_length=MAX_DESCRIPTION, required=False
            )
            status = (cells.get("status") or "pending").casefold()
            if status not in {s.value for s in OrgStatus}:
                raise UserError(f"The status must be pending or verified, not {status[:20]}.")
            coordinators = tuple(
                int(c) for c in cells.get("coordinators", "").replace(",", ";").split(";") if c.strip()
            )
        except UserError as exc:
            problems.append(f"{table.name} line {line}: {exc.message}")
            continue
        except ValueError:
            problems.append(f"{table.name} line {line}: coordinators must be Discord user ids separated by ';'.")
            continue
        seen.add(name_key(name))
        verified = status == OrgStatus.VERIFIED.value
        row = _OrgRow(name, sectors, place.key, place.label, place.lat, place.lon, contact, description, verified,
                      coordinators)  # fmt: skip
        checked.append((line, row))
    return checked


def _check_posts(
    core: Core, coalition, kind: PostKind, table: _Table, new_orgs: dict[str, _OrgRow], problems: list[str]
) -> list[tuple[int, dict]]:
    from bot.services.posts import MAX_NOTES, MAX_QUANTITY, MAX_UNIT, refuse_personal_data
    from bot.taxonomy import MAX_ITEM_TEXT

    now = core.clock()
    zone = ZoneInfo(coalition.timezone)
    checked: list[tuple[int, dict]] = []
    for line, cells in table.rows:
        try:
            org_name = clean_text(cells.get("org"), "org", max_length=80)
            existing = core.store.orgs.by_name(coalition.id, org_name)
            pending = new_orgs.get(name_key(org_name))
            if existing is None and pending is None:
                raise UserError(f"No organisation called {org_name} is registered here or in orgs.csv.")
            if not (existing.is_verified if existing is not None else pending.verified):  # type: ignore[union-attr]
                raise UserError(f"{org_name} is not verified; only verified organisations post.")
            event_name = clean_text(cells.get("event"), "event", max_length=80)
            event = core.store.events.open_by_name(coalition.id, event_name)
            if event is None or event.status is not EventStatus.OPEN:
                raise UserError(f"No open event called {event_name}.")
            sector = sector_by_key(cells.get("sector", "")).key
            item = core.taxonomy.resolve_item(clean_text(cells.get("item"), "item", max_length=MAX_ITEM_TEXT), sector)
            quantity_text = cells.get("quantity", "")
            if not quantity_text.isdigit() or not 1 <= int(quantity_text) <= MAX_QUANTITY:
                raise UserError(f"The quantity must be a whole number from 1 to {MAX_QUANTITY:,}.")
            catalogue_item = core.taxonomy.get(item.key)
            unit = clean_text(cells.get("unit"), "unit", max_length=MAX_UNIT, required=False) or (
                catalogue_item.unit if catalogue_item else "units"
            )
            place = core.gazetteer.resolve(cells.get("place", ""))
            urgency_text = (cells.get("urgency") or "normal").casefold()
            if urgency_text not in {u.value for u in Urgency}:
                raise UserError("The urgency must be critical, high, normal or low.")
            deadline = _deadline(cells.get("deadline", ""), zone=zone, now=now)
            notes = clean_text(cells.get("notes"), "notes", max_length=MAX_NOTES, required=False, multiline=True)
            refuse_personal_data(notes, "notes")
            status = (cells.get("status") or "open").casefold()
            if status != "open":
                raise UserError("Only open posts can be imported; leave closed ones out.")
        except UserError as exc:
            problems.append(f"{table.name} line {line}: {exc.message}")
            continue
        checked.append(
            (
                line,
                {
                    "org_name": org_name, "kind": kind, "coalition_id": coalition.id, "event_id": event.id,
                    "sector": item.sector or sector, "item_key": item.key, "item_label": item.label,
                    "quantity": int(quantity_text), "unit": unit, "place_key": place.key,
                    "place_label": place.label, "lat": place.lat, "lon": place.lon, "urgency": Urgency(urgency_text),
                    "deadline": deadline, "notes": notes, "cell": cell_of(place.lat, place.lon, event.radius_km),
                },
            )
        )  # fmt: skip
    return checked


def _deadline(text: str, *, zone: ZoneInfo, now: datetime) -> datetime | None:
    """An exported ISO moment ("2026-12-03T18:00:00+00:00") or what a person types ("2026-12-03")."""
    text = text.strip()
    if "+" in text[10:] or text.endswith("Z"):
        try:
            moment = from_iso(text.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None:
            return check_deadline(moment, zone=zone, now=now, field="deadline", text=text)
    return parse_deadline(text, zone=zone, now=now, field="deadline")


def _insert_org(core: Core, coalition_id: int, row: _OrgRow, actor_id: int, now: datetime) -> int:
    """The org, its coordinators (none when the file names none), and its verification if the file says so."""
    registrant = row.coordinators[0] if row.coordinators else actor_id
    org_id = core.store.orgs.insert(
        coalition_id,
        name=row.name,
        sectors=row.sectors,
        place_key=row.place_key,
        place_label=row.place_label,
        lat=row.lat,
        lon=row.lon,
        contact=row.contact,
        description=row.description,
        registered_by=registrant,
        now=now,
        registrant_is_member=bool(row.coordinators),
    )
    for member in row.coordinators[1:]:
        core.store.orgs.add_member(org_id, member, added_by=actor_id, now=now)
    if row.verified:
        core.store.orgs.verify(org_id, actor_id, now)
    return org_id
