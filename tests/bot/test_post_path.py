"""What a post reads on its way in: each fact once, in as few statements as its meaning allows."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.models import ChannelKind
from bot.services import posts, proposals
from bot.store import Store
from bot.store.posts import _CANDIDATE_COLUMNS
from tests.e2e.matching_helpers import core_world

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def w(tmp_path):
    world = core_world(tmp_path / "coalesce.db")
    world.add_org("Houston Food Bank", 11)
    world.add_org("Baytown Relief", 12, location="Baytown")
    world.add_org("Galveston Aid", 13, location="Galveston")
    world.add_org("Dallas Shelter", 14, location="Dallas")
    return world


def candidate_reads(core, action) -> int:
    """How many statements of the candidate index's shape ``action`` runs."""
    seen: list[str] = []
    core.store.db.conn.set_trace_callback(seen.append)
    try:
        action()
    finally:
        core.store.db.conn.set_trace_callback(None)
    shape = f"SELECT {_CANDIDATE_COLUMNS} FROM posts"  # noqa: S608 - compared with, never run
    return sum(1 for sql in seen if sql.startswith(shape))


def test_a_post_that_finds_no_partner_reads_the_candidate_index_once(w):
    # Only a need in another unit nearby: nothing is proposed, and the reply says why (the bottle size).
    posts.post_need(
        w.core, w.coordinators["Houston Food Bank"], sector="wash", item="bottled water", quantity=100,
        unit="bottles", location="Houston",
    )  # fmt: skip
    results = []

    def post_offer():
        offered = posts.post_offer(
            w.core, w.coordinators["Baytown Relief"], sector="wash", item="bottled water", quantity=50,
            unit="litres", location="Baytown",
        )  # fmt: skip
        results.append(offered)

    reads = candidate_reads(w.core, post_offer)
    posted = results[0]
    once = candidate_reads(
        w.core,
        lambda: proposals.read_candidates(w.core, posted.post, radius_km=posted.event.radius_km, now=w.clock.now),
    )

    assert posted.proposals == [] and posted.unit_hint and "bottle" in posted.unit_hint
    assert reads == once > 0


def test_an_offer_whose_partner_waits_farther_behind_needs_in_other_units_is_not_on_standby(w):
    # Two critical needs in Houston count in bottles of unknown size (they can't take litres) and come first
    # in the candidate index; behind them a normal need in litres, 75 km from Galveston: beyond a normal
    # need's near reach, so it is proposed only after its hold, but it is a partner and the offer is awaited.
    for org, quantity in (("Houston Food Bank", 900), ("Dallas Shelter", 800)):
        posts.post_need(
            w.core, w.coordinators[org], sector="wash", item="bottled water", quantity=quantity,
            unit="bottles", urgency="critical", location="Houston",
        )  # fmt: skip
    posts.post_need(
        w.core, w.coordinators["Baytown Relief"], sector="wash", item="bottled water", quantity=100,
        unit="litres", location="Houston",
    )  # fmt: skip

    offered = posts.post_offer(
        w.core, w.coordinators["Galveston Aid"], sector="wash", item="bottled water", quantity=50, unit="litres",
        location="Galveston",
    )  # fmt: skip

    assert offered.proposals == []
    assert offered.farther == 1
    assert offered.standby is False


# --- the home server's matches channel, in one statement --------------------------------------------------

GUILDS = (1, 2, 3, 4)
ALL = (*GUILDS, 5)  # 5 is never linked to the coalition under test
_fresh = itertools.count(1)


def reference_home_channel(
    linked: list[int], lead: int | None, channels: dict[int, int], home: int | None
) -> int | None:
    """The rule as it reads: the home server while linked, else the lead while linked, else the lowest linked."""
    guild = home if home in linked else (lead if lead in linked else (min(linked) if linked else None))
    return channels.get(guild) if guild is not None else None


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    made = Store(Path(tmp_path_factory.mktemp("federation")) / "c.db")
    yield made
    made.close()


@settings(max_examples=150, deadline=None)
@given(
    linked=st.lists(st.sampled_from(GUILDS), min_size=1, unique=True),
    lead=st.one_of(st.none(), st.sampled_from(ALL)),
    with_channel=st.sets(st.sampled_from(ALL)),
    home=st.one_of(st.none(), st.sampled_from(ALL)),
)
def test_an_orgs_home_matches_channel_follows_the_rule_in_any_federation(store, linked, lead, with_channel, home):
    base = next(_fresh) * 100  # guild ids are unique across the whole database: each example has its own
    # Every server forms its own coalition first; the linked ones then join the first's. The others stay in
    # coalitions of their own, with channels of their own that must never be chosen.
    own = {g: store.coalitions.for_guild(base + g, f"g{g}", NOW, timezone="UTC", digest_times="08:00") for g in ALL}
    first = own[linked[0]]
    for guild in linked[1:]:
        store.federation.relink(base + guild, first.id, f"g{guild}", NOW)
    store.federation.set_lead(first.id, None if lead is None else base + lead)
    channels = {}
    for guild in ALL:
        store.coalitions.set_channel(base + guild, ChannelKind.LOG, base * 10 + guild + 50, 1, NOW)
        if guild in with_channel:
            store.coalitions.set_channel(base + guild, ChannelKind.MATCHES, base * 10 + guild, 1, NOW)
            channels[base + guild] = base * 10 + guild
    linked_ids = [base + g for g in linked]
    lead_id = None if lead is None else base + lead
    home_id = None if home is None else base + home

    found = store.federation.home_channel(first.id, home_id, ChannelKind.MATCHES)

    assert found == reference_home_channel(linked_ids, lead_id, channels, home_id)


def test_a_coalition_without_a_server_has_no_home_channel(store):
    assert store.federation.home_channel(987654, None, ChannelKind.MATCHES) is None


def test_the_duplicate_check_seeks_the_orgs_alike_posts_instead_of_reading_all_its_open_posts(w):
    posted = posts.post_need(
        w.core, w.coordinators["Houston Food Bank"], sector="wash", item="bottled water", quantity=100,
        location="Houston",
    )  # fmt: skip
    (place_key,) = w.core.store.db.execute("SELECT place_key FROM posts WHERE id = ?", [posted.post.id]).fetchone()
    seen: list[str] = []
    w.core.store.db.conn.set_trace_callback(seen.append)
    try:
        alike = w.core.store.posts.open_alike(
            posted.org.id, posted.post.kind, posted.post.item_key, place_key, posted.post.unit,
            since=w.clock.now - timedelta(hours=24), now=w.clock.now,
        )  # fmt: skip
    finally:
        w.core.store.db.conn.set_trace_callback(None)
    plan = " ".join(str(row) for row in w.core.store.db.execute(f"EXPLAIN QUERY PLAN {seen[-1]}").fetchall())

    assert [p.id for p in alike] == [posted.post.id]
    assert "posts_by_org (org_id=? AND status=? AND kind=? AND item_key=? AND place_key=? AND unit=?" in plan


def test_the_custom_items_in_use_are_read_only_for_an_item_the_catalogue_does_not_know(w):
    seen: list[str] = []
    w.core.store.db.conn.set_trace_callback(seen.append)
    try:
        custom = posts.post_need(
            w.core, w.coordinators["Houston Food Bank"], sector="shelter", item="solar panels", quantity=4,
            location="Houston",
        )  # fmt: skip
        custom_reads = sum("custom:" in sql for sql in seen)
        seen.clear()
        posts.post_need(
            w.core, w.coordinators["Houston Food Bank"], sector="wash", item="bottled water", quantity=4,
            location="Houston",
        )  # fmt: skip
    finally:
        w.core.store.db.conn.set_trace_callback(None)
    typo = posts.post_offer(
        w.core, w.coordinators["Baytown Relief"], sector="shelter", item="solar panles", quantity=4, location="Baytown"
    )

    assert custom_reads >= 1
    assert not any("item_key >= 'custom:'" in sql for sql in seen)
    assert typo.post.item_key == custom.post.item_key and len(typo.proposals) == 1


@pytest.mark.sqlite_only
def test_the_custom_items_in_use_are_one_range_read_of_a_candidate_index_and_only_open_ones(w):
    solar = posts.post_need(
        w.core, w.coordinators["Houston Food Bank"], sector="shelter", item="solar panels", quantity=4,
        location="Houston",
    )  # fmt: skip
    barrels = posts.post_need(
        w.core, w.coordinators["Houston Food Bank"], sector="shelter", item="rain barrels", quantity=4,
        location="Houston",
    )  # fmt: skip
    # Fully pledged: not open, so no longer an item in use.
    w.core.store.db.execute("UPDATE posts SET remaining = 0 WHERE id = ?", [solar.post.id])
    seen: list[str] = []
    w.core.store.db.conn.set_trace_callback(seen.append)
    try:
        keys = w.core.store.posts.custom_item_keys(solar.post.event_id, w.clock.now)
    finally:
        w.core.store.db.conn.set_trace_callback(None)
    plan = " ".join(str(row) for row in w.core.store.db.execute(f"EXPLAIN QUERY PLAN {seen[-1]}").fetchall())

    assert keys == [barrels.post.item_key]
    assert "COVERING INDEX posts_match_candidates" in plan or "COVERING INDEX posts_near_candidates" in plan, plan


def test_a_candidate_read_by_both_grids_comes_once(w):
    # An offer in the need's own town lies in a local cell and in a wide cell: both probes return it.
    offered = posts.post_offer(
        w.core, w.coordinators["Baytown Relief"], sector="wash", item="bottled water", quantity=50, location="Houston"
    )
    wanting = posts.post_need(
        w.core, w.coordinators["Houston Food Bank"], sector="wash", item="water", quantity=10, location="Houston"
    )

    read = proposals.read_candidates(w.core, wanting.post, radius_km=wanting.event.radius_km, now=w.clock.now)

    assert [c.id for c in read].count(offered.post.id) == 1
