"""Set-ups shared by the matching tests: a core on a fresh SQLite file, and a Discord world ready to post."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.core import Core
from bot.models import Actor, Org
from bot.services import events, orgs
from bot.settings import Settings
from bot.store import Store

GUILD = 1000
ADMIN = Actor(user_id=1, guild_id=GUILD, name="admin", is_admin=True, guild_name="Gulf Coast Relief")


@dataclass
class Clock:
    now: datetime = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class CoreWorld:
    """A core with an open event around Houston and verified orgs, each with one coordinator."""

    core: Core
    clock: Clock
    coordinators: dict[str, Actor] = field(default_factory=dict)
    orgs: dict[str, Org] = field(default_factory=dict)

    def add_org(self, name: str, user_id: int, *, location: str = "Houston", verified: bool = True) -> Actor:
        actor = Actor(user_id=user_id, guild_id=GUILD, name=name.lower(), guild_name="Gulf Coast Relief")
        org = orgs.register_org(
            self.core, actor, name=name, sectors="wash, food, shelter", location=location, contact=f"{name} +1 555"
        )
        if verified:
            org = orgs.verify_org(self.core, ADMIN, str(org.id))
        self.coordinators[name] = actor
        self.orgs[name] = org
        return actor


def core_world(path: Path, *, radius_km: float = 250.0, **settings: object) -> CoreWorld:
    clock = Clock()
    resolved = Settings().with_overrides(database=path, **settings)
    core = Core(store=Store(path), settings=resolved, clock=clock)
    events.open_event(core, ADMIN, name="Hurricane Delta", location="Houston", radius_km=radius_km)
    return CoreWorld(core=core, clock=clock)


# --- the Discord world -----------------------------------------------------------------------------------

ACCEPT = "accept"
DELIVERED = "deliver"
ORGS = {
    "alice": ("Houston Food Bank", "Houston", "alice-ops@example.org"),
    "bob": ("Baytown Relief", "Baytown", "bob-ops@example.org"),
    "carol": ("Galveston Aid", "Galveston", "carol-ops@example.org"),
}


def button(match_id: int, action: str) -> str:
    return f"coalesce:match:{match_id}:{action}"


async def ready_world(world, *, members=("alice", "bob", "carol")) -> None:
    """Channels configured, one verified org per coordinator, and an open event around Houston."""
    for kind, channel in world.channels.items():
        await world.admin.slash(world.general, "config channel", kind=kind, channel=channel)
    for name in members:
        org, place, contact = ORGS[name]
        member = getattr(world, name)
        await member.slash(
            world.general, "org register", name=org, sectors="wash, food", location=place, contact=contact
        )
        await world.admin.slash(world.general, "org verify", org=org)
    opened = await world.admin.slash(world.general, "event open", name="Hurricane Delta", location="Houston")
    assert not opened.ephemeral, opened.response.content


async def post_need(world, member, *, quantity: int, urgency: str = "normal", location: str = "Houston", **options):
    values = {"sector": "wash", "item": "bottled water", "quantity": quantity, "location": location}
    values.update(urgency=urgency, **options)
    result = await member.slash(world.general, "need post", **values)
    assert not result.ephemeral, result.response.content
    return result


async def post_offer(world, member, *, quantity: int, location: str, **options):
    values = {"sector": "wash", "item": "drinking water", "quantity": quantity, "location": location}
    values.update(options)
    result = await member.slash(world.general, "offer post", **values)
    assert not result.ephemeral, result.response.content
    return result


def match_message(world, ref: str):
    """The matches channel's message for ``ref`` (e.g. "M-1"), as it stands now."""
    found = [m for m in world.channels["matches"].history() if f"**{ref}**" in m.content]
    assert len(found) == 1, f"{len(found)} messages for {ref}"
    return found[0]


def buttons(message) -> list:
    return [child for row in message.components for child in getattr(row, "children", [])]
