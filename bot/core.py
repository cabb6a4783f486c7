"""The core's context: what every service needs, in one object the Discord layer holds."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Concatenate, ParamSpec, TypeVar

from bot.clock import Clock, utc_now
from bot.errors import Forbidden
from bot.geo import Gazetteer, default_gazetteer
from bot.models import Actor, Coalition
from bot.settings import Settings
from bot.store import Store
from bot.store.audit import acting_guild
from bot.taxonomy import Taxonomy, default_taxonomy

P = ParamSpec("P")
T = TypeVar("T")

# Set for the task that runs a command (see CoalesceTree._from_interaction): its store work is a person's.
for_a_person: contextvars.ContextVar[bool] = contextvars.ContextVar("coalesce_for_a_person", default=False)


@dataclass
class Core:
    store: Store
    settings: Settings = field(default_factory=Settings)
    clock: Clock = utc_now
    _in_flight: int = field(default=0, init=False, repr=False)
    _in_flight_for_people: int = field(default=0, init=False, repr=False)

    @cached_property
    def gazetteer(self) -> Gazetteer:
        return default_gazetteer()

    @cached_property
    def taxonomy(self) -> Taxonomy:
        return default_taxonomy()

    @cached_property
    def store_thread(self) -> ThreadPoolExecutor:
        """The one thread that talks to the store, so the event loop never waits on a database round trip.

        One thread, not a pool: the store's connection is used by one thread at a time, and SQLite takes
        one writer anyway. Every query, short or not, leaves the loop: an indexed query is short on a
        local file but crosses a socket on a database server, and the loop must answer Discord meanwhile.
        """
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="coalesce-store")

    def submit(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> asyncio.Future[T]:
        """Hand ``work(*args, **kwargs)`` to the store thread now; the future resolves with its result.

        It runs in a copy of the caller's context, as ``asyncio.to_thread`` does: the clock and the
        audit's acting server are the caller's, and what the work sets stays with it. From this call
        on the store thread counts as busy (:meth:`store_busy`), before the work starts.
        """
        context = contextvars.copy_context()
        call = functools.partial(context.run, work, *args, **kwargs)
        future = asyncio.get_running_loop().run_in_executor(self.store_thread, call)
        self._in_flight += 1
        future.add_done_callback(self._landed)
        if for_a_person.get():
            self._in_flight_for_people += 1
            future.add_done_callback(self._landed_for_a_person)
        return future

    def _landed(self, _future: asyncio.Future[object]) -> None:
        self._in_flight -= 1

    def _landed_for_a_person(self, _future: asyncio.Future[object]) -> None:
        self._in_flight_for_people -= 1

    async def run(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``work(*args, **kwargs)`` on the store thread, awaited without blocking the loop (see :meth:`submit`)."""
        return await self.submit(work, *args, **kwargs)

    def store_busy(self) -> bool:
        """Whether the store thread has work running or queued: new work would wait behind it."""
        return self._in_flight > 0

    def people_waiting(self) -> bool:
        """Whether store work handed over by commands and clicks is running or queued (not the outbox's own)."""
        return self._in_flight_for_people > 0

    def start(self, service: Callable[Concatenate[Core, P], T], *args: P.args, **kwargs: P.kwargs) -> asyncio.Future[T]:
        """A service's use case (``service(core, ...)``) handed to the store thread now (see :meth:`submit`)."""
        return self.submit(service, self, *args, **kwargs)

    async def call(self, service: Callable[Concatenate[Core, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A service's use case (``service(core, ...)``) on the store thread."""
        return await self.start(service, *args, **kwargs)

    def close(self) -> None:
        """Close the store from its own thread once the work queued before has run, then end the thread."""
        if "store_thread" in self.__dict__:
            self.store_thread.submit(self.store.close).result()
            self.store_thread.shutdown()
        else:
            self.store.close()

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
