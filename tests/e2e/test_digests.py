"""Scheduled and on-demand digests, as a coalition's channel and its volunteers receive them."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.models import Actor
from cogs.digest import digest_cog_of
from cogs.dispatcher import dispatcher_of
from tests.bot.test_digests import GALVESTON, Seed
from tests.conftest import assert_refused

MORNING = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # 08:00 in Chicago
EVENING = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # 20:00 in Chicago
DOCS = Path(__file__).resolve().parents[2] / "docs"


async def configure(world) -> None:
    await world.admin.slash(world.general, "config channel", kind="digest", channel=world.channels["digest"])
    await world.admin.slash(world.general, "config channel", kind="log", channel=world.channels["log"])
    await world.admin.slash(world.general, "config digest", times="08:00,20:00", timezone="America/Chicago")


def seed_response(world) -> int:
    """An event with WASH and food needs, an offer and a committed match; alice acts for the food bank."""
    core = world.env.bot.core
    seed = Seed(core)
    coalition_id = core.coalition_of(Actor(world.admin.id, world.guild.id, is_admin=True)).id
    event_id = seed.event(coalition_id)
    food_bank = seed.org(coalition_id, "Houston Food Bank", member=world.alice.id, contact="ops@example.org")
    red_cross = seed.org(coalition_id, "Red Cross Gulf", member=world.bob.id)
    posted = MORNING - timedelta(hours=8)
    water = seed.post("need", coalition_id, event_id, food_bank, quantity=500, urgency="critical", created=posted)
    seed.post(
        "need", coalition_id, event_id, food_bank, item="Hygiene kit", urgency="high", place=GALVESTON, created=posted
    )
    seed.post(
        "need", coalition_id, event_id, food_bank, sector="food", item="Rice", urgency="critical", unit="kg",
        created=posted - timedelta(hours=1),
    )  # fmt: skip
    offer = seed.post("offer", coalition_id, event_id, red_cross, quantity=200, created=MORNING - timedelta(hours=5))
    seed.match(
        coalition_id, event_id, water, offer, quantity=200, status="committed",
        created=MORNING - timedelta(hours=4), committed=MORNING - timedelta(hours=2),
    )  # fmt: skip
    # An earlier need, met in full the day before: history for the fulfilment chart.
    earlier = MORNING - timedelta(days=3)
    blankets = seed.post(
        "need", coalition_id, event_id, food_bank, item="Blankets", quantity=300, remaining=0, status="fulfilled",
        sector="shelter", created=earlier,
    )  # fmt: skip
    pledge = seed.post("offer", coalition_id, event_id, red_cross, quantity=300, remaining=0, created=earlier)
    seed.match(
        coalition_id, event_id, blankets, pledge, quantity=300, status="delivered", created=earlier,
        committed=earlier + timedelta(hours=2), delivered=earlier + timedelta(days=1),
    )  # fmt: skip
    return coalition_id


async def run_scheduled(world, clock, at: datetime) -> list:
    """Fire the digest job as the scheduler would at ``at``, then let the outbox deliver."""
    clock.now = at
    outcomes = await digest_cog_of(world.env.bot).run_due_digests()
    while await dispatcher_of(world.env.bot).deliver_due():
        pass
    await world.env.settle()
    return outcomes


def fields_of(message) -> dict[str, str]:
    return {f.name: f.value for f in message.embeds[0].fields}


async def test_scheduled_digest_posts_counts_and_a_chart_to_the_digest_channel(world, clock):
    await configure(world)
    seed_response(world)

    outcomes = await run_scheduled(world, clock, MORNING + timedelta(seconds=2))

    assert len(outcomes) == 1
    digest = world.channels["digest"].last_message
    embed = digest.embeds[0]
    assert embed.title == "Status digest: Gulf Coast Relief"
    fields = fields_of(digest)
    assert fields["Open needs (3)"] == "**WASH**: 2 — 1 critical · 1 high\n**Food Security**: 1 — 1 critical"
    assert fields["Since the last digest"] == "New: 3 needs, 1 offer\nMatches: 1 proposed · 1 committed"
    assert fields["Organisations active (2)"] == "Houston Food Bank, Red Cross Gulf"
    assert fields["Oldest unmet critical needs"].splitlines() == [
        "`N-3` Rice: 100 kg · Houston, Texas, US · 9 h old",
        "`N-1` Bottled water: 500 cases · Houston, Texas, US · 8 h old",
    ]
    [chart] = digest.attachments
    assert chart.filename == "digest.png" and chart.content_type == "image/png"
    assert embed.image.url == "attachment://digest.png"
    assert "ops@example.org" not in str(embed.to_dict())
    if os.environ.get("COALESCE_WRITE_DOCS"):
        write_docs(world, digest, await chart.read())


async def test_a_volunteer_filtered_to_wash_gets_only_wash_by_dm_until_they_unsubscribe(world, clock):
    await configure(world)
    seed_response(world)

    subscribed = await world.dave.slash(world.general, "digest subscribe", sectors="wash")
    await run_scheduled(world, clock, MORNING)

    assert subscribed.ephemeral and "08:00, 20:00 (America/Chicago)" in subscribed.response.content
    dm = world.dave.user.dm_channel.last_message
    assert dm.embeds[0].title == "Your digest: Gulf Coast Relief"
    text = str(dm.embeds[0].to_dict())
    assert "Filtered to: WASH." in text and "Bottled water" in text
    assert "Food Security" not in text and "Rice" not in text
    assert not dm.attachments

    await world.dave.slash(world.general, "digest unsubscribe")
    await run_scheduled(world, clock, EVENING)

    assert world.dave.user.dm_channel.last_message.id == dm.id
    assert len(world.channels["digest"].history()) == 2  # the channel still got its evening digest


async def test_a_volunteer_near_galveston_hears_only_of_needs_within_their_radius(world, clock):
    await configure(world)
    seed_response(world)

    await world.carol.slash(world.general, "digest subscribe", location="gn:4692883", radius_km=20)
    await run_scheduled(world, clock, MORNING)

    text = str(world.carol.user.dm_channel.last_message.embeds[0].to_dict())
    assert "within 20 km of Galveston, Texas, US" in text
    assert "**WASH**: 1 — 1 high" in text and "Food Security" not in text


async def test_closed_dms_mark_the_volunteer_and_the_others_still_get_theirs(world, clock):
    await configure(world)
    coalition_id = seed_response(world)
    await world.carol.slash(world.general, "digest subscribe")
    await world.dave.slash(world.general, "digest subscribe")
    closed = world.carol.user.dm_channel.id
    world.env.inject_error("POST", f"/channels/{closed}/messages", status=403, code=50007, message="Cannot send")

    await run_scheduled(world, clock, MORNING)

    assert world.dave.user.dm_channel.last_message.embeds[0].title == "Your digest: Gulf Coast Relief"
    subscription = world.env.bot.core.store.digests.subscription(coalition_id, world.carol.id)
    assert subscription.dm_closed
    assert "Could not deliver a direct message (digest_dm)" in world.channels["log"].last_message.content

    await run_scheduled(world, clock, EVENING)
    rows = world.env.bot.core.store.db.query(
        "SELECT COUNT(*) AS n FROM outbox WHERE target = ?", [f"user:{world.carol.id}"]
    )
    assert next(rows)["n"] == 1  # skipped in the evening round


async def test_digest_now_posts_here_for_org_members_and_refuses_others(world, clock):
    await configure(world)
    seed_response(world)

    refused = await world.dave.slash(world.general, "digest now")
    posted = await world.alice.slash(world.general, "digest now")

    assert_refused(world.env, refused, "organisation", "/digest subscribe")
    assert not posted.ephemeral
    message = world.general.last_message
    assert message.embeds[0].title == "Status digest: Gulf Coast Relief"
    assert "Open needs (3)" in fields_of(message)
    assert [a.filename for a in message.attachments] == ["digest.png"]


async def test_changing_the_schedule_replans_the_coalition_job(world, clock):
    await configure(world)
    coalition_id = seed_response(world)
    cog = digest_cog_of(world.env.bot)

    await world.admin.slash(world.general, "config digest", times="07:15", timezone="Europe/Paris")

    job = cog.planned_job(coalition_id)
    assert job.trigger.get_next_fire_time(None, clock.now) == datetime(2026, 12, 2, 6, 15, tzinfo=UTC)


async def test_after_a_restart_jobs_come_back_and_a_missed_digest_is_sent_once(world, clock, make_bot):
    await configure(world)
    coalition_id = seed_response(world)
    await run_scheduled(world, clock, MORNING)
    sent_before = len(world.channels["digest"].history())

    clock.now = MORNING + timedelta(days=2, hours=1)  # down for two days: four slots missed
    await world.env.restart_bot(make_bot())
    cog = digest_cog_of(world.env.bot)
    job = cog.planned_job(coalition_id)
    assert job.trigger.get_next_fire_time(None, clock.now) == datetime(2026, 12, 4, 2, 0, tzinfo=UTC)

    caught_up = await run_scheduled(world, clock, clock.now)
    again = await run_scheduled(world, clock, clock.now + timedelta(minutes=5))
    await world.env.restart_bot(make_bot())
    after_second_restart = await run_scheduled(world, clock, clock.now)

    assert [o.slot for o in caught_up] == [datetime(2026, 12, 3, 14, 0, tzinfo=UTC)]
    assert again == [] and after_second_restart == []
    assert len(world.channels["digest"].history()) == sent_before + 1


def write_docs(world, message, png: bytes) -> None:
    """The committed example: this test's digest and chart, as the bot posted them."""
    DOCS.mkdir(exist_ok=True)
    (DOCS / "digest-example.png").write_bytes(png)
    embed = message.embeds[0]
    lines = [
        "# A scheduled status digest",
        "",
        "What the bot posted in `#digest` at 08:00 America/Chicago, in the end-to-end test",
        "`tests/e2e/test_digests.py::test_scheduled_digest_posts_counts_and_a_chart_to_the_digest_channel`",
        "(regenerate with `COALESCE_WRITE_DOCS=1 pytest tests/e2e/test_digests.py`).",
        "",
        f"**{embed.title}**",
        "",
        embed.description,
        "",
    ]
    for field in embed.fields:
        lines += [f"**{field.name}**", "", field.value, ""]
    lines += [f"_{embed.footer.text}_", "", f"Attachment: `{message.attachments[0].filename}`", ""]
    lines += ["![The digest chart](digest-example.png)", ""]
    (DOCS / "digest-transcript.md").write_text("\n".join(lines), encoding="utf-8")
