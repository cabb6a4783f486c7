"""The duplicate warning: a post that looks like one of its org's open posts is held until its poster decides.

"Looks like" means the same org, kind, item, place and unit, posted in the last
24 hours, still open, with a quantity within a factor of two. The held post's
options (already validated and resolved, so a click re-reads them exactly) are
kept in the store, so the **Update N-12** and **Post anyway** buttons work after
a restart. Each click checks authority anew, and a held post is used once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core import Core
from bot.errors import Conflict, Forbidden, NotFound
from bot.models import Actor, Coalition, Org, Post, PostKind, Urgency
from bot.services import freshness
from bot.services.proposals import propose_for
from bot.store.pending import PendingPost
from bot.text import escape
from bot.validation import parse_deadline

WINDOW = timedelta(hours=24)
# Quantities within this factor of each other count as similar: 40 and 50 do, 40 and 200 do not.
SIMILAR_FACTOR = 2.0
DEADLINE_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True, slots=True)
class DuplicateWarning:
    """A post held back: ``existing`` is the open post it looks like."""

    pending_id: int
    kind: PostKind
    existing: Post
    age: timedelta


@dataclass(frozen=True, slots=True)
class UpdateResult:
    post: Post
    before: Post
    changes: tuple[str, ...]
    proposals: int


def similar(a: int, b: int) -> bool:
    return max(a, b) <= SIMILAR_FACTOR * min(a, b)


def find_alike(
    core: Core, org: Org, kind: PostKind, *, item_key: str, place_key: str, unit: str, quantity: int, now: datetime
) -> Post | None:
    """The org's newest open post this one looks like, or None."""
    alike = core.store.posts.open_alike(org.id, kind, item_key, place_key, unit, since=now - WINDOW, now=now)
    return next((post for post in alike if similar(post.quantity, quantity)), None)


def hold(
    core: Core,
    actor: Actor,
    coalition: Coalition,
    kind: PostKind,
    existing: Post,
    options: dict[str, object],
    now: datetime,
) -> DuplicateWarning:
    """Keep the post's options until its poster clicks; old held posts nobody decided on are dropped."""
    with core.store.atomic():
        core.store.pending.forget_before(now - WINDOW)
        pending_id = core.store.pending.hold(coalition.id, actor.user_id, kind, existing.id, options, now)
    return DuplicateWarning(pending_id=pending_id, kind=kind, existing=existing, age=now - existing.created_at)


def deadline_option(moment: datetime | None, zone: ZoneInfo) -> str | None:
    """A resolved deadline as text that reads back exactly: "tomorrow" must not move by the time of the click."""
    return moment.astimezone(zone).strftime(DEADLINE_FORMAT) if moment else None


def claim(core: Core, actor: Actor, pending_id: int) -> PendingPost:
    """The actor's held post, removed so a second click finds nothing; call inside a transaction."""
    coalition = core.coalition_of(actor)
    pending = core.store.pending.get(pending_id)
    if pending is None or pending.coalition_id != coalition.id:
        raise NotFound("This choice is no longer open (it was made, or is over a day old). Post again if needed.")
    if pending.user_id != actor.user_id:
        raise Forbidden("Only the person who posted it can decide about this post.")
    if not core.store.pending.take(pending_id):
        raise Conflict("This choice was already made.")
    return pending


def update_from_pending(core: Core, actor: Actor, pending_id: int) -> UpdateResult:
    """Give the existing post the held post's quantity, urgency, deadline and notes, and re-match it."""
    coalition = core.coalition_of(actor)
    now = core.clock()
    with core.store.atomic():
        pending = claim(core, actor, pending_id)
        before = core.store.posts.get(pending.duplicate_of)
        if before is None or before.coalition_id != coalition.id:
            raise NotFound("The post this looked like is gone. Post again if needed.")
        org = core.store.orgs.get(before.org_id)
        if org is None or not core.store.orgs.is_member(org.id, actor.user_id):
            raise Forbidden(f"Only coordinators of the posting organisation can update {before.ref}.")
        if not org.is_verified:
            raise Forbidden(f"{escape(org.name)} is not verified any more, so its posts can't be updated.")
        options = pending.options
        quantity = int(options["quantity"])  # type: ignore[call-overload]
        urgency = Urgency(str(options.get("urgency") or before.urgency.value))
        field = "needed_by" if pending.kind is PostKind.NEED else "available_until"
        zone = ZoneInfo(coalition.timezone)
        deadline = parse_deadline(options.get(field), zone=zone, now=now, field=f"{field} date")  # type: ignore[arg-type]
        notes = str(options.get("notes") or "")
        if not core.store.posts.update_terms(
            before.id, quantity=quantity, urgency=urgency, deadline=deadline, notes=notes
        ):
            pledged = before.quantity - before.remaining
            raise Conflict(
                f"{before.ref} can't be updated: it is no longer open, or {pledged:,} {escape(before.unit)} of it "
                f"are already pledged, more than {quantity:,}. Post anyway instead, or close it first."
            )
        post = core.store.posts.get(before.id)
        assert post is not None  # noqa: S101 - updated just above
        freshness.start(core, post, now)  # restated by its poster: it stands as of now
        core.store.audit.record(
            coalition.id, actor.user_id, f"{post.kind.value}.update", f"post:{post.ref}", now,
            quantity=quantity, urgency=urgency.value,
        )  # fmt: skip
        proposed = propose_for(core, post.id, now)
    return UpdateResult(post=post, before=before, changes=_changes(before, post), proposals=len(proposed))


def _changes(before: Post, after: Post) -> tuple[str, ...]:
    changes = []
    if before.quantity != after.quantity:
        changes.append(f"quantity {before.quantity:,} → {after.quantity:,} {escape(after.unit)}")
    if before.kind is PostKind.NEED and before.urgency is not after.urgency:
        changes.append(f"urgency {before.urgency.value} → {after.urgency.value}")
    if before.deadline != after.deadline:
        changes.append("deadline")
    if before.notes != after.notes:
        changes.append("notes")
    return tuple(changes)
