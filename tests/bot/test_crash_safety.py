"""SIGKILL in the middle of a burst of writes: every acknowledged write survives, nothing is half-made."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from bot.store import Store

ROOT = Path(__file__).resolve().parents[2]
ACKS_BEFORE_KILL = 60


def burst_then_kill(database: Path) -> dict[str, set[int]]:
    """Run the writer, SIGKILL it after ACKS_BEFORE_KILL acknowledgements; return every id it acknowledged."""
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.bot.crash_writer", str(database)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acked: dict[str, set[int]] = {"org": set(), "post": set()}
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready", writer.stderr.read() if writer.stderr else ""
        while sum(len(ids) for ids in acked.values()) < ACKS_BEFORE_KILL:
            line = writer.stdout.readline()
            assert line, f"writer ended early: {writer.stderr.read() if writer.stderr else ''}"
            kind, raw_id = line.split()
            acked[kind].add(int(raw_id))
        writer.send_signal(signal.SIGKILL)
        # Lines already in the pipe were acknowledged before the kill: they must survive too.
        for line in writer.stdout:
            kind, raw_id = line.split()
            acked[kind].add(int(raw_id))
    finally:
        writer.kill()
        writer.wait(timeout=10)
    assert writer.returncode == -signal.SIGKILL
    return acked


def test_a_killed_writer_leaves_every_acknowledged_write_and_nothing_half_made(tmp_path):
    database = tmp_path / "coalesce.db"

    acked = burst_then_kill(database)

    store = Store(database)
    assert store.integrity_problems() == []
    db = store.db
    org_ids = {row["id"] for row in db.query("SELECT id FROM orgs")}
    assert acked["org"] <= org_ids
    # Every org present is whole: its first member, its audit entry and its log notice, never one without the others.
    assert org_ids == {row["org_id"] for row in db.query("SELECT org_id FROM org_members")}
    registered = [row["subject"] for row in db.query("SELECT subject FROM audit_log WHERE action = 'org.register'")]
    assert sorted(registered) == sorted(f"org:{i}" for i in org_ids)
    notices = db.execute("SELECT COUNT(*) FROM outbox WHERE payload LIKE '%awaiting verification%'").fetchone()[0]
    assert notices == len(org_ids)
    if acked["post"]:
        post_ids = {row["id"] for row in db.query("SELECT id FROM posts")}
        assert acked["post"] <= post_ids
        posted = {row["subject"] for row in db.query("SELECT subject FROM audit_log WHERE action = 'need.post'")}
        assert posted == {f"post:{i}" for i in post_ids}
        assert db.execute("SELECT COUNT(*) FROM outbox WHERE payload LIKE '%N-%'").fetchone()[0] == len(post_ids)
    store.close()
