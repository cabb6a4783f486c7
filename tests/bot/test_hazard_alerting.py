"""Alerting many hazards: each once, re-polls add nothing, and a twin from another feed is known among hundreds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core import Core
from bot.hazards.feeds import Hazard
from bot.models import Actor, ChannelKind
from bot.services import coalition_config, hazards
from bot.settings import Settings
from bot.store import Store

ADMIN = Actor(user_id=1, guild_id=500, name="admin", is_admin=True, guild_name="Gulf Coast Relief")
T0 = datetime(2026, 12, 1, tzinfo=UTC)


class Clock:
    now = datetime(2026, 12, 8, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def core(tmp_path: Path, new_database):
    made = Core(store=Store(new_database("c")), settings=Settings(), clock=Clock())
    coalition_config.set_channel(made, ADMIN, ChannelKind.ALERTS, 7001)
    hazards.set_area(made, ADMIN, location="Houston", radius_km=20000)
    for feed in ("usgs", "gdacs"):
        hazards.set_feed(made, ADMIN, feed=feed, enabled=True, min_severity="3" if feed == "usgs" else "green")
    yield made
    made.store.close()


def quake(i: int) -> Hazard:
    """Quakes an hour apart, 1° of latitude or 2° of longitude apart: no two are twins of each other."""
    return Hazard(
        feed="usgs", source_id=f"us{i:06d}", kind="earthquake", title=f"M 5.0 - quake {i}", place=f"place {i}",
        lat=29.0 + (i % 10), lon=-120.0 + 2 * (i // 10), severity="M 5.0", rank=5.0,
        occurred_at=T0 + timedelta(hours=i), url="", radius_km=100.0,
    )  # fmt: skip


def test_hundreds_of_hazards_alert_once_each_and_their_twins_not_at_all(core):
    quakes = [quake(i) for i in range(400)]

    first = hazards.record_hazards(core, "usgs", quakes, core.clock())
    again = hazards.record_hazards(core, "usgs", quakes, core.clock())
    twin = replace(quakes[250], feed="gdacs", source_id="EQ900250", lat=quakes[250].lat + 0.3,
                   occurred_at=quakes[250].occurred_at + timedelta(minutes=2), severity="orange", rank=2.0)  # fmt: skip
    elsewhere = replace(twin, source_id="EQ900251", lon=twin.lon + 2.5)
    later = replace(twin, source_id="EQ900252", occurred_at=twin.occurred_at + timedelta(hours=7))
    crossed = hazards.record_hazards(core, "gdacs", [twin, elsewhere, later], core.clock())

    assert len(first) == 400 and again == []
    assert [core.store.hazards.get(h).hazard.source_id for _, h in crossed] == ["EQ900251", "EQ900252"]
    outbox = core.store.db.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'hazard_alert'").fetchone()[0]
    assert outbox == 402
