"""CSV import of events, orgs, needs, offers and matches: every row checked, then all or nothing.

The import runs in one transaction: each row is checked as the slash commands
would check it and written; any problem rolls everything back and
:class:`ImportRejected` names each file, row and column. Records keep their ids
when they are free (otherwise they are renumbered and the summary says how),
their quantities, statuses and dates, so an export imported into a fresh
database exports the same files again. A record already here is skipped, so
importing a file twice changes nothing. Imported open posts are matched as if
just posted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.core import Core
from bot.errors import CoalesceError, UserError
from bot.interop.export import one_coalition
from bot.interop.reading import RowProblem, Table, read_table, ref_number, whole_number
from bot.interop.records import EVENT_FIELDS, MATCH_FIELDS, ORG_FIELDS, Cells, post_fields
from bot.matching import cell_of
from bot.models import EventStatus, MatchStatus, OrgStatus, PostKind, PostStatus, Urgency
from bot.services import freshness
from bot.services.matches import SYSTEM_ACTOR
from bot.services.proposals import propose_for
from bot.store import Store
from bot.store.imports import EventRecord, MatchRecord, OrgRecord, PostRecord
from bot.store.orgs import name_key

MAX_PROBLEMS = 50
FILES = ("events", "orgs", "needs", "offers", "matches")
_POST_STATUS_ALIASES = {"active": "open", "completed": "fulfilled", "complete": "fulfilled", "canceled": "closed"}


class ImportRejected(CoalesceError):
    """The files hold rows that cannot be imported; nothing was written. ``problems`` names each, one line each."""

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:MAX_PROBLEMS]
        more = f"\n... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        super().__init__("nothing imported:\n" + "\n".join(shown) + more)
        self.problems = problems


@dataclass
class ImportSummary:
    """What an import wrote: rows per file, rows already here, ids that had to change, proposals raised."""

    coalition_id: int
    created_coalition: bool = False
    imported: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FILES, 0))
    already_here: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FILES, 0))
    renumbered: list[str] = field(default_factory=list)
    proposals: int = 0

    def lines(self) -> list[str]:
        new = ", ".join(f"{n} {name}" for name, n in self.imported.items() if n) or "nothing new"
        lines = [f"Imported into coalition {self.coalition_id}: {new}."]
        if any(self.already_here.values()):
            here = ", ".join(f"{n} {name}" for name, n in self.already_here.items() if n)
            lines.append(f"Already here, left as they are: {here}.")
        if self.created_coalition:
            lines.append(f"Coalition {self.coalition_id} was created; a server joins it with /coalition join.")
        if self.renumbered:
            more = f" and {len(self.renumbered) - 20} more" if len(self.renumbered) > 20 else ""
            lines.append("Ids taken here were renumbered: " + ", ".join(self.renumbered[:20]) + more + ".")
        lines.append(f"Matching raised {self.proposals} proposal(s) for the imported open posts.")
        return lines


@dataclass
class _Run:
    core: Core
    coalition_id: int
    actor_id: int
    summary: ImportSummary
    problems: list[str] = field(default_factory=list)
    events: dict[str, tuple[int, str]] = field(default_factory=dict)
    orgs: dict[str, int] = field(default_factory=dict)
    posts: dict[PostKind, dict[int, int]] = field(default_factory=lambda: {PostKind.NEED: {}, PostKind.OFFER: {}})
    to_match: list[int] = field(default_factory=list)

    def note(self, problem: UserError) -> None:
        self.problems.append(problem.message)

    def file_id(self, row: Cells, prefix: str, seen: dict[int, int]) -> int | None:
        if not row.get("id"):
            return None
        value = ref_number(row.get("id"), prefix, row.table, row.row, "id")
        if value in seen:
            raise row.problem("id", f"{row.get('id')[:20]} is already on row {seen[value]}; ids must not repeat.")
        seen[value] = row.row
        return value

    def local_id(self, table: str, wanted: int | None) -> int | None:
        """The id to write: the file's when free here, else None (a new one)."""
        if wanted is None or not self.core.store.imports.id_taken(table, wanted):
            return wanted
        return None

    def written(self, prefix: str, file_id: int | None, new_id: int) -> None:
        """Report a record whose id here differs from the file's (``N-3 -> N-17``)."""
        if file_id is not None and new_id != file_id:
            self.summary.renumbered.append(f"{prefix}{file_id} -> {prefix}{new_id}")


def import_dir(
    core: Core,
    directory: str | Path,
    *,
    coalition_id: int | None = None,
    actor_id: int = 0,
    coalition_name: str | None = None,
) -> ImportSummary:
    """Import events.csv, orgs.csv, needs.csv, offers.csv and matches.csv (whichever exist) into one coalition.

    A database with no coalition gets one. Raises :class:`ImportRejected` with one
    line per problem and writes nothing when any row is wrong.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise ImportRejected([f"{folder}: no such folder to import from."])
    present = {name: folder / f"{name}.csv" for name in FILES if (folder / f"{name}.csv").is_file()}
    if not present:
        raise ImportRejected([f"{folder}: no events.csv, orgs.csv, needs.csv, offers.csv or matches.csv to import"])
    tables: dict[str, Table] = {}
    problems: list[str] = []
    for name, path in present.items():
        fields = {"events": EVENT_FIELDS, "orgs": ORG_FIELDS, "matches": MATCH_FIELDS}.get(name) or post_fields(
            name[:-1]
        )
        try:
            tables[name] = read_table(path, fields)
        except RowProblem as exc:
            problems.append(str(exc))
        except OSError as exc:
            problems.append(f"{path.name}: cannot be read ({exc.strerror or exc}).")
    if problems:
        raise ImportRejected(problems)
    # The coalitions an export would offer: not the empty shell a server leaves when it joins another.
    ids = core.store.exports.coalition_ids()
    with core.store.atomic():
        if not ids and coalition_id is None:
            settings, now = core.settings, core.clock()
            chosen = core.store.imports.create_coalition(
                coalition_name or f"Imported from {folder.resolve().name}"[:80],
                timezone=settings.default_timezone,
                digest_times=settings.default_digest_times,
                now=now,
            )
            summary = ImportSummary(chosen, created_coalition=True)
        else:
            summary = ImportSummary(one_coalition(ids, coalition_id))
        run = _Run(core, summary.coalition_id, actor_id, summary)
        run.events = core.store.imports.events_by_name(run.coalition_id)
        for name, step in (("events", _events), ("orgs", _orgs), ("needs", _posts), ("offers", _posts)):
            if name in tables:
                step(run, tables[name])
        if "matches" in tables:
            _matches(run, tables["matches"])
        if run.problems:
            raise ImportRejected(run.problems)
    # The records are in. Matching them runs one post per transaction, as posting does, so a bot serving
    # from the same database never waits on the whole import for its own writes.
    now = core.clock()
    for post_id in run.to_match:
        with core.store.atomic():
            imported = core.store.posts.get(post_id)
            if imported is not None:
                # Whoever imports restates the post: it stands as of now and is asked about after its window.
                freshness.start(core, imported, now)
            summary.proposals += len(propose_for(core, post_id, now))
    with core.store.atomic():
        core.store.audit.record(
            run.coalition_id, actor_id, "interop.import", folder.name, now, **summary.imported,
            proposals=summary.proposals,
        )  # fmt: skip
    return summary


def import_into(database: str | Path, directory: str | Path, *, coalition_id: int | None = None) -> ImportSummary:
    """:func:`import_dir` on the database at ``database`` (for ``python run.py import DIR``)."""
    store = Store(database)
    try:
        return import_dir(Core(store=store), directory, coalition_id=coalition_id)
    finally:
        store.close()


def _events(run: _Run, table: Table) -> None:
    now, imports = run.core.clock(), run.core.store.imports
    seen: dict[int, int] = {}
    for number, cells in table.rows:
        row = Cells(table, number, cells)
        try:
            file_id = run.file_id(row, "E", seen)
            name = row.text("crisis", "crisis name", max_length=80)
            place = row.place(run.core.gazetteer, required=False)
            status = EventStatus(row.choice("status", {s.value for s in EventStatus}, "open", "status"))
            record = EventRecord(
                name=name, place_key=place.key if place else None, place_label=place.label if place else "",
                lat=place.lat if place else None, lon=place.lon if place else None,
                radius_km=row.number("radius_km", low=1, high=20_000, default=run.core.settings.default_radius_km),
                status=status, opened_at=row.moment("opened", now=now) or now,
                closed_at=row.moment("closed", now=now) if status is EventStatus.CLOSED else None,
            )  # fmt: skip
        except UserError as exc:
            run.note(exc)
            continue
        existing = imports.same_event(run.coalition_id, name, record.opened_at if row.get("opened") else None)
        if existing is None and status is EventStatus.OPEN:
            existing = imports.same_event(run.coalition_id, name, None)
        if existing is not None:
            run.summary.already_here["events"] += 1
            event_id = existing
        else:
            wanted = run.local_id("events", file_id)
            event_id = imports.insert_event(run.coalition_id, record, event_id=wanted, actor_id=run.actor_id)
            run.written("E-", file_id, event_id)
            run.summary.imported["events"] += 1
        key = name_key(name)
        if key not in run.events or run.events[key][1] != "open" or status is EventStatus.OPEN:
            run.events[key] = (event_id, status.value)


def _orgs(run: _Run, table: Table) -> None:
    from bot.services.orgs import MAX_CONTACT, MAX_DESCRIPTION, MAX_NAME

    core, now = run.core, run.core.clock()
    seen: dict[int, int] = {}
    for number, cells in table.rows:
        row = Cells(table, number, cells)
        try:
            file_id = run.file_id(row, "", seen)
            name = row.text("name", "organisation name", max_length=MAX_NAME)
            if name_key(name) in run.orgs:
                raise row.problem("name", f"{name} is already on an earlier row.")
            sectors = row.sectors("sectors")
            place = row.place(core.gazetteer)
            assert place is not None  # noqa: S101 - required=True raises instead
            status = OrgStatus(row.choice("status", {s.value for s in OrgStatus}, "pending", "status"))
            registered = row.moment("registered", now=now)
            record = OrgRecord(
                name=name, sectors=sectors, place_key=place.key, place_label=place.label, lat=place.lat,
                lon=place.lon, contact=row.text("contact", "contact", max_length=MAX_CONTACT, required=False),
                description=row.text("description", "description", max_length=MAX_DESCRIPTION, required=False,
                                     multiline=True),
                status=status, created_at=registered or now,
                verified_at=(row.moment("verified", now=now) or now) if status is OrgStatus.VERIFIED else None,
            )  # fmt: skip
            coordinators = _user_ids(row)
            existing = core.store.orgs.by_name(run.coalition_id, name)
            if existing is not None:
                same = existing.created_at == registered if registered else existing.sectors == sectors
                if not same:
                    raise row.problem("name", f"An organisation called {name} is already registered here.")
        except UserError as exc:
            run.note(exc)
            continue
        if existing is not None:
            run.orgs[name_key(name)] = existing.id
            run.summary.already_here["orgs"] += 1
            continue
        wanted = run.local_id("orgs", file_id)
        org_id = core.store.imports.insert_org(run.coalition_id, record, org_id=wanted, actor_id=run.actor_id)
        run.written("org ", file_id, org_id)
        for member in coordinators:
            core.store.orgs.add_member(org_id, member, added_by=run.actor_id, now=now)
        core.store.audit.record(run.coalition_id, run.actor_id, "org.import", f"org:{org_id}", now, name=name)
        run.orgs[name_key(name)] = org_id
        run.summary.imported["orgs"] += 1


def _user_ids(row: Cells) -> tuple[int, ...]:
    text = row.get("coordinators").replace(",", ";")
    return tuple(
        whole_number(part.strip(), row.table, row.row, "coordinators", low=1, high=2**63 - 1, what="A Discord id")
        for part in text.split(";")
        if part.strip()
    )


def _posts(run: _Run, table: Table) -> None:
    from bot.services.personal_data import refuse_personal_data
    from bot.services.posts import MAX_NOTES, MAX_QUANTITY, MAX_UNIT
    from bot.taxonomy import MAX_ITEM_TEXT

    kind = PostKind.NEED if table.name.startswith("need") else PostKind.OFFER
    core, now = run.core, run.core.clock()
    zone = ZoneInfo(core.store.coalitions.get(run.coalition_id).timezone)
    seen: dict[int, int] = {}
    for number, cells in table.rows:
        row = Cells(table, number, cells)
        try:
            file_id = run.file_id(row, kind.prefix, seen)
            org_name = row.text("org", "org", max_length=80)
            org_id = run.orgs.get(name_key(org_name))
            org = core.store.orgs.get(org_id) if org_id else core.store.orgs.by_name(run.coalition_id, org_name)
            if org is None:
                raise row.problem("org", f"No organisation called {org_name} is registered here or in orgs.csv.")
            status_text = _POST_STATUS_ALIASES.get(row.get("status").casefold(), row.get("status"))
            row.cells["status"] = status_text
            status = PostStatus(row.choice("status", {s.value for s in PostStatus}, "open", "status"))
            is_open = status is PostStatus.OPEN
            if is_open and not org.is_verified:
                raise row.problem("org", f"{org_name} is not verified; only verified organisations post.")
            event_id = _event_for(run, row, open_post=is_open)
            sector = row.sector("sector")
            code = row.get("item_code")
            catalogue_item = core.taxonomy.get(code) if code else None
            if catalogue_item is not None:
                item_key, item_label, sector = catalogue_item.key, catalogue_item.label, catalogue_item.sector
            else:
                try:
                    item = core.taxonomy.resolve_item(row.text("item", "item", max_length=MAX_ITEM_TEXT), sector)
                except UserError as exc:
                    raise row.problem("item", exc.message) from None
                item_key, item_label, sector = item.key, item.label, item.sector or sector
                catalogue_item = core.taxonomy.get(item_key)
            quantity = whole_number(row.get("quantity"), table, number, "quantity", low=1, high=MAX_QUANTITY,
                                    what="The quantity")  # fmt: skip
            remaining = quantity
            if row.get("remaining"):
                remaining = whole_number(row.get("remaining"), table, number, "remaining", low=0, high=quantity,
                                         what="What remains")  # fmt: skip
            unit = row.text("unit", "unit", max_length=MAX_UNIT, required=False) or (
                catalogue_item.unit if catalogue_item else "units"
            )
            place = row.place(core.gazetteer)
            assert place is not None  # noqa: S101 - required=True raises instead
            urgency = Urgency(row.choice("urgency", {u.value for u in Urgency}, "normal", "urgency"))
            notes = row.text("notes", "notes", max_length=MAX_NOTES, required=False, multiline=True)
            try:
                refuse_personal_data(notes, "notes")
            except UserError as exc:
                raise row.problem("notes", exc.message) from None
            event = core.store.events.get(event_id)
            assert event is not None  # noqa: S101 - found or inserted above
            record = PostRecord(
                kind=kind, event_id=event_id, org_id=org.id, sector=sector, item_key=item_key, item_label=item_label,
                quantity=quantity, remaining=remaining, unit=unit, place_key=place.key, place_label=place.label,
                lat=place.lat, lon=place.lon, urgency=urgency,
                deadline=row.deadline("deadline", zone=zone, now=now, open_post=is_open), notes=notes, status=status,
                created_at=row.moment("posted", now=now) or now,
                closed_at=None if is_open else row.moment("closed", now=now) or now,
                cell=cell_of(place.lat, place.lon, event.radius_km),
            )  # fmt: skip
        except UserError as exc:
            run.note(exc)
            continue
        existing = core.store.imports.same_post(run.coalition_id, record, posted_known=bool(row.get("posted")))
        if existing is not None:
            run.summary.already_here[table.name[:-4]] += 1
            post_id = existing
        else:
            wanted = run.local_id("posts", file_id)
            post_id = core.store.imports.insert_post(run.coalition_id, record, post_id=wanted, actor_id=run.actor_id)
            run.written(f"{kind.prefix}-", file_id, post_id)
            core.store.audit.record(
                run.coalition_id, run.actor_id, f"{kind.value}.import", f"post:{kind.prefix}-{post_id}", now,
                org=org.id,
            )  # fmt: skip
            run.summary.imported[table.name[:-4]] += 1
            if is_open and remaining > 0:
                run.to_match.append(post_id)
        if file_id is not None:
            run.posts[kind][file_id] = post_id


def _event_for(run: _Run, row: Cells, *, open_post: bool) -> int:
    """The post's event by name; a coalition this import created opens the events its posts name."""
    name = row.text("crisis", "crisis", max_length=80)
    found = run.events.get(name_key(name))
    if found is None and run.summary.created_coalition:
        now = run.core.clock()
        record = EventRecord(name, None, "", None, None, run.core.settings.default_radius_km, EventStatus.OPEN, now,
                             None)  # fmt: skip
        event_id = run.core.store.imports.insert_event(run.coalition_id, record, event_id=None, actor_id=run.actor_id)
        run.summary.imported["events"] += 1
        found = run.events[name_key(name)] = (event_id, "open")
    if found is None or (open_post and found[1] != "open"):
        raise row.problem("crisis", f"No open event called {name}; open it with /event open first.")
    return found[0]


def _matches(run: _Run, table: Table) -> None:
    from bot.services.posts import MAX_QUANTITY

    core, now = run.core, run.core.clock()
    seen: dict[int, int] = {}
    for number, cells in table.rows:
        row = Cells(table, number, cells)
        try:
            file_id = run.file_id(row, "M", seen)
            sides = []
            for column, kind in (("need", PostKind.NEED), ("offer", PostKind.OFFER)):
                ref = ref_number(row.get(column), kind.prefix, table, number, column)
                post_id = run.posts[kind].get(ref)
                post = core.store.posts.get(post_id if post_id is not None else ref)
                if post is None or post.kind is not kind or post.coalition_id != run.coalition_id:
                    raise row.problem(column, f"{kind.prefix}-{ref} is not in {kind.value}s.csv or in this coalition.")
                sides.append(post)
            need, offer = sides
            status = row.choice("status", {s.value for s in MatchStatus}, "proposed", "status")
            quantity = whole_number(row.get("quantity") or "0", table, number, "quantity", low=0, high=MAX_QUANTITY,
                                    what="The quantity")  # fmt: skip
            record = MatchRecord(
                event_id=need.event_id, need_id=need.id, offer_id=offer.id,
                score=row.number("score", low=0, high=10, default=0.0),
                distance_km=row.number("distance_km", low=0, high=40_100, default=0.0),
                quantity=quantity,
                offer_quantity=whole_number(row.get("offer_quantity") or str(quantity), table, number,
                                            "offer_quantity", low=0, high=MAX_QUANTITY, what="The offer's quantity"),
                status=status, created_at=row.moment("proposed", now=now) or now,
                committed_at=row.moment("committed", now=now), delivered_at=row.moment("delivered", now=now),
                closed_at=row.moment("closed", now=now) or (row.moment("delivered", now=now)
                                                            if status == "delivered" else None),
            )  # fmt: skip
        except UserError as exc:
            run.note(exc)
            continue
        if core.store.imports.match_of_pair(need.id, offer.id) is not None:
            run.summary.already_here["matches"] += 1
            continue
        wanted = run.local_id("matches", file_id)
        match_id = core.store.imports.insert_match(run.coalition_id, record, match_id=wanted, actor_id=run.actor_id)
        run.written("M-", file_id, match_id)
        core.store.audit.record(run.coalition_id, SYSTEM_ACTOR, "match.import", f"match:{match_id}", now)
        run.summary.imported["matches"] += 1
