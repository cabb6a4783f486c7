"""/audit: who changed what, when — read back and exported by server admins."""

from __future__ import annotations

import csv
import io
import json

from bot.core import Core
from bot.interop import spreadsheet_safe
from bot.models import Actor, AuditEntry
from bot.services.coalition_config import require_admin
from bot.text import parse_id
from bot.validation import clean_text

MAX_SHOWN = 25
MAX_EXPORTED = 100_000
MAX_ACTION = 40
SYSTEM_ACTOR = 0  # entries the bot itself wrote (delivery failures, retention purges)
CSV_COLUMNS = ("id", "at", "actor_id", "action", "subject", "detail", "server")


def recent_entries(
    core: Core, actor: Actor, *, action: str | None = None, member_id: int | None = None, limit: int = MAX_SHOWN
) -> list[AuditEntry]:
    """The coalition's latest entries, newest first; ``action`` matches a prefix ("org" or "org.verify")."""
    require_admin(actor)
    prefix = _action_prefix(action)
    coalition = core.coalition_of(actor)
    return core.store.audit.recent(
        coalition.id, limit=max(1, min(limit, MAX_EXPORTED)), action_prefix=prefix, actor_id=member_id
    )


def export_csv(core: Core, actor: Actor, *, action: str | None = None, member_id: int | None = None) -> bytes:
    """Every matching entry, oldest first, as UTF-8 CSV (cells made safe to open in a spreadsheet)."""
    entries = list(reversed(recent_entries(core, actor, action=action, member_id=member_id, limit=MAX_EXPORTED)))
    servers = server_names(core, actor)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        writer.writerow(
            [
                entry.id,
                entry.at.isoformat(timespec="seconds"),
                entry.actor_id,
                spreadsheet_safe(entry.action),
                spreadsheet_safe(entry.subject),
                spreadsheet_safe(json.dumps(entry.detail, ensure_ascii=False, sort_keys=True)),
                spreadsheet_safe(servers.get(entry.guild_id, str(entry.guild_id))) if entry.guild_id else "",
            ]
        )
    return out.getvalue().encode("utf-8")


def server_names(core: Core, actor: Actor) -> dict[int, str]:
    """Names of the servers that have been part of the actor's coalition, by id: where each action came from."""
    coalition = core.coalition_of(actor)
    return core.store.audit.server_names(coalition.id)


# Detail keys whose values name a row of ours: shown by name, not by id.
_NAMED_BY = {"org": "org", "org_id": "org", "event": "event", "event_id": "event", "place": "place"}


def readable_names(core: Core, entries: list[AuditEntry]) -> dict[str, str]:
    """Names for the references the entries carry: ``"org:2"`` -> its name, ``"event:3"``, a place key -> its label.

    Plain text (the caller escapes it); references that name nothing any more are left out.
    """
    wanted: set[str] = set()
    for entry in entries:
        wanted.add(entry.subject)
        for key, value in entry.detail.items():
            kind = _NAMED_BY.get(key)
            if kind == "place":
                wanted.add(str(value))
            elif kind is not None:
                wanted.add(f"{kind}:{value}")
    names: dict[str, str] = {}
    for ref in wanted:
        kind, _, raw = ref.partition(":")
        number = parse_id(raw)
        if kind == "org" and number is not None:
            org = core.store.orgs.get(number)
            if org is not None:
                names[ref] = org.name
        elif kind == "event" and number is not None:
            event = core.store.events.get(number)
            if event is not None:
                names[ref] = event.name
        elif kind == "match" and number is not None:
            names[ref] = f"M-{number}"
        elif kind == "post":
            names[ref] = raw
        elif (place := core.gazetteer.get(ref)) is not None:
            names[ref] = place.label
    return names


def named_detail_key(key: str) -> str | None:
    """The kind of row a detail key names (``"org"``, ``"event"``, ``"place"``), if it names one."""
    return _NAMED_BY.get(key)


def known_actions(core: Core, actor: Actor) -> list[str]:
    """The actions recorded so far in the actor's coalition (for autocomplete)."""
    coalition = core.coalition_of(actor)
    return sorted({e.action for e in core.store.audit.recent(coalition.id, limit=500)})


def _action_prefix(action: str | None) -> str:
    text = clean_text(action, "action filter", max_length=MAX_ACTION, required=False)
    # "_" stays: as a LIKE wildcard it only widens "add_member" to itself and near-identical names.
    return text.casefold().replace("%", "")
