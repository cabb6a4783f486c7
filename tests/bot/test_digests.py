"""Digest content, its size limits, and the rounds that queue it (core only, a fresh SQLite per test)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.core import Core
from bot.digest_render import DESCRIPTION, EMBED_TOTAL, FIELD_NAME, FIELD_VALUE, MAX_FIELDS, fit_lines, render
from bot.digests import (
    DigestEvent,
    DigestFilter,
    DigestIndex,
    DigestSnapshot,
    Excess,
    MatchChange,
    NewPost,
    OpenNeed,
)
from bot.errors import Forbidden, InvalidInput, NotFound, UnknownSector
from bot.models import Actor, ChannelKind, Urgency
from bot.services import digests
from bot.store import Store

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HOUSTON = ("Houston, Texas, US", 29.76328, -95.36327)
GALVESTON = ("Galveston, Texas, US", 29.30135, -94.7977)
DALLAS = ("Dallas, Texas, US", 32.78306, -96.80667)
GUILD = 9001
ADMIN = Actor(user_id=1, guild_id=GUILD, name="admin", is_admin=True, guild_name="Gulf Coast Relief")


@dataclass
class Seed:
    """Rows for digests to read, inserted as the posting and matching code stores them."""

    core: Core

    @property
    def db(self):
        return self.core.store.db

    def coalition(self, *, times: str = "08:00,20:00", timezone: str = "America/Chicago", guild: int = GUILD) -> int:
        actor = Actor(user_id=1, guild_id=guild, is_admin=True, guild_name="Gulf Coast Relief")
        coalition = self.core.coalition_of(actor)
        self.core.store.coalitions.set_digest_schedule(coalition.id, times=times, timezone=timezone)
        return coalition.id

    def channel(self, coalition_id: int, channel_id: int, *, guild: int = GUILD) -> None:
        self.core.store.coalitions.set_channel(guild, ChannelKind.DIGEST, channel_id, 1, T0)

    def event(self, coalition_id: int, name: str = "Hurricane Delta", *, opened: datetime | None = None) -> int:
        return self.core.store.events.insert(
            coalition_id,
            name=name,
            place_key=None,
            place_label="",
            lat=None,
            lon=None,
            radius_km=250,
            opened_by=1,
            now=opened or T0 - timedelta(days=3),
        )

    def org(self, coalition_id: int, name: str, *, member: int = 2, contact: str = "+1 713 555 0100") -> int:
        return self.core.store.orgs.insert(
            coalition_id,
            name=name,
            sectors=("wash", "food"),
            place_key="gn:4699066",
            place_label=HOUSTON[0],
            lat=HOUSTON[1],
            lon=HOUSTON[2],
            contact=contact,
            description="",
            registered_by=member,
            now=T0 - timedelta(days=3),
        )

    def post(
        self,
        kind: str,
        coalition_id: int,
        event_id: int,
        org_id: int,
        *,
        sector: str = "wash",
        item: str = "Bottled water",
        quantity: int = 100,
        remaining: int | None = None,
        unit: str = "cases",
        urgency: str = "normal",
        place: tuple[str, float, float] = HOUSTON,
        created: datetime | None = None,
        status: str = "open",
        notes: str = "",
    ) -> int:
        cursor = self.db.execute(
            "INSERT INTO posts (kind, coalition_id, event_id, org_id, sector, item_key, item_label, quantity,"
            " remaining, unit, place_key, place_label, lat, lon, urgency, notes, status, posted_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [
                kind, coalition_id, event_id, org_id, sector, item.casefold().replace(" ", "_"), item, quantity,
                quantity if remaining is None else remaining, unit, "gn:0", place[0], place[1], place[2], urgency,
                notes, status, 2, (created or T0 - timedelta(days=1)).isoformat(timespec="seconds"),
            ],
        )  # fmt: skip
        return int(cursor.fetchone()[0])

    def match(
        self,
        coalition_id: int,
        event_id: int,
        need_id: int,
        offer_id: int,
        *,
        quantity: int,
        status: str = "proposed",
        created: datetime,
        committed: datetime | None = None,
        delivered: datetime | None = None,
    ) -> int:
        def iso(moment: datetime | None) -> str | None:
            return moment.isoformat(timespec="seconds") if moment else None

        cursor = self.db.execute(
            "INSERT INTO matches (coalition_id, event_id, need_id, offer_id, score, distance_km, quantity, status,"
            " created_at, committed_at, delivered_at) VALUES (?, ?, ?, ?, 0.9, 10, ?, ?, ?, ?, ?) RETURNING id",
            [coalition_id, event_id, need_id, offer_id, quantity, status, iso(created), iso(committed), iso(delivered)],
        )
        return int(cursor.fetchone()[0])


@pytest.fixture
def core(clock, new_database) -> Core:
    built = Core(store=Store(new_database("coalesce")), clock=clock)
    yield built
    built.store.close()


@pytest.fixture
def seed(core) -> Seed:
    return Seed(core)


# ----- content, from snapshots built by hand -----


def need(
    id: int,
    sector: str = "wash",
    urgency: Urgency = Urgency.NORMAL,
    *,
    event_id: int = 1,
    age_hours: float = 5,
    place=HOUSTON,
    item: str = "Bottled water",
) -> OpenNeed:
    return OpenNeed(
        id, event_id, 10, sector, urgency, item, 50, "cases", place[0], place[1], place[2],
        T0 - timedelta(hours=age_hours),
    )  # fmt: skip


def snapshot(**parts) -> DigestSnapshot:
    values = {
        "coalition_name": "Gulf Coast Relief",
        "timezone": "America/Chicago",
        "since": T0 - timedelta(hours=12),
        "until": T0,
        "events": (DigestEvent(1, "Hurricane Delta", T0 - timedelta(days=3)),),
        "open_needs": (),
        "new_posts": (),
        "match_changes": (),
        "org_names": {10: "Houston Food Bank", 11: "Red Cross Gulf"},
    }
    values.update(parts)
    return DigestSnapshot(**values)


def test_open_needs_are_counted_by_sector_and_urgency():
    needs = (
        need(1, "wash", Urgency.CRITICAL),
        need(2, "wash", Urgency.CRITICAL),
        need(3, "wash", Urgency.LOW),
        need(4, "food", Urgency.HIGH),
    )

    summary = DigestIndex(snapshot(open_needs=needs)).summarise()

    event = summary.events[0]
    assert event.open_by_sector == {"wash": (2, 0, 0, 1), "food": (0, 1, 0, 0)}
    assert event.open_total == 4
    fields = dict(render(summary).fields)
    assert fields["Open needs (4)"] == "**WASH**: 3 — 2 critical · 1 low\n**Food Security**: 1 — 1 high"


def test_oldest_unmet_critical_needs_come_first_with_their_age():
    needs = (
        need(1, urgency=Urgency.CRITICAL, age_hours=2, item="Tarpaulin"),
        need(2, urgency=Urgency.CRITICAL, age_hours=60, item="Hygiene kit"),
        need(3, urgency=Urgency.HIGH, age_hours=90),
    )

    fields = dict(render(DigestIndex(snapshot(open_needs=needs)).summarise()).fields)

    lines = fields["Oldest unmet critical needs"].splitlines()
    assert lines == [
        "`N-2` Hygiene kit: 50 cases · Houston, Texas, US · 2 days old",
        "`N-1` Tarpaulin: 50 cases · Houston, Texas, US · 2 h old",
    ]


def test_activity_since_the_last_digest_counts_posts_matches_quantity_and_organisations():
    posts = (
        NewPost("need", 1, 10, "wash", *HOUSTON[1:]),
        NewPost("need", 1, 10, "food", *HOUSTON[1:]),
        NewPost("offer", 1, 11, "wash", *HOUSTON[1:]),
    )
    changes = (
        MatchChange(1, "proposed", 40, "wash", *HOUSTON[1:], 10, 11),
        MatchChange(1, "committed", 40, "wash", *HOUSTON[1:], 10, 11),
        MatchChange(1, "delivered", 25, "wash", *HOUSTON[1:], 10, 11),
        MatchChange(1, "delivered", 300, "food", *HOUSTON[1:], 10, 11),
    )

    embed = render(DigestIndex(snapshot(new_posts=posts, match_changes=changes)).summarise())

    fields = dict(embed.fields)
    assert fields["Since the last digest"] == (
        "New: 2 needs, 1 offer\nMatches: 1 proposed · 1 committed · 2 delivered\nDeliveries: 2"
    )
    assert fields["Organisations active (2)"] == "Houston Food Bank, Red Cross Gulf"
    assert "Quiet" not in embed.description


def test_empty_sections_are_left_out_and_a_quiet_period_says_so_in_one_line():
    embed = render(DigestIndex(snapshot(open_needs=(need(1, urgency=Urgency.HIGH),))).summarise())

    assert [name for name, _ in embed.fields] == ["Open needs (1)"]
    quiet = [line for line in embed.description.splitlines() if "Quiet" in line]
    assert quiet == ["Quiet since the last digest: no new needs, offers or matches."]


def test_a_digest_without_open_events_says_so():
    embed = render(DigestIndex(snapshot(events=())).summarise())

    assert embed.fields == []
    assert "No event is open right now." in embed.description


def test_the_period_is_shown_in_the_coalition_time_zone():
    embed = render(DigestIndex(snapshot()).summarise())

    assert embed.description.startswith("As of 1 Dec 06:00 (America/Chicago); changes since 30 Nov 18:00.")


def test_a_volunteer_sees_only_their_sectors_within_their_radius():
    needs = (
        need(1, "wash", place=HOUSTON),
        need(2, "wash", place=GALVESTON),  # 70 km from Houston
        need(3, "wash", place=DALLAS),  # 360 km
        need(4, "food", place=HOUSTON),
    )
    index = DigestIndex(snapshot(open_needs=needs))
    wash_near_houston = DigestFilter(frozenset({"wash"}), HOUSTON[1], HOUSTON[2], 100, HOUSTON[0])

    summary = index.summarise(wash_near_houston)

    assert summary.events[0].open_by_sector == {"wash": (0, 0, 2, 0)}
    embed = render(summary, personal=True)
    assert "Filtered to: WASH · within 100 km of Houston, Texas, US." in embed.description
    assert "Food" not in embed.text()
    assert index.summarise(DigestFilter(frozenset({"education"}))).is_empty


def test_a_huge_digest_stays_within_every_discord_limit():
    long = "x" * 80
    events = tuple(DigestEvent(e, f"Event {e} {long}", T0 - timedelta(days=e)) for e in range(1, 41))
    needs = tuple(
        need(i, ("wash", "food", "health", "shelter")[i % 4], Urgency.CRITICAL, event_id=1 + i % 40,
             age_hours=i, item=f"Item {i} {long}", place=(f"Place {long}", 29.7, -95.3))
        for i in range(2000)
    )  # fmt: skip
    orgs = {i: f"Organisation number {i} {long[:40]}" for i in range(300)}
    posts = tuple(NewPost("need", 1, i, "wash", 29.7, -95.3) for i in range(300))

    embed = render(DigestIndex(snapshot(events=events, open_needs=needs, new_posts=posts, org_names=orgs)).summarise())

    assert embed.size <= EMBED_TOTAL
    assert len(embed.fields) <= MAX_FIELDS
    assert len(embed.description) <= DESCRIPTION
    assert all(len(name) <= FIELD_NAME and len(value) <= FIELD_VALUE for name, value in embed.fields)
    fields = dict(embed.fields)
    critical = next(v for n, v in fields.items() if "critical" in n)
    shown = len(critical.splitlines()) - 1
    assert critical.splitlines()[-1] == f"…and {50 - shown} more: see `/need list`"
    organisations = next(v for n, v in fields.items() if n.startswith("Event 1 ") and "Organisations" in n)
    names = organisations.split(", ")
    assert names[-1] == f"and {300 - (len(names) - 1)} more"
    assert fields["More events"].startswith("…and ") and "`/need list`" in fields["More events"]


@pytest.mark.parametrize("limit", [60, 100, 1024])
def test_fit_lines_cuts_a_long_list_with_and_n_more(limit):
    lines = [f"line {i:03d} " + "y" * 20 for i in range(100)]

    text = fit_lines(lines, limit)

    assert len(text) <= limit
    kept = text.splitlines()
    assert kept[-1] == f"…and {100 - (len(kept) - 1)} more: see `/need list`"
    assert fit_lines(lines[:2], limit) == "\n".join(lines[:2])


# ----- rounds, through the store -----


def seeded_round(seed: Seed, core: Core) -> int:
    """A coalition with a digest channel, one event, needs, an offer and a committed match."""
    coalition_id = seed.coalition()
    seed.channel(coalition_id, 555)
    event_id = seed.event(coalition_id)
    food_bank = seed.org(coalition_id, "Houston Food Bank", contact="ops@example.org")
    red_cross = seed.org(coalition_id, "Red Cross Gulf", member=3)
    water = seed.post("need", coalition_id, event_id, food_bank, urgency="critical", notes="call Ana on 713-555-0199")
    seed.post("need", coalition_id, event_id, food_bank, sector="food", item="Rice", urgency="high")
    offer = seed.post("offer", coalition_id, event_id, red_cross, quantity=60)
    seed.match(
        coalition_id, event_id, water, offer, quantity=60, status="committed",
        created=T0 - timedelta(hours=3), committed=T0 - timedelta(hours=2),
    )  # fmt: skip
    return coalition_id


def outbox_rows(core: Core) -> list[dict]:
    return list(core.store.db.query("SELECT * FROM outbox ORDER BY id"))


def embeds_sent(core: Core) -> list[dict]:
    """What each queued digest will show: the channel's embed, or the stored view a DM names."""
    embeds = []
    for row in outbox_rows(core):
        payload = json.loads(row["payload"])
        embeds.append(payload["embed"] if row["kind"] == "digest" else digests.personal_embed(core, payload))
    return embeds


async def test_a_round_queues_one_row_per_channel_and_subscriber_with_the_run_and_its_chart(seed, core, clock):
    coalition_id = seeded_round(seed, core)
    for user_id in (101, 102):
        core.store.digests.subscribe(coalition_id, user_id, DigestFilter(), T0)
    slot = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # 08:00 in Chicago
    clock.now = slot + timedelta(seconds=3)

    outcome = await digests.run_digest_round(core, coalition_id, slot)

    assert outcome is not None and (outcome.channels, outcome.subscribers) == (1, 2)
    rows = outbox_rows(core)
    assert [(r["kind"], r["target"]) for r in rows] == [
        ("digest", "channel:555"),
        ("digest_dm", "user:101"),
        ("digest_dm", "user:102"),
    ]
    payload = json.loads(rows[0]["payload"])
    assert payload["run_id"] == outcome.run_id
    assert core.store.digests.chart(outcome.run_id).startswith(b"\x89PNG")
    assert core.store.digests.has_run(coalition_id, slot)
    text = json.dumps(embeds_sent(core))
    assert "Since the last digest" in text and "1 committed" in text and "Your digest" in text


async def test_volunteers_who_chose_alike_share_one_stored_view(seed, core, clock):
    coalition_id = seeded_round(seed, core)
    core.store.digests.subscribe(coalition_id, 101, DigestFilter(), T0)
    core.store.digests.subscribe(coalition_id, 102, DigestFilter(frozenset({"food"})), T0)
    core.store.digests.subscribe(coalition_id, 103, DigestFilter(), T0)
    clock.now = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)

    outcome = await digests.run_digest_round(core, coalition_id, clock.now)

    payloads = {r["target"]: json.loads(r["payload"]) for r in outbox_rows(core) if r["kind"] == "digest_dm"}
    assert payloads["user:101"] == payloads["user:103"] == {"run_id": outcome.run_id, "view_id": 0}
    assert payloads["user:102"] == {"run_id": outcome.run_id, "view_id": 1}
    food = digests.personal_embed(core, payloads["user:102"])
    assert "Filtered to: Food Security." in food["description"]
    assert "WASH" not in json.dumps(food)


def test_a_dm_queued_with_its_embed_still_shows_that_embed(core):
    embed = {"title": "Your digest: Gulf Coast Relief", "description": "", "fields": []}

    assert digests.personal_embed(core, {"embed": embed}) == embed


async def test_a_slot_is_sent_at_most_once(seed, core, clock):
    coalition_id = seeded_round(seed, core)
    slot = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    clock.now = slot

    first = await digests.run_digest_round(core, coalition_id, slot)
    again = await digests.run_digest_round(core, coalition_id, slot)
    prepared = digests.build_round(core.store, coalition_id, slot, slot - timedelta(hours=12), slot, [555])
    raced = digests.record_round(core, prepared)

    assert first is not None and again is None and raced is None
    assert len(outbox_rows(core)) == 1
    assert core.store.digests.run_count(coalition_id) == 1


async def test_a_round_stopped_after_its_claim_queues_each_dm_once_when_taken_up(seed, core, clock):
    coalition_id = seeded_round(seed, core)
    for user_id in (101, 102):
        core.store.digests.subscribe(coalition_id, user_id, DigestFilter(), T0)
    slot = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    clock.now = slot
    prepared = digests.build_round(core.store, coalition_id, slot, slot - timedelta(hours=12), slot, [555])

    run_id = digests.claim_round(core, prepared)  # the process stops here, before queueing any DM
    stopped = [r["target"] for r in outbox_rows(core)]
    finished = digests.finish_interrupted_rounds(core)
    again = digests.finish_interrupted_rounds(core)

    assert run_id is not None and stopped == ["channel:555"]
    assert (finished, again) == (1, 0)
    assert [r["target"] for r in outbox_rows(core)] == ["channel:555", "user:101", "user:102"]
    assert await digests.run_digest_round(core, coalition_id, slot) is None


async def test_digests_never_carry_contacts_or_notes(seed, core, clock):
    coalition_id = seeded_round(seed, core)
    core.store.digests.subscribe(coalition_id, 101, DigestFilter(), T0)
    clock.now = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)

    await digests.run_digest_round(core, coalition_id, clock.now)

    text = json.dumps([r["payload"] for r in outbox_rows(core)] + embeds_sent(core))
    assert "Houston Food Bank" in text
    for private in ("ops@example.org", "555", "Ana"):
        assert private not in text


async def test_a_volunteer_with_nothing_in_their_filter_gets_no_dm(seed, core, clock):
    coalition_id = seeded_round(seed, core)
    core.store.digests.subscribe(coalition_id, 101, DigestFilter(frozenset({"education"})), T0)
    core.store.digests.subscribe(coalition_id, 102, DigestFilter(frozenset({"wash"})), T0)
    clock.now = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)

    outcome = await digests.run_digest_round(core, coalition_id, clock.now)

    assert outcome is not None and outcome.skipped_subscribers == 1
    assert [r["target"] for r in outbox_rows(core) if r["kind"] == "digest_dm"] == ["user:102"]


async def test_a_large_round_is_paced_in_bursts(seed, core, clock):
    coalition_id = seeded_round(seed, core)
    subscribers = digests.QUEUE_CHUNK + 60  # queued in two transactions
    with core.store.atomic():
        for user_id in range(1000, 1000 + subscribers):
            core.store.digests.subscribe(coalition_id, user_id, DigestFilter(), T0)
    clock.now = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)

    await digests.run_digest_round(core, coalition_id, clock.now)

    rows = [r for r in outbox_rows(core) if r["kind"] == "digest_dm"]
    assert [r["target"] for r in rows] == [f"user:{u}" for u in range(1000, 1000 + subscribers)]
    due = [datetime.fromisoformat(r["next_attempt_at"]) for r in rows]
    bursts = -(-subscribers // digests.DM_BURST)
    assert sorted({(d - clock.now).total_seconds() for d in due}) == [
        b * digests.DM_BURST_SECONDS for b in range(bursts)
    ]
    assert sum(1 for d in due if d == clock.now) == digests.DM_BURST


async def test_volunteers_with_closed_dms_are_skipped_until_they_subscribe_again(seed, core, clock):
    coalition_id = seeded_round(seed, core)
    core.store.digests.subscribe(coalition_id, 101, DigestFilter(), T0)
    core.store.digests.subscribe(coalition_id, 102, DigestFilter(), T0)
    digests.mark_dm_closed(core, coalition_id, 101)
    clock.now = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)

    await digests.run_digest_round(core, coalition_id, clock.now)

    assert [r["target"] for r in outbox_rows(core) if r["kind"] == "digest_dm"] == ["user:102"]
    assert not digests.still_subscribed(core, coalition_id, 101)
    digests.subscribe(core, Actor(101, GUILD), sectors="wash")
    assert digests.still_subscribed(core, coalition_id, 101)


async def test_the_next_digest_covers_only_what_changed_since_the_last_one(seed, core, clock):
    coalition_id = seeded_round(seed, core)
    morning = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    clock.now = morning
    await digests.run_digest_round(core, coalition_id, morning)
    event_id = core.store.events.list(coalition_id)[0].id
    org_id = core.store.orgs.by_name(coalition_id, "Red Cross Gulf").id
    seed.post("offer", coalition_id, event_id, org_id, created=morning + timedelta(hours=1))
    evening = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # 20:00 in Chicago
    clock.now = evening

    await digests.run_digest_round(core, coalition_id, evening)

    fields = dict((f["name"], f["value"]) for f in json.loads(outbox_rows(core)[-1]["payload"])["embed"]["fields"])
    assert fields["Since the last digest"] == "New: 0 needs, 1 offer"
    assert fields["Organisations active (1)"] == "Red Cross Gulf"


def test_fulfilment_is_counted_per_local_day_over_the_event(seed, core):
    coalition_id = seeded_round(seed, core)
    event_id = core.store.events.list(coalition_id)[0].id
    org_id = core.store.orgs.by_name(coalition_id, "Houston Food Bank").id
    # 03:00 UTC on 1 Dec is still 30 Nov in Chicago.
    seed.post("need", coalition_id, event_id, org_id, quantity=40, created=datetime(2026, 12, 1, 3, 0, tzinfo=UTC))

    snap = core.store.digests.snapshot(coalition_id, T0 - timedelta(hours=12), T0)

    by_day = {d.day.isoformat(): (d.requested, d.delivered) for d in snap.fulfilment}
    assert by_day == {"2026-11-30": (3, 0), "2026-12-01": (0, 0)}  # three needs posted, counted not summed


def test_due_slot_is_the_latest_and_never_before_the_coalition_existed(seed, core):
    coalition = core.store.coalitions.get(seed.coalition())  # formed at 06:00 in Chicago

    assert digests.due_slot(coalition, T0 + timedelta(hours=1)) is None  # 07:00: 20:00 yesterday predates it
    later = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # two days down: four slots missed, one is due
    assert digests.due_slot(coalition, later) == datetime(2026, 12, 3, 14, 0, tzinfo=UTC)


# ----- subscriptions and /digest now -----


def test_subscribing_resolves_sectors_and_place_with_a_default_radius(core):
    done = digests.subscribe(core, Actor(7, GUILD), sectors="WASH, shelter", location="gn:4699066")

    wanted = done.subscription.filter
    assert wanted.sectors == {"wash", "shelter"}
    assert (wanted.place_label, wanted.radius_km) == (HOUSTON[0], digests.DEFAULT_SUBSCRIPTION_RADIUS_KM)


def test_subscribing_refuses_a_radius_without_a_place_and_unknown_sectors(core):
    with pytest.raises(InvalidInput, match="location"):
        digests.subscribe(core, Actor(7, GUILD), radius_km=50)
    with pytest.raises(UnknownSector):
        digests.subscribe(core, Actor(7, GUILD), sectors="wash, plumbing")


def test_unsubscribing_twice_says_there_is_nothing_to_stop(core):
    digests.subscribe(core, Actor(7, GUILD))
    digests.unsubscribe(core, Actor(7, GUILD))

    with pytest.raises(NotFound, match="/digest subscribe"):
        digests.unsubscribe(core, Actor(7, GUILD))


def test_digest_now_is_for_org_members_and_admins_only(seed, core):
    coalition_id = seeded_round(seed, core)

    with pytest.raises(Forbidden):
        digests.authorise_digest_now(core, Actor(99, GUILD))
    assert digests.authorise_digest_now(core, Actor(2, GUILD)).id == coalition_id  # a Houston Food Bank member
    assert digests.authorise_digest_now(core, ADMIN).id == coalition_id


def test_unconfirmed_critical_needs_come_after_those_known_to_stand_and_say_so():
    stale = replace(need(1, urgency=Urgency.CRITICAL, age_hours=40), unconfirmed=True)
    fresh = need(2, urgency=Urgency.CRITICAL, age_hours=10)

    summary = DigestIndex(snapshot(open_needs=(stale, fresh))).summarise()

    assert [n.ref for n in summary.events[0].oldest_critical] == ["N-2", "N-1"]
    lines = dict(render(summary).fields)["Oldest unmet critical needs"].splitlines()
    assert "unconfirmed" in lines[1] and "unconfirmed" not in lines[0]


def test_the_channel_digest_lists_excess_offers_and_personal_views_do_not():
    surplus = Excess(1, "Tarpaulin", "sheets", offered=900, needed=100)

    summary = DigestIndex(snapshot(open_needs=(need(1),), excess=(surplus,))).summarise()
    personal = DigestIndex(snapshot(open_needs=(need(1),), excess=(surplus,))).summarise(
        DigestFilter(sectors=frozenset({"wash"}))
    )

    hold = dict(render(summary).fields)["Please don't send unless asked"]
    assert hold == "**Tarpaulin**: 800 sheets more offered than needed (900 offered, 100 needed)"
    assert "Please don't send unless asked" not in dict(render(personal, personal=True).fields)
