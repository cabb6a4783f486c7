"""Writes registrations (and posts, when the store has them) as fast as it can, printing each committed id.

Run by ``test_crash_safety`` and killed with SIGKILL mid-burst:
``python -m tests.bot.crash_writer DATABASE``. Each line ``org <id>`` or
``post <id>`` is printed only after its transaction committed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.core import Core
from bot.models import Actor, ChannelKind, PostKind, Urgency
from bot.services import coalition_config, events, orgs
from bot.store import Store

ADMIN = Actor(user_id=1, guild_id=700, name="admin", is_admin=True, guild_name="Drill")
LIMIT = 100_000  # far beyond what the test lets it reach


def main(database: Path) -> None:
    core = Core(store=Store(database))
    coalition_config.set_channel(core, ADMIN, ChannelKind.LOG, 4242)
    event = events.open_event(core, ADMIN, name="Drill", location="Houston")
    can_post = hasattr(core.store, "posts")
    print("ready", flush=True)
    for n in range(LIMIT):
        member = Actor(user_id=1000 + n, guild_id=700, name=f"m{n}")
        org = orgs.register_org(
            core, member, name=f"Org {n}", sectors="wash", location="Houston", contact=f"ops{n}@example.org"
        )
        print(f"org {org.id}", flush=True)
        if can_post:
            print(f"post {post_need(core, event.id, org.id, member.user_id)}", flush=True)


def post_need(core: Core, event_id: int, org_id: int, user_id: int) -> int:
    """A need with its audit entry and notice, in one transaction, as the posting service writes it."""
    from bot.store.post_rows import NewPost

    place = core.gazetteer.resolve("Houston")
    now = core.clock()
    with core.store.atomic():
        post_id = core.store.posts.insert(
            NewPost(
                kind=PostKind.NEED, coalition_id=1, event_id=event_id, org_id=org_id, sector="wash",
                item_key="bottled_water", item_label="Bottled water", quantity=10, unit="cases",
                place_key=place.key, place_label=place.label, lat=place.lat, lon=place.lon,
                urgency=Urgency.HIGH, deadline=None, notes="", posted_by=user_id, cell=0,
            ),
            now,
        ).id  # fmt: skip
        core.store.audit.record(1, user_id, "need.post", f"post:{post_id}", now)
        core.store.outbox.enqueue(1, "notice", "channel:4242", {"text": f"N-{post_id}"}, now)
    return post_id


if __name__ == "__main__":
    main(Path(sys.argv[1]))
