"""Fixtures for end-to-end tests behind Discord's rate limits, as the benchmarks model them.

A test module imports ``make_bot`` and ``simcord_env`` from here: the bot then runs on
simcord's clock (a rate limit's wait and the bot's idea of time are one), and discord.py's
own client meets per-channel buckets, ``X-RateLimit-*`` headers and real 429 answers
(:mod:`benchmarks.discord_limits`). ``LIMITS`` holds the limiter of the running test.
"""

from __future__ import annotations

import discord
import pytest
import pytest_asyncio
from simcord import Env

from benchmarks.discord_limits import RateLimitedAPI, discord_rate_limits
from bot.app import create_bot

LIMITS: list[RateLimitedAPI] = []
# simcord's default. A settle runs the virtual timers due before its deadline, and a module whose actions must
# outlast a bucket's reset (5 s) inside one settle raises it (``SETTLE_S = 10.0`` in the module).
SETTLE_S = 5.0


@pytest.fixture
def make_bot(database):
    """The bot on simcord's clock."""

    def build():
        return create_bot(database, clock=discord.utils.utcnow, scheduler=False)

    return build


@pytest_asyncio.fixture
async def simcord_env(simcord_bot, request):
    """The world's Discord, with Discord's rate limits in front of it."""
    with discord_rate_limits() as apis:
        env = Env(simcord_bot, settle_timeout=getattr(request.module, "SETTLE_S", SETTLE_S))
        await env.start()
        LIMITS[:] = apis
        try:
            yield env
        finally:
            await env.shutdown()
