"""Import reads real HXL: tags in any order, a title above the hashtag row, clusters by acronym, bare coordinates.

And it refuses hostile files cell by cell: one line naming file, row and column, nothing written.
"""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.interop import ImportRejected, import_dir
from bot.services import freshness, posts
from tests.e2e.matching_helpers import core_world

TABLES = ("events", "orgs", "org_members", "posts", "matches", "outbox", "audit_log")

# A 3W as field teams send it: a title, a blank line, human headers, then hashtags with spaces and other order.
REAL_3W = [
    ["Hurricane Delta - 3W / needs by partner", "", "", "", "", "", "", "", ""],
    ["", "", "", "", "", "", "", "", ""],
    ["Partner", "Cluster", "What", "How many", "Unit", "Site", "Lat", "Long", "Emergency"],
    ["#org +impl +name", "#sector +cluster", "#item +name", "#need +num", "#item +unit", "#loc +name", "#geo +lat",
     "#geo +lon", "#crisis +name"],
    ["Houston Food Bank", "WASH", "bottled water", "400", "bottles", "", "29.70", "-95.40", "Hurricane Delta"],
    ["Gulf Water", "Shelter", "tarpaulin", "30", "sheets", "Galveston", "", "", "Hurricane Delta"],
    ["Houston Food Bank", "FSL", "rice", "50", "kg", "Camp Esperanza", "29.75", "-95.35", "Hurricane Delta"],
    ["Gulf Water", "CCCM", "site mapping", "5", "", "Galveston", "", "", "Hurricane Delta"],
]  # fmt: skip


def write(path: Path, rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)


@pytest.fixture
def world(new_database):
    world = core_world(new_database("live"))
    world.add_org("Houston Food Bank", 11)
    world.add_org("Gulf Water", 12, location="Galveston")
    return world


def snapshot(core) -> dict[str, list]:
    return {t: core.store.db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES}  # noqa: S608


def test_a_real_shaped_3w_file_imports_with_clusters_by_acronym_and_bare_coordinates(world, tmp_path):
    write(tmp_path / "in" / "needs.csv", REAL_3W)

    summary = import_dir(world.core, tmp_path / "in")

    assert summary.imported["needs"] == 4
    imported = [world.core.store.posts.get(i) for i in range(1, 5)]
    assert [p.sector for p in imported] == ["wash", "shelter", "food", "camp"]
    water = imported[0]
    assert (water.quantity, water.unit, water.lat, water.lon) == (400, "bottles", 29.70, -95.40)
    assert water.place_label == "29.7000, -95.4000"
    camp = imported[2]
    assert camp.place_label == "Camp Esperanza" and (camp.lat, camp.lon) == (29.75, -95.35)
    assert imported[1].place_label == "Galveston, Texas, US"
    assert (imported[3].item_label, imported[3].unit) == ("site mapping", "units")


def test_imported_open_needs_are_matched_and_the_summary_counts_the_proposals(world, tmp_path):
    # The offer is near the imported need (Houston), so they are matched at once.
    posts.post_offer(world.core, world.coordinators["Gulf Water"], sector="wash", item="bottled water",
                     quantity=300, location="Houston")  # fmt: skip
    write(tmp_path / "in" / "needs.csv", REAL_3W[:5])

    summary = import_dir(world.core, tmp_path / "in")

    assert summary.proposals == 1
    assert "Matching raised 1 proposal(s)" in "\n".join(summary.lines())
    [match] = world.core.store.matches.live_for_post(2)
    assert (match.need_id, match.offer_id, match.quantity) == (2, 1, 300)
    kinds = [r[0] for r in world.core.store.db.execute("SELECT kind FROM outbox").fetchall()]
    assert "match_proposal" in kinds
    world.clock.now += timedelta(hours=1)
    again = import_dir(world.core, tmp_path / "in")
    assert again.proposals == 0 and again.imported["needs"] == 0 and again.already_here["needs"] == 1


def test_a_hand_made_file_imported_twice_a_day_apart_adds_nothing_the_second_time(world, tmp_path):
    write(tmp_path / "in" / "needs.csv", REAL_3W)
    import_dir(world.core, tmp_path / "in")
    before = snapshot(world.core)
    world.clock.now += timedelta(days=1)

    again = import_dir(world.core, tmp_path / "in")

    assert sum(again.imported.values()) == 0 and again.already_here["needs"] == 4
    after = snapshot(world.core)
    assert {t: after[t] for t in TABLES if t != "audit_log"} == {t: before[t] for t in TABLES if t != "audit_log"}


NEEDS_HEADER = ["id", "crisis", "org", "sector", "item", "quantity", "place", "deadline"]
GOOD = ["N-1", "Hurricane Delta", "Houston Food Bank", "wash", "soap", "5", "Houston"]


def needs_file(tmp_path: Path, *rows: list[str]) -> Path:
    write(tmp_path / "in" / "needs.csv", [NEEDS_HEADER, *rows])
    return tmp_path / "in"


def column(index: int, value: str) -> list[str]:
    row = list(GOOD)
    row[index] = value
    return row


HOSTILE = {
    "superscript digits": ([column(5, "²")], "row 2, column quantity"),
    "arabic-indic digits": ([column(5, "٣")], "row 2, column quantity"),
    "a huge quantity": ([column(5, "9" * 30)], "row 2, column quantity"),
    "a negative id": ([column(0, "N--3")], "row 2, column id"),
    "a minus id": ([column(0, "-3")], "row 2, column id"),
    "an id over 2^63": ([column(0, "N-99999999999999999999")], "row 2, column id"),
    "an offer's id among needs": ([column(0, "O-4")], "row 2, column id"),
    "a superscript id": ([column(0, "N-¹")], "row 2, column id"),
    "duplicate ids": ([GOOD, column(4, "rice")], "row 3, column id"),
    "a 200,000-character cell": ([column(4, "x" * 200_000)], "row 2, column item"),
    "an unknown cluster": ([column(3, "Astrology")], "row 2, column sector"),
    "a deadline past the calendar's end": (
        [[*GOOD, "9999-12-31T23:00:00-05:00"]],
        "row 2, column deadline",
    ),
    "a deadline in year one": ([[*GOOD, "0001-01-01T00:00:00+05:00"]], "row 2, column deadline"),
    "a deadline in words too far ahead": ([[*GOOD, "in 20 years"]], "row 2, column deadline"),
    "NaN coordinates": (
        [["", "Hurricane Delta", "Houston Food Bank", "wash", "soap", "5", ""]],
        "row 2, column place",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_cell_is_one_line_naming_file_row_and_column_and_nothing_is_written(world, tmp_path, case):
    rows, where = HOSTILE[case]
    folder = needs_file(tmp_path, *rows)
    before = snapshot(world.core)

    with pytest.raises(ImportRejected) as caught:
        import_dir(world.core, folder)

    [problem] = caught.value.problems
    assert problem.startswith(f"needs.csv {where}: "), problem
    assert "\n" not in problem and len(problem) < 300
    assert snapshot(world.core) == before


def test_bytes_that_are_not_utf8_are_named_by_row_and_column(world, tmp_path):
    folder = needs_file(tmp_path, GOOD)
    path = folder / "needs.csv"
    path.write_bytes(path.read_bytes() + b"N-2,Hurricane Delta,Houston Food Bank,wash,so\xffap,5,Houston\n")
    before = snapshot(world.core)

    with pytest.raises(ImportRejected) as caught:
        import_dir(world.core, folder)

    assert caught.value.problems == ["needs.csv row 3, column item: not UTF-8 text; save the file as CSV UTF-8."]
    assert snapshot(world.core) == before


def test_coordinates_out_of_range_or_not_numbers_are_refused(world, tmp_path):
    header = ["crisis", "org", "sector", "item", "quantity", "lat", "lon"]
    for lat, lon, bad in (("nan", "1", "lat"), ("91", "0", "lat"), ("10", "inf", "lon"), ("1e400", "0", "lat")):
        write(tmp_path / "in" / "needs.csv",
              [header, ["Hurricane Delta", "Houston Food Bank", "wash", "soap", "5", lat, lon]])  # fmt: skip
        with pytest.raises(ImportRejected) as caught:
            import_dir(world.core, tmp_path / "in")
        assert caught.value.problems[0].startswith(f"needs.csv row 2, column {bad}: ")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(range(len(GOOD))),
    value=st.text(max_size=40) | st.from_regex(r"[NO]?-?[0-9¹²³]{0,25}", fullmatch=True),
)
def test_any_cell_either_imports_or_is_refused_in_one_line_with_nothing_written(world, tmp_path, field, value):
    folder = needs_file(tmp_path, column(field, value))
    before = snapshot(world.core)
    try:
        summary = import_dir(world.core, folder)
    except ImportRejected as rejected:
        assert len(rejected.problems) == 1 and rejected.problems[0].isprintable()
        assert rejected.problems[0].startswith("needs.csv row 2, column ")
        assert snapshot(world.core) == before
    else:
        assert summary.imported["needs"] + summary.already_here["needs"] == 1
        world.core.store.db.execute("DELETE FROM audit_log WHERE id > ?", [len(before["audit_log"])])
        world.core.store.db.execute("DELETE FROM outbox")
        world.core.store.db.execute("DELETE FROM posts")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    noise=st.binary(max_size=300)
    | st.lists(st.lists(st.text(max_size=12), max_size=9), max_size=6).map(
        lambda rows: "\n".join(",".join(r) for r in rows).encode("utf-8", "surrogatepass")
    )
)
def test_any_file_either_imports_or_is_refused_by_file_and_row(world, tmp_path, noise):
    folder = tmp_path / "noise"
    folder.mkdir(exist_ok=True)
    (folder / "offers.csv").write_bytes(b"id,crisis,org,sector,item,quantity,place\n" + noise)
    before = snapshot(world.core)
    try:
        import_dir(world.core, folder)
    except ImportRejected as rejected:
        assert rejected.problems and all(p.startswith("offers.csv") and p.isprintable() for p in rejected.problems)
        assert snapshot(world.core) == before
    world.core.store.db.execute("DELETE FROM audit_log WHERE id > ?", [len(before["audit_log"])])
    world.core.store.db.execute("DELETE FROM outbox")
    world.core.store.db.execute("DELETE FROM matches")
    world.core.store.db.execute("DELETE FROM posts")


def test_imported_open_posts_are_asked_about_after_their_freshness_window(world, tmp_path):
    write(tmp_path / "in" / "needs.csv", REAL_3W)
    import_dir(world.core, tmp_path / "in")
    imported = world.core.store.posts.get(1)

    assert world.core.store.freshness.next_due_at() is not None
    world.clock.now += timedelta(hours=200)
    asked = freshness.sweep(world.core, world.clock.now)

    assert asked.asked >= 1 and imported is not None
    assert world.core.store.freshness.confirmed_at(imported.id) is not None
