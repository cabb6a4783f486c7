"""/coalition: several servers forming one coalition: naming it, inviting, joining and leaving.

The rule (docs/coalitions-and-alerts.md): a server that joins brings its coalition's
records along (orgs, events, posts, matches, audit; ids unchanged, since ids are
unique across the database), provided it is that coalition's only server; a
server that leaves takes nothing: the coalition keeps its whole history, the
orgs registered there included, and the server starts afresh on its own.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core import Core
from bot.errors import Conflict, Forbidden, InvalidInput, NotFound
from bot.models import Actor, ChannelKind, Coalition
from bot.services.coalition_config import require_admin
from bot.services.notices import notify_channel
from bot.store.federation import GuildLink, JoinClash, Moved
from bot.text import escape
from bot.validation import clean_text

INVITE_VALID = timedelta(hours=24)
# No 0/O or 1/I: a code read aloud or copied by hand stays unambiguous. 12 of 32 symbols: 60 bits.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12
MAX_NAME = 80


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    code: str
    expires_at: datetime
    coalition: Coalition


@dataclass(frozen=True, slots=True)
class Joined:
    coalition: Coalition
    moved: Moved


@dataclass(frozen=True, slots=True)
class Left:
    former: Coalition
    own: Coalition
    orgs_staying: int


@dataclass(frozen=True, slots=True)
class MemberServer:
    link: GuildLink
    is_lead: bool
    admin_channel_id: int | None  # where its admins read Coalesce's notes (its log channel)


@dataclass(frozen=True, slots=True)
class CoalitionInfo:
    coalition: Coalition
    servers: list[MemberServer]
    orgs: int


def code_hash(code: str) -> str:
    """Only a hash of each code is stored: a copy of the database cannot be used to join."""
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def normalise_code(text: str) -> str:
    """``"abcd-efgh-jkmn"`` or ``"ABCDEFGHJKMN"`` -> ``"ABCD-EFGH-JKMN"``; anything else is refused."""
    letters = re.sub(r"[\s`-]", "", (text or "")).upper()
    if len(letters) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in letters):
        raise InvalidInput(
            "That is not an invite code. A code looks like `ABCD-EFGH-JKMN`; the other server's admins get one "
            "with `/coalition invite`."
        )
    return "-".join(letters[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def create_coalition(core: Core, actor: Actor, name: str) -> Coalition:
    """Name the coalition this server leads (every server already has one of its own)."""
    require_admin(actor)
    clean_name = clean_text(name, "coalition name", max_length=MAX_NAME)
    coalition = core.coalition_of(actor)
    lead = coalition.lead_guild_id
    if lead not in (None, actor.guild_id) and core.store.federation.is_linked(coalition.id, lead):
        raise Forbidden(
            f"This server belongs to {escape(coalition.name)}, which another server leads: its admins name it. "
            "To lead a coalition of your own, leave this one first with `/coalition leave`."
        )
    now = core.clock()
    with core.store.atomic():
        core.store.federation.rename(coalition.id, clean_name, actor.guild_id)
        core.store.audit.record(coalition.id, actor.user_id, "coalition.create", f"coalition:{coalition.id}", now,
                                name=clean_name, former=coalition.name)  # fmt: skip
    return core.store.coalitions.get(coalition.id)


def invite(core: Core, actor: Actor) -> IssuedInvite:
    """A single-use code, valid 24 hours, that lets another server's admins join this coalition."""
    require_admin(actor)
    coalition = core.coalition_of(actor)
    letters = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    code = normalise_code(letters)
    now = core.clock()
    expires = now + INVITE_VALID
    with core.store.atomic():
        core.store.federation.add_invite(code_hash(code), coalition.id, actor.guild_id, actor.user_id, now, expires)
        # The code itself is never written down: the audit names only who asked for one, and until when.
        core.store.audit.record(coalition.id, actor.user_id, "coalition.invite", f"coalition:{coalition.id}", now,
                                expires=expires.isoformat(timespec="minutes"))  # fmt: skip
    return IssuedInvite(code=code, expires_at=expires, coalition=coalition)


def join(core: Core, actor: Actor, code: str) -> Joined:
    """This server joins the coalition the code was issued for, bringing its records along."""
    require_admin(actor)
    key = code_hash(normalise_code(code))
    current = core.coalition_of(actor)
    now = core.clock()
    found = core.store.federation.invite(key)
    if found is None:
        raise NotFound("No invite has that code. Ask the other server's admins for one with `/coalition invite`.")
    issued, used = found
    if used:
        raise Conflict("That invite code was already used; each code works once. Ask for a new one.")
    if issued.expires_at <= now:
        raise Conflict("That invite code has expired (codes are valid 24 hours). Ask for a new one.")
    if issued.coalition_id == current.id:
        raise Conflict(f"This server is already part of {escape(current.name)}.")
    if len(core.store.federation.links(current.id)) > 1:
        raise Conflict(
            f"This server is part of {escape(current.name)}, with other servers. Leave it first with "
            "`/coalition leave`, then join with the code; the records stay with the coalition you leave."
        )
    target = core.store.coalitions.get(issued.coalition_id)
    if not core.store.federation.links(target.id):
        raise NotFound("The coalition that code was issued for has no server left. Ask for a new code.")
    with core.store.atomic():
        if not core.store.federation.use_invite(key, actor.guild_id, now):
            raise Conflict("That invite code was already used; each code works once. Ask for a new one.")
        try:
            moved = core.store.federation.move_records(
                current.id, target.id, guild_id=actor.guild_id, guild_name=actor.guild_name
            )
        except JoinClash as clash:
            raise Conflict(
                f"This server's records can't join {escape(target.name)}: its {clash.table} clash with the "
                "coalition's. Nothing was changed; write to the maintainers with this message."
            ) from None
        core.store.federation.relink(actor.guild_id, target.id, actor.guild_name, now)
        core.store.federation.expire_invites(current.id, now)
        core.store.audit.record(
            target.id, actor.user_id, "coalition.join", f"guild:{actor.guild_id}", now,
            server=actor.guild_name, former=current.id, moved=moved.rows,
            renamed=[*moved.renamed_orgs, *moved.renamed_events],
        )  # fmt: skip
        notify_channel(
            core, target, ChannelKind.LOG,
            f"The server **{escape(actor.guild_name)}** joined {escape(target.name)}, bringing "
            f"{moved.rows.get('orgs', 0)} organisations and {moved.rows.get('posts', 0)} needs and offers.",
            now,
        )  # fmt: skip
    return Joined(coalition=core.store.coalitions.get(target.id), moved=moved)


def leave(core: Core, actor: Actor) -> Left:
    """This server leaves its coalition, which keeps every record; the server forms a coalition of its own."""
    require_admin(actor)
    former = core.coalition_of(actor)
    links = core.store.federation.links(former.id)
    if len(links) <= 1:
        raise Conflict(
            "This server's coalition has no other server, so there is nothing to leave. To join another coalition, "
            "use `/coalition join` with a code from its admins."
        )
    now = core.clock()
    staying = sum(1 for o in core.store.orgs.list(former.id) if o.home_guild_id == actor.guild_id)
    with core.store.atomic():
        core.store.audit.record(former.id, actor.user_id, "coalition.leave", f"guild:{actor.guild_id}", now,
                                server=actor.guild_name, orgs_staying=staying)  # fmt: skip
        own_id = core.store.federation.new_coalition(
            actor.guild_name or f"Server {actor.guild_id}",
            timezone=core.settings.default_timezone,
            digest_times=core.settings.default_digest_times,
            lead_guild_id=actor.guild_id,
            now=now,
        )
        core.store.federation.relink(actor.guild_id, own_id, actor.guild_name, now)
        if former.lead_guild_id == actor.guild_id:
            remaining = [link.guild_id for link in links if link.guild_id != actor.guild_id]
            core.store.federation.set_lead(former.id, remaining[0])
        notify_channel(
            core,
            former,
            ChannelKind.LOG,
            f"The server **{escape(actor.guild_name)}** left {escape(former.name)}.",
            now,
        )
    return Left(
        former=core.store.coalitions.get(former.id), own=core.store.coalitions.get(own_id), orgs_staying=staying
    )


def info(core: Core, actor: Actor) -> CoalitionInfo:
    coalition = core.coalition_of(actor)
    servers = [
        MemberServer(
            link=link,
            is_lead=link.guild_id == coalition.lead_guild_id,
            admin_channel_id=core.store.coalitions.channels(link.guild_id).get(ChannelKind.LOG),
        )
        for link in core.store.federation.links(coalition.id)
    ]
    return CoalitionInfo(coalition=coalition, servers=servers, orgs=len(core.store.orgs.list(coalition.id)))


def server_names(core: Core, actor: Actor) -> dict[int, str]:
    """The member servers' names by id (for showing where an action came from)."""
    coalition = core.coalition_of(actor)
    return {link.guild_id: link.guild_name for link in core.store.federation.links(coalition.id)}
