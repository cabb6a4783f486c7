"""The ops endpoint: a small aiohttp server on 127.0.0.1 with /healthz and /metrics (Prometheus).

It starts with the bot when the ``ops_port`` setting is a port (0 turns it off)
and stops with it. It listens on loopback only: a Prometheus agent or a load
balancer's health check on the same machine reads it, nobody else.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, cast

from aiohttp import web
from discord.ext import commands

from bot.ops import CONTENT_TYPE, health

if TYPE_CHECKING:
    from bot.app import CoalesceBot

log = logging.getLogger("coalesce.ops")
HOST = "127.0.0.1"


class Ops(commands.Cog):
    def __init__(self, bot: CoalesceBot) -> None:
        self.bot = bot
        self.runner: web.AppRunner | None = None
        self.port: int | None = None

    async def cog_load(self) -> None:
        port = self.bot.core.settings.ops_port
        if port:
            await self.start(port)

    async def cog_unload(self) -> None:
        await self.stop()

    async def start(self, port: int) -> None:
        app = web.Application()
        app.add_routes([web.get("/healthz", self.healthz), web.get("/metrics", self.metrics)])
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, HOST, port)
        try:
            await site.start()
        except OSError as exc:
            # A busy port must not keep the bot from serving Discord: say so once, run without the endpoint.
            log.warning("ops endpoint not started: %s:%s is unavailable (%s)", HOST, port, exc.strerror or exc)
            await runner.cleanup()
            return
        self.runner = runner
        self.port = runner.addresses[0][1] if runner.addresses else port  # the bound port, when 0 asked for any
        log.info("ops endpoint on http://%s:%s (/healthz, /metrics)", HOST, self.port)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def healthz(self, request: web.Request) -> web.Response:
        connected = self.bot.is_ready() and not self.bot.is_closed()
        healthy, details = await self.bot.core.call(health, connected=connected)
        return web.Response(status=200 if healthy else 503, text=json.dumps(details), content_type="application/json")

    async def metrics(self, request: web.Request) -> web.Response:
        body = await self.bot.core.run(self.bot.ops.exposition)  # the gauges read the store
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Ops(cast("CoalesceBot", bot)))
