"""The 3W ("who does what where"): one row per organisation x sector x place, the shape OCHA's 3W tools expect.

Each open post puts its organisation, sector and town on a row with what it
still needs or offers there; delivered matches count on the rows they came
from. An organisation's registered sectors with no post yet appear at its home
town, so the 3W also shows who is present but has not asked or offered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.interop.columns import LIST_SEPARATOR


@dataclass
class _Row:
    crisis: str
    org_name: str
    sector: str
    place_key: str
    place_label: str
    lat: float
    lon: float
    needs: dict[tuple[str, str], int] = field(default_factory=dict)
    offers: dict[tuple[str, str], int] = field(default_factory=dict)
    open_needs: int = 0
    open_offers: int = 0
    delivered_matches: int = 0

    def as_dict(self) -> dict:
        status = "active" if self.open_needs or self.open_offers else "completed" if self.crisis else "registered"
        return {
            "crisis": self.crisis,
            "org_name": self.org_name,
            "sector": self.sector,
            "place_key": self.place_key,
            "place_label": self.place_label,
            "lat": self.lat,
            "lon": self.lon,
            "needs": _amounts(self.needs),
            "offers": _amounts(self.offers),
            "open_needs": self.open_needs,
            "open_offers": self.open_offers,
            "delivered_matches": self.delivered_matches,
            "status": status,
        }


def _amounts(amounts: dict[tuple[str, str], int]) -> str:
    return LIST_SEPARATOR.join(f"{item} {quantity} {unit}".strip() for (item, unit), quantity in amounts.items())


def three_w_rows(orgs: Iterable[dict], posts: Iterable[dict], matches: Iterable[dict]) -> list[dict]:
    """3W rows from export rows of orgs, posts (both kinds) and matches, in a stable order."""
    rows: dict[tuple[str, str, str, str], _Row] = {}
    by_post: dict[int, tuple[str, str, str, str]] = {}
    for post in posts:
        key = (post["event_name"], post["org_name"], post["sector"], post["place_key"])
        row = rows.setdefault(key, _Row(*key[:3], post["place_key"], post["place_label"], post["lat"], post["lon"]))
        by_post[post["id"]] = key
        if post["status"] != "open":
            continue
        if post["kind"] == "need":
            row.open_needs += 1
        else:
            row.open_offers += 1
        if post["remaining"] > 0:
            amounts = row.needs if post["kind"] == "need" else row.offers
            label = (post["item_label"], post["unit"])
            amounts[label] = amounts.get(label, 0) + post["remaining"]
    for match in matches:
        if match["status"] == "delivered":
            for side in ("need_id", "offer_id"):
                if match[side] in by_post:
                    rows[by_post[match[side]]].delivered_matches += 1
    present: dict[str, set[str]] = defaultdict(set)
    for _, org_name, sector, _ in rows:
        present[org_name].add(sector)
    for org in orgs:
        for sector in (s for s in org["sectors"].split(",") if s and s not in present[org["name"]]):
            key = ("", org["name"], sector, org["place_key"])
            rows[key] = _Row(*key[:3], org["place_key"], org["place_label"], org["lat"], org["lon"])
    return [rows[key].as_dict() for key in sorted(rows)]
