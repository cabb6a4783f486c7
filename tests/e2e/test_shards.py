"""Shards: with ``shard_count`` the bot runs discord.py's AutoShardedBot and serves the guilds of its own shards."""

from __future__ import annotations

import pytest
from discord.ext import commands

from bot.app import create_bot
from tests.conftest import World, build_world
from tests.e2e.matching_helpers import ACCEPT, button, match_message, post_need, post_offer, ready_world


@pytest.fixture
def simcord_bot(database, clock):
    # This process runs shard 1 of a deployment of 2; shard 0 would be another process on the same database.
    bot = create_bot(database, clock=clock, scheduler=False, ops_port=0, shard_count=2, shard_ids="1")
    yield bot
    bot.core.store.close()


@pytest.fixture
def sharded_world(simcord_env) -> World:
    return build_world(simcord_env, shard_id=1)


async def test_a_sharded_bot_runs_only_its_shards_and_serves_their_guilds(sharded_world):
    world = sharded_world
    bot = world.env.bot
    assert isinstance(bot, commands.AutoShardedBot)
    assert (bot.shard_count, sorted(bot.shards)) == (2, [1])
    assert world.guild.id in {g.id for g in bot.guilds}

    await ready_world(world)
    await post_need(world, world.alice, quantity=100, urgency="critical")
    await post_offer(world, world.bob, quantity=100, location="Baytown")

    proposal = match_message(world, "M-1")
    await world.alice.click(proposal, custom_id=button(1, ACCEPT))
    committed = await world.bob.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))
    assert "committed" in committed.response.content
    assert "bob-ops@example.org" in world.alice.user.dm_channel.last_message.content


def test_an_unsharded_deployment_keeps_one_gateway_connection(tmp_path):
    bot = create_bot(tmp_path / "coalesce.db", scheduler=False, ops_port=0)
    try:
        assert not isinstance(bot, commands.AutoShardedBot)
    finally:
        bot.core.store.close()
