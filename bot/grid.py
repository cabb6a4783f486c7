"""The spatial grids behind the candidate index: cell ids a post is stored under, and the cells a search reads.

Two grids. The event-wide grid's cells are twice the event's radius across, so
a search of the whole event reads 4 to 6 of them: it finds far partners (a
critical need's, a post's that has waited). The local grid's cells are the same
for every event, twice :data:`LOCAL_KM` across, so a town's circle touches about
four of them (three to six; up to eight far north or south): a post's partners in
its own town come from there, and larger posts beyond those cells (more than
about 60 km away) never crowd them out.
"""

from __future__ import annotations

import math
from functools import lru_cache

from bot.geo import EARTH_RADIUS_KM, bounding_box, distance_km

# A town and its neighbours: the reach of a post that looks in its own town first (bot.matching, LOCAL_LEVEL).
LOCAL_KM = 15.0

KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180.0
MIN_CELL_DEGREES = 0.01
CELL_ROW = 1_000_000  # a cell id is row * CELL_ROW + column; columns never reach it
MAX_SEARCH_CELLS = 36
# Twice the local reach across: a town's circle touches about four cells (more far north or south, where a degree
# of longitude is short).
LOCAL_CELL_DEGREES = 2 * LOCAL_KM / KM_PER_DEGREE


def cell_degrees(radius_km: float) -> float:
    """Side of a grid cell for an event: twice its radius, so a search of the whole event touches 4 to 6 cells.

    These wide cells find far partners (a critical need's, a post's that has waited); near ones come from the
    local grid (:func:`local_cells`), so a wide cell's few largest posts never crowd out a partner in the same town.
    """
    return max(MIN_CELL_DEGREES, 2 * radius_km / KM_PER_DEGREE)


def cell_of(lat: float, lon: float, radius_km: float) -> int:
    """The grid cell a point falls in, for an event of this radius."""
    size = cell_degrees(radius_km)
    return _cell_id(math.floor((lat + 90.0) / size), math.floor((lon + 180.0) / size))


# Posts are made at the gazetteer's places, a few hundred in a coalition's busiest week: each place's cells are
# worked out once (local_cells measures its distance to every cell of its box, twice in every post command).
_PLACES_REMEMBERED = 4096


@lru_cache(maxsize=_PLACES_REMEMBERED)
def search_cells(lat: float, lon: float, radius_km: float) -> tuple[int, ...] | None:
    """Every cell that may hold a point within ``radius_km`` of (lat, lon).

    None when the circle needs too many cells (it reaches a pole or crosses the
    antimeridian): the caller then filters by latitude band instead.
    """
    size = cell_degrees(radius_km)
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, radius_km)
    rows = range(math.floor((min_lat + 90.0) / size), math.floor((max_lat + 90.0) / size) + 1)
    columns = range(math.floor((min_lon + 180.0) / size), math.floor((max_lon + 180.0) / size) + 1)
    if len(rows) * len(columns) > MAX_SEARCH_CELLS:
        return None
    return tuple(_cell_id(row, column) for row in rows for column in columns)


def local_cell_of(lat: float, lon: float) -> int:
    """The local grid cell a point falls in (the same grid for every event)."""
    size = LOCAL_CELL_DEGREES
    return _cell_id(math.floor((lat + 90.0) / size), math.floor((lon + 180.0) / size))


@lru_cache(maxsize=_PLACES_REMEMBERED)
def local_cells(lat: float, lon: float) -> tuple[int, ...] | None:
    """The local grid cells that hold a point within :data:`LOCAL_KM` of (lat, lon), nearest first.

    Only cells the circle reaches, not every cell of its bounding box: about four. None near a pole or across the
    antimeridian (the event-wide read covers those places).
    """
    size = LOCAL_CELL_DEGREES
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, LOCAL_KM)
    if max_lon - min_lon >= 360.0 or min_lat <= -90.0 or max_lat >= 90.0:
        return None
    reached = []
    for row in range(math.floor((min_lat + 90.0) / size), math.floor((max_lat + 90.0) / size) + 1):
        for column in range(math.floor((min_lon + 180.0) / size), math.floor((max_lon + 180.0) / size) + 1):
            south, west = row * size - 90.0, column * size - 180.0
            # The cell's point nearest to (lat, lon): clamp into the cell.
            nearest = distance_km(lat, lon, min(max(lat, south), south + size), min(max(lon, west), west + size))
            if nearest <= LOCAL_KM:
                reached.append((nearest, _cell_id(row, column)))
    if len(reached) > MAX_SEARCH_CELLS:
        return None
    return tuple(cell for _, cell in sorted(reached))


def _cell_id(row: int, column: int) -> int:
    return row * CELL_ROW + column
