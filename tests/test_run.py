"""The command line: what an operator sees from run.py."""

from __future__ import annotations

import pytest

import run


@pytest.fixture(autouse=True)
def no_token(monkeypatch):
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.setattr("bot.settings._load_dotenv", lambda: None)


def test_check_on_a_new_database_path_says_it_will_be_created(tmp_path, capsys):
    assert run.main(["check", "--database", str(tmp_path / "new.db")]) == 0
    out = capsys.readouterr().out
    assert "does not exist yet" in out
    assert "offline mode only" in out


def test_check_reports_a_sound_database(tmp_path, capsys):
    from bot.store import Store

    Store(tmp_path / "c.db").close()

    assert run.main(["check", "--database", str(tmp_path / "c.db")]) == 0
    assert "0 problem(s)" in capsys.readouterr().out


def test_malformed_setting_is_one_clear_line_not_a_traceback(monkeypatch, capsys):
    monkeypatch.setenv("COALESCE_PROPOSALS_PER_POST", "lots")

    assert run.main(["check"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "proposals_per_post" in err and "Traceback" not in err


def test_serve_without_token_points_to_offline_mode(capsys):
    assert run.main(["serve"]) == 2
    assert "run.py sandbox" in capsys.readouterr().err


def test_token_is_never_printed(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DISCORD_TOKEN", "secret-token-value")

    run.main(["check", "--database", str(tmp_path / "x.db")])

    captured = capsys.readouterr()
    assert "secret-token-value" not in captured.out + captured.err


def test_offline_mode_builds_the_demo_server_with_the_real_commands(tmp_path, capsys):
    assert run.main(["sandbox", "--once", "--database", str(tmp_path / "sandbox.db")]) == 0

    out = capsys.readouterr().out
    assert "offline mode" in out
    assert "Hurricane Delta" in out
    assert "Houston Food Bank** is verified" in out
    assert "[DM to alice]" in out
    assert "+1 713" not in out, "contacts never reach a channel"


def seeded_database(tmp_path):
    from tests.e2e.matching_helpers import core_world

    world = core_world(tmp_path / "live.db")
    world.add_org("Houston Food Bank", 11)
    world.core.store.close()
    return tmp_path / "live.db"


def test_backup_writes_a_copy_that_opens_with_the_same_rows(tmp_path, capsys):
    live = seeded_database(tmp_path)

    assert run.main(["backup", str(tmp_path / "copy.db"), "--database", str(live)]) == 0

    assert "orgs 1" in capsys.readouterr().out
    assert run.main(["check", "--database", str(tmp_path / "copy.db")]) == 0


def test_export_writes_hxl_tagged_csv_without_contacts_unless_asked(tmp_path, capsys):
    live = seeded_database(tmp_path)

    assert run.main(["export", str(tmp_path / "out"), "--database", str(live)]) == 0

    orgs_csv = (tmp_path / "out" / "orgs.csv").read_text(encoding="utf-8")
    _header, tags, row = orgs_csv.splitlines()[:3]
    assert "#org" in tags
    assert "Houston Food Bank" in row
    assert "+1 555" not in orgs_csv


def test_import_of_a_malformed_file_changes_nothing_and_says_why(tmp_path, capsys):
    live = seeded_database(tmp_path)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "needs.csv").write_text("item,quantity\n#item,#value\nwater,-5\n", encoding="utf-8")

    assert run.main(["import", str(tmp_path / "in"), "--database", str(live)]) == 1

    assert capsys.readouterr().err.startswith("Not imported: needs.csv row 3, column ")


def files_under(path):
    # SQLite's own -wal/-shm files beside the source database come and go with its readers.
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if not p.name.endswith(("-wal", "-shm")))


def one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err and err, captured
    return err


CLI_MISTAKES = {
    "backup on a fresh clone": lambda t: ["backup", str(t / "new" / "copy.db"), "--database", str(t / "none.db")],
    "backup onto a folder": lambda t: ["backup", str(t / "live"), "--database", str(t / "live" / "live.db")],
    "backup onto its own database": lambda t: ["backup", str(t / "live" / "live.db"), "--database",
                                               str(t / "live" / "live.db")],
    "export on a fresh clone": lambda t: ["export", str(t / "new" / "out"), "--database", str(t / "none.db")],
    "export onto a file": lambda t: ["export", str(t / "live" / "live.db"), "--database", str(t / "live" / "live.db")],
    "export of a missing coalition": lambda t: ["export", str(t / "new" / "out"), "--coalition", "9", "--database",
                                                str(t / "live" / "live.db")],
    "export of a file that is no database": lambda t: ["export", str(t / "new"), "--database", str(t / "notes.txt")],
    "import from a missing folder": lambda t: ["import", str(t / "nowhere"), "--database", str(t / "new" / "x.db")],
    "import of a bad file into a fresh clone": lambda t: ["import", str(t / "in"), "--database",
                                                          str(t / "new" / "fresh.db")],
    "import from a file, not a folder": lambda t: ["import", str(t / "notes.txt"), "--database", str(t / "x.db")],
    "import onto a folder": lambda t: ["import", str(t / "in"), "--database", str(t / "live")],
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CLI_MISTAKES))
def test_every_cli_mistake_is_one_line_a_non_zero_exit_and_leaves_nothing_behind(tmp_path, capsys, case):
    live = tmp_path / "live"
    live.mkdir()
    seeded_database(live)
    (tmp_path / "notes.txt").write_text("not a database", encoding="utf-8")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "needs.csv").write_text("item,quantity\n#item,#need+num\nwater,²\n", encoding="utf-8")
    capsys.readouterr()
    before = files_under(tmp_path)

    assert run.main(CLI_MISTAKES[case](tmp_path)) != 0

    one_line_error(capsys)
    assert files_under(tmp_path) == before
    assert not list(tmp_path.rglob("*.partial"))


def test_export_then_import_into_a_fresh_clone_by_the_command_line(tmp_path, capsys):
    live = seeded_database(tmp_path)
    assert run.main(["export", str(tmp_path / "out"), "--include-contacts", "--database", str(live)]) == 0
    assert "3w.csv" in capsys.readouterr().out

    assert run.main(["import", str(tmp_path / "out"), "--database", str(tmp_path / "clone" / "fresh.db")]) == 0
    out = capsys.readouterr().out
    assert "1 orgs" in out and "created" in out and "proposal(s)" in out
    assert run.main(["import", str(tmp_path / "out"), "--database", str(tmp_path / "clone" / "fresh.db")]) == 0
    assert "nothing new" in capsys.readouterr().out


def test_no_subcommand_means_offline_mode_without_a_token_and_serve_with_one():
    parser = run.build_parser()

    offline = run.with_default_command(parser, parser.parse_args([]), token_set=False)
    online = run.with_default_command(parser, parser.parse_args([]), token_set=True)

    assert offline.command == "sandbox"
    assert offline.database is None and offline.port is None and not offline.once
    assert online.command == "serve"


def test_offline_console_lets_a_person_register_an_org_and_accept_a_match(tmp_path, capsys, monkeypatch):
    import io

    typed = "\n".join(
        [
            "vic /org register name:Vic's Volunteers sectors:logistics location:Houston contact:vic@example.org",
            "dana /org verify org:Vic's Volunteers",
            "alice click M-1 accept",
            "bob click M-1 accept",
            "nobody /org list",
            "quit",
        ]
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(typed + "\n"))

    assert run.main(["sandbox", "--console", "--database", str(tmp_path / "console.db")]) == 0

    out = capsys.readouterr().out
    assert "Registered **Vic's Volunteers**" in out and "pending" in out
    assert "**Vic's Volunteers** is verified" in out
    assert "M-1 is committed" in out
    assert "[DM to alice] 🤝 **M-1 is committed**" in out
    assert "Who is 'nobody'?" in out
    channel_lines = [line for line in out.splitlines() if line.startswith("  #relief-ops")]
    assert channel_lines and not any("vic@example.org" in line or "555 01" in line for line in channel_lines)


@pytest.mark.postgresql_only
def test_migrate_check_backup_and_export_work_on_postgresql(new_database, tmp_path, capsys):
    from tests.e2e.matching_helpers import core_world

    url = new_database("live")
    assert run.main(["migrate", "--database", url]) == 0
    assert "none pending" in capsys.readouterr().out
    world = core_world(url)
    world.add_org("Houston Food Bank", 11)
    world.core.store.close()

    assert run.main(["check", "--database", url]) == 0
    assert "0 problem(s)" in capsys.readouterr().out
    assert run.main(["backup", str(tmp_path / "live.dump"), "--database", url]) == 0
    assert "orgs 1" in capsys.readouterr().out
    assert (tmp_path / "live.dump").read_bytes().startswith(b"PGDMP")  # pg_dump's custom format
    assert run.main(["export", str(tmp_path / "out"), "--database", url]) == 0
    assert "Houston Food Bank" in (tmp_path / "out" / "orgs.csv").read_text(encoding="utf-8")
