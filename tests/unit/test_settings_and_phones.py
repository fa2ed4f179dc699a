"""Settings from environment and TOML, with one clear line on errors; phone parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import SettingsError, load_settings
from bot.services.phones import mask_phone, normalise_phone

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "propdesk.toml"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("PROPDESK_"):
            monkeypatch.delenv(name)


def test_defaults_need_nothing() -> None:
    settings = load_settings()
    assert settings.timezone == "Asia/Shanghai" and settings.locale == "zh-CN"
    assert settings.database_url.startswith("sqlite+aiosqlite:///./data/")
    assert settings.routing["parking"] == "security"


def test_toml_file_and_environment_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROPDESK_CONFIG", str(EXAMPLE))
    monkeypatch.setenv("PROPDESK_ADMIN_IDS", "11, 22")
    settings = load_settings()
    assert [p.code for p in settings.properties] == ["sunshine", "riverside"]
    assert settings.properties[0].buildings[0].units == ["1单元", "2单元"]
    assert settings.admin_ids == [11, 22]  # the environment wins over the file
    assert settings.sla["repair.normal"].response_minutes == 60


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("PROPDESK_TIMEZONE", "Mars/Olympus", "PROPDESK_TIMEZONE"),
        ("PROPDESK_ADMIN_IDS", "12,abc", "PROPDESK_ADMIN_IDS"),
        ("PROPDESK_LOCALE", "fr", "PROPDESK_LOCALE"),
        ("PROPDESK_TELEGRAM_API_BASE", "ftp://x", "PROPDESK_TELEGRAM_API_BASE"),
        ("PROPDESK_CONFIG", "/no/such/file.toml", "PROPDESK_CONFIG"),
    ],
)
def test_invalid_setting_stops_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
    named: str,
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert named in str(error.value)
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('timezon = "Asia/Shanghai"\n', "unknown setting timezon (did you mean timezone?)"),
        ('[digest]\nsend_att = "08:00"\n', "unknown setting digest.send_att"),
        (
            '[sla."repair.normal"]\nresponse_minutes = 30\nresolutoin_minutes = 60\n',
            "sla.repair.normal.resolutoin_minutes",
        ),
        (
            '[[properties]]\ncode = "a"\nnam = "A"\n',
            "unknown setting properties.nam (did you mean properties.name?)",
        ),
    ],
)
def test_a_misspelt_key_in_the_file_stops_start_up(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    text: str,
    named: str,
) -> None:
    config = tmp_path / "propdesk.toml"
    config.write_text(text, encoding="utf-8")
    monkeypatch.setenv("PROPDESK_CONFIG", str(config))
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert named in str(error.value)
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert named in err and len(err.strip().splitlines()) == 1


def test_run_without_token_names_the_setting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"]) == 2
    assert "PROPDESK_TELEGRAM_TOKEN" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("13812345678", "+8613812345678"),
        ("138 1234 5678", "+8613812345678"),
        ("+86 138-1234-5678", "+8613812345678"),
        ("010-65529988", "+861065529988"),
        ("0571 88886666", "+8657188886666"),
        ("+852 9123 4567", "+85291234567"),
        ("0044 20 7946 0958", "+442079460958"),
        ("12345", None),
        ("1381234567", None),
        ("hello", None),
        ("", None),
    ],
)
def test_phone_numbers(typed: str, expected: str | None) -> None:
    assert normalise_phone(typed) == expected


def test_masking_keeps_first_three_and_last_four() -> None:
    assert mask_phone("+8613812345678") == "138****5678"
    assert "65529988" not in mask_phone("+861065529988")


@pytest.mark.parametrize("number", ["+6581234567", "+85291234567", "+442079460958", "+35312345"])
def test_masking_hides_at_least_four_digits_of_any_number(number: str) -> None:
    masked = mask_phone(number)
    assert masked.count("*") >= 4 and masked.endswith(number[-4:])


def test_run_help_lists_the_settings(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["run", "--help"])
    assert done.value.code == 0
    shown = capsys.readouterr().out
    assert "PROPDESK_DATABASE_URL (default: sqlite+aiosqlite:///./data/propdesk.db)" in shown
    assert "PROPDESK_TELEGRAM_TOKEN" in shown and "PROPDESK_DB_POOL_SIZE (default: 10)" in shown
