"""A throwaway PostgreSQL server for a test run: its own data directory and socket, removed when the run ends.

Debian's ``postgresql`` package provides ``initdb`` and ``pg_ctl``; PostgreSQL refuses to
run as root, so as root the server runs as the ``postgres`` user. It listens only on a
Unix socket in its own directory, with durability off (a test's data need not survive a
crash). Every test gets a database of its own, copied from a template that has already
been migrated, and dropped after the test.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

TEMPLATE = "coalesce_template"


def bin_dir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are: ``pg_config --bindir``, else Debian's versioned directory."""
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(candidates[-1]).parent if candidates else None


class Server:
    def __init__(self) -> None:
        bindir = bin_dir()
        if bindir is None:
            raise RuntimeError(
                "PostgreSQL is not installed (no initdb): `apt-get install postgresql`, or run the tests with "
                "--backend sqlite"
            )
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="coalesce-pg-"))
        self.data = self.root / "data"
        self.socket = self.root / "socket"
        self.socket.mkdir()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.socket, "postgres")
        self._names = itertools.count(1)
        self._run("initdb", "-D", str(self.data), "--auth=trust", "--username=postgres", "--encoding=UTF8",
                  "--locale=C", "--no-sync")  # fmt: skip
        options = f"-k {self.socket} -c listen_addresses='' -c fsync=off -c synchronous_commit=off"
        options += " -c full_page_writes=off -c max_connections=200 -c wal_level=minimal -c max_wal_senders=0"
        options += " -c max_wal_size=64MB -c min_wal_size=32MB"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")
        self.admin = psycopg.connect(self.url("postgres"), autocommit=True)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True)

    def url(self, name: str) -> str:
        return f"postgresql://postgres@/{name}?host={self.socket}"

    def migrate_template(self) -> None:
        """The template every test's database is copied from, with every migration applied."""
        from bot.store import Store

        self.admin.execute(f'CREATE DATABASE "{TEMPLATE}"')
        Store(self.url(TEMPLATE)).close()

    def create_database(self) -> str:
        name = f"test_{next(self._names)}"
        self.admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}" STRATEGY FILE_COPY')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1].split("?", 1)[0]
        self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        self.admin.close()
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
