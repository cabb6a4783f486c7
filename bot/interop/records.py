"""Each import file's fields and the checks of one cell, as strict as the slash commands that write the same data.

Every check raises a :class:`~bot.interop.reading.RowProblem` naming the file,
row and column, so a person can find and fix the cell.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.errors import UnknownPlace, UserError
from bot.geo import KEY_PREFIX, Gazetteer, Place, distance_km
from bot.interop.clusters import sector_of, sectors_of
from bot.interop.reading import Field, Table
from bot.validation import clean_text, parse_deadline

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_AHEAD = timedelta(days=3653)  # moments up to ten years ahead
SAME_PLACE_KM = 50  # a town named beside coordinates is taken when it lies this close to them

PLACE_FIELDS = [
    Field("place", ("#loc+name", "#loc-code"), ("location", "town")),
    Field("geonames_id", ("#loc+code+v_geonames",)),
    Field("lat", ("#geo+lat",), ("latitude",)),
    Field("lon", ("#geo+lon",), ("longitude",)),
]
EVENT_FIELDS = [
    Field("id", ("#meta+id",)),
    Field("crisis", ("#crisis+name", "#crisis-code", "#event+name"), ("event", "name")),
    *PLACE_FIELDS,
    Field("radius_km", ("#indicator+num+radius_km",)),
    Field("status", ("#status+code", "#status")),
    Field("opened", ("#date+start",)),
    Field("closed", ("#date+end",)),
]
ORG_FIELDS = [
    Field("id", ("#org+code", "#org+id")),
    Field("name", ("#org+name", "#org-code-id-url"), ("organisation", "organization", "org")),
    Field("sectors", ("#sector+list", "#sector-code"), ("sector", "cluster", "clusters")),
    *PLACE_FIELDS,
    Field("status", ("#status+code", "#status")),
    Field("registered", ("#date+reported",)),
    Field("verified", ("#date+approved",)),
    Field("description", ("#description",)),
    Field("contact", ("#contact-discord",)),
    Field("coordinators", ("#contact+discord",)),
]


def post_fields(kind: str) -> list[Field]:
    amount = "#need" if kind == "need" else "#capacity"
    fields = [
        Field("id", ("#meta+id",)),
        Field("crisis", ("#crisis+name", "#crisis-code", "#event+name"), ("event",)),
        Field("org", ("#org+name", "#org-code-id-url"), ("organisation", "organization")),
        Field("sector", ("#sector+name", "#sector-code-list", "#sector"), ("cluster",)),
        Field("item", ("#item+name", "#item-code-unit"), ("item",)),
        Field("item_code", ("#item+code",)),
        Field("quantity", (f"{amount}+num-remaining", "#value+quantity", "#indicator+num+quantity"), ("qty",)),
        Field("remaining", (f"{amount}+num+remaining", "#value+remaining")),
        Field("delivered", ("#output+num",)),
        Field("unit", ("#item+unit", "#meta+unit"), ("units",)),
        *PLACE_FIELDS,
        Field("deadline", ("#date+end", "#date+deadline", "#date+until"), ("needed_by", "available_until")),
        Field("notes", ("#description",)),
        Field("status", ("#status+code", "#status")),
        Field("posted", ("#date+reported", "#date+posted")),
        Field("closed", ("#date+closed",)),
    ]
    if kind == "need":
        fields.append(Field("urgency", ("#severity+code", "#severity"), ("priority",)))
    return fields


MATCH_FIELDS = [
    Field("id", ("#meta+id",)),
    Field("need", ("#meta+need",)),
    Field("offer", ("#meta+offer",)),
    Field("quantity", ("#indicator+num+quantity-offer", "#value")),
    Field("offer_quantity", ("#indicator+num+quantity+offer",)),
    Field("distance_km", ("#indicator+num+distance_km",)),
    Field("score", ("#indicator+num+score",)),
    Field("status", ("#status+code", "#status")),
    Field("proposed", ("#date+reported", "#date+proposed")),
    Field("committed", ("#date+approved", "#date+committed")),
    Field("delivered", ("#date+end", "#date+delivered")),
    Field("closed", ("#date+canceled",)),
]


class Cells:
    """One row's cells with the checks that name this row and column when they fail."""

    def __init__(self, table: Table, row: int, cells: dict[str, str]) -> None:
        self.table, self.row, self.cells = table, row, cells

    def get(self, name: str) -> str:
        return self.cells.get(name, "")

    def problem(self, column: str, message: str) -> UserError:
        return self.table.problem(self.row, column, message)

    def text(self, name: str, what: str, *, max_length: int, required: bool = True, multiline: bool = False) -> str:
        try:
            return clean_text(self.get(name), what, max_length=max_length, required=required, multiline=multiline)
        except UserError as exc:
            raise self.problem(name, exc.message) from None

    def choice(self, name: str, allowed: set[str], default: str, what: str) -> str:
        value = (self.get(name) or default).casefold()
        if value not in allowed:
            raise self.problem(name, f"the {what} must be one of {', '.join(sorted(allowed))}, not “{value[:20]}”.")
        return value

    def number(self, name: str, *, low: float, high: float, default: float | None = None) -> float:
        text = self.get(name)
        if not text and default is not None:
            return default
        try:
            value = float(text)
        except ValueError:
            raise self.problem(name, f"“{text[:20]}” is not a number.") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise self.problem(name, f"{text[:20]} is out of range ({low:g} to {high:g}).")
        return value

    def moment(self, name: str, *, now: datetime, required: bool = False) -> datetime | None:
        """An ISO 8601 moment with its offset (as exported), or a date; within 2000 and ten years ahead."""
        text = self.get(name)
        if not text:
            if required:
                raise self.problem(name, "a date is needed here.")
            return None
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise self.problem(
                name, f"“{text[:30]}” is not a date (write 2026-12-03 or 2026-12-03T18:00:00+00:00)."
            ) from None
        try:
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        except OverflowError:  # year 1 or 9999 shifted by its offset leaves the calendar
            moment = None
        if moment is None or not EARLIEST <= moment <= now + LATEST_AHEAD:
            raise self.problem(name, f"{text[:30]} is outside 2000 to ten years from now.")
        return moment

    def deadline(self, name: str, *, zone: ZoneInfo, now: datetime, open_post: bool) -> datetime | None:
        """An exported moment as it is; a date a person typed is read as the slash command reads it."""
        text = self.get(name)
        if re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?([+-]\d\d:\d\d|Z)", text) or not open_post:
            return self.moment(name, now=now)
        try:
            return parse_deadline(text, zone=zone, now=now, field=name)
        except UserError as exc:
            raise self.problem(name, exc.message) from None

    def sector(self, name: str) -> str:
        try:
            return sector_of(self.get(name))
        except UserError as exc:
            raise self.problem(name, exc.message) from None

    def sectors(self, name: str) -> tuple[str, ...]:
        try:
            found = sectors_of(self.get(name))
        except UserError as exc:
            raise self.problem(name, exc.message) from None
        if not found:
            raise self.problem(name, "name at least one cluster or sector.")
        return found

    def place(self, gazetteer: Gazetteer, *, required: bool = True) -> Place | None:
        """The town by GeoNames id, else by name; else the coordinates themselves, labelled with the name given."""
        code = self.get("geonames_id")
        if code:
            if not re.fullmatch(r"[0-9]{1,12}", code) or gazetteer.get(KEY_PREFIX + code) is None:
                raise self.problem("geonames_id", f"{code[:20]} is not the GeoNames id of a town we know.")
            return gazetteer.get(KEY_PREFIX + code)
        text = self.text("place", "place", max_length=100, required=False)
        point = None
        if self.get("lat") or self.get("lon"):
            point = self.number("lat", low=-90, high=90), self.number("lon", low=-180, high=180)
        if text:
            try:
                town = gazetteer.resolve(text)
            except UnknownPlace as exc:
                if point is None:
                    raise self.problem("place", exc.message) from None
            else:
                # A camp or site named like a far-away town ("Camp Esperanza") is where its coordinates say.
                if point is None or distance_km(town.lat, town.lon, *point) <= SAME_PLACE_KM:
                    return town
        if point is not None:
            lat, lon = point
            label = text or f"{lat:.4f}, {lon:.4f}"
            return Place(f"geo:{lat:.5f},{lon:.5f}", label, label, lat, lon, "", "", 0)
        if required:
            raise self.problem("place", "give a town (#loc+name), its GeoNames id, or #geo+lat and #geo+lon.")
        return None
