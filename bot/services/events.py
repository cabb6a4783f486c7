"""/event: the disaster responses that posts belong to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.core import Core
from bot.errors import Conflict, InvalidInput, NotFound
from bot.geo import distance_km
from bot.models import Actor, ChannelKind, Coalition, Event, EventStatus
from bot.services.coalition_config import require_admin
from bot.services.matches import end_event_proposals
from bot.services.notices import notify_channel, notify_user
from bot.text import escape, parse_id
from bot.validation import clean_text

MAX_NAME = 80
MAX_RADIUS_KM = 20_000.0


@dataclass(frozen=True, slots=True)
class Site:
    """Where an event is centred: a gazetteer place, or a hazard's own coordinates."""

    label: str
    lat: float
    lon: float
    key: str | None = None


def open_event(
    core: Core, actor: Actor, *, name: str, location: str | None = None, radius_km: float | None = None
) -> Event:
    require_admin(actor)
    clean_name = clean_text(name, "event name", max_length=MAX_NAME)
    place = core.gazetteer.resolve(location) if location and location.strip() else None
    radius = core.settings.default_radius_km if radius_km is None else float(radius_km)
    if not 1 <= radius <= MAX_RADIUS_KM:
        raise InvalidInput(f"The radius must be between 1 and {MAX_RADIUS_KM:,.0f} km.")
    coalition = core.coalition_of(actor)
    site = Site(place.label, place.lat, place.lon, place.key) if place else None
    return open_at(core, coalition, actor, name=clean_name, site=site, radius_km=radius)


def open_at(
    core: Core, coalition: Coalition, actor: Actor, *, name: str, site: Site | None, radius_km: float, **audit: object
) -> Event:
    """Open the event (one transaction): its announcement in every member server, and a DM to nearby orgs."""
    if core.store.events.open_by_name(coalition.id, name) is not None:
        raise Conflict(f"An open event called {escape(name)} already exists.")
    now = core.clock()
    with core.store.atomic():
        event_id = core.store.events.insert(
            coalition.id,
            name=name,
            place_key=site.key if site else None,
            place_label=site.label if site else "",
            lat=site.lat if site else None,
            lon=site.lon if site else None,
            radius_km=radius_km,
            opened_by=actor.user_id,
            now=now,
        )
        core.store.audit.record(coalition.id, actor.user_id, "event.open", f"event:{event_id}", now, name=name, **audit)
        where = f" around {escape(site.label)} ({radius_km:,.0f} km)" if site else ""
        notify_channel(core, coalition, ChannelKind.ALERTS, f"Event opened: **{escape(name)}**{where}.", now)
        if site is not None:
            alert_nearby_orgs(core, coalition, event_id, name, site, radius_km, now)
    event = core.store.events.get(event_id)
    assert event is not None  # noqa: S101
    return event


def alert_nearby_orgs(
    core: Core, coalition: Coalition, event_id: int, name: str, site: Site, radius_km: float, now: datetime
) -> int:
    """DM the coordinators of each verified org based within the radius, once per org and event; inside a transaction.

    "Once per event" holds across a close and a reopen under the same name. Orgs that turned alerts off
    (``/org alerts``) are skipped. Returns how many orgs were alerted.
    """
    alerted = 0
    for org in core.store.orgs.verified_with_alerts(coalition.id):
        km = distance_km(site.lat, site.lon, org.lat, org.lon)
        if km > radius_km or not core.store.events.claim_org_alert(coalition.id, name, org.id, event_id, now):
            continue
        alerted += 1
        text = (
            f"**{escape(name)}** opened {km:,.0f} km from {escape(org.name)}: post what you need or can offer "
            "with `/need post`, `/offer post`. (Stop these messages with `/org alerts off`.)"
        )
        for member_id in core.store.orgs.member_ids(org.id):
            notify_user(core, coalition, member_id, text, now)
    return alerted


def resolve_event(core: Core, coalition: Coalition, text: str | None, *, open_only: bool) -> Event:
    """The named event (by id or name), or the only open one when none is named."""
    text = (text or "").strip()
    status = EventStatus.OPEN if open_only else None
    if not text:
        open_events = core.store.events.open_few(coalition.id)
        if len(open_events) == 1:
            return open_events[0]
        if not open_events:
            raise NotFound("There is no open event. An admin opens one with `/event open`.")
        raise InvalidInput("Several events are open; choose one with the `event` option.")
    event_id = parse_id(text)
    event = core.store.events.get(event_id) if event_id is not None else None
    if event is None or event.coalition_id != coalition.id:
        event = core.store.events.open_by_name(coalition.id, text)
    if event is None or (status is not None and event.status is not status):
        raise NotFound(f"No open event called {escape(text[:80])}. See `/event list`.")
    return event


def close_event(core: Core, actor: Actor, event_text: str | None) -> Event:
    require_admin(actor)
    coalition = core.coalition_of(actor)
    event = resolve_event(core, coalition, event_text, open_only=True)
    now = core.clock()
    with core.store.atomic():
        core.store.events.close(event.id, actor.user_id, now)
        end_event_proposals(core, event, actor.user_id, now)
        core.store.audit.record(coalition.id, actor.user_id, "event.close", f"event:{event.id}", now)
        notify_channel(
            core,
            coalition,
            ChannelKind.LOG,
            f"Event closed: **{escape(event.name)}**. Export its records with `python run.py export`; "
            f"contacts are purged after {core.settings.retention_days} days.",
            now,
        )
    closed = core.store.events.get(event.id)
    assert closed is not None  # noqa: S101
    return closed


def list_events(core: Core, actor: Actor, *, include_closed: bool = True) -> list[Event]:
    coalition = core.coalition_of(actor)
    return core.store.events.list(coalition.id, status=None if include_closed else EventStatus.OPEN)


def search_events(core: Core, actor: Actor, text: str, *, open_only: bool) -> list[Event]:
    coalition = core.coalition_of(actor)
    return core.store.events.search(coalition.id, text, status=EventStatus.OPEN if open_only else None)
