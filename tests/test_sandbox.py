"""Offline mode's console and its database: parsing what people type, time travel, Ctrl-C, one demo per file."""

from __future__ import annotations

import io
import os
import pty
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import run
from sandbox import DatabaseInUse, own_database, parse_duration, parse_options

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("sector", "item", "quantity", "unit", "location", "urgency", "needed_by", "notes")

# Values people type: words, colons, links, times, emoji; never one of the command's option names then a colon.
WORDS = ["dock", "B,", "see", "http://example.org/map", "https://x.org/a:b?c=d", "14:30", "re:", "item", "x:"]
value_text = (
    st.lists(
        st.one_of(st.sampled_from(WORDS), st.text(alphabet="abcxyz:/.?=&#-_,019é🚚", min_size=1, max_size=8)),
        min_size=1,
        max_size=8,
    )
    .map(" ".join)
    .filter(lambda v: not any(f"{n}:" in v for n in NAMES))
)


@given(st.dictionaries(st.sampled_from(NAMES), value_text, min_size=1))
def test_every_value_comes_back_whole_whatever_colons_or_links_it_holds(options):
    typed = " ".join(f"{name}:{value}" for name, value in options.items())

    assert parse_options(typed, NAMES) == options


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (
            "notes:dock B, see http://example.org/map item:water",
            {"notes": "dock B, see http://example.org/map", "item": "water"},
        ),
        (
            "location:Houston notes:call at 14:30 re: pallets",
            {"location": "Houston", "notes": "call at 14:30 re: pallets"},
        ),
        ("notes:https://a.example/x?y=1:2", {"notes": "https://a.example/x?y=1:2"}),
        ("item:rice  quantity:40", {"item": "rice", "quantity": "40"}),
    ],
)
def test_a_value_runs_to_the_commands_next_option_only(typed, expected):
    assert parse_options(typed, NAMES) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("6h", timedelta(hours=6)), ("90m", timedelta(minutes=90)), ("1h30m", timedelta(minutes=90)),
     ("2d", timedelta(days=2)), ("1d 2h", timedelta(hours=26)), ("45s", timedelta(seconds=45))],
)  # fmt: skip
def test_durations_read_as_people_write_them(typed, expected):
    assert parse_duration(typed) == expected


@pytest.mark.parametrize("typed", ["", "6", "h", "6x", "-1h", "0m", "6h and more", "61d", "1.5h"])
def test_a_duration_that_is_not_one_is_refused(typed):
    with pytest.raises(ValueError, match=r"duration|between"):
        parse_duration(typed)


def test_each_run_without_database_gets_its_own_file_removed_at_the_end():
    with own_database(None) as first, own_database(None) as second:
        assert first != second
        first.write_bytes(b"x")
    assert not first.exists() and not first.parent.exists()


def test_a_second_demo_on_a_live_database_refuses_and_leaves_it_alone(tmp_path, capsys):
    path = tmp_path / "sandbox.db"
    with own_database(path):
        live = sqlite3.connect(path)
        live.execute("create table t (x)")
        live.commit()

        code = run.main(["sandbox", "--once", "--database", str(path)])

        assert code == 1
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "another offline mode is running on" in err
        assert live.execute("select name from sqlite_master").fetchall() == [("t",)], "the first demo's data stays"
        live.close()
        with pytest.raises(DatabaseInUse):
            with own_database(path):
                pass
    with own_database(path) as again:  # once the first has ended, the file is free and starts afresh
        assert again == path and not path.exists()


def test_the_console_answers_a_volunteers_refused_post_privately_and_travels_in_time(tmp_path, capsys, monkeypatch):
    typed = [
        "vic /need post sector:wash item:soap quantity:5 location:Houston urgency:high",
        "alice /need post sector:wash item:soap quantity:5 location:Houston urgency:high "
        "notes:dock B, see http://example.org/map",
        "advance 6x",
        "advance 8h",
        "quit",
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(typed) + "\n"))
    database = tmp_path / "console.db"

    assert run.main(["sandbox", "--console", "--database", str(database)]) == 0

    out = capsys.readouterr().out
    assert "Coalesce (only you see this): You are not a member of any organisation" in out
    assert "Traceback" not in out
    assert "'6x' is not a duration" in out
    assert "Simulated time is now Thu 01 Jan 2026 08:" in out
    assert "#relief-ops · [Status digest" in out, "the 08:00 digest went out when time reached it"
    notes = sqlite3.connect(database).execute("select notes from posts where notes != ''").fetchall()
    assert notes == [("dock B, see http://example.org/map",)]


def test_ctrl_c_ends_the_console_at_once_without_waiting_for_enter(tmp_path):
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "run.py", "sandbox", "--console", "--no-seed", "--database", str(tmp_path / "c.db")],
        cwd=ROOT,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    os.close(terminal)
    try:
        seen = read_until(controller, b"Members:", timeout=60)
        assert b"Members:" in seen, seen.decode(errors="replace")

        os.write(controller, b"alice /org li")  # half a line typed, no Enter
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        code = process.wait(timeout=15)

        assert time.monotonic() - started < 10
        assert code == 0
        assert b"Stopped." in read_until(controller, b"Stopped.", timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)


def read_until(fd: int, marker: bytes, *, timeout: float) -> bytes:
    import select

    # poll, not select: in a long test run descriptors may number past select's 1,024.
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen and time.monotonic() < deadline:
        if poller.poll(200):
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    return seen


def test_the_console_replays_a_sample_quake_whose_event_only_an_admin_opens(tmp_path, capsys, monkeypatch):
    typed = ["quake", "vic click quake", "dana click quake", "quake", "quit"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(typed) + "\n"))

    assert run.main(["sandbox", "--console", "--database", str(tmp_path / "quake.db")]) == 0

    out = capsys.readouterr().out
    assert "A sample quake arrived from the USGS feed" in out
    assert "[🌐 M 6.1 - 38 km SSE of Freeport, Texas] [What: earthquake · M 6.1]" in out
    assert "Coalesce (only you see this): Only server admins (Manage Server permission) can open an event." in out
    assert "Opened **M 6.1 earthquake near Freeport, Texas**" in out
    assert "The sample quake was alerted already." in out
    assert "Traceback" not in out
