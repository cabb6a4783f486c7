"""A hazard from a public feed becomes one alert in each member server, and an admin opens its event."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.hazards.feeds import parse
from bot.services import hazards
from tests.conftest import assert_refused
from tests.e2e.federation_helpers import configure, federate, labels, server
from tests.e2e.test_federation import craft_button_message

USGS = (Path(__file__).resolve().parents[1] / "fixtures" / "hazards" / "usgs_2.5_day.geojson").read_bytes()
OPEN_EVENT = "coalesce:hazard:1:open"


@pytest.fixture
async def watched(simcord_env):
    """Servers A and B in one coalition watching USGS quakes of magnitude 5.5 and more within 500 km of Houston."""
    env = simcord_env
    a, b = server(env, "Houston Hub"), server(env, "Baytown Base")
    for place in (a, b):
        await configure(place)
    await federate(a, b)
    area = await a.admin.slash(a.general, "config area", location="Houston", radius_km=500)
    feeds = await b.admin.slash(b.general, "config feeds", feed="usgs", enabled=True, min_severity="5.5")
    assert area.ephemeral and "500 km" in area.response.content
    assert feeds.ephemeral and "magnitude ≥ 5.5" in feeds.response.content
    return env, a, b


async def feed_arrives(env, name: str, document: bytes) -> list:
    """The watcher's hand-over: a fetched document's hazards go to the service, then the outbox leaves."""
    core = env.bot.core
    found = hazards.record_hazards(core, name, parse(name, document).hazards, core.clock())
    await env.advance_time(2)
    return found


async def test_a_strong_quake_in_the_area_is_alerted_once_in_every_member_server(watched):
    env, a, b = watched

    await feed_arrives(env, "usgs", USGS)
    again = await feed_arrives(env, "usgs", USGS)

    assert again == []
    for place in (a, b):
        [alert] = [m for m in place.channels["alerts"].history() if m.embeds]
        assert alert.embeds[0].title.endswith("M 6.1 - 38 km SSE of Freeport, Texas")
        assert alert.embeds[0].url == "https://earthquake.usgs.gov/earthquakes/eventpage/us7000pq61"
        fields = {f.name: f.value for f in alert.embeds[0].fields}
        assert fields["What"] == "earthquake · M 6.1" and "Freeport" in fields["Where"]
        assert labels(alert) == {"Open event"}


async def test_open_event_opens_it_prefilled_for_an_admin_and_only_once(watched):
    env, a, b = watched
    alice = a.guild.add_member(env.create_user("alice"))
    await feed_arrives(env, "usgs", USGS)
    alert = next(m for m in a.channels["alerts"].history() if m.embeds)

    refused = await alice.click(alert, custom_id=OPEN_EVENT)
    opened = await a.admin.click(alert, custom_id=OPEN_EVENT)
    twice = await b.admin.click(next(m for m in b.channels["alerts"].history() if m.embeds), custom_id=OPEN_EVENT)

    assert refused.ephemeral and "Only server admins" in refused.response.content
    assert opened.ephemeral and "Opened **M 6.1 earthquake near Freeport, Texas**" in opened.response.content
    assert "(200 km)" in opened.response.content
    assert twice.ephemeral and "already opened from this alert" in twice.response.content
    events = env.bot.core.store.events.list(1)
    assert [(e.name, e.radius_km) for e in events] == [("M 6.1 earthquake near Freeport, Texas", 200.0)]
    assert abs(events[0].lat - 28.62) < 1e-6 and abs(events[0].lon + 95.21) < 1e-6
    await env.advance_time(2)
    for place in (a, b):
        notice = place.channels["alerts"].last_message.content
        assert "Event opened: **M 6.1 earthquake near Freeport, Texas**" in notice


async def test_a_server_outside_the_coalition_cannot_open_its_alerts_event(watched):
    env, _a, _b = watched
    outsider = server(env, "Corpus Camp")
    await configure(outsider)
    await feed_arrives(env, "usgs", USGS)

    forged = craft_button_message(env, outsider.general, OPEN_EVENT)
    refused = await outsider.admin.click(forged, custom_id=OPEN_EVENT)

    assert refused.ephemeral and "no such hazard alert" in refused.response.content
    assert env.bot.core.store.events.list(1) == [] and outsider.channels["alerts"].last_message is None


async def test_feed_settings_refuse_an_unknown_severity_and_change_nothing(watched):
    env, a, _b = watched

    refused = await a.admin.slash(a.general, "config feeds", feed="gdacs", enabled=True, min_severity="purple")
    shown = await a.admin.slash(a.general, "config feeds", feed="gdacs", enabled=False)

    assert_refused(env, refused, "green, orange, red")
    assert "USGS earthquakes: on, magnitude ≥ 5.5" in shown.response.content
    assert "GDACS disasters: off" in shown.response.content
    summary = await a.admin.slash(a.general, "config show")
    [watch] = [f.value for f in summary.response.embeds[0].fields if f.name == "Hazard alerts"]
    assert watch.startswith("500 km around Houston") and watch.endswith("feeds: usgs (magnitude ≥ 5.5)")
