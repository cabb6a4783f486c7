"""Facts about the deployment itself rather than any coalition: one value per key."""

from __future__ import annotations

from bot.store.backend import Backend


class AppState:
    def __init__(self, db: Backend) -> None:
        self.db = db

    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM app_state WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def put(self, key: str, value: str) -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO app_state (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )

    def forget(self, key: str) -> None:
        with self.db.atomic():
            self.db.execute("DELETE FROM app_state WHERE key = ?", [key])
