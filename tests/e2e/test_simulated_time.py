"""The bot's default clock is the simulator's: simulated time moves every timer, deadline and display together."""

from __future__ import annotations

from datetime import timedelta

import discord
import pytest

from bot.app import create_bot

# Advancing steps through every timer due on the way (the outbox polls each second): allow for a loaded machine.
pytestmark = pytest.mark.simcord(settle_timeout=60)


@pytest.fixture
def simcord_bot(database):
    # The default clock, not the tests' FakeClock, and the scheduler running, as in production and offline mode.
    return create_bot(database)


@pytest.fixture
def admin(simcord_env):
    guild = simcord_env.create_guild("Gulf Coast Relief")
    admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    member = guild.add_member(simcord_env.create_user("admin"), roles=[admins])
    member.general = guild.create_text_channel("general")
    member.digest = guild.create_text_channel("digest")
    return member


@pytest.mark.parametrize("minutes", [0, 1, 45, 100])
async def test_the_bot_records_and_shows_the_time_the_simulated_discord_shows(simcord_env, admin, minutes):
    await simcord_env.advance_time(minutes * 60)

    opened = await admin.slash(admin.general, "event open", name="Storm", location="Houston")

    now = simcord_env.now()
    assert simcord_env.bot.core.clock() == now
    shown = f"<t:{int(now.timestamp())}:R>"
    assert shown in opened.response.content, "the event says it opened just now, not months away"
    sent_at = opened.response.message.created_at
    assert abs(sent_at - now) < timedelta(seconds=1), "the message and the bot agree on the moment"


async def test_a_scheduled_digest_goes_out_when_simulated_time_reaches_its_slot(simcord_env, admin):
    start = simcord_env.now()
    await admin.slash(admin.general, "config channel", kind="digest", channel=admin.digest)
    slot = start + timedelta(minutes=30)
    await admin.slash(admin.general, "config digest", times=slot.strftime("%H:%M"), timezone="UTC")
    await admin.slash(admin.general, "event open", name="Storm", location="Houston")

    await simcord_env.advance_time(29 * 60)
    assert admin.digest.history() == [], "not before its time"

    await simcord_env.advance_time(2 * 60)
    [digest] = admin.digest.history()
    assert digest.embeds[0].title.startswith("Status digest")
