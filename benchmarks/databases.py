"""Where a scenario's database lives: a SQLite file in its temporary directory, or a throwaway PostgreSQL.

``python -m benchmarks --backend postgresql`` runs the scenarios that measure the store (match latency,
end to end) a second time on PostgreSQL. The server is the test suite's throwaway one
(:mod:`tests.pg_server`: Debian's ``postgresql`` package, its own socket directory, removed at exit),
each scenario getting a fresh migrated database of its own. ``COALESCE_BENCH_POSTGRES_URL`` names an
existing empty database instead.
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path

BACKENDS = ("sqlite", "postgresql")
_server = None


def database_for(backend: str, directory: str | Path, name: str = "bench") -> str | Path:
    """The ``database`` a scenario hands to ``Store`` / ``create_bot`` on ``backend``."""
    if backend == "sqlite":
        return Path(directory) / f"{name}.db"
    if backend != "postgresql":
        raise ValueError(f"unknown backend {backend!r}: one of {', '.join(BACKENDS)}")
    given = os.environ.get("COALESCE_BENCH_POSTGRES_URL")
    if given:
        return given
    return _throwaway_server().create_database()


def _throwaway_server():
    global _server
    if _server is None:
        from tests.pg_server import Server

        _server = Server()
        _server.migrate_template()
        atexit.register(_server.stop)
    return _server
