"""Settings: read once from the defaults file and the environment; a bad value is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import SettingsError
from bot.settings import DEFAULTS_FILE, Settings, load_settings

TOKEN = "MTIzNDU2Nzg5.secret-token-value.abcdef"


def one_line_error(environ: dict[str, str], defaults_file: Path = DEFAULTS_FILE) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=environ, defaults_file=defaults_file)
    message = str(caught.value)
    assert message and "\n" not in message and "Traceback" not in message
    return message


def test_the_shipped_defaults_load_and_validate():
    settings = load_settings(environ={})
    assert settings == Settings()
    assert settings.discord_token is None


def test_environment_overrides_the_defaults_file_with_types_coerced():
    settings = load_settings(
        environ={"COALESCE_RETENTION_DAYS": "7", "COALESCE_DEFAULT_RADIUS_KM": "80.5", "COALESCE_LOG_LEVEL": "debug"}
    )
    assert (settings.retention_days, settings.default_radius_km, settings.log_level) == (7, 80.5, "debug")


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"COALESCE_RETENTION_DAYS": "thirty"}, "retention_days"),
        ({"COALESCE_RETENTION_DAYS": "-1"}, "retention_days"),
        ({"COALESCE_POST_RATE_LIMIT": "0"}, "post_rate_limit"),
        ({"COALESCE_DEFAULT_TIMEZONE": "Mars/Olympus_Mons"}, "Mars/Olympus_Mons"),
        ({"COALESCE_LOG_LEVEL": "LOUD"}, "log_level"),
        ({"COALESCE_DEFAULT_RADIUS_KM": "far"}, "default_radius_km"),
        ({"COALESCE_SHARD_COUNT": "-2"}, "shard_count"),
        ({"COALESCE_SHARD_IDS": "0"}, "shard_ids needs shard_count"),
        ({"COALESCE_SHARD_COUNT": "2", "COALESCE_SHARD_IDS": "2"}, "0 to 1"),
        ({"COALESCE_SHARD_COUNT": "4", "COALESCE_SHARD_IDS": "1,1"}, "distinct"),
        ({"COALESCE_SHARD_COUNT": "4", "COALESCE_SHARD_IDS": "one"}, "shard_ids"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_setting(environ, named):
    assert named in one_line_error(environ)


def test_a_malformed_defaults_file_is_one_line_naming_the_file(tmp_path):
    broken = tmp_path / "coalesce.toml"
    broken.write_text("retention_days = = 3\n", encoding="utf-8")
    assert str(broken) in one_line_error({}, broken)


def test_an_unknown_setting_in_the_file_is_named(tmp_path):
    extra = tmp_path / "coalesce.toml"
    extra.write_text('retention_dayz = 3\nlog_level = "INFO"\n', encoding="utf-8")
    assert "retention_dayz" in one_line_error({}, extra)


def test_the_token_is_never_in_repr_or_str():
    settings = load_settings(environ={"DISCORD_TOKEN": f"  {TOKEN}  "})
    assert settings.discord_token == TOKEN
    assert TOKEN not in repr(settings) and TOKEN not in str(settings)
    assert TOKEN not in repr(settings.with_overrides(retention_days=3))


def test_a_bad_token_type_does_not_echo_the_token():
    with pytest.raises(SettingsError) as caught:
        Settings().with_overrides(discord_token=TOKEN, retention_days="x")
    assert TOKEN not in str(caught.value)


def test_shard_ids_are_read_as_the_shards_this_process_runs():
    sharded = load_settings(environ={"COALESCE_SHARD_COUNT": "4", "COALESCE_SHARD_IDS": " 3, 1"})
    assert (sharded.shard_count, sharded.shard_id_list()) == (4, [1, 3])
    assert load_settings(environ={"COALESCE_SHARD_COUNT": "4"}).shard_id_list() is None
