"""/need and /offer: posting, listing, closing and expiring needs and offers.

Posting is open to coordinators of verified organisations only, is rate-limited
per member, and finds the post's best matches in the same transaction that
stores it. Posts are public: notes that look like a phone number, an e-mail or
a street address are refused, since contacts are shared privately on commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.core import Core
from bot.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from bot.geo import Place, fold
from bot.matching import cell_of
from bot.models import Actor, ChannelKind, Coalition, Event, Match, Org, Post, PostKind, PostStatus, Urgency
from bot.services import duplicates, freshness
from bot.services.cards import OrgLookup
from bot.services.duplicates import DuplicateWarning
from bot.services.events import resolve_event
from bot.services.matches import SYSTEM_ACTOR, MatchCard, retire_post
from bot.services.notices import notify_channel, notify_user
from bot.services.orgs import acting_org
from bot.services.proposals import farther_partners, propose_new, read_candidates, unit_mismatch
from bot.store.posts import NewPost
from bot.taxonomy import CUSTOM_PREFIX, MAX_ITEM_TEXT, ItemRef, sector_by_key
from bot.text import escape, parse_id
from bot.units import UnitError
from bot.validation import clean_text, parse_deadline

MIN_QUANTITY = 1
MAX_QUANTITY = 1_000_000_000
MAX_UNIT = 30
MAX_UNIT_LABEL = 60  # a unit as read may be longer than typed: "1.5 L bottles" -> "bottles of 1.5 L"
MAX_NOTES = 500
LIST_LIMIT = 20
DEADLINE_OPTION = {PostKind.NEED: "needed_by", PostKind.OFFER: "available_until"}

_PHONE = re.compile(
    r"\+\d[\d\s().-]{6,}\d"  # international: +33 1 23 45 67 89
    r"|\(?\b\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4}\b"  # North American: (713) 555-0100, 713.555.0100
    r"|\b0\d{9,10}\b"  # national with trunk prefix: 07700900123
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_STREET = re.compile(
    r"\b\d{1,5}[a-zA-Z]?,?\s+(?:(?:[A-Z][\w'.-]*|\d+(?:st|nd|rd|th))\s+){1,3}"
    r"(?i:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way|court|ct|place|pl|highway|hwy"
    r"|parkway|pkwy|terrace|square|sq)\b"
    r"|\b\d{1,5},?\s+(?i:rue|calle|via|avenida|rua|avenue)\s+(?:de\s+|del\s+|la\s+|du\s+)?[A-Z]"
)


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


@dataclass(frozen=True, slots=True)
class PostLine:
    post: Post
    org_name: str


@dataclass(frozen=True, slots=True)
class CloseResult:
    post: Post
    ended_matches: int


def refuse_personal_data(text: str, field: str) -> None:
    """Refuse text that looks like a phone number, an e-mail or a street address."""
    found = (
        "a phone number" if _PHONE.search(text)
        else "an e-mail address" if _EMAIL.search(text)
        else "a street address" if _STREET.search(text)
        else None
    )  # fmt: skip
    if found:
        raise InvalidInput(
            f"The {field} seem to contain {found}. Posts are public, so leave contact details out: your "
            "organisation's contact is shared privately with the other side when a match is committed."
        )


def parse_ref(text: str, kind: PostKind) -> int:
    """``"N-12"``, ``"n12"``, ``"#12"`` or ``"12"`` -> 12; an offer's ref where a need's is expected is refused."""
    cleaned = re.sub(r"[\s#-]", "", (text or "").strip()).upper()
    found = re.fullmatch(r"([NO]?)([0-9]+)", cleaned)
    if found is None:
        raise InvalidInput(f'Give the {kind.value}\'s id, like "{kind.prefix}-12".')
    prefix, number = found.groups()
    if prefix and prefix != kind.prefix:
        other = kind.other
        verb = "/offer withdraw" if other is PostKind.OFFER else "/need close"
        raise InvalidInput(
            f"{escape(text.strip()[:20])} is {'an offer' if other is PostKind.OFFER else 'a need'}; use `{verb}`."
        )
    post_id = parse_id(number)
    if post_id is None:
        raise NotFound(f"There is no {kind.value} {escape(text.strip()[:20])} here. See `/{kind.value} list`.")
    return post_id


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
    """Validate and store a post, unless it looks like one of its org's open posts (then hold it, unless allowed)."""
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
    in_use = [
        (key, key.removeprefix(CUSTOM_PREFIX).replace("_", " "))
        for key in core.store.posts.custom_item_keys(on_event.id)
    ]
    item_ref = core.taxonomy.resolve_item(typed_item, sector_key, in_use)
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
    expire_due(core)
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
    with core.store.atomic():
        post_id = core.store.posts.insert(
            NewPost(
                kind=kind, coalition_id=coalition.id, event_id=on_event.id, org_id=poster.id, sector=sector_key,
                item_key=item_ref.key, item_label=item_ref.label, quantity=quantity, unit=clean_unit,
                place_key=place.key, place_label=place.label, lat=place.lat, lon=place.lon, urgency=urgency,
                deadline=deadline, notes=clean_notes, posted_by=actor.user_id,
                cell=cell_of(place.lat, place.lon, on_event.radius_km),
            ),
            now,
        )  # fmt: skip
        post = core.store.posts.get(post_id)
        assert post is not None  # noqa: S101 - inserted just above
        core.store.audit.record(
            coalition.id, actor.user_id, f"{kind.value}.post", f"post:{post.ref}", now,
            org=poster.id, item=item_ref.key, quantity=quantity, place=place.key,
        )  # fmt: skip
        freshness.start(core, post, now)
        # One read of the candidate index serves the proposals and, when there are none, the reply's reasons.
        candidates = read_candidates(core, post, radius_km=on_event.radius_km, now=now)
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


def list_posts(
    core: Core, actor: Actor, kind: PostKind, *, sector: str | None = None, mine: bool = False
) -> list[PostLine]:
    """Open posts of the coalition, most urgent first; ``mine`` keeps those of the actor's orgs."""
    coalition = core.coalition_of(actor)
    sector_key = sector_by_key(sector).key if sector else None
    org_ids = None
    if mine:
        org_ids = [o.id for o in core.store.orgs.of_member(coalition.id, actor.user_id)]
        if not org_ids:
            raise Forbidden("You are not a member of any organisation here. Register one with `/org register`.")
    expire_due(core)
    posts = core.store.posts.list_open(
        coalition.id, kind, now=core.clock(), sector=sector_key, org_ids=org_ids, limit=LIST_LIMIT
    )
    names: dict[int, str] = {}
    for post in posts:
        if post.org_id not in names:
            found = core.store.orgs.get(post.org_id)
            names[post.org_id] = found.name if found else "?"
    return [PostLine(post=p, org_name=names[p.org_id]) for p in posts]


def close_post(core: Core, actor: Actor, kind: PostKind, ref: str) -> CloseResult:
    """The posting org closes its need or withdraws its offer; its matches end and partners re-match."""
    coalition = core.coalition_of(actor)
    post = get_post(core, coalition, kind, ref)
    org = core.store.orgs.get(post.org_id)
    if org is None or not core.store.orgs.is_member(org.id, actor.user_id):
        owner = escape(org.name) if org else "the posting organisation"
        raise Forbidden(
            f"Only coordinators of {owner} can {'close' if kind is PostKind.NEED else 'withdraw'} {post.ref}."
        )
    if post.status is not PostStatus.OPEN:
        raise Conflict(f"{post.ref} is already {post.status.value}.")
    now = core.clock()
    status = PostStatus.CLOSED if kind is PostKind.NEED else PostStatus.WITHDRAWN
    with core.store.atomic():
        ended = retire_post(core, post, status, actor.user_id, now, cancel_committed=True)
        core.store.audit.record(coalition.id, actor.user_id, f"{kind.value}.{status.value}", f"post:{post.ref}", now)
    closed = core.store.posts.get(post.id)
    assert closed is not None  # noqa: S101
    return CloseResult(post=closed, ended_matches=ended)


def get_post(core: Core, coalition: Coalition, kind: PostKind, ref: str) -> Post:
    post_id = parse_ref(ref, kind)
    post = core.store.posts.get(post_id)
    if post is None or post.coalition_id != coalition.id or post.kind is not kind:
        raise NotFound(f"There is no {kind.value} {kind.prefix}-{post_id} here. See `/{kind.value} list`.")
    return post


def my_open_posts(core: Core, actor: Actor, kind: PostKind, text: str) -> list[Post]:
    """The actor's orgs' open posts whose ref or item contains ``text`` (for autocomplete)."""
    coalition = core.coalition_of(actor)
    org_ids = [o.id for o in core.store.orgs.of_member(coalition.id, actor.user_id)]
    return core.store.posts.search_open_of_orgs(org_ids, kind, text, now=core.clock())


def expire_due(core: Core) -> list[Post]:
    """Close every open post whose deadline has passed (status ``expired``) and tell its poster.

    Its open proposals lapse and their partners re-match; committed matches
    stand, since the goods may already be on their way. Cheap when nothing is
    due (one indexed range read), so callers run it lazily before reads and
    matching, and a periodic job may run it too.
    """
    now = core.clock()
    due = core.store.posts.due_for_expiry(now)
    expired: list[Post] = []
    for post in due:
        with core.store.atomic():
            retire_post(core, post, PostStatus.EXPIRED, SYSTEM_ACTOR, now, cancel_committed=False)
            core.store.audit.record(post.coalition_id, SYSTEM_ACTOR, "post.expire", f"post:{post.ref}", now)
            coalition = core.store.coalitions.get(post.coalition_id)
            notify_user(
                core, coalition, post.posted_by,
                f"Your {post.kind.value} {post.ref} ({escape(post.item_label)}) passed its date and has expired; "
                "post it again if it still stands.",
                now,
            )  # fmt: skip
        expired.append(core.store.posts.get(post.id) or post)
    return expired


def committed_matches(core: Core, post: Post) -> list[Match]:
    """The post's live matches (for showing what is pledged against it)."""
    return core.store.matches.live_for_post(post.id)
