"""/digest: status digests on demand, by schedule in the digest channel, and by DM to volunteers.

Each coalition has a plan: an APScheduler trigger firing at its local times,
rebuilt from stored config at start-up and whenever ``/config digest`` changes it.
One timer task sleeps until the earliest next slot of any plan, measured on the
bot's clock, then runs :meth:`DigestCog.run_due_digests` (a plain coroutine that
tests call with their own clock). Sleeping on the bot's clock rather than
APScheduler's (which reads the wall clock) lets simulated time reach a digest:
under simcord both the clock and the sleep are the simulator's. The timer only
runs when the bot was built with its scheduler enabled; plans are made either way.
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

import discord
from apscheduler.triggers.base import BaseTrigger
from discord import app_commands
from discord.ext import commands

from bot.digest_schedule import digest_trigger
from bot.models import Coalition, OutboxMessage
from bot.services import digests
from bot.text import escape
from cogs.common import NO_PINGS, actor_of, core_of, place_autocomplete
from cogs.dispatcher import dispatcher_of, outbox_nonce

if TYPE_CHECKING:
    from bot.app import CoalesceBot

log = logging.getLogger("coalesce.digest")


@dataclass(frozen=True)
class DigestPlan:
    """When a coalition's digests fire."""

    trigger: BaseTrigger
    name: str

    def next_fire(self, now: datetime) -> datetime | None:
        """The first firing strictly after ``now``."""
        return self.trigger.get_next_fire_time(None, now + timedelta(microseconds=1))


def embed_of(payload: dict[str, Any]) -> discord.Embed:
    return discord.Embed.from_dict(payload)


def chart_file(png: bytes) -> discord.File:
    return discord.File(io.BytesIO(png), filename=digests.CHART_NAME)


@app_commands.guild_only()
class DigestCog(
    commands.GroupCog, group_name="digest", group_description="Status digests of needs, offers and matches"
):
    def __init__(self, bot: CoalesceBot) -> None:
        self.bot = bot
        self.plans: dict[int, DigestPlan] = {}
        self._timer: asyncio.Task[None] | None = None
        self._sleeping = False
        self._rounds = asyncio.Lock()

    async def cog_load(self) -> None:
        dispatcher = dispatcher_of(self.bot)
        dispatcher.register(digests.CHANNEL_KIND, self.send_channel_digest)
        dispatcher.register(digests.DM_KIND, self.send_personal_digest)
        core = self.bot.core
        for coalition in await core.run(core.store.coalitions.all):
            self.plan(coalition)
        self._rearm()

    async def cog_unload(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    # ----- the schedule -----

    def plan(self, coalition: Coalition) -> DigestPlan:
        """(Re)plan the coalition's digests from its stored times and zone."""
        plan = DigestPlan(
            trigger=digest_trigger(coalition.digest_times, ZoneInfo(coalition.timezone)),
            name=f"digests of {coalition.name} at {','.join(coalition.digest_times)} {coalition.timezone}",
        )
        self.plans[coalition.id] = plan
        self._rearm()
        return plan

    def planned_job(self, coalition_id: int) -> DigestPlan | None:
        return self.plans.get(coalition_id)

    def next_due(self, now: datetime) -> datetime | None:
        """The earliest next firing of any coalition's plan after ``now``."""
        return min((due for plan in self.plans.values() if (due := plan.next_fire(now))), default=None)

    def _rearm(self) -> None:
        """(Re)start the timer on the current plans; a round in progress recomputes its next slot itself."""
        if not self.bot.scheduler_enabled:
            return
        if self._timer is not None and not self._timer.done():
            if not self._sleeping:
                return
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().create_task(self._fire_when_due(), name="digest timer")

    async def _fire_when_due(self) -> None:
        """Sleep until the next slot on the bot's clock, run the due rounds, repeat.

        A plain sleep, so that under simcord it is a virtual timer that ``advance_time`` reaches. A late
        wake-up (the bot was busy or asleep) still runs, and missed slots collapse into one round.
        """
        after = self.bot.core.clock()
        while (due := self.next_due(max(after, self.bot.core.clock()))) is not None:
            self._sleeping = True
            try:
                await asyncio.sleep(max(0.0, (due - self.bot.core.clock()).total_seconds()))
            finally:
                self._sleeping = False
            if self.bot.core.clock() < due:
                continue  # woken a hair early: sleep the rest
            after = due
            try:
                await self.run_due_digests()
            except Exception:
                log.exception("scheduled digest run failed")

    async def run_due_digests(self, coalition_id: int | None = None) -> list[digests.RoundOutcome]:
        """The scheduled job: send each coalition's latest due slot unless it was sent already.

        With no ``coalition_id`` every coalition is checked: that is the catch-up
        after downtime, where any number of missed slots become one digest.
        """
        core = self.bot.core
        now = core.clock()
        store = core.store
        if coalition_id is not None:
            coalitions = [await core.run(store.coalitions.get, coalition_id)]
        else:
            coalitions = await core.run(store.coalitions.all)
        outcomes = []
        async with self._rounds:
            await core.call(digests.finish_interrupted_rounds)
            for coalition in coalitions:
                slot = digests.due_slot(coalition, now)
                if slot is None:
                    continue
                try:
                    outcome = await digests.run_digest_round(core, coalition.id, slot)
                except Exception:
                    # A scheduled round has no one to answer: log it, and let the other coalitions' rounds go on.
                    log.exception("digest round failed: coalition=%s slot=%s", coalition.id, slot.isoformat())
                    continue
                if outcome is not None:
                    log.info(
                        "digest round: coalition=%s slot=%s channels=%s subscribers=%s skipped=%s",
                        coalition.id,
                        slot.isoformat(),
                        outcome.channels,
                        outcome.subscribers,
                        outcome.skipped_subscribers,
                    )
                    outcomes.append(outcome)
        if outcomes:
            dispatcher_of(self.bot).kick()
        return outcomes

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        if self.bot.scheduler_enabled:
            await self.run_due_digests()

    @commands.Cog.listener()
    async def on_digest_schedule_changed(self, coalition_id: int) -> None:
        core = self.bot.core
        self.plan(await core.run(core.store.coalitions.get, coalition_id))

    @commands.Cog.listener()
    async def on_app_command_completion(self, interaction: discord.Interaction, _command: object) -> None:
        """A server seen for the first time formed a coalition: give it a schedule."""
        if interaction.guild_id is None:
            return
        core = self.bot.core
        coalition_id = await core.run(core.store.digests.coalition_of_guild, interaction.guild_id)
        if coalition_id is not None and self.planned_job(coalition_id) is None:
            self.plan(await core.run(core.store.coalitions.get, coalition_id))

    # ----- outbox senders -----

    async def send_channel_digest(self, message: OutboxMessage, destination: discord.abc.Messageable) -> None:
        embed = embed_of(cast("dict[str, Any]", message.payload["embed"]))
        png = await self.bot.core.call(digests.chart_for, int(cast("int", message.payload["run_id"])))
        if png is None:  # the chart outlived its retention; the numbers still stand
            embed.set_image(url=None)
            await destination.send(embed=embed, allowed_mentions=NO_PINGS, nonce=outbox_nonce(message))
        else:
            await destination.send(
                embed=embed, file=chart_file(png), allowed_mentions=NO_PINGS, nonce=outbox_nonce(message)
            )

    async def send_personal_digest(self, message: OutboxMessage, destination: discord.abc.Messageable) -> None:
        core = self.bot.core
        user_id = int(message.target.partition(":")[2])
        if not await core.call(digests.still_subscribed, message.coalition_id, user_id):
            return  # unsubscribed since the round was queued
        embed = await core.call(digests.personal_embed, message.payload)
        if embed is None:
            log.warning("personal digest outlived its round's retention: outbox=%s", message.id)
            return
        try:
            await destination.send(
                embed=embed_of(embed),
                allowed_mentions=NO_PINGS,
                nonce=outbox_nonce(message),
            )
        except discord.Forbidden:
            # DMs closed or the bot blocked: skip them from now on; the dispatcher records the refusal.
            await core.call(digests.mark_dm_closed, message.coalition_id, user_id)
            raise

    # ----- commands -----

    @app_commands.command(name="now", description="Post the status digest in this channel (org members and admins)")
    async def now(self, interaction: discord.Interaction) -> None:
        core = core_of(interaction)
        coalition = await core.call(digests.authorise_digest_now, actor_of(interaction))
        await interaction.response.defer(thinking=True)
        rendered = await digests.digest_now(core, coalition)
        await interaction.followup.send(
            embed=embed_of(rendered.embed.to_dict()), file=chart_file(rendered.chart), allowed_mentions=NO_PINGS
        )

    @app_commands.command(name="subscribe", description="Get a personal digest by DM at this server's digest times")
    @app_commands.describe(
        sectors="Only these sectors, comma-separated (e.g. wash, shelter); all if left out",
        location="Only needs and offers near this city",
        radius_km="How far from the location, in km (default 100)",
    )
    @app_commands.autocomplete(location=place_autocomplete)
    async def subscribe(
        self,
        interaction: discord.Interaction,
        sectors: str | None = None,
        location: str | None = None,
        radius_km: app_commands.Range[float, 1, 20000] | None = None,
    ) -> None:
        done = await core_of(interaction).call(
            digests.subscribe, actor_of(interaction), sectors=sectors, location=location, radius_km=radius_km
        )
        if self.planned_job(done.coalition.id) is None:
            self.plan(done.coalition)
        await interaction.response.send_message(
            f"You'll get a personal digest by DM at {', '.join(done.coalition.digest_times)} "
            f"({done.coalition.timezone}), filtered to: {escape(done.subscription.filter.describe())}. "
            "Keep DMs from this server open so it can reach you; stop any time with `/digest unsubscribe`.",
            ephemeral=True,
        )

    @app_commands.command(name="unsubscribe", description="Stop your personal digest")
    async def unsubscribe(self, interaction: discord.Interaction) -> None:
        coalition = await core_of(interaction).call(digests.unsubscribe, actor_of(interaction))
        await interaction.response.send_message(
            f"Your personal digest from {escape(coalition.name)} is stopped.", ephemeral=True
        )


def digest_cog_of(bot: commands.Bot) -> DigestCog:
    # Not isinstance: load_extension executes the module afresh, so the class may be another copy of this one.
    cog = bot.get_cog("DigestCog")
    if cog is None:
        raise RuntimeError("the digest cog is not loaded")
    return cast("DigestCog", cog)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(DigestCog(cast("CoalesceBot", bot)))
