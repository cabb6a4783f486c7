"""/digest: status digests on demand, by schedule in the digest channel, and by DM to volunteers.

The schedule lives in an APScheduler ``AsyncIOScheduler``: one job per coalition,
firing at its local times, rebuilt from stored config at start-up and whenever
``/config digest`` changes it. The job is :meth:`DigestCog.run_due_digests`, a
plain coroutine that tests call with their own clock. The scheduler only runs
when the bot was built with it enabled; its jobs are planned either way.
"""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import UTC
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

import discord
from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
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


def job_id(coalition_id: int) -> str:
    return f"digest:{coalition_id}"


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
        # Late jobs still run (the bot was busy or asleep), but missed firings collapse into one.
        self.scheduler = AsyncIOScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1}
        )
        self._rounds = asyncio.Lock()

    async def cog_load(self) -> None:
        dispatcher = dispatcher_of(self.bot)
        dispatcher.register(digests.CHANNEL_KIND, self.send_channel_digest)
        dispatcher.register(digests.DM_KIND, self.send_personal_digest)
        for coalition in self.bot.core.store.coalitions.all():
            self.plan(coalition)
        if self.bot.scheduler_enabled:
            self.scheduler.start()

    async def cog_unload(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    # ----- the schedule -----

    def plan(self, coalition: Coalition) -> Job:
        """(Re)plan the coalition's digest job from its stored times and zone."""
        existing = self.scheduler.get_job(job_id(coalition.id))
        if existing is not None:
            existing.remove()
        return self.scheduler.add_job(
            self.run_due_digests,
            trigger=digest_trigger(coalition.digest_times, ZoneInfo(coalition.timezone)),
            args=[coalition.id],
            id=job_id(coalition.id),
            name=f"digests of {coalition.name} at {','.join(coalition.digest_times)} {coalition.timezone}",
        )

    def planned_job(self, coalition_id: int) -> Job | None:
        return self.scheduler.get_job(job_id(coalition_id))

    async def run_due_digests(self, coalition_id: int | None = None) -> list[digests.RoundOutcome]:
        """The scheduled job: send each coalition's latest due slot unless it was sent already.

        With no ``coalition_id`` every coalition is checked: that is the catch-up
        after downtime, where any number of missed slots become one digest.
        """
        core = self.bot.core
        now = core.clock()
        store = core.store
        coalitions = [store.coalitions.get(coalition_id)] if coalition_id is not None else store.coalitions.all()
        outcomes = []
        async with self._rounds:
            await digests.finish_interrupted_rounds(core)
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
        self.plan(self.bot.core.store.coalitions.get(coalition_id))

    @commands.Cog.listener()
    async def on_app_command_completion(self, interaction: discord.Interaction, _command: object) -> None:
        """A server seen for the first time formed a coalition: give it a schedule."""
        if interaction.guild_id is None:
            return
        coalition_id = self.bot.core.store.digests.coalition_of_guild(interaction.guild_id)
        if coalition_id is not None and self.planned_job(coalition_id) is None:
            self.plan(self.bot.core.store.coalitions.get(coalition_id))

    # ----- outbox senders -----

    async def send_channel_digest(self, message: OutboxMessage, destination: discord.abc.Messageable) -> None:
        embed = embed_of(cast("dict[str, Any]", message.payload["embed"]))
        png = digests.chart_for(self.bot.core, int(cast("int", message.payload["run_id"])))
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
        if not digests.still_subscribed(core, message.coalition_id, user_id):
            return  # unsubscribed since the round was queued
        embed = digests.personal_embed(core, message.payload)
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
            digests.mark_dm_closed(core, message.coalition_id, user_id)
            raise

    # ----- commands -----

    @app_commands.command(name="now", description="Post the status digest in this channel (org members and admins)")
    async def now(self, interaction: discord.Interaction) -> None:
        core = core_of(interaction)
        coalition = digests.authorise_digest_now(core, actor_of(interaction))
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
        done = digests.subscribe(
            core_of(interaction), actor_of(interaction), sectors=sectors, location=location, radius_km=radius_km
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
        coalition = digests.unsubscribe(core_of(interaction), actor_of(interaction))
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
