"""/audit: who changed what, when — read back and exported by server admins."""

from __future__ import annotations

import csv
import io
import json

from bot.core import Core
from bot.interop import spreadsheet_safe
from bot.models import Actor, AuditEntry
from bot.services.coalition_config import require_admin
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


def known_actions(core: Core, actor: Actor) -> list[str]:
    """The actions recorded so far in the actor's coalition (for autocomplete)."""
    coalition = core.coalition_of(actor)
    return sorted({e.action for e in core.store.audit.recent(coalition.id, limit=500)})


def _action_prefix(action: str | None) -> str:
    text = clean_text(action, "action filter", max_length=MAX_ACTION, required=False)
    # "_" stays: as a LIKE wildcard it only widens "add_member" to itself and near-identical names.
    return text.casefold().replace("%", "")
