"""The CSV columns of each file and their HXL hashtags, shared by export and import.

HXL (the Humanitarian Exchange Language) tags each column (``#org+name``,
``#sector``, ``#geo+lat`` ...) so the files drop into humanitarian tools.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.geo import Gazetteer
from bot.models import PostKind

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """Text a spreadsheet will not run as a formula: a leading = + - @ gets a quote in front."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def unsafe_undone(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(_FORMULA_START) else value


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    hxl: str
    value: Callable[[dict], object]
    private: bool = False  # personal data: exported only with include_contacts


def _text(name: str) -> Callable[[dict], object]:
    return lambda row: row[name] if row[name] is not None else ""


def _place(gazetteer: Gazetteer, field: str) -> Callable[[dict], object]:
    def value(row: dict) -> object:
        place = gazetteer.get(row["place_key"]) if row.get("place_key") else None
        return getattr(place, field, "") if place else ""

    return value


def _ref(prefix: str, name: str) -> Callable[[dict], object]:
    return lambda row: f"{prefix}-{row[name]}"


def org_columns(gazetteer: Gazetteer) -> list[Column]:
    return [
        Column("id", "#org+id", _text("id")),
        Column("name", "#org+name", _text("name")),
        Column("sectors", "#sector+list", lambda r: ";".join(r["sectors"].split(","))),
        Column("place", "#loc+name", _text("place_label")),
        Column("adm1", "#adm1+code", _place(gazetteer, "admin1")),
        Column("country", "#country+code", _place(gazetteer, "country")),
        Column("lat", "#geo+lat", _text("lat")),
        Column("lon", "#geo+lon", _text("lon")),
        Column("status", "#status", _text("status")),
        Column("registered", "#date+registered", _text("created_at")),
        Column("description", "#description", _text("description")),
        Column("contact", "#contact", _text("contact"), private=True),
        Column("coordinators", "#contact+discord", _text("coordinators"), private=True),
    ]


def post_columns(gazetteer: Gazetteer, kind: PostKind) -> list[Column]:
    columns = [
        Column("id", "#meta+id", _ref(kind.prefix, "id")),
        Column("event", "#event+name", _text("event_name")),
        Column("org", "#org+name", _text("org_name")),
        Column("sector", "#sector", _text("sector")),
        Column("item", "#item+name", _text("item_label")),
        Column("item_code", "#item+code", _text("item_key")),
        Column("quantity", "#value+quantity", _text("quantity")),
        Column("remaining", "#value+remaining", _text("remaining")),
        Column("unit", "#meta+unit", _text("unit")),
        Column("place", "#loc+name", _text("place_label")),
        Column("adm1", "#adm1+code", _place(gazetteer, "admin1")),
        Column("country", "#country+code", _place(gazetteer, "country")),
        Column("lat", "#geo+lat", _text("lat")),
        Column("lon", "#geo+lon", _text("lon")),
    ]
    if kind is PostKind.NEED:
        columns.append(Column("urgency", "#severity", _text("urgency")))
    columns += [
        Column("deadline", "#date+deadline" if kind is PostKind.NEED else "#date+until", _text("deadline")),
        Column("notes", "#description", _text("notes")),
        Column("status", "#status", _text("status")),
        Column("posted", "#date+posted", _text("created_at")),
    ]
    return columns


def match_columns() -> list[Column]:
    return [
        Column("id", "#meta+id", _ref("M", "id")),
        Column("event", "#event+name", _text("event_name")),
        Column("need", "#meta+need", _ref("N", "need_id")),
        Column("offer", "#meta+offer", _ref("O", "offer_id")),
        Column("need_org", "#org+need", _text("need_org")),
        Column("offer_org", "#org+offer", _text("offer_org")),
        Column("sector", "#sector", _text("sector")),
        Column("item", "#item+name", _text("item_label")),
        Column("quantity", "#value", _text("quantity")),
        Column("distance_km", "#indicator+distance_km", lambda r: f"{r['distance_km']:.1f}"),
        Column("score", "#indicator+score", lambda r: f"{r['score']:.3f}"),
        Column("status", "#status", _text("status")),
        Column("proposed", "#date+proposed", _text("created_at")),
        Column("committed", "#date+committed", _text("committed_at")),
        Column("delivered", "#date+delivered", _text("delivered_at")),
    ]
