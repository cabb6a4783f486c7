"""/org: registration, vetting by admins, and the coordinators who act for an org."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core import Core
from bot.errors import Conflict, Forbidden, NotFound
from bot.models import Actor, ChannelKind, Coalition, Org, OrgStatus
from bot.services.coalition_config import require_admin
from bot.services.notices import notify_channel, notify_user
from bot.taxonomy import sector_by_key
from bot.text import escape, parse_id
from bot.validation import clean_text, parse_sector_list

MAX_NAME = 80
MAX_CONTACT = 200
MAX_DESCRIPTION = 500


def register_org(
    core: Core,
    actor: Actor,
    *,
    name: str,
    sectors: str,
    location: str,
    contact: str,
    description: str | None = None,
) -> Org:
    """A pending org whose registrant is its first member; admins are told in the log channel."""
    clean_name = clean_text(name, "organisation name", max_length=MAX_NAME)
    sector_keys = tuple(dict.fromkeys(sector_by_key(s).key for s in parse_sector_list(sectors)))
    place = core.gazetteer.resolve(location)
    clean_contact = clean_text(contact, "contact", max_length=MAX_CONTACT)
    clean_description = clean_text(description, "description", max_length=MAX_DESCRIPTION, required=False)
    coalition = core.coalition_of(actor)
    if core.store.orgs.by_name(coalition.id, clean_name) is not None:
        raise Conflict(f"An organisation called {escape(clean_name)} is already registered here; pick another name.")
    now = core.clock()
    with core.store.atomic():
        org_id = core.store.orgs.insert(
            coalition.id,
            name=clean_name,
            sectors=sector_keys,
            place_key=place.key,
            place_label=place.label,
            lat=place.lat,
            lon=place.lon,
            contact=clean_contact,
            description=clean_description,
            registered_by=actor.user_id,
            now=now,
            home_guild_id=actor.guild_id,
        )
        core.store.audit.record(coalition.id, actor.user_id, "org.register", f"org:{org_id}", now, name=clean_name)
        notify_channel(
            core,
            coalition,
            ChannelKind.LOG,
            f"New organisation awaiting verification: **{escape(clean_name)}** ({escape(place.label)}), "
            f"registered by <@{actor.user_id}>. An admin can run `/org verify`.",
            now,
        )
    org = core.store.orgs.get(org_id)
    assert org is not None  # noqa: S101 - inserted above
    return org


def resolve_org(core: Core, coalition: Coalition, text: str) -> Org:
    """An org named by its id (what autocomplete sends) or by its name."""
    text = (text or "").strip()
    org = None
    org_id = parse_id(text)
    if org_id is not None:
        org = core.store.orgs.get(org_id)
        if org is not None and org.coalition_id != coalition.id:
            org = None
    if org is None and text:
        org = core.store.orgs.by_name(coalition.id, text)
    if org is None:
        raise NotFound(f"No organisation called {escape(text[:80]) or 'that'} is registered here. See `/org list`.")
    return org


def verify_org(core: Core, actor: Actor, org_text: str) -> Org:
    require_admin(actor)
    coalition = core.coalition_of(actor)
    org = resolve_org(core, coalition, org_text)
    if org.is_verified:
        raise Conflict(f"{escape(org.name)} is already verified.")
    home = org.home_guild_id
    # Vetted where it registered: those admins know it. An org whose server left may be vetted by any member's.
    if home != actor.guild_id and core.store.federation.is_linked(coalition.id, home):
        servers = {link.guild_id: link.guild_name for link in core.store.federation.links(coalition.id)}
        raise Forbidden(
            f"{escape(org.name)} registered in the server {escape(servers.get(home, 'where it registered'))}: "
            "its admins verify it, and its verified status then holds across the coalition."
        )
    now = core.clock()
    with core.store.atomic():
        core.store.orgs.verify(org.id, actor.user_id, now)
        core.store.audit.record(coalition.id, actor.user_id, "org.verify", f"org:{org.id}", now)
        for member_id in core.store.orgs.member_ids(org.id):
            notify_user(
                core,
                coalition,
                member_id,
                f"**{escape(org.name)}** is now verified in {escape(coalition.name)}: its coordinators can post "
                "needs and offers.",
                now,
            )
    verified = core.store.orgs.get(org.id)
    assert verified is not None  # noqa: S101
    return verified


def add_member(core: Core, actor: Actor, *, member_id: int, member_is_bot: bool, org_text: str | None) -> Org:
    """An org's member adds a coordinator to it."""
    coalition = core.coalition_of(actor)
    org = acting_org(core, coalition, actor, org_text)
    if member_is_bot:
        raise Forbidden("Bots can't be members of an organisation.")
    now = core.clock()
    with core.store.atomic():
        if not core.store.orgs.add_member(org.id, member_id, added_by=actor.user_id, now=now):
            raise Conflict(f"<@{member_id}> is already a member of {escape(org.name)}.")
        core.store.audit.record(
            coalition.id, actor.user_id, "org.add_member", f"org:{org.id}", now, member_id=member_id
        )
    return org


def set_event_alerts(core: Core, actor: Actor, *, on: bool, org_text: str | None = None) -> Org:
    """An org's coordinator turns its DMs about events opening near it on or off."""
    coalition = core.coalition_of(actor)
    org = acting_org(core, coalition, actor, org_text)
    now = core.clock()
    with core.store.atomic():
        core.store.orgs.set_event_alerts(org.id, on)
        core.store.audit.record(coalition.id, actor.user_id, "org.alerts", f"org:{org.id}", now, on=on)
    changed = core.store.orgs.get(org.id)
    assert changed is not None  # noqa: S101
    return changed


def acting_org(core: Core, coalition: Coalition, actor: Actor, org_text: str | None) -> Org:
    """The org the actor acts for: the named one, or their only one."""
    mine = core.store.orgs.of_member(coalition.id, actor.user_id)
    if org_text:
        org = resolve_org(core, coalition, org_text)
        if org.id not in {o.id for o in mine}:
            raise Forbidden(f"You are not a member of {escape(org.name)}; only its members can act for it.")
        return org
    if not mine:
        raise Forbidden("You are not a member of any organisation here. Register one with `/org register`.")
    if len(mine) > 1:
        names = ", ".join(escape(o.name) for o in mine)
        raise InvalidOrgChoice(f"You belong to several organisations ({names}); choose one with the `org` option.")
    return mine[0]


class InvalidOrgChoice(Conflict):
    """The actor must say which of their orgs they act for."""


@dataclass(frozen=True, slots=True)
class OrgProfile:
    """What anyone may see of an org: never its contact."""

    org: Org
    member_ids: list[int]


def org_info(core: Core, actor: Actor, org_text: str) -> OrgProfile:
    coalition = core.coalition_of(actor)
    org = resolve_org(core, coalition, org_text)
    return OrgProfile(org=org, member_ids=core.store.orgs.member_ids(org.id))


def list_orgs(core: Core, actor: Actor, *, status: OrgStatus | None = None) -> list[Org]:
    return core.store.orgs.list(core.coalition_of(actor).id, status=status)


def search_orgs(core: Core, actor: Actor, text: str) -> list[Org]:
    return core.store.orgs.search(core.coalition_of(actor).id, text)
