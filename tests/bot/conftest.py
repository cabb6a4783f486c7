"""The store and service tests run on every backend ``--backend`` names (see tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def database(new_database) -> Path | str:
    """A fresh database on the test's backend: a SQLite file, or a PostgreSQL database of its own."""
    return new_database("coalesce")
