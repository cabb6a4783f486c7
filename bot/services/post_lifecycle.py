"""A posted need or offer after its posting: finding it by its id, listing, closing and expiry.

A post is listed while it is open (``bot.store.post_rows.open_posts``); its org closes a need or withdraws an
offer; a deadline that passes expires it. Either way its open proposals lapse and partners re-match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core import Core
from bot.errors import Conflict, Forbidden, InvalidInput, NotFound
from bot.models import Actor, Coalition, Match, Post, PostKind, PostStatus
from bot.services.matches import SYSTEM_ACTOR, retire_post
from bot.services.notices import notify_user
from bot.taxonomy import sector_by_key
from bot.text import escape, parse_id

LIST_LIMIT = 20


@dataclass(frozen=True, slots=True)
class PostLine:
    post: Post
    org_name: str


@dataclass(frozen=True, slots=True)
class CloseResult:
    post: Post
    ended_matches: int


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
