"""Start-up against Telegram: a token Telegram refuses, or a Bot API address nobody answers
at, stops `propdesk run` with one line naming the setting (exit status 2 by the CLI), on both
transports, and the token itself is never printed."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config import Settings, SettingsError
from emulator import BotAPIEmulator
from tests.support.apps import build_app

WRONG_TOKEN = "999999:WRONG-token-never-printed"
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"telegram_token": WRONG_TOKEN}, "PROPDESK_TELEGRAM_TOKEN"),
        ({"telegram_api_base": "http://127.0.0.1:9"}, "PROPDESK_TELEGRAM_API_BASE"),
    ],
)
async def test_a_refused_token_or_an_unreachable_api_is_one_line(
    emulator: BotAPIEmulator,
    settings: Settings,
    transport: str,
    change: dict[str, str],
    named: str,
) -> None:
    configured = settings.model_copy(
        update={"telegram_api_base": emulator.base_url, "transport": transport}
    )
    configured = configured.model_copy(update=_settings_values(change))
    app = await build_app(configured, None)
    try:
        with pytest.raises(SettingsError) as error:
            await app.start_transport()
    finally:
        await app.close()
    message = str(error.value)
    assert named in message and "\n" not in message
    assert "WRONG-token" not in message


def _settings_values(change: dict[str, str]) -> dict[str, object]:
    return {k: SecretStr(v) if k == "telegram_token" else v for k, v in change.items()}


# -- the command line, as an operator meets it: one line, exit status 2, no token ----------

GOOD_TOKEN = "123456:TEST"  # the emulator's; never printed either
PG = "postgresql+asyncpg://postgres@127.0.0.1"


@dataclass(frozen=True)
class Case:
    """Environment changes for `propdesk <command>` and the setting its one line names."""

    env: dict[str, str]
    named: str
    command: str = "run"
    toml: str | None = None  # written to a file PROPDESK_CONFIG names


CASES: dict[str, Case] = {
    "no token": Case({"PROPDESK_TELEGRAM_TOKEN": ""}, "PROPDESK_TELEGRAM_TOKEN"),
    "malformed token": Case(
        {"PROPDESK_TELEGRAM_TOKEN": "TEST no colon"}, "PROPDESK_TELEGRAM_TOKEN"
    ),
    "unknown timezone": Case({"PROPDESK_TIMEZONE": "Mars/Olympus"}, "PROPDESK_TIMEZONE"),
    "unknown transport": Case({"PROPDESK_TRANSPORT": "telethon"}, "PROPDESK_TRANSPORT"),
    "API base not http": Case(
        {"PROPDESK_TELEGRAM_API_BASE": "ftp://x"}, "PROPDESK_TELEGRAM_API_BASE"
    ),
    "unknown locale": Case({"PROPDESK_LOCALE": "fr"}, "PROPDESK_LOCALE"),
    "admin id not a number": Case({"PROPDESK_ADMIN_IDS": "12,abc"}, "PROPDESK_ADMIN_IDS"),
    "negative shutdown": Case({"PROPDESK_SHUTDOWN_SECONDS": "-1"}, "PROPDESK_SHUTDOWN_SECONDS"),
    "webhook without secret": Case(
        {"PROPDESK_WEBHOOK_URL": "https://desk.example.com/tg"}, "PROPDESK_WEBHOOK_SECRET"
    ),
    "webhook secret with spaces": Case(
        {"PROPDESK_WEBHOOK_URL": "https://d.example/tg", "PROPDESK_WEBHOOK_SECRET": "a b"},
        "PROPDESK_WEBHOOK_SECRET",
    ),
    "webhook port out of range": Case({"PROPDESK_WEBHOOK_PORT": "70000"}, "PROPDESK_WEBHOOK_PORT"),
    "misspelt TOML key": Case({}, "did you mean timezone", toml='timezon = "Asia/Shanghai"\n'),
    "settings file missing": Case({"PROPDESK_CONFIG": "/nonexistent/p.toml"}, "PROPDESK_CONFIG"),
    "refused token": Case({"PROPDESK_TELEGRAM_TOKEN": WRONG_TOKEN}, "PROPDESK_TELEGRAM_TOKEN"),
    "refused token, ptb": Case(
        {"PROPDESK_TELEGRAM_TOKEN": WRONG_TOKEN, "PROPDESK_TRANSPORT": "ptb"},
        "PROPDESK_TELEGRAM_TOKEN",
    ),
    "unreachable API": Case(
        {"PROPDESK_TELEGRAM_API_BASE": "http://127.0.0.1:9"}, "PROPDESK_TELEGRAM_API_BASE"
    ),
    "unreachable API, ptb": Case(
        {"PROPDESK_TELEGRAM_API_BASE": "http://127.0.0.1:9", "PROPDESK_TRANSPORT": "ptb"},
        "PROPDESK_TELEGRAM_API_BASE",
    ),
    "webhook Telegram refuses (not HTTPS)": Case(
        {"PROPDESK_WEBHOOK_URL": "http://desk.example.com/tg", "PROPDESK_WEBHOOK_SECRET": "s"},
        "PROPDESK_WEBHOOK_URL",
    ),
    "webhook port taken": Case(
        {
            "PROPDESK_WEBHOOK_URL": "https://desk.example.com/tg",
            "PROPDESK_WEBHOOK_SECRET": "s",
            "PROPDESK_WEBHOOK_PORT": "{busy}",
        },
        "PROPDESK_WEBHOOK_PORT",
    ),
    "database URL no driver reads": Case(
        {"PROPDESK_DATABASE_URL": "nosuchdriver://x"}, "PROPDESK_DATABASE_URL"
    ),
    "database server down": Case(
        {"PROPDESK_DATABASE_URL": f"{PG}:9/test"}, "PROPDESK_DATABASE_URL"
    ),
    "database missing": Case(
        {"PROPDESK_DATABASE_URL": f"{PG}:5432/propdesk_no_such_db"}, "PROPDESK_DATABASE_URL"
    ),
    "SQLite file that is a folder": Case(
        {"PROPDESK_DATABASE_URL": "sqlite+aiosqlite:///{tmp}"}, "PROPDESK_DATABASE_URL"
    ),
    "check: refused token": Case(
        {"PROPDESK_TELEGRAM_TOKEN": WRONG_TOKEN}, "PROPDESK_TELEGRAM_TOKEN", command="check"
    ),
    "check: database server down": Case(
        {"PROPDESK_DATABASE_URL": f"{PG}:9/test"}, "PROPDESK_DATABASE_URL", command="check"
    ),
    "check: bad setting": Case({"PROPDESK_TIMEZONE": "X/Y"}, "PROPDESK_TIMEZONE", "check"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
async def test_each_bad_start_is_one_line_exit_2_and_no_token(
    emulator: BotAPIEmulator, tmp_path: Path, case: Case
) -> None:
    env = _clean_env()
    env.update(
        PROPDESK_TELEGRAM_TOKEN=GOOD_TOKEN,
        PROPDESK_TELEGRAM_API_BASE=emulator.base_url,
        PROPDESK_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}",
        PROPDESK_DB_CONNECT_SECONDS="0",  # the retry has its own test
    )
    if case.toml is not None:
        (tmp_path / "p.toml").write_text(case.toml)
        env["PROPDESK_CONFIG"] = str(tmp_path / "p.toml")
    with socket.socket() as busy:  # a port another program listens on
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        env.update(
            {
                k: v.replace("{tmp}", str(tmp_path)).replace("{busy}", port)
                for k, v in case.env.items()
            }
        )
        status, out, err = await _propdesk(case.command, env)
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("propdesk: ") and case.named in lines[0], lines[0]
    assert out == ""
    for token in (GOOD_TOKEN, WRONG_TOKEN, "WRONG-token", "TEST"):
        assert token not in out + err


@pytest.mark.parametrize("transport", ["aiogram", "ptb"])
async def test_a_refused_token_is_in_no_log_line_even_verbose(
    emulator: BotAPIEmulator, tmp_path: Path, transport: str
) -> None:
    """With INFO logging (-v) every request library logs what it does: the token in a
    request's URL must still appear nowhere."""
    env = _clean_env()
    env.update(
        PROPDESK_TELEGRAM_TOKEN=WRONG_TOKEN,
        PROPDESK_TELEGRAM_API_BASE=emulator.base_url,
        PROPDESK_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}",
        PROPDESK_TRANSPORT=transport,
    )
    status, out, err = await _propdesk("run", env, "-v")
    assert status == 2
    assert "PROPDESK_TELEGRAM_TOKEN" in err.splitlines()[-1]
    assert "Traceback" not in err
    assert "WRONG-token" not in out + err and "999999" not in out + err


async def test_a_database_not_up_yet_is_tried_again_with_backoff(tmp_path: Path) -> None:
    """PROPDESK_DB_CONNECT_SECONDS: start-up waits for a database server still starting
    (a warning per try, 0.5 s doubling), then gives up with the one line."""
    env = _clean_env()
    env.update(
        PROPDESK_TELEGRAM_TOKEN=GOOD_TOKEN,
        PROPDESK_DATABASE_URL=f"{PG}:9/test",
        PROPDESK_DB_CONNECT_SECONDS="2",
    )
    started = time.monotonic()
    status, _, err = await _propdesk("run", env)
    took = time.monotonic() - started
    lines = err.splitlines()
    assert status == 2
    assert "PROPDESK_DATABASE_URL" in lines[-1]
    tries = [line for line in lines if "trying again" in line]
    assert len(tries) >= 2, err  # 0.5 s, then 1 s, then the rest of the 2 s
    assert took >= 2.0


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PROPDESK_")}


async def _propdesk(command: str, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        command,
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
