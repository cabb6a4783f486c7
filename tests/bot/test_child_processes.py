"""A bot killed mid-round leaves no process behind: the chart worker and resource_tracker end with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def children_of(pid: int) -> set[int]:
    """Direct children of ``pid``, read from /proc."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text()
        found.update(int(child) for child in text.split())
    return found


def alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for a parent to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return "(gone)"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads the process tree from Linux's /proc")
@pytest.mark.parametrize("rounds_before_kill", [1, 3])
def test_a_bot_killed_mid_round_leaves_no_child_process_running(tmp_path, rounds_before_kill):
    children: set[int] = set()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.bot.digest_rounds", str(tmp_path / "rounds.db")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(rounds_before_kill):
            line = process.stdout.readline()
            assert line.startswith("round"), line
        children = children_of(process.pid)
        names = {pid: command_line(pid) for pid in children}
        assert any("resource_tracker" in name for name in names.values()), names
        assert any("multiprocessing" in name and "resource_tracker" not in name for name in names.values()), names

        process.send_signal(signal.SIGKILL)  # mid-round: the next round is already under way
        process.wait(timeout=10)

        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = {pid: names[pid] for pid in children if alive(pid)}
        assert not survivors, f"outlived the bot: {survivors}"
    finally:
        if process.poll() is None:
            process.kill()
        for pid in children:  # leave no orphan of our own behind, whatever the outcome
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
