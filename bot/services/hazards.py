"""Hazard alerts: a coalition's area and feeds, one alert per hazard inside it, and the event opened from one.

The watcher (:mod:`bot.hazards.watcher`) hands each feed's hazards to
:func:`record_hazards`, which alerts every coalition whose area holds the hazard
and whose minimum severity it meets, once: the same hazard polled again is known
by its feed and source id, and the same hazard reported by another feed (a quake
that both USGS and GDACS report) by its kind, place and time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core import Core
from bot.errors import Conflict, InvalidInput, NotFound
from bot.geo import distance_km
from bot.hazards.feeds import FEEDS, Feed, Hazard
from bot.models import Actor, Event
from bot.services.coalition_config import require_admin
from bot.services.events import MAX_NAME, MAX_RADIUS_KM, Site, open_at
from bot.services.proposals import SYSTEM_ACTOR
from bot.store.hazards import Area, FeedChoice
from bot.text import escape

ALERT_KIND = "hazard_alert"
# The same hazard from two feeds: the same kind, this close, this near in time.
TWIN_KM = 150.0
TWIN_WINDOW = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class FeedsView:
    """A coalition's area and each feed's setting (defaults where none was chosen)."""

    area: Area | None
    choices: list[tuple[Feed, FeedChoice]]


def set_area(core: Core, actor: Actor, *, location: str, radius_km: float) -> Area:
    """The coalition's area of interest: hazards inside it are alerted."""
    require_admin(actor)
    place = core.gazetteer.resolve(location)
    radius = float(radius_km)
    if not 1 <= radius <= MAX_RADIUS_KM:
        raise InvalidInput(f"The radius must be between 1 and {MAX_RADIUS_KM:,.0f} km.")
    coalition = core.coalition_of(actor)
    area = Area(place.label, place.lat, place.lon, radius)
    now = core.clock()
    with core.store.atomic():
        core.store.hazards.set_area(coalition.id, area, actor.user_id, now)
        core.store.audit.record(coalition.id, actor.user_id, "config.area", place.key, now, radius_km=radius)
    return area


def set_feed(core: Core, actor: Actor, *, feed: str, enabled: bool, min_severity: str | None = None) -> FeedsView:
    """Turn one feed on or off for the coalition, with its minimum severity."""
    require_admin(actor)
    spec = FEEDS.get((feed or "").strip().casefold())
    if spec is None:
        raise InvalidInput(f"The feeds are {', '.join(FEEDS)}.")
    coalition = core.coalition_of(actor)
    current = core.store.hazards.feed_choices(coalition.id).get(spec.key)
    minimum = (min_severity or "").strip().casefold() or (current.min_severity if current else spec.default_min)
    try:
        spec.rank_of(minimum)
    except ValueError:
        allowed = ", ".join(spec.levels) if spec.levels else "a magnitude from 0 to 10, e.g. 5.5"
        raise InvalidInput(f"The minimum severity for {spec.label} is {allowed}.") from None
    minimum = minimum.removeprefix("m").strip()
    now = core.clock()
    with core.store.atomic():
        core.store.hazards.set_feed(coalition.id, FeedChoice(spec.key, enabled, minimum), actor.user_id, now)
        core.store.audit.record(coalition.id, actor.user_id, "config.feeds", spec.key, now, on=enabled, min=minimum)
    return feeds_view(core, actor)


def feeds_view(core: Core, actor: Actor) -> FeedsView:
    require_admin(actor)
    coalition = core.coalition_of(actor)
    chosen = core.store.hazards.feed_choices(coalition.id)
    return FeedsView(
        area=core.store.hazards.area(coalition.id),
        choices=[(spec, chosen.get(key) or FeedChoice(key, False, spec.default_min)) for key, spec in FEEDS.items()],
    )


def record_hazards(core: Core, feed: str, hazards: list[Hazard], now: datetime) -> list[tuple[int, int]]:
    """Remember the feed's hazards and queue one alert per coalition each one concerns; returns (coalition, hazard).

    One transaction: the hazards, the alerts and their outbox rows are stored together or not at all.
    """
    watchers = core.store.hazards.watching(feed)
    if not watchers or not hazards:
        return []
    spec = FEEDS[feed]
    alerted: list[tuple[int, int]] = []
    with core.store.atomic():
        for hazard in hazards:
            hazard_id = core.store.hazards.remember(hazard, now)
            for watcher in watchers:
                if hazard.rank < spec.rank_of(watcher.min_severity):
                    continue
                area = watcher.area
                if distance_km(area.lat, area.lon, hazard.lat, hazard.lon) > area.radius_km:
                    continue
                if core.store.hazards.alert_event(watcher.coalition_id, hazard_id)[0]:
                    continue  # polled again: alerted already
                if _twin_alerted(core, watcher.coalition_id, hazard):
                    continue
                if not core.store.hazards.claim_alert(watcher.coalition_id, hazard_id, now):
                    continue
                _queue_alert(core, watcher.coalition_id, hazard_id, hazard, now)
                alerted.append((watcher.coalition_id, hazard_id))
    return alerted


def _twin_alerted(core: Core, coalition_id: int, hazard: Hazard) -> bool:
    """Another feed's report of the same hazard already alerted this coalition."""
    degrees = TWIN_KM / 111.0  # a degree of latitude is about 111 km
    return any(
        distance_km(other.hazard.lat, other.hazard.lon, hazard.lat, hazard.lon) <= TWIN_KM
        for other in core.store.hazards.alerted_twins(coalition_id, hazard, TWIN_WINDOW, degrees)
    )


def _queue_alert(core: Core, coalition_id: int, hazard_id: int, hazard: Hazard, now: datetime) -> None:
    for channel_id, role_id in core.store.coalitions.alert_targets(coalition_id):
        payload: dict[str, object] = {"hazard_id": hazard_id}
        if role_id:
            payload["role_id"] = role_id
        core.store.outbox.enqueue(coalition_id, ALERT_KIND, f"channel:{channel_id}", payload, now)
    core.store.audit.record(coalition_id, SYSTEM_ACTOR, "hazard.alert", f"hazard:{hazard_id}", now,
                            feed=hazard.feed, source=hazard.source_id, severity=hazard.severity)  # fmt: skip


def alerted_hazard(core: Core, coalition_id: int, hazard_id: int) -> Hazard | None:
    """The hazard of an alert this coalition received (what its message shows); None for any other."""
    was_alerted, _ = core.store.hazards.alert_event(coalition_id, hazard_id)
    stored = core.store.hazards.get(hazard_id) if was_alerted else None
    return stored.hazard if stored else None


def event_name(hazard: Hazard) -> str:
    """A short event name: "M 6.1 earthquake near Freeport, Texas", the cyclone's name, or the warning."""
    if hazard.kind == "earthquake":
        where = hazard.place.split(" of ", 1)[-1]
        name = f"{hazard.severity} earthquake near {where}"
    elif hazard.feed == "gdacs":
        name = hazard.title
    else:
        name = f"{hazard.title.split(' issued ')[0]}"
    return name[:MAX_NAME].strip()


def open_event_from_alert(core: Core, actor: Actor, hazard_id: int) -> Event:
    """An admin opens the event an alert offers: named, centred and sized from the hazard."""
    require_admin(actor)
    coalition = core.coalition_of(actor)
    was_alerted, event_id = core.store.hazards.alert_event(coalition.id, hazard_id)
    stored = core.store.hazards.get(hazard_id) if was_alerted else None
    if stored is None:
        raise NotFound("This coalition has no such hazard alert.")
    if event_id is not None:
        opened = core.store.events.get(event_id)
        raise Conflict(f"**{escape(opened.name if opened else '?')}** was already opened from this alert.")
    hazard = stored.hazard
    site = Site(label=hazard.place[:MAX_NAME], lat=hazard.lat, lon=hazard.lon)
    with core.store.atomic():
        event = open_at(
            core, coalition, actor, name=event_name(hazard), site=site, radius_km=hazard.radius_km,
            hazard=f"{hazard.feed}:{hazard.source_id}",
        )  # fmt: skip
        core.store.hazards.link_event(coalition.id, hazard_id, event.id)
    return event
