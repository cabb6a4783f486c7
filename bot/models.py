"""Dataclasses of the domain. Plain values: no Discord, no SQL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cached_property


class ChannelKind(StrEnum):
    NEEDS = "needs"
    OFFERS = "offers"
    MATCHES = "matches"
    DIGEST = "digest"
    ALERTS = "alerts"
    LOG = "log"


class OrgStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"


class EventStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class PostKind(StrEnum):
    NEED = "need"
    OFFER = "offer"

    @property
    def prefix(self) -> str:
        return "N" if self is PostKind.NEED else "O"

    @property
    def other(self) -> PostKind:
        return PostKind.OFFER if self is PostKind.NEED else PostKind.NEED


class PostStatus(StrEnum):
    OPEN = "open"
    FULFILLED = "fulfilled"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class Urgency(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    # Cached on the member: ranking reads them for every candidate of every post.
    @cached_property
    def weight(self) -> float:
        """How much a unit of this urgency counts against a unit of `normal`."""
        return {"critical": 4.0, "high": 2.0, "normal": 1.0, "low": 0.5}[self.value]

    @cached_property
    def rank(self) -> int:
        return {"critical": 0, "high": 1, "normal": 2, "low": 3}[self.value]


class MatchStatus(StrEnum):
    PROPOSED = "proposed"
    COMMITTED = "committed"
    DELIVERED = "delivered"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    LAPSED = "lapsed"

    @property
    def is_live(self) -> bool:
        return self in (MatchStatus.PROPOSED, MatchStatus.COMMITTED)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a Discord user, in one server, with or without Manage Server."""

    user_id: int
    guild_id: int
    name: str = ""
    is_admin: bool = False
    guild_name: str = ""


@dataclass(frozen=True, slots=True)
class Coalition:
    id: int
    name: str
    timezone: str
    digest_times: tuple[str, ...]
    created_at: datetime
    lead_guild_id: int | None = None


@dataclass(frozen=True, slots=True)
class Org:
    id: int
    coalition_id: int
    name: str
    sectors: tuple[str, ...]
    place_label: str
    lat: float
    lon: float
    contact: str
    description: str
    status: OrgStatus
    registered_by: int
    created_at: datetime
    home_guild_id: int | None = None  # the server where it registered: its admins vet it
    event_alerts: bool = True  # DMs to its coordinators when an event opens near it

    @property
    def is_verified(self) -> bool:
        return self.status is OrgStatus.VERIFIED


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    coalition_id: int
    name: str
    place_label: str
    lat: float | None
    lon: float | None
    radius_km: float
    status: EventStatus
    opened_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Post:
    """A need or an offer. ``remaining`` is what no live commitment covers yet."""

    id: int
    kind: PostKind
    coalition_id: int
    event_id: int
    org_id: int
    sector: str
    item_key: str
    item_label: str
    quantity: int
    remaining: int
    unit: str
    place_label: str
    lat: float
    lon: float
    urgency: Urgency
    deadline: datetime | None
    notes: str
    status: PostStatus
    posted_by: int
    created_at: datetime
    # Set once its poster has let a freshness prompt and its grace pass unanswered; answering clears it.
    unconfirmed_since: datetime | None = None
    # How far it reaches for partners (bot.matching.reach_level): -1 its town, 0 near, up to 3 the whole event.
    reach_level: int = 0

    @property
    def ref(self) -> str:
        return f"{self.kind.prefix}-{self.id}"


@dataclass(frozen=True, slots=True)
class Match:
    id: int
    coalition_id: int
    event_id: int
    need_id: int
    offer_id: int
    score: float
    distance_km: float
    quantity: int
    status: MatchStatus
    need_accepted_by: int | None
    offer_accepted_by: int | None
    created_at: datetime
    committed_at: datetime | None
    delivered_at: datetime | None
    # What leaves the offer, in the offer's unit; ``quantity`` is what the need is credited, in the need's unit.
    # The two are equal when both posts count in the same unit.
    offer_quantity: int
    # When a proposal expires or a commitment is next chased; None once nothing more is chased.
    due_at: datetime | None = None
    nudges: int = 0
    # The offering side's delivery report, waiting for the needing side's Received.
    reported_at: datetime | None = None
    reported_by: int | None = None
    # A hand-off proposal: the stalled commitment it takes over when it commits.
    replaces_id: int | None = None

    @property
    def ref(self) -> str:
        return f"M-{self.id}"

    @property
    def is_reported(self) -> bool:
        return self.status is MatchStatus.COMMITTED and self.reported_at is not None

    def side_quantity(self, kind: PostKind) -> int:
        """What this match moves for a post of ``kind``, in that post's own unit."""
        return self.quantity if kind is PostKind.NEED else self.offer_quantity


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A notification waiting to leave for Discord (durable, retried).

    The payload stays the row's JSON text until a sender reads it. Under a rate limit thousands of claimed
    rows wait in memory, and parsed they were tens of thousands of dicts and lists that every full pass of
    the garbage collector walked, stalling the event loop; a string is not walked at all.
    """

    id: int
    coalition_id: int
    kind: str
    target: str
    payload_json: str
    attempts: int
    created_at: datetime

    @property
    def payload(self) -> dict[str, object]:
        return json.loads(self.payload_json)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    coalition_id: int
    actor_id: int
    action: str
    subject: str
    detail: dict[str, object]
    at: datetime
    guild_id: int | None = None  # the server the action came from; None for the bot's own
