"""/need post and /offer post: a need or an offer, validated, stored, matched and announced.

Posting is open to coordinators of verified organisations only, is rate-limited
per member, and finds the post's best matches in the same transaction that
stores it. Posts are public, so their notes pass :mod:`bot.services.personal_data`.
What happens to a post afterwards (lists, closing, expiry) is :mod:`bot.services.post_lifecycle`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.core import Core
from bot.errors import Forbidden, InvalidInput, RateLimited
from bot.geo import Place, fold
from bot.matching import cell_of
from bot.models import Actor, ChannelKind, Coalition, Event, Org, Post, PostKind, Urgency
from bot.services import duplicates, freshness
from bot.services.cards import OrgLookup
from bot.services.duplicates import DuplicateWarning
from bot.services.events import resolve_event
from bot.services.matches import MatchCard
from bot.services.notices import notify_channel
from bot.services.orgs import acting_org
from bot.services.personal_data import refuse_personal_data
from bot.services.proposals import farther_partners, propose_new, read_candidates, starting_reach, unit_mismatch
from bot.store.post_rows import NewPost
from bot.taxonomy import CUSTOM_PREFIX, MAX_ITEM_TEXT, ItemRef, sector_by_key
from bot.text import escape
from bot.units import UnitError
from bot.validation import clean_text, parse_deadline

MIN_QUANTITY = 1
MAX_QUANTITY = 1_000_000_000
MAX_UNIT = 30
MAX_UNIT_LABEL = 60  # a unit as read may be longer than typed: "1.5 L bottles" -> "bottles of 1.5 L"
MAX_NOTES = 500
DEADLINE_OPTION = {PostKind.NEED: "needed_by", PostKind.OFFER: "available_until"}


@dataclass(frozen=True, slots=True)
class PostResult:
    """A stored post and the proposals found for it at once."""

    post: Post
    org: Org
    event: Event
    proposals: list[MatchCard]
    announced: bool
    # Where the proposals' buttons are: the matches channel, or each side's DMs when none is set.
    proposals_in_channel: bool = True
    # An offer that matched no open need: stored, proposed the moment a need fits, never announced.
    standby: bool = False
    # Why posts of the same item nearby were not proposed: their units don't convert (e.g. say the bottle size).
    unit_hint: str | None = None
    # Fitting posts farther than the near reach: proposed once this post (or they) have waited their hold.
    farther: int = 0
    # How typed text was read when it was not named exactly: ("insuline", "Insulin").
    readings: tuple[tuple[str, str], ...] = ()


def post_need(
    core: Core,
    actor: Actor,
    *,
    sector: str,
    item: str,
    quantity: int,
    location: str,
    urgency: str = "normal",
    unit: str | None = None,
    needed_by: str | None = None,
    notes: str | None = None,
    org: str | None = None,
    event: str | None = None,
    allow_duplicate: bool = False,
) -> PostResult | DuplicateWarning:
    try:
        level = Urgency((urgency or "normal").strip().casefold())
    except ValueError:
        raise InvalidInput("Urgency is one of critical, high, normal or low.") from None
    with core.store.atomic():
        return _post(
            core, actor, PostKind.NEED, sector=sector, item=item, quantity=quantity, location=location, urgency=level,
            unit=unit, deadline_text=needed_by, deadline_field="needed_by date", notes=notes, org=org, event=event,
            allow_duplicate=allow_duplicate,
        )  # fmt: skip


def post_offer(
    core: Core,
    actor: Actor,
    *,
    sector: str,
    item: str,
    quantity: int,
    location: str,
    unit: str | None = None,
    available_until: str | None = None,
    notes: str | None = None,
    org: str | None = None,
    event: str | None = None,
    allow_duplicate: bool = False,
) -> PostResult | DuplicateWarning:
    with core.store.atomic():
        return _post(
            core, actor, PostKind.OFFER, sector=sector, item=item, quantity=quantity, location=location,
            urgency=Urgency.NORMAL, unit=unit, deadline_text=available_until, deadline_field="available_until date",
            notes=notes, org=org, event=event, allow_duplicate=allow_duplicate,
        )  # fmt: skip


def _post(
    core: Core,
    actor: Actor,
    kind: PostKind,
    *,
    sector: str,
    item: str,
    quantity: int,
    location: str,
    urgency: Urgency,
    unit: str | None,
    deadline_text: str | None,
    deadline_field: str,
    notes: str | None,
    org: str | None,
    event: str | None,
    allow_duplicate: bool,
) -> PostResult | DuplicateWarning:
    """Validate and store a post, unless it looks like one of its org's open posts (then hold it, unless allowed).

    Called inside one transaction from the first read: the checks see the state the post is stored in, and
    SQLite takes its locks once rather than around each read.
    """
    coalition = core.coalition_of(actor)
    poster = acting_org(core, coalition, actor, org)
    if not poster.is_verified:
        raise Forbidden(
            f"{escape(poster.name)} is still pending verification; a server admin verifies it with `/org verify`, "
            "and then its coordinators can post."
        )
    on_event = resolve_event(core, coalition, event, open_only=True)
    sector_key = sector_by_key(sector).key
    typed_item = clean_text(item, "item", max_length=MAX_ITEM_TEXT)
    item_ref = core.taxonomy.resolve_item(typed_item, sector_key, custom_items_in_use(core, on_event.id))
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not MIN_QUANTITY <= quantity <= MAX_QUANTITY:
        raise InvalidInput(f"The quantity must be a whole number from {MIN_QUANTITY} to {MAX_QUANTITY:,}.")
    catalogue_item = core.taxonomy.get(item_ref.key)
    typed_unit = clean_text(unit, "unit", max_length=MAX_UNIT, required=False) or (
        catalogue_item.unit if catalogue_item else "units"
    )
    try:
        # Stored as read ("L" -> "litres", "1.5 L bottles" -> "bottles of 1.5 L"), so both sides compare alike.
        clean_unit = core.taxonomy.unit(item_ref.key, typed_unit).label[:MAX_UNIT_LABEL]
    except UnitError as exc:
        raise InvalidInput(str(exc)) from None
    place = core.gazetteer.resolve(location)
    readings = read_as(core, typed_item, item_ref, location, place)
    now = core.clock()
    deadline = parse_deadline(deadline_text, zone=ZoneInfo(coalition.timezone), now=now, field=deadline_field)
    clean_notes = clean_text(notes, "notes", max_length=MAX_NOTES, required=False)
    refuse_personal_data(clean_notes, "notes")
    _check_rate(core, actor, now)
    # Posts past their deadline are not expired here: every read of open posts already leaves them out
    # (store.post_rows.open_posts), and housekeeping retires them when the first one falls due. A command
    # that retired them would pay for others' re-matching, hundreds of posts after a pause.
    alike = None if allow_duplicate else duplicates.find_alike(
        core, poster, kind, item_key=item_ref.key, place_key=place.key, unit=clean_unit, quantity=quantity, now=now
    )  # fmt: skip
    if alike is not None:
        zone = ZoneInfo(coalition.timezone)
        options: dict[str, object] = {
            "sector": sector_key, "item": item_ref.key if item_ref.known else typed_item, "quantity": quantity,
            "location": place.key, "unit": unit, "notes": clean_notes, "org": str(poster.id), "event": str(on_event.id),
            DEADLINE_OPTION[kind]: duplicates.deadline_option(deadline, zone),
        }  # fmt: skip
        if kind is PostKind.NEED:
            options["urgency"] = urgency.value
        return duplicates.hold(core, actor, coalition, kind, alike, options, now)
    reach = starting_reach(
        core, event_id=on_event.id, org_id=poster.id, lat=place.lat, lon=place.lon, urgency=urgency,
        deadline=deadline, now=now,
    )  # fmt: skip
    post = core.store.posts.insert(
        NewPost(
            kind=kind, coalition_id=coalition.id, event_id=on_event.id, org_id=poster.id, sector=sector_key,
            item_key=item_ref.key, item_label=item_ref.label, quantity=quantity, unit=clean_unit,
            place_key=place.key, place_label=place.label, lat=place.lat, lon=place.lon, urgency=urgency,
            deadline=deadline, notes=clean_notes, posted_by=actor.user_id,
            cell=cell_of(place.lat, place.lon, on_event.radius_km), reach_level=reach,
            fresh_due_at=freshness.first_check(core, coalition.id, kind, urgency, now),
        ),
        now,
    )  # fmt: skip
    core.store.audit.record(
        coalition.id, actor.user_id, f"{kind.value}.post", f"post:{post.ref}", now,
        org=poster.id, item=item_ref.key, quantity=quantity, place=place.key,
    )  # fmt: skip
    # One read of the candidate index serves the proposals and, when there are none, the reply's reasons.
    candidates = read_candidates(core, post, radius_km=on_event.radius_km, now=now, just_stored=True)
    orgs = OrgLookup(core)
    proposed = propose_new(core, post, candidates, now, radius_km=on_event.radius_km, orgs=orgs)
    # Partners farther than the post's near reach get it once it has waited (bot.matching, near first).
    farther = 0 if proposed else farther_partners(core, post, candidates, radius_km=on_event.radius_km, now=now)
    # An offer nobody needs yet stands by: announcing it would invite goods nobody asked for.
    standby = kind is PostKind.OFFER and not proposed and not farther
    announced = False if standby else _announce(core, coalition, post, poster, now)
    hint = None if proposed else unit_mismatch(core, post, candidates)
    return PostResult(
        post=post,
        org=poster,
        event=on_event,
        proposals=proposed,
        proposals_in_channel=orgs.matches_channel(coalition.id, poster.home_guild_id) is not None,
        announced=announced,
        standby=standby,
        unit_hint=hint,
        farther=farther,
        readings=readings,
    )


def custom_items_in_use(core: Core, event_id: int) -> Iterator[tuple[str, str]]:
    """The event's open custom items as (key, label): read only when the typed item is not in the catalogue."""
    for key in core.store.posts.custom_item_keys(event_id, core.clock()):
        yield key, key.removeprefix(CUSTOM_PREFIX).replace("_", " ")


def post_held(core: Core, actor: Actor, pending_id: int) -> PostResult:
    """**Post anyway**: post what the duplicate warning held, checking everything again at the click."""
    with core.store.atomic():
        pending = duplicates.claim(core, actor, pending_id)
        poster = post_need if pending.kind is PostKind.NEED else post_offer
        result = poster(core, actor, **pending.options, allow_duplicate=True)  # type: ignore[arg-type]
    assert isinstance(result, PostResult)  # noqa: S101 - duplicates allowed
    return result


def read_as(core: Core, typed_item: str, item: ItemRef, location: str, place: Place) -> tuple[tuple[str, str], ...]:
    """What was typed and what it was read as, for each of item and place that was not named exactly."""
    readings = []
    if item.corrected:
        readings.append((typed_item, item.label))
    typed_place = " ".join(location.split())
    if typed_place != place.key and fold(typed_place) not in {fold(place.name), fold(place.label)}:
        readings.append((typed_place, place.label))
    return tuple(readings)


def _announce(core: Core, coalition: Coalition, post: Post, org: Org, now) -> bool:
    """Announce the post in the needs/offers channel (city only, never a contact); critical needs also alert."""
    kind = ChannelKind.NEEDS if post.kind is PostKind.NEED else ChannelKind.OFFERS
    payload = announcement(post, org)
    targets = core.store.coalitions.channel_targets(coalition.id, kind)
    for channel_id in targets:
        core.store.outbox.enqueue(coalition.id, "post_announcement", f"channel:{channel_id}", payload, now)
    if post.kind is PostKind.NEED and post.urgency is Urgency.CRITICAL:
        notify_channel(
            core, coalition, ChannelKind.ALERTS,
            f"🚨 Critical need {post.ref}: {post.quantity:,} {escape(post.unit)} of {escape(post.item_label)} in "
            f"{escape(post.place_label)} ({escape(org.name)}).",
            now,
        )  # fmt: skip
    return bool(targets)


def announcement(post: Post, org: Org) -> dict[str, object]:
    """What a channel may show of a post: self-contained, so a later change can't leak into it."""
    return {
        "ref": post.ref,
        "kind": post.kind.value,
        "org": org.name,
        "sector": post.sector,
        "item": post.item_label,
        "quantity": post.quantity,
        "unit": post.unit,
        "place": post.place_label,
        "urgency": post.urgency.value,
        "deadline": post.deadline.isoformat() if post.deadline else None,
        "notes": post.notes,
    }


def _check_rate(core: Core, actor: Actor, now) -> None:
    window = core.settings.post_rate_window_s
    recent = core.store.posts.posted_since(actor.user_id, now - timedelta(seconds=window))
    if recent >= core.settings.post_rate_limit:
        minutes = max(1, round(window / 60))
        raise RateLimited(
            f"You have posted {recent} needs and offers in the last {minutes} minutes, the most allowed at once. "
            "Please wait a few minutes before posting again."
        )
