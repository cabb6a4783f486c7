"""Hazard alerts on Discord: the feed watcher's task, the alert message, and its **Open event** button.

The watcher (bot.hazards.watcher) runs while the bot runs with its scheduler; the
alerts it queues leave through the outbox (``hazard_alert``) to every member
server's alerts channel. **Open event** is for server admins, checked when it is
clicked: anyone else is told so and nothing changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import TYPE_CHECKING, cast

import discord
from discord.ext import commands

from bot.app import GENERIC_APOLOGY, send_ephemeral
from bot.errors import UserError
from bot.hazards.feeds import FEEDS, Hazard
from bot.hazards.watcher import Watcher
from bot.models import OutboxMessage
from bot.services import hazards
from bot.text import escape
from cogs.common import NO_PINGS, actor_of, core_of
from cogs.dispatcher import dispatcher_of, outbox_nonce

if TYPE_CHECKING:
    from bot.app import CoalesceBot

log = logging.getLogger("coalesce.hazards")

ICONS = {
    "earthquake": "🌐",
    "cyclone": "🌀",
    "flood": "🌊",
    "volcano": "🌋",
    "drought": "☀️",
    "wildfire": "🔥",
    "tornado": "🌪️",
    "tsunami": "🌊",
    "weather": "⚠️",
}
COLOUR = discord.Colour.orange()


def alert_embed(hazard: Hazard) -> discord.Embed:
    """What, where, when, how severe, and the source: everything from the feed shown as inert text."""
    embed = discord.Embed(title=f"{ICONS.get(hazard.kind, '⚠️')} {escape(hazard.title)}"[:256], colour=COLOUR)
    if hazard.url:
        embed.url = hazard.url
    embed.add_field(name="What", value=f"{hazard.kind} · {escape(hazard.severity)}")
    embed.add_field(name="Where", value=f"{escape(hazard.place)} ({hazard.lat:.2f}, {hazard.lon:.2f})"[:1024])
    embed.add_field(name="When", value=discord.utils.format_dt(hazard.occurred_at, "f"))
    embed.add_field(name="Source", value=f"[{FEEDS[hazard.feed].label}]({hazard.url})" if hazard.url else "—")
    embed.set_footer(text="An admin can open an event for it: name, place and radius are filled in.")
    return embed


class OpenEventButton(discord.ui.DynamicItem[discord.ui.Button], template=r"coalesce:hazard:(?P<id>\d{1,18}):open"):
    def __init__(self, hazard_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Open event", style=discord.ButtonStyle.primary, custom_id=f"coalesce:hazard:{hazard_id}:open"
            )
        )
        self.hazard_id = hazard_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> OpenEventButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        permissions = interaction.permissions
        if interaction.guild_id is None or not (permissions.manage_guild or permissions.administrator):
            await send_ephemeral(interaction, "Only server admins (Manage Server permission) can open an event.")
            return
        try:
            event = await core_of(interaction).call(
                hazards.open_event_from_alert, actor_of(interaction), self.hazard_id
            )
        except UserError as error:
            await send_ephemeral(interaction, error.message)
        except Exception:
            log.exception("open-event button failed: interaction=%s hazard=%s", interaction.id, self.hazard_id)
            await send_ephemeral(interaction, GENERIC_APOLOGY)
        else:
            await send_ephemeral(
                interaction,
                f"Opened **{escape(event.name)}** around {escape(event.place_label)} ({event.radius_km:,.0f} km). "
                "Coordinators of verified organisations nearby are told by DM; `/event close` ends it.",
            )
        finally:
            dispatcher_of(interaction.client).kick()


def alert_view(hazard_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(OpenEventButton(hazard_id))
    return view


class HazardCog(commands.Cog):
    def __init__(self, bot: CoalesceBot) -> None:
        self.bot = bot
        self.watcher = Watcher(bot.core, on_alerts=lambda: dispatcher_of(bot).kick(), on_poll=bot.ops.feed_polled)
        self._task: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(OpenEventButton)
        dispatcher_of(self.bot).register(hazards.ALERT_KIND, self.send_alert)
        self.restart_watcher()

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(OpenEventButton)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.watcher.close()

    def restart_watcher(self) -> None:
        """(Re)start the watcher (when the bot watches feeds): it plans afresh, and ends when nothing is watched."""
        if not self.bot.watch_feeds:
            return
        if self._task is not None and not self._task.done():
            self._task.cancel()
        # The watcher ends by itself at once when no coalition watches a feed.
        self._task = asyncio.get_running_loop().create_task(self.watcher.run(), name="coalesce-hazard-watcher")

    @commands.Cog.listener()
    async def on_hazard_settings_changed(self) -> None:
        self.restart_watcher()

    async def send_alert(self, message: OutboxMessage, destination: discord.abc.Messageable) -> None:
        hazard_id = int(cast("int", message.payload["hazard_id"]))
        hazard = await self.bot.core.call(hazards.alerted_hazard, message.coalition_id, hazard_id)
        if hazard is None:
            return  # the coalition's alert is gone (it cannot be: alerts are never deleted); nothing to show
        role_id = message.payload.get("role_id")
        mentions = NO_PINGS
        content = None
        if role_id:
            role = discord.Object(int(cast("int", role_id)))
            content = f"<@&{role.id}>"
            mentions = discord.AllowedMentions(everyone=False, users=False, roles=[role])
        await destination.send(
            content,
            embed=alert_embed(hazard),
            view=alert_view(hazard_id),
            allowed_mentions=mentions,
            nonce=outbox_nonce(message),
        )


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(HazardCog(cast("CoalesceBot", bot)))
