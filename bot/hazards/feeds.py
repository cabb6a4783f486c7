"""The three public feeds and their documents, read into plain :class:`Hazard` values.

Each feed is GeoJSON (a ``FeatureCollection``); the exact URLs and fields read are
listed in docs/coalitions-and-alerts.md. A document that is not JSON or not a
feature collection raises :class:`MalformedFeed`; a feature that lacks what a
hazard needs (an id, a point, a time, a severity) is skipped and counted, so one
bad entry never hides the others. Text from a feed is bounded and stripped of
control characters before it is stored.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.geo import distance_km

MAX_TEXT = 200
MAX_URL = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


class MalformedFeed(ValueError):
    """The document is not a GeoJSON feature collection."""


@dataclass(frozen=True, slots=True)
class Hazard:
    """One hazard a feed reports: what, where, when, how severe, and the source's own page."""

    feed: str
    source_id: str
    kind: str  # earthquake, cyclone, flood, volcano, drought, wildfire, tornado, weather
    title: str
    place: str
    lat: float
    lon: float
    severity: str  # as the feed says it: "M 6.1", "orange", "severe"
    rank: float  # comparable with the feed's minimum severity
    occurred_at: datetime
    url: str
    radius_km: float  # the radius an event opened for it starts with


@dataclass(frozen=True, slots=True)
class Feed:
    key: str
    label: str
    url: str
    poll_s: float
    levels: tuple[str, ...]  # named severities, lowest first; empty for a magnitude
    default_min: str

    def rank_of(self, text: str) -> float:
        """The rank of a minimum severity typed by an admin; ValueError when the feed has no such level."""
        cleaned = (text or "").strip().casefold()
        if not self.levels:
            value = float(re.sub(r"^m\s*", "", cleaned))
            if not 0 <= value <= 10:
                raise ValueError(cleaned)
            return value
        return float(self.levels.index(cleaned) + 1)

    def describe(self, minimum: str) -> str:
        return f"magnitude ≥ {minimum}" if not self.levels else f"{minimum} or higher"


FEEDS: dict[str, Feed] = {
    feed.key: feed
    for feed in (
        Feed(
            "usgs", "USGS earthquakes", "https://earthquake.usgs.gov/earthquakes/feed/v1.0/summary/2.5_day.geojson",
            poll_s=300, levels=(), default_min="5.5",
        ),
        Feed(
            "gdacs", "GDACS disasters", "https://www.gdacs.org/gdacsapi/api/events/geteventlist/MAP",
            poll_s=900, levels=("green", "orange", "red"), default_min="orange",
        ),
        Feed(
            "nws", "US National Weather Service alerts",
            "https://api.weather.gov/alerts/active?status=actual&message_type=alert",
            poll_s=300, levels=("minor", "moderate", "severe", "extreme"), default_min="severe",
        ),
    )
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Parsed:
    hazards: list[Hazard]
    skipped: int


def parse(feed: str, body: bytes) -> Parsed:
    """The hazards of one document of ``feed``; raises MalformedFeed when it is not a feature collection."""
    try:
        document = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise MalformedFeed(f"not JSON: {str(exc)[:100]}") from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise MalformedFeed("not a GeoJSON FeatureCollection")
    features = document.get("features")
    if not isinstance(features, list):
        raise MalformedFeed("a FeatureCollection without a features list")
    reader = _READERS[feed]
    hazards, skipped = [], 0
    for feature in features:
        try:
            hazard = reader(feature)
        except (LookupError, TypeError, ValueError, AttributeError, OverflowError, RecursionError):
            hazard = None
        if hazard is None:
            skipped += 1
        else:
            hazards.append(hazard)
    return Parsed(hazards, skipped)


# --- USGS: https://earthquake.usgs.gov/earthquakes/feed/v1.0/geojson.php ---------------------------------


def _usgs(feature: dict) -> Hazard | None:
    props = feature["properties"]
    if props.get("type", "earthquake") != "earthquake":
        return None  # quarry blasts, explosions, ice quakes
    magnitude = _number(props["mag"])
    lon, lat = _point(feature["geometry"])
    place = _text(props.get("place") or "")
    return Hazard(
        feed="usgs",
        source_id=_text(feature["id"]),
        kind="earthquake",
        title=_text(props.get("title") or f"M {magnitude:.1f} - {place}"),
        place=place or f"{lat:.2f}, {lon:.2f}",
        lat=lat,
        lon=lon,
        severity=f"M {magnitude:.1f}",
        rank=magnitude,
        occurred_at=datetime.fromtimestamp(_number(props["time"]) / 1000, tz=UTC),
        url=_url(props.get("url")),
        radius_km=100.0 if magnitude < 6 else 200.0 if magnitude < 7 else 300.0,
    )


# --- GDACS: https://www.gdacs.org/gdacsapi/ (geteventlist, GeoJSON) ----------------------------------------

_GDACS_KINDS = {
    "EQ": ("earthquake", 150.0),
    "TC": ("cyclone", 300.0),
    "FL": ("flood", 150.0),
    "VO": ("volcano", 50.0),
    "DR": ("drought", 500.0),
    "WF": ("wildfire", 50.0),
}


def _gdacs(feature: dict) -> Hazard | None:
    props = feature["properties"]
    kind, radius = _GDACS_KINDS[str(props["eventtype"]).upper()]
    level = str(props["alertlevel"]).strip().casefold()
    rank = float(FEEDS["gdacs"].levels.index(level) + 1)
    lon, lat = _point(feature["geometry"])
    url = props.get("url")
    name = _text(props.get("name") or props.get("eventname") or props.get("description") or kind)
    return Hazard(
        feed="gdacs",
        source_id=f"{props['eventtype']}{int(props['eventid'])}",  # one id across a hazard's episodes
        kind=kind,
        title=name,
        place=_text(props.get("country") or "") or f"{lat:.2f}, {lon:.2f}",
        lat=lat,
        lon=lon,
        severity=level,
        rank=rank,
        occurred_at=_moment(props["fromdate"]),
        url=_url(url.get("report") if isinstance(url, dict) else url),
        radius_km=radius,
    )


# --- NWS: https://api.weather.gov/alerts/active (GeoJSON, CAP fields) ------------------------------------


def _nws(feature: dict) -> Hazard | None:
    props = feature["properties"]
    if feature.get("geometry") is None:
        return None  # zone-only alerts carry no shape of their own; we place hazards by their shape
    severity = str(props["severity"]).strip().casefold()
    levels = FEEDS["nws"].levels
    rank = float(levels.index(severity) + 1) if severity in levels else 0.0
    ring = _outer_ring(feature["geometry"])
    lat = sum(p[1] for p in ring) / len(ring)
    lon = sum(p[0] for p in ring) / len(ring)
    _check_point(lon, lat)
    event = _text(props["event"])
    reach = max(distance_km(lat, lon, p[1], p[0]) for p in ring)
    return Hazard(
        feed="nws",
        source_id=_text(props.get("id") or feature["id"]),
        kind=_nws_kind(event),
        title=_text(props.get("headline") or event),
        place=_text(props.get("areaDesc") or "") or f"{lat:.2f}, {lon:.2f}",
        lat=lat,
        lon=lon,
        severity=severity,
        rank=rank,
        occurred_at=_moment(props.get("onset") or props.get("effective") or props["sent"]),
        url=_url(feature.get("id") or props.get("@id")),
        radius_km=min(300.0, max(25.0, round(reach * 1.5))),
    )


def _nws_kind(event: str) -> str:
    lowered = event.casefold()
    for word, kind in (("hurricane", "cyclone"), ("tropical storm", "cyclone"), ("flood", "flood"),
                       ("tornado", "tornado"), ("fire", "wildfire"), ("tsunami", "tsunami")):  # fmt: skip
        if word in lowered:
            return kind
    return "weather"


_READERS: dict[str, Callable[[dict], Hazard | None]] = {"usgs": _usgs, "gdacs": _gdacs, "nws": _nws}


# --- checks -------------------------------------------------------------------------------------------


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number a feed may send")


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"not a number: {value!r}")
    return float(value)


def _check_point(lon: float, lat: float) -> None:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError("coordinates out of range")


def _point(geometry: dict) -> tuple[float, float]:
    if geometry["type"] != "Point":
        raise ValueError("not a point")
    lon, lat = _number(geometry["coordinates"][0]), _number(geometry["coordinates"][1])
    _check_point(lon, lat)
    return lon, lat


def _outer_ring(geometry: dict) -> list[tuple[float, float]]:
    kind, coordinates = geometry["type"], geometry["coordinates"]
    polygon = coordinates if kind == "Polygon" else coordinates[0] if kind == "MultiPolygon" else None
    if polygon is None:
        raise ValueError("not a polygon")
    ring = [(_number(p[0]), _number(p[1])) for p in polygon[0][:10_000]]
    if not ring:
        raise ValueError("empty polygon")
    return ring


def _moment(text: object) -> datetime:
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _text(value: object) -> str:
    return " ".join(_CONTROL.sub(" ", str(value)).split())[:MAX_TEXT]


def _url(value: object) -> str:
    """The source's page, if it is a plain https (or http) address; otherwise none."""
    text = str(value or "").strip()
    if len(text) > MAX_URL or not re.fullmatch(r"https?://[A-Za-z0-9.-]+(?::\d+)?(/[^\s<>\"'`]*)?", text):
        return ""
    return text
