"""The core's context: what every service needs, in one object the Discord layer holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from bot.clock import Clock, utc_now
from bot.errors import Forbidden
from bot.geo import Gazetteer, default_gazetteer
from bot.models import Actor, Coalition
from bot.settings import Settings
from bot.store import Store
from bot.store.audit import acting_guild
from bot.taxonomy import Taxonomy, default_taxonomy


@dataclass
class Core:
    store: Store
    settings: Settings = field(default_factory=Settings)
    clock: Clock = utc_now

    @cached_property
    def gazetteer(self) -> Gazetteer:
        return default_gazetteer()

    @cached_property
    def taxonomy(self) -> Taxonomy:
        return default_taxonomy()

    def preload(self) -> None:
        """Load the reference data now rather than on the first command that needs it."""
        _ = (self.gazetteer, self.taxonomy)

    def coalition_of(self, actor: Actor) -> Coalition:
        """The coalition the actor's server belongs to (formed on first sight).

        An actor with no server (a command forged from a DM) forms nothing: no "Server 0". The actor's
        server is also noted as the origin of the audit rows this use case writes.
        """
        if actor.guild_id <= 0:
            raise Forbidden("Use Coalesce's commands in a server channel, not in DMs.")
        acting_guild.set(actor.guild_id)
        return self.store.coalitions.for_guild(
            actor.guild_id,
            actor.guild_name,
            self.clock(),
            timezone=self.settings.default_timezone,
            digest_times=self.settings.default_digest_times,
        )
