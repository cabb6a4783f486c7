"""Retention: contacts are erased once every event an org took part in closed retention_days ago."""

from __future__ import annotations

from bot.core import Core
from bot.models import Actor
from bot.retention import purge_expired_contacts
from bot.services import events, orgs, posts
from bot.settings import Settings
from bot.store import Store
from tests.conftest import FakeClock

ADMIN = Actor(user_id=1, guild_id=500, is_admin=True)
ALICE = Actor(user_id=11, guild_id=500)
BOB = Actor(user_id=12, guild_id=500)


def build(new_database) -> tuple[Core, FakeClock]:
    clock = FakeClock()
    core = Core(store=Store(new_database("c")), settings=Settings(retention_days=30), clock=clock)
    orgs.register_org(core, ALICE, name="Houston Food Bank", sectors="wash", location="Houston", contact="a@x.org")
    orgs.register_org(core, BOB, name="Gulf Water", sectors="wash", location="Houston", contact="b@x.org")
    orgs.verify_org(core, ADMIN, "Houston Food Bank")
    return core, clock


def contacts(core: Core) -> dict[str, str]:
    return {o.name: o.contact for o in core.store.orgs.list(1)}


def test_nothing_is_purged_while_an_event_is_open_or_before_the_retention_period(new_database):
    core, clock = build(new_database)
    assert purge_expired_contacts(core) == 0  # no event yet: nothing has ended
    events.open_event(core, ADMIN, name="Delta")
    clock.advance(days=90)
    assert purge_expired_contacts(core) == 0  # still open
    events.close_event(core, ADMIN, "Delta")
    clock.advance(days=29, hours=23)
    assert purge_expired_contacts(core) == 0
    assert contacts(core) == {"Gulf Water": "b@x.org", "Houston Food Bank": "a@x.org"}


def test_contacts_go_once_every_event_closed_long_enough_ago_and_each_purge_is_audited(new_database):
    core, clock = build(new_database)
    events.open_event(core, ADMIN, name="Delta")
    events.close_event(core, ADMIN, "Delta")
    clock.advance(days=30, seconds=1)

    assert purge_expired_contacts(core) == 2

    assert contacts(core) == {"Gulf Water": "", "Houston Food Bank": ""}
    purges = core.store.audit.recent(1, action_prefix="retention.purge")
    assert sorted(e.subject for e in purges) == ["org:1", "org:2"] and {e.actor_id for e in purges} == {0}
    assert purge_expired_contacts(core) == 0  # already gone: nothing more, no duplicate audit


def test_an_org_keeps_its_contact_while_an_event_it_posted_in_closed_recently(new_database):
    core, clock = build(new_database)
    events.open_event(core, ADMIN, name="Delta")
    events.close_event(core, ADMIN, "Delta")
    clock.advance(days=20)
    events.open_event(core, ADMIN, name="Epsilon")
    posts.post_need(core, ALICE, sector="wash", item="soap", quantity=5, location="Houston")
    events.close_event(core, ADMIN, "Epsilon")
    clock.advance(days=15)  # Delta closed 35 days ago, Epsilon 15

    assert purge_expired_contacts(core) == 0  # Bob never posted: judged by every event, and Epsilon is recent
    clock.advance(days=16)
    assert purge_expired_contacts(core) == 2


def test_an_org_registered_after_the_last_event_keeps_its_contact(new_database):
    core, clock = build(new_database)
    events.open_event(core, ADMIN, name="Delta")
    events.close_event(core, ADMIN, "Delta")
    clock.advance(days=60)
    orgs.register_org(core, Actor(user_id=13, guild_id=500), name="Newcomer", sectors="food", location="Houston",
                      contact="n@x.org")  # fmt: skip

    assert purge_expired_contacts(core) == 2
    assert contacts(core)["Newcomer"] == "n@x.org"
