"""Freshness: the bot asks posters whether their open posts still stand, and marks the silent ones.

Soft and never destructive: a post whose poster does not answer becomes
*unconfirmed* (still open, still matchable, listed after confirmed posts) and
answering restores it. Deadlines still end posts (``expire_due``); silence never does.
Prompts are batched: at most one DM per coordinator per hour, several posts in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core import Core
from bot.errors import Conflict, Forbidden, InvalidInput, NotFound
from bot.models import Actor, Post, PostKind, PostStatus, Urgency
from bot.services.matches import propose_for
from bot.services.proposals import SYSTEM_ACTOR
from bot.text import escape
from bot.windows import FRESHNESS_HOURS, MAX_FRESHNESS_HOURS, PROMPT_SPACING, freshness_window

# A Discord message holds five rows of buttons: one row per post.
POSTS_PER_PROMPT = 5
# Rows per transaction: each batch holds the loop a few milliseconds, and the loop turns between batches.
SWEEP_BATCH = 50


@dataclass(frozen=True, slots=True)
class FreshnessSweep:
    prompts: int
    asked: int
    unconfirmed: int
    more: bool


@dataclass(frozen=True, slots=True)
class FreshnessWindows:
    hours: dict[Urgency, int]
    chosen: frozenset[Urgency]


def window_of(core: Core, post: Post) -> timedelta:
    return freshness_window(post.kind, post.urgency, core.store.freshness.windows(post.coalition_id))


def first_check(core: Core, coalition_id: int, kind: PostKind, urgency: Urgency, now: datetime) -> datetime:
    """When the poster of a post made ``now`` is first asked whether it still stands: after its window.

    Worked out before the post is stored, so the post is written once with it (``NewPost.fresh_due_at``).
    """
    return now + freshness_window(kind, urgency, core.store.freshness.windows(coalition_id))


def start(core: Core, post: Post, now: datetime) -> None:
    """A post stands as of now; its poster is asked after its window. Call inside the post's transaction."""
    core.store.freshness.confirm(post.id, now, now + window_of(core, post))


def sweep(core: Core, now: datetime, *, limit: int = SWEEP_BATCH) -> FreshnessSweep:
    """Take one batch of due freshness steps: ask posters (batched per coordinator), or mark silent posts.

    ``more`` says the batch was full, so the caller runs another after yielding to the loop.
    """
    due = core.store.freshness.due(now, limit=limit)
    prompts: dict[int, list[Post]] = {}
    asked = unconfirmed = 0
    # A batch touches few coalitions, orgs and coordinators: each is read once per batch, not once per post.
    windows: dict[int, dict[str, int]] = {}
    members_of: dict[int, list[int]] = {}
    last_prompt: dict[int, datetime | None] = {}
    store = core.store
    with store.atomic():
        for post, stage in due:
            if post.coalition_id not in windows:
                windows[post.coalition_id] = store.freshness.windows(post.coalition_id)
            window = freshness_window(post.kind, post.urgency, windows[post.coalition_id])
            if stage >= 1:
                store.freshness.mark_unconfirmed(post.id, now)
                store.audit.record(post.coalition_id, SYSTEM_ACTOR, "post.unconfirmed", f"post:{post.ref}", now)
                unconfirmed += 1
                continue
            if post.remaining == 0:
                # Fully pledged: the delivery follow-up chases it, not this.
                store.freshness.postpone(post.id, now + window)
                continue
            if post.org_id not in members_of:
                members_of[post.org_id] = store.orgs.member_ids(post.org_id)
            members = members_of[post.org_id]
            placed = False
            wait_until = now + PROMPT_SPACING
            for member in members:
                if member not in last_prompt:
                    last_prompt[member] = store.freshness.last_prompt_at(member)
                last = last_prompt[member]
                if member not in prompts and last is not None and last + PROMPT_SPACING > now:
                    wait_until = min(wait_until, last + PROMPT_SPACING)
                    continue
                batch = prompts.setdefault(member, [])
                if len(batch) < POSTS_PER_PROMPT:
                    batch.append(post)
                    placed = True
            if members and not placed:
                # Its coordinators heard from us within the hour: it joins their next message.
                store.freshness.postpone(post.id, wait_until)
                continue
            store.freshness.mark_asked(post.id, now + window)
            asked += 1
        for user_id, posts in prompts.items():
            if not posts:
                continue
            store.freshness.record_prompt(user_id, now)
            store.outbox.enqueue(
                posts[0].coalition_id, "freshness_prompt", f"user:{user_id}", {"post_ids": [p.id for p in posts]}, now
            )
    return FreshnessSweep(
        prompts=sum(1 for p in prompts.values() if p), asked=asked, unconfirmed=unconfirmed, more=len(due) >= limit
    )


def confirm_post(core: Core, actor: Actor, kind: PostKind, post_id: int) -> Post:
    """**Still needed** / **Still available**: the post stands, and is no longer shown as unconfirmed."""
    post = _own_open_post(core, actor, kind, post_id, "confirm")
    now = core.clock()
    with core.store.atomic():
        core.store.freshness.confirm(post.id, now, now + window_of(core, post))
        core.store.audit.record(post.coalition_id, actor.user_id, "post.confirm", f"post:{post.ref}", now)
    return _get(core, post.id)


def change_quantity(core: Core, actor: Actor, kind: PostKind, post_id: int, text: str) -> Post:
    """**Change quantity**: a new total, never below what is already pledged or delivered; confirms the post."""
    post = _own_open_post(core, actor, kind, post_id, "change")
    try:
        quantity = int(str(text).strip().replace(",", "").replace("_", ""))
    except ValueError:
        raise InvalidInput("Give the new total as a whole number, like 250.") from None
    pledged = post.quantity - post.remaining
    if quantity < max(1, pledged):
        if pledged:
            raise InvalidInput(
                f"{pledged:,} {escape(post.unit)} of {post.ref} are already pledged or delivered, so the total "
                f"can't go below that. Cancel a match first, or close the post if it no longer stands."
            )
        raise InvalidInput("The quantity must be at least 1; close the post instead if it no longer stands.")
    if quantity > 1_000_000_000:
        raise InvalidInput("The quantity must be at most 1,000,000,000.")
    now = core.clock()
    with core.store.atomic():
        if not core.store.posts.set_quantity(post.id, quantity):
            raise Conflict(f"{post.ref} changed meanwhile; please try again.")
        core.store.freshness.confirm(post.id, now, now + window_of(core, post))
        core.store.audit.record(
            post.coalition_id, actor.user_id, "post.quantity", f"post:{post.ref}", now, was=post.quantity, to=quantity
        )
        changed = _get(core, post.id)
        if changed.remaining == 0 and core.store.matches.committed_total(post.id) == 0:
            core.store.posts.set_status(post.id, PostStatus.FULFILLED, now)
        elif changed.remaining > 0:
            propose_for(core, post.id, now)
    return _get(core, post.id)


def freshness_windows(core: Core, coalition_id: int) -> FreshnessWindows:
    chosen = core.store.freshness.windows(coalition_id)
    hours = {u: chosen.get(u.value, FRESHNESS_HOURS[u]) for u in sorted(Urgency, key=lambda u: u.rank)}
    return FreshnessWindows(hours=hours, chosen=frozenset(Urgency(u) for u in chosen))


def set_freshness_windows(core: Core, actor: Actor, hours: dict[str, int | None]) -> FreshnessWindows:
    """An admin sets some windows (hours by urgency); the others keep their value. Posts already asked
    keep their current step; each post's next step follows the new window."""
    if not actor.is_admin:
        raise Forbidden("Only server admins (Manage Server permission) can do that.")
    given = {k: v for k, v in hours.items() if v is not None}
    for urgency, value in given.items():
        if not 1 <= value <= MAX_FRESHNESS_HOURS:
            raise InvalidInput(f"The {urgency} window must be from 1 to {MAX_FRESHNESS_HOURS} hours; it was {value}.")
    coalition = core.coalition_of(actor)
    if not given:
        return freshness_windows(core, coalition.id)
    now = core.clock()
    with core.store.atomic():
        for urgency, value in given.items():
            core.store.freshness.set_window(coalition.id, Urgency(urgency).value, value, actor.user_id, now)
        core.store.audit.record(coalition.id, actor.user_id, "config.freshness", "windows", now, **given)
    return freshness_windows(core, coalition.id)


def prompt_posts(core: Core, post_ids: list[int]) -> list[Post]:
    """The posts of a prompt as they stand now: those closed meanwhile are left out."""
    found = [core.store.posts.get(post_id) for post_id in post_ids]
    return [p for p in found if p is not None and p.status is PostStatus.OPEN]


def _own_open_post(core: Core, actor: Actor, kind: PostKind, post_id: int, verb: str) -> Post:
    post = core.store.posts.get(post_id)
    coalition = core.coalition_of(actor)
    if post is None or post.kind is not kind or post.coalition_id != coalition.id:
        raise NotFound(f"There is no {kind.value} {kind.prefix}-{post_id} here.")
    org = core.store.orgs.get(post.org_id)
    if org is None or not core.store.orgs.is_member(org.id, actor.user_id):
        owner = org.name if org else "the posting organisation"
        raise Forbidden(f"Only coordinators of {escape(owner)} can {verb} {post.ref}.")
    if post.status is not PostStatus.OPEN:
        raise Conflict(f"{post.ref} is already {post.status.value}.")
    return post


def _get(core: Core, post_id: int) -> Post:
    post = core.store.posts.get(post_id)
    if post is None:
        raise NotFound(f"There is no post #{post_id}.")
    return post
