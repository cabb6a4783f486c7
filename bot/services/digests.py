"""/digest and the scheduled rounds: build a coalition's digests off the loop, send each slot once.

A round reads the store once, in a worker thread with its own read-only
connection, and builds the channel digest, its chart and every subscriber's
personal digest from that one read; volunteers who chose alike share one view.
Back on the loop, one transaction claims the slot in ``digest_runs`` (so it is
sent at most once, across restarts too), stores the chart and each distinct view
once, and queues one outbox row per channel and per subscriber; a subscriber's
row names its view instead of carrying the embed, which keeps the transaction short.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.chart import draw_chart
from bot.core import Core
from bot.digest_render import DigestEmbed, render
from bot.digest_schedule import last_slot, previous_slot
from bot.digests import DigestFilter, DigestIndex, chart_data
from bot.errors import Forbidden, InvalidInput, NotFound
from bot.models import Actor, ChannelKind, Coalition
from bot.store import Store
from bot.store.digests import Delivery, Plan, Subscription
from bot.taxonomy import sector_by_key
from bot.validation import parse_sector_list

CHANNEL_KIND = "digest"
DM_KIND = "digest_dm"
CHART_NAME = "digest.png"
# Personal digests leave in bursts: 25 DMs every 5 seconds stays far below Discord's
# global limit of 50 requests a second, leaving room for commands and the channels.
DM_BURST = 25
DM_BURST_SECONDS = 5.0
DEFAULT_SUBSCRIPTION_RADIUS_KM = 100.0
MAX_SUBSCRIPTION_RADIUS_KM = 20_000.0
CHART_RETENTION = timedelta(days=7)
# DMs queued per transaction: short enough that the loop is never held for long.
QUEUE_CHUNK = 1_000


@dataclass(frozen=True)
class RenderedDigest:
    embed: DigestEmbed
    chart: bytes


@dataclass(frozen=True)
class PreparedRound:
    """A round built from one read, not yet recorded."""

    coalition_id: int
    slot: datetime
    ran_at: datetime
    channel_ids: list[int]
    channel: RenderedDigest | None
    views: list[str]  # each distinct personal digest's embed as JSON text; a view id is a position here
    personal: list[tuple[int, int]]  # user id, view id
    plan: str  # ``personal`` as JSON, for the store
    skipped_subscribers: int


@dataclass(frozen=True, slots=True)
class RoundOutcome:
    run_id: int
    slot: datetime
    channels: int
    subscribers: int
    skipped_subscribers: int  # nothing in their filter: no DM


@dataclass(frozen=True, slots=True)
class Subscribed:
    subscription: Subscription
    coalition: Coalition


# ----- scheduled rounds -----


def due_slot(coalition: Coalition, now: datetime) -> datetime | None:
    """The latest slot at or before ``now`` that a round should cover, if any.

    Only one slot is ever due: after downtime the missed slots coalesce into the
    latest. Slots before the coalition existed are never due.
    """
    slot = last_slot(coalition.digest_times, ZoneInfo(coalition.timezone), now)
    if slot is None or slot <= coalition.created_at:
        return None
    return slot


async def run_digest_round(core: Core, coalition_id: int, slot: datetime) -> RoundOutcome | None:
    """Build and queue the digests of ``slot``; None when the slot was already sent.

    The short reads and writes run on the store thread; the heavy read and rendering on a worker thread
    with its own read-only connection, so commands keep flowing through the store meanwhile.
    """
    inputs = await core.call(round_inputs, coalition_id, slot)
    if inputs is None:
        return None
    since, now, channel_ids = inputs
    with collector_paused():
        prepared = await asyncio.to_thread(build_round, core.store, coalition_id, slot, since, now, channel_ids)
    return await core.call(record_round, prepared)


def round_inputs(core: Core, coalition_id: int, slot: datetime) -> tuple[datetime, datetime, list[int]] | None:
    """(since, now, digest channels) for the round of ``slot``; None when that slot was already sent."""
    if core.store.digests.has_run(coalition_id, slot):
        return None
    coalition = core.store.coalitions.get(coalition_id)
    channels = core.store.coalitions.channel_targets(coalition_id, ChannelKind.DIGEST)
    return period_start(core, coalition, slot), core.clock(), channels


def period_start(core: Core, coalition: Coalition, before: datetime) -> datetime:
    """Where "since the last digest" begins: the last round, else the slot before ``before``."""
    last = core.store.digests.last_run_at(coalition.id)
    if last is not None:
        return last
    earlier = previous_slot(coalition.digest_times, ZoneInfo(coalition.timezone), before)
    return earlier or before - timedelta(days=1)


_pauses = 0


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection while a round is built: a full pass holds the GIL and stalls the event loop.

    The round allocates tens of thousands of short-lived rows that reference counting frees by
    itself; the collector then runs as usual. Nested rounds keep it paused until the last ends.
    """
    global _pauses
    _pauses += 1
    if _pauses == 1:
        gc.disable()
    try:
        yield
    finally:
        _pauses -= 1
        if _pauses == 0:
            gc.enable()


def build_round(
    store: Store, coalition_id: int, slot: datetime, since: datetime, now: datetime, channel_ids: list[int]
) -> PreparedRound:
    """The heavy part, for a worker thread: one read, then every digest of the round."""
    with store.reading() as reader:
        snapshot = reader.digests.snapshot(coalition_id, since, now)
        subscriptions = reader.digests.subscribers(coalition_id)
    index = DigestIndex(snapshot)
    channel = None
    if channel_ids:
        summary = index.summarise()
        channel = RenderedDigest(
            render(summary, image=f"attachment://{CHART_NAME}"), draw_chart(chart_data(summary, snapshot))
        )
    views: list[str] = []
    personal: list[tuple[int, int]] = []
    view_of: dict[DigestFilter, int | None] = {}  # volunteers who chose alike share one view
    for subscription in subscriptions:
        wanted = subscription.filter
        if wanted not in view_of:
            summary = index.summarise(wanted)
            view_of[wanted] = None if summary.is_empty else len(views)
            if not summary.is_empty:
                views.append(json.dumps(render(summary, personal=True).to_dict()))
        view_id = view_of[wanted]
        if view_id is not None:
            personal.append((subscription.user_id, view_id))
    skipped = len(subscriptions) - len(personal)
    plan = json.dumps(personal)
    return PreparedRound(coalition_id, slot, now, channel_ids, channel, views, personal, plan, skipped)


def record_round(core: Core, prepared: PreparedRound) -> RoundOutcome | None:
    """Claim the slot, then queue the round's personal digests; None if the slot was already claimed."""
    run_id = claim_round(core, prepared)
    if run_id is None:
        return None
    queue_personal(core, Plan(run_id, prepared.coalition_id, prepared.personal, 0, core.clock()))
    return RoundOutcome(
        run_id, prepared.slot, len(prepared.channel_ids), len(prepared.personal), prepared.skipped_subscribers
    )


def claim_round(core: Core, prepared: PreparedRound) -> int | None:
    """One transaction: the slot, the chart, the channel digests, each distinct view and the plan of the DMs.

    Queueing the DMs themselves is left to :func:`queue_personal`, in short transactions.
    """
    now = core.clock()
    with core.store.atomic():
        run_id = core.store.digests.claim_run(prepared.coalition_id, prepared.slot, prepared.ran_at)
        if run_id is None:
            return None
        if prepared.channel is not None:
            core.store.digests.save_chart(run_id, prepared.channel.chart, now)
            payload = json.dumps({"run_id": run_id, "embed": prepared.channel.embed.to_dict()})
            channels = [Delivery(CHANNEL_KIND, f"channel:{cid}", payload, now) for cid in prepared.channel_ids]
            core.store.digests.queue(prepared.coalition_id, channels, now)
        core.store.digests.save_views(run_id, prepared.views, now)
        if prepared.personal:
            core.store.digests.save_plan(run_id, prepared.coalition_id, prepared.plan, len(prepared.personal), now)
        core.store.digests.prune_charts(now - CHART_RETENTION)
        core.store.digests.prune_views(now - CHART_RETENTION)
        core.store.audit.record(
            prepared.coalition_id,
            0,
            "digest.round",
            f"slot:{prepared.slot.isoformat()}",
            now,
            channels=len(prepared.channel_ids),
            subscribers=len(prepared.personal),
        )
    return run_id


def queue_personal(core: Core, plan: Plan) -> None:
    """Queue the plan's DMs from where it stopped, a chunk per transaction.

    Each chunk moves the plan's marker in its own transaction, so every DM is queued exactly
    once even if the process stops part-way (:func:`finish_interrupted_rounds` takes it up).
    """
    payloads: dict[int, str] = {}
    paced_from = core.clock()  # a plan taken up after a restart is paced from then, not from the claim
    for start in range(plan.queued, len(plan.personal), QUEUE_CHUNK):
        upto = min(start + QUEUE_CHUNK, len(plan.personal))
        deliveries = []
        for position in range(start, upto):
            user_id, view_id = plan.personal[position]
            if view_id not in payloads:
                payloads[view_id] = json.dumps({"run_id": plan.run_id, "view_id": view_id})
            due = paced_from + timedelta(seconds=((position - plan.queued) // DM_BURST) * DM_BURST_SECONDS)
            deliveries.append(Delivery(DM_KIND, f"user:{user_id}", payloads[view_id], due))
        with core.store.atomic():
            if not core.store.digests.advance_plan(plan.run_id, start, upto):
                return  # queued meanwhile by another caller
            core.store.digests.queue(plan.coalition_id, deliveries, core.clock())


def finish_interrupted_rounds(core: Core) -> int:
    """Queue what rounds claimed before a restart left unqueued; how many rounds were finished."""
    plans = core.store.digests.unfinished_plans()
    for plan in plans:
        queue_personal(core, plan)
    return len(plans)


def chart_for(core: Core, run_id: int) -> bytes | None:
    return core.store.digests.chart(run_id)


def personal_embed(core: Core, payload: dict[str, object]) -> dict[str, object] | None:
    """The embed a personal digest's outbox row stands for; None once its round was pruned."""
    if "embed" in payload:  # queued before rounds stored their views apart
        return payload["embed"]  # type: ignore[return-value]
    return core.store.digests.view(int(payload["run_id"]), int(payload["view_id"]))  # type: ignore[arg-type]


# ----- on demand -----


def authorise_digest_now(core: Core, actor: Actor) -> Coalition:
    """The actor's coalition, if they may post a digest: an org member or a server admin."""
    coalition = core.coalition_of(actor)
    if not actor.is_admin and not core.store.orgs.of_member(coalition.id, actor.user_id):
        raise Forbidden(
            "Only members of a registered organisation or server admins can post a digest here. "
            "For your own copy by DM, use `/digest subscribe`."
        )
    return coalition


async def digest_now(core: Core, coalition: Coalition) -> RenderedDigest:
    """The coalition's digest as of now, covering the period since the last scheduled one."""
    now = core.clock()
    since = await core.call(period_start, coalition, now)
    rendered = await asyncio.to_thread(_build_now, core.store, coalition.id, since, now)
    await core.run(core.store.digests.note_digest_now, coalition.id, now)
    return rendered


def _build_now(store: Store, coalition_id: int, since: datetime, now: datetime) -> RenderedDigest:
    with store.reading() as reader:
        snapshot = reader.digests.snapshot(coalition_id, since, now)
    summary = DigestIndex(snapshot).summarise()
    return RenderedDigest(
        render(summary, image=f"attachment://{CHART_NAME}"), draw_chart(chart_data(summary, snapshot))
    )


# ----- subscriptions -----


def subscribe(
    core: Core,
    actor: Actor,
    *,
    sectors: str | None = None,
    location: str | None = None,
    radius_km: float | None = None,
) -> Subscribed:
    """Start (or change) the actor's personal digest, filtered to sectors and a circle."""
    sector_keys = (
        frozenset(sector_by_key(s).key for s in parse_sector_list(sectors))
        if sectors and sectors.strip()
        else frozenset()
    )
    place = core.gazetteer.resolve(location) if location and location.strip() else None
    if radius_km is not None and place is None:
        raise InvalidInput("A radius needs a centre: give a `location` too, or leave `radius_km` out.")
    radius = None
    if place is not None:
        radius = DEFAULT_SUBSCRIPTION_RADIUS_KM if radius_km is None else float(radius_km)
        if not 1 <= radius <= MAX_SUBSCRIPTION_RADIUS_KM:
            raise InvalidInput(f"The radius must be between 1 and {MAX_SUBSCRIPTION_RADIUS_KM:,.0f} km.")
    wanted = DigestFilter(
        sectors=sector_keys,
        lat=place.lat if place else None,
        lon=place.lon if place else None,
        radius_km=radius,
        place_label=place.label if place else "",
    )
    coalition = core.coalition_of(actor)
    now = core.clock()
    with core.store.atomic():
        core.store.digests.subscribe(coalition.id, actor.user_id, wanted, now)
        core.store.audit.record(
            coalition.id, actor.user_id, "digest.subscribe", f"user:{actor.user_id}", now, filter=wanted.describe()
        )
    subscription = core.store.digests.subscription(coalition.id, actor.user_id)
    assert subscription is not None  # noqa: S101 - written just above
    return Subscribed(subscription, coalition)


def unsubscribe(core: Core, actor: Actor) -> Coalition:
    coalition = core.coalition_of(actor)
    now = core.clock()
    with core.store.atomic():
        if not core.store.digests.unsubscribe(coalition.id, actor.user_id):
            raise NotFound("You have no personal digest here. Start one with `/digest subscribe`.")
        core.store.audit.record(coalition.id, actor.user_id, "digest.unsubscribe", f"user:{actor.user_id}", now)
    return coalition


def still_subscribed(core: Core, coalition_id: int, user_id: int) -> bool:
    """Whether a queued personal digest should still leave (the volunteer may have unsubscribed)."""
    subscription = core.store.digests.subscription(coalition_id, user_id)
    return subscription is not None and not subscription.dm_closed


def mark_dm_closed(core: Core, coalition_id: int, user_id: int) -> None:
    """Discord refused a DM: skip this volunteer until they subscribe again."""
    now = core.clock()
    with core.store.atomic():
        core.store.digests.mark_dm_closed(coalition_id, user_id)
        core.store.audit.record(coalition_id, 0, "digest.dm_closed", f"user:{user_id}", now)
