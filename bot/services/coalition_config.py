"""/config: where notices go, and when digests are sent."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core import Core
from bot.errors import Forbidden, InvalidInput
from bot.hazards.feeds import FEEDS
from bot.models import Actor, ChannelKind, Coalition, EventStatus, OrgStatus
from bot.validation import parse_digest_times, parse_timezone


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("Only server admins (Manage Server permission) can do that.")


def set_channel(core: Core, actor: Actor, kind: ChannelKind, channel_id: int) -> Coalition:
    require_admin(actor)
    coalition = core.coalition_of(actor)
    now = core.clock()
    with core.store.atomic():
        core.store.coalitions.set_channel(actor.guild_id, kind, channel_id, actor.user_id, now)
        core.store.audit.record(
            coalition.id, actor.user_id, "config.channel", kind.value, now, channel_id=channel_id, guild=actor.guild_id
        )
    return coalition


def set_digest_schedule(core: Core, actor: Actor, *, times: str, timezone: str) -> Coalition:
    require_admin(actor)
    parsed_times = parse_digest_times(times)
    zone = parse_timezone(timezone)
    coalition = core.coalition_of(actor)
    now = core.clock()
    with core.store.atomic():
        core.store.coalitions.set_digest_schedule(coalition.id, times=",".join(parsed_times), timezone=zone.key)
        core.store.audit.record(
            coalition.id, actor.user_id, "config.digest", "schedule", now, times=parsed_times, timezone=zone.key
        )
    return core.store.coalitions.get(coalition.id)


def set_alert_role(core: Core, actor: Actor, role_id: int | None, *, role_is_everyone: bool = False) -> Coalition:
    """The role this server's alerts ping, or none."""
    require_admin(actor)
    if role_is_everyone:
        raise InvalidInput("Alerts never ping @everyone; choose a role of the people who respond.")
    coalition = core.coalition_of(actor)
    now = core.clock()
    with core.store.atomic():
        core.store.coalitions.set_alert_role(actor.guild_id, role_id, actor.user_id, now)
        core.store.audit.record(coalition.id, actor.user_id, "config.alert_role", "alerts", now, role_id=role_id)
    return coalition


@dataclass(frozen=True, slots=True)
class ConfigSummary:
    coalition: Coalition
    channels: dict[ChannelKind, int]
    open_events: int
    verified_orgs: int
    pending_orgs: int
    alert_role_id: int | None = None
    hazard_watch: str = ""  # the area and the feeds on, in words ("" when no area is set)


def show_config(core: Core, actor: Actor) -> ConfigSummary:
    require_admin(actor)
    coalition = core.coalition_of(actor)
    return ConfigSummary(
        coalition=coalition,
        channels=core.store.coalitions.channels(actor.guild_id),
        open_events=len(core.store.events.list(coalition.id, status=EventStatus.OPEN)),
        verified_orgs=len(core.store.orgs.list(coalition.id, status=OrgStatus.VERIFIED)),
        pending_orgs=len(core.store.orgs.list(coalition.id, status=OrgStatus.PENDING)),
        alert_role_id=core.store.coalitions.alert_role(actor.guild_id),
        hazard_watch=_hazard_watch(core, coalition.id),
    )


def _hazard_watch(core: Core, coalition_id: int) -> str:
    area = core.store.hazards.area(coalition_id)
    if area is None:
        return ""
    on = [
        f"{key} ({FEEDS[key].describe(choice.min_severity)})"
        for key, choice in sorted(core.store.hazards.feed_choices(coalition_id).items())
        if choice.enabled
    ]
    return f"{area.radius_km:,.0f} km around {area.place_label}; feeds: {', '.join(on) or 'none on'}"
