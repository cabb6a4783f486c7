"""CSV with HXL tags: export reads every table, keeps contacts private unless asked; import is all or nothing."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.core import Core
from bot.interop import ImportRejected, export_dir, import_dir, import_into
from bot.models import Actor, PostKind
from bot.services import events, orgs, posts
from bot.services.matches import accept_match
from bot.store import Store
from tests.conftest import FakeClock

ADMIN = Actor(user_id=1, guild_id=500, name="admin", is_admin=True, guild_name="Gulf Coast Relief")
ALICE = Actor(user_id=11, guild_id=500, name="alice")
BOB = Actor(user_id=12, guild_id=500, name="bob")


def seeded(path: Path) -> Core:
    core = Core(store=Store(path), clock=FakeClock())
    orgs.register_org(core, ALICE, name="Houston Food Bank", sectors="food, wash", location="Houston",
                      contact="ops@hfb.example", description="=SUM(A1)")  # fmt: skip
    orgs.register_org(core, BOB, name="Gulf Water", sectors="wash", location="Galveston", contact="+1 409 555 0101")
    orgs.verify_org(core, ADMIN, "Houston Food Bank")
    orgs.verify_org(core, ADMIN, "Gulf Water")
    events.open_event(core, ADMIN, name="Hurricane Delta", location="Houston")
    posts.post_need(core, ALICE, sector="wash", item="bottled water", quantity=500, location="Houston",
                    urgency="critical", needed_by="2026-12-05")  # fmt: skip
    offered = posts.post_offer(core, BOB, sector="wash", item="bottled water", quantity=300, location="Galveston")
    [card] = offered.proposals
    accept_match(core, ALICE, card.match.id)
    return core


def read(path: Path) -> tuple[list[str], list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, tags, body = rows[0], rows[1], rows[2:]
    return header, tags, [dict(zip(header, r, strict=True)) for r in body]


def test_export_writes_every_file_with_an_hxl_row(tmp_path, new_database):
    core = seeded(new_database("live"))

    counts = export_dir(core.store.database, tmp_path / "out", gazetteer=core.gazetteer)

    assert counts == {"events": 1, "orgs": 2, "needs": 1, "offers": 1, "matches": 1, "3w": 3}
    for name in counts:
        header, tags, _ = read(tmp_path / "out" / f"{name}.csv")
        assert len(tags) == len(header) and all(t.startswith("#") for t in tags)
    _, org_tags, orgs_rows = read(tmp_path / "out" / "orgs.csv")
    assert {"#org+name", "#geo+lat", "#geo+lon", "#adm1+name", "#country+code+v_iso3", "#status+code"} <= set(org_tags)
    assert (orgs_rows[0]["name"], orgs_rows[0]["adm1"], orgs_rows[0]["adm1_code"], orgs_rows[0]["country"]) == (
        "Houston Food Bank", "Texas", "TX", "USA",
    )  # fmt: skip
    assert orgs_rows[0]["sectors"] == "Food Security; WASH (water, sanitation, hygiene)"
    _, need_tags, [need] = read(tmp_path / "out" / "needs.csv")
    assert {"#item+name", "#need+num", "#item+unit", "#date+end", "#severity+code", "#crisis+name"} <= set(need_tags)
    assert not any(t.startswith("#value") for t in need_tags), "counts of goods are not money"
    assert (need["id"], need["org"], need["quantity"], need["unit"], need["geonames_id"]) == (
        "N-1", "Houston Food Bank", "500", "bottles", "4699066",
    )  # fmt: skip
    _, _, [match] = read(tmp_path / "out" / "matches.csv")
    assert (match["need"], match["offer"], match["need_org"], match["offer_org"]) == (
        "N-1", "O-2", "Houston Food Bank", "Gulf Water",
    )  # fmt: skip


def test_contacts_leave_only_when_asked(tmp_path, new_database):
    core = seeded(new_database("live"))

    export_dir(core.store.database, tmp_path / "public", gazetteer=core.gazetteer)
    export_dir(core.store.database, tmp_path / "private", include_contacts=True, gazetteer=core.gazetteer)

    public = "".join((tmp_path / "public" / f"{n}.csv").read_text() for n in ("orgs", "needs", "offers", "matches"))
    assert "ops@hfb.example" not in public and "555 0101" not in public and str(ALICE.user_id) not in public
    _, tags, rows = read(tmp_path / "private" / "orgs.csv")
    assert "#contact" in tags
    assert rows[0]["contact"] == "ops@hfb.example" and rows[0]["coordinators"] == str(ALICE.user_id)


def test_exported_text_cannot_run_as_a_formula(tmp_path, new_database):
    core = seeded(new_database("live"))
    export_dir(core.store.database, tmp_path / "out", gazetteer=core.gazetteer)
    _, _, rows = read(tmp_path / "out" / "orgs.csv")
    assert rows[0]["description"] == "'=SUM(A1)"


def test_an_export_imports_into_a_server_that_opened_the_same_event(tmp_path, new_database):
    core = seeded(new_database("live"))
    export_dir(core.store.database, tmp_path / "out", include_contacts=True, gazetteer=core.gazetteer)
    (tmp_path / "out" / "events.csv").unlink()
    target = Core(store=Store(new_database("new")), clock=FakeClock())
    events.open_event(target, Actor(user_id=2, guild_id=600, is_admin=True), name="Hurricane Delta", location="Houston")

    summary = import_dir(target, tmp_path / "out", actor_id=2)

    assert summary.imported == {"events": 0, "orgs": 2, "needs": 1, "offers": 1, "matches": 1}
    imported = {o.name: o for o in target.store.orgs.list(1)}
    assert imported["Houston Food Bank"].contact == "ops@hfb.example" and imported["Gulf Water"].is_verified
    assert imported["Houston Food Bank"].description == "=SUM(A1)"  # the formula guard is undone on the way in
    assert target.store.orgs.member_ids(imported["Houston Food Bank"].id) == [ALICE.user_id]
    need = target.store.posts.get(1)
    assert (need.kind, need.quantity, need.item_key, need.urgency.value) == (PostKind.NEED, 500,
                                                                             core.store.posts.get(1).item_key,
                                                                             "critical")  # fmt: skip
    assert need.deadline == core.store.posts.get(1).deadline
    actions = [e.action for e in target.store.audit.all(1)]
    assert actions.count("org.import") == 2 and "need.import" in actions and actions[-1] == "interop.import"


def write_csv(path: Path, header: list[str], tags: list[str], *rows: list[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerows([header, tags, *rows])


ORG_HEADER = ["name", "sectors", "place", "status", "contact"]
ORG_TAGS = ["#org+name", "#sector+list", "#loc+name", "#status", "#contact"]
NOTHING_NEW = {"events": 0, "orgs": 0, "needs": 0, "offers": 0, "matches": 0}


def snapshot(core: Core) -> dict[str, list[tuple]]:
    db = core.store.db
    return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in ("orgs", "org_members", "posts",  # noqa: S608
                                                                                   "audit_log")}  # fmt: skip


def test_one_bad_row_rejects_the_whole_import_and_names_every_problem(tmp_path, new_database):
    core = seeded(new_database("live"))
    before = snapshot(core)
    folder = tmp_path / "in"
    folder.mkdir()
    write_csv(
        folder / "orgs.csv", ORG_HEADER, ORG_TAGS,
        ["Relief One", "wash", "Houston", "pending", "a@b.example"],
        ["", "wash", "Houston", "pending", ""],
        ["Relief Two", "astrology", "Houston", "pending", ""],
        ["Relief Three", "food", "Atlantis Under The Sea", "pending", ""],
        ["houston food bank", "food", "Houston", "pending", ""],
        ["@everyone come", "food", "Houston", "pending", ""],
        ["Relief Four", "food", "Houston", "trusted", ""],
    )  # fmt: skip
    write_csv(
        folder / "needs.csv",
        ["event", "org", "sector", "item", "quantity", "place", "urgency", "deadline", "notes"],
        ["#event+name", "#org+name", "#sector", "#item+name", "#value+quantity", "#loc+name", "#severity",
         "#date+deadline", "#description"],
        ["Hurricane Delta", "Houston Food Bank", "wash", "soap", "0", "Houston", "high", "", ""],
        ["Hurricane Delta", "Houston Food Bank", "wash", "soap", "5", "Houston", "high", "2020-01-01", ""],
        ["Hurricane Delta", "Relief One", "wash", "soap", "5", "Houston", "high", "", ""],
        ["Old Storm", "Houston Food Bank", "wash", "soap", "5", "Houston", "high", "", ""],
        ["Hurricane Delta", "Houston Food Bank", "wash", "soap", "5", "Houston", "high", "", "call 713-555-0100"],
    )  # fmt: skip

    with pytest.raises(ImportRejected) as caught:
        import_dir(core, folder)

    lines = [p.split(": ", 1)[0] for p in caught.value.problems]
    assert lines == [
        "orgs.csv row 4, column name", "orgs.csv row 5, column sectors", "orgs.csv row 6, column place",
        "orgs.csv row 7, column name", "orgs.csv row 8, column name", "orgs.csv row 9, column status",
        "needs.csv row 3, column quantity", "needs.csv row 4, column deadline", "needs.csv row 5, column org",
        "needs.csv row 6, column crisis", "needs.csv row 7, column notes",
    ]  # fmt: skip
    text = "\n".join(caught.value.problems)
    for words in ("can't be empty", "not a cluster or sector", "No town", "already registered", "mentions",
                  "pending, verified", "quantity", "already past", "not verified", "No open event",
                  "phone number"):  # fmt: skip
        assert words in text
    assert snapshot(core) == before


def test_columns_are_found_by_hxl_tag_when_headers_differ(tmp_path, new_database):
    core = Core(store=Store(new_database("new")), clock=FakeClock())
    core.coalition_of(ADMIN)
    write_csv(tmp_path / "orgs.csv", ["Organisation", "Cluster", "Town"], ["#org+name", "#sector+list", "#loc+name"],
              ["Relief One", "wash;shelter", "Houston"])  # fmt: skip

    assert import_dir(core, tmp_path).imported == NOTHING_NEW | {"orgs": 1}
    [org] = core.store.orgs.list(1)
    assert org.sectors == ("wash", "shelter") and org.contact == "" and core.store.orgs.member_ids(org.id) == []


def test_import_into_a_fresh_database_creates_its_coalition_and_several_must_be_named(tmp_path):
    path = tmp_path / "new.db"
    write_csv(tmp_path / "orgs.csv", ORG_HEADER, ORG_TAGS, ["Relief One", "wash", "Houston", "pending", ""])
    first = import_into(path, tmp_path)
    assert first.created_coalition and first.imported["orgs"] == 1
    core = Core(store=Store(path), clock=FakeClock())
    core.coalition_of(ADMIN)
    core.store.close()
    with pytest.raises(Exception, match="several coalitions"):
        import_into(path, tmp_path)
    assert import_into(path, tmp_path, coalition_id=2).imported["orgs"] == 1


def test_an_empty_folder_is_refused(tmp_path, new_database):
    core = seeded(new_database("live"))
    with pytest.raises(ImportRejected, match=r"no such folder"):
        import_dir(core, tmp_path / "nothing")
