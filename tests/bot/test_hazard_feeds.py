"""Reading the feeds' documents: the real formats give the right hazards, and nothing a feed sends can crash us."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.hazards.feeds import FEEDS, MalformedFeed, parse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hazards"


def test_usgs_quakes_are_read_with_magnitude_place_time_and_page():
    parsed = parse("usgs", (FIXTURES / "usgs_2.5_day.geojson").read_bytes())

    assert [(h.source_id, h.severity) for h in parsed.hazards] == [
        ("us7000pq61", "M 6.1"), ("us7000pq62", "M 4.0"), ("ak0263ab9x", "M 5.8"),
    ]  # fmt: skip
    strong = parsed.hazards[0]
    assert (strong.lat, strong.lon, strong.rank, strong.radius_km) == (28.62, -95.21, 6.1, 200.0)
    assert strong.occurred_at == datetime(2026, 12, 1, 11, 20, tzinfo=UTC)
    assert strong.url == "https://earthquake.usgs.gov/earthquakes/eventpage/us7000pq61"
    assert parsed.skipped == 1  # the quarry blast


def test_gdacs_events_are_read_by_type_and_alert_level_with_one_id_across_episodes():
    parsed = parse("gdacs", (FIXTURES / "gdacs_events.geojson").read_bytes())

    assert [(h.source_id, h.kind, h.severity) for h in parsed.hazards] == [
        ("TC1001234", "cyclone", "orange"), ("FL1102233", "flood", "green"),
        ("EQ1453321", "earthquake", "orange"), ("EQ1453322", "earthquake", "red"),
    ]  # fmt: skip
    assert parsed.hazards[0].occurred_at == datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


def test_nws_alerts_are_placed_at_their_polygons_centre_and_zone_only_ones_skipped():
    parsed = parse("nws", (FIXTURES / "nws_alerts_active.geojson").read_bytes())

    assert [(h.kind, h.severity, h.place) for h in parsed.hazards] == [
        ("flood", "severe", "Harris, TX; Fort Bend, TX"), ("weather", "minor", "Galveston Bay"),
    ]  # fmt: skip
    flood = parsed.hazards[0]
    assert round(flood.lat, 2) == 29.79 and round(flood.lon, 2) == -95.4
    assert flood.occurred_at == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert parsed.skipped == 1


@pytest.mark.parametrize("feed", list(FEEDS))
@pytest.mark.parametrize(
    "body", [b"", b"null", b"[]", b'{"type": "FeatureCollection"}', b'{"type": "FeatureCollection", "features": {}}',
             b"\xff\xfe", b"[" * 100_000, b'{"type": "FeatureCollection", "features": [NaN]}'],
)  # fmt: skip
def test_a_document_that_is_no_feature_collection_is_refused_as_malformed(feed, body):
    with pytest.raises(MalformedFeed):
        parse(feed, body)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)


def mutated_features(feed: str) -> st.SearchStrategy[dict]:
    """Real features with any of their fields replaced by any JSON value."""
    name = {"usgs": "usgs_2.5_day.geojson", "gdacs": "gdacs_events.geojson", "nws": "nws_alerts_active.geojson"}
    features = json.loads((FIXTURES / name[feed]).read_text())["features"]

    def mutate(feature: dict, section: str, key: str, value: object) -> dict:
        copy = json.loads(json.dumps(feature))
        target = copy if section == "top" else copy.get(section) or {}
        if isinstance(target, dict):
            target[key] = value
        return copy

    keys = st.sampled_from(
        ["id", "type", "mag", "time", "place", "url", "title", "coordinates", "eventtype", "eventid", "alertlevel",
         "fromdate", "severity", "event", "onset", "sent", "geometry"]
    )  # fmt: skip
    return st.builds(mutate, st.sampled_from(features), st.sampled_from(["top", "properties", "geometry"]), keys,
                     json_values)  # fmt: skip


@pytest.mark.parametrize("feed", list(FEEDS))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_feature_a_feed_sends_is_read_or_skipped_never_a_crash(feed, data):
    features = data.draw(st.lists(mutated_features(feed) | json_values, max_size=6))

    parsed = parse(feed, json.dumps({"type": "FeatureCollection", "features": features}).encode())

    assert len(parsed.hazards) + parsed.skipped == len(features)
    for hazard in parsed.hazards:
        assert -90 <= hazard.lat <= 90 and -180 <= hazard.lon <= 180
        assert hazard.occurred_at.tzinfo is not None and len(hazard.title) <= 200 and len(hazard.place) <= 200
        assert hazard.url == "" or hazard.url.startswith(("https://", "http://"))
