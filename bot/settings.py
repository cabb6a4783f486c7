"""Typed settings, read once: defaults from ``config/coalesce.toml``, overrides from the environment.

The Discord token comes only from the environment and is kept out of ``repr`` so
that it can never reach a log line.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import SettingsError

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS_FILE = ROOT / "config" / "coalesce.toml"
ENV_PREFIX = "COALESCE_"


@dataclass(frozen=True, slots=True)
class Settings:
    # A SQLite file, or a postgresql:// URL for several processes on one database ("Running at scale").
    database: Path | str = Path("data/coalesce.db")
    log_level: str = "INFO"
    default_timezone: str = "UTC"
    default_digest_times: str = "08:00,20:00"
    default_radius_km: float = 250.0
    proposals_per_post: int = 3
    post_rate_limit: int = 20
    post_rate_window_s: int = 600
    retention_days: int = 30
    preview_port: int = 8765
    ops_port: int = 9464  # /healthz and /metrics on 127.0.0.1; 0 turns the endpoint off
    shard_count: int = 0  # 0: one gateway connection, no sharding; N: the deployment's N shards in all
    shard_ids: str = ""  # the shards this process runs ("0,1"); empty: all of shard_count
    discord_token: str | None = field(default=None, repr=False)

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with keyword overrides, coerced and checked like the file's values."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
        coerced = {name: _coerce(name, value) for name, value in overrides.items()}
        updated = replace(self, **coerced)
        updated.validate()
        return updated

    def validate(self) -> None:
        if self.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise SettingsError(f"log_level must be DEBUG, INFO, WARNING or ERROR, not {self.log_level!r}")
        try:
            ZoneInfo(self.default_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"default_timezone {self.default_timezone!r} is not an IANA time zone") from None
        for name in ("default_radius_km", "proposals_per_post", "post_rate_limit", "post_rate_window_s"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name} must be positive")
        if not 0 <= self.ops_port <= 65535:
            raise SettingsError("ops_port must be a port number (0 turns the ops endpoint off)")
        if self.retention_days < 0:
            raise SettingsError("retention_days must be zero or more")
        if self.shard_count < 0:
            raise SettingsError("shard_count must be zero (no sharding) or the number of shards")
        self.shard_id_list()

    def shard_id_list(self) -> list[int] | None:
        """The shards this process runs: None when unsharded or when it runs every shard."""
        text = self.shard_ids.strip()
        if not text:
            return None
        if self.shard_count == 0:
            raise SettingsError("shard_ids needs shard_count: the number of shards of the whole deployment")
        try:
            ids = [int(part) for part in text.split(",")]
        except ValueError:
            raise SettingsError(
                f"shard_ids must be shard numbers separated by commas, like 0,1 (got {text!r})"
            ) from None
        if len(set(ids)) != len(ids) or any(not 0 <= i < self.shard_count for i in ids):
            raise SettingsError(f"shard_ids must be distinct numbers from 0 to {self.shard_count - 1}")
        return sorted(ids)


def database_location(value: str | Path) -> Path | str:
    """A ``postgresql://`` URL stays text; anything else is a SQLite file's path."""
    text = str(value).strip()
    if text.startswith(("postgresql://", "postgres://")):
        return text
    if not text:
        raise ValueError("empty")
    return Path(text)


_FIELD_TYPES: dict[str, Any] = {
    "database": database_location,
    "log_level": str,
    "default_timezone": str,
    "default_digest_times": str,
    "default_radius_km": float,
    "proposals_per_post": int,
    "post_rate_limit": int,
    "post_rate_window_s": int,
    "retention_days": int,
    "preview_port": int,
    "ops_port": int,
    "shard_count": int,
    "shard_ids": str,
    "discord_token": str,
}


def _coerce(name: str, value: Any) -> Any:
    kind = _FIELD_TYPES[name]
    if value is None and name == "discord_token":
        return None
    try:
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError
        return kind(value)
    except (TypeError, ValueError):
        wanted = "a file path or a postgresql:// URL" if kind is database_location else kind.__name__
        raise SettingsError(f"setting {name} must be {wanted}, got {value!r}") from None


def load_settings(environ: dict[str, str] | None = None, defaults_file: Path = DEFAULTS_FILE) -> Settings:
    """Settings from the defaults file, then ``.env``, then the process environment."""
    if environ is None:
        _load_dotenv()
        environ = dict(os.environ)
    values: dict[str, Any] = {}
    if defaults_file.exists():
        try:
            values.update(tomllib.loads(defaults_file.read_text(encoding="utf-8")))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{defaults_file} is not valid TOML: {exc}") from None
    for name in _FIELD_TYPES:
        env_value = environ.get(ENV_PREFIX + name.upper())
        if env_value is not None and env_value.strip() != "":
            values[name] = env_value.strip()
    token = environ.get("DISCORD_TOKEN", "").strip()
    values["discord_token"] = token or None
    return Settings().with_overrides(**values)


def _load_dotenv() -> None:
    try:
        from dotenv import load_dotenv
    except ImportError:  # python-dotenv is optional at import time; .env is then ignored
        return
    load_dotenv(ROOT / ".env", override=False)
