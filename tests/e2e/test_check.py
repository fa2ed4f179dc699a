"""`propdesk check`: the start-up checks against the emulator without starting the bot,
then the groups bound per property and team, the admins and the SLA table."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.cli.check import run_check
from bot.config import Settings, SettingsError, SlaTimes
from emulator import BotAPIEmulator
from tests.support.apps import ADMIN
from tests.support.botprocess import bot_environment
from tests.support.harness import FloodClock, StaffedProperty, running_harness

ROOT = Path(__file__).resolve().parents[2]


async def test_check_reports_groups_admins_and_sla_without_starting_the_bot(
    emulator: BotAPIEmulator,
    settings: Settings,
    transport: str,
    flood_clock: FloodClock,
) -> None:
    configured = settings.model_copy(
        update={
            "sla": {"high": SlaTimes(response_minutes=20, resolution_minutes=300)},
            "locale": "en",
        }
    )
    async with running_harness(emulator, configured, transport, None, flood_clock) as harness:
        desk = StaffedProperty(harness, emulator)
        await desk.bind(desk.eng, "engineering")
    calls_before = len(emulator.calls)
    checked = configured.model_copy(
        update={"telegram_api_base": emulator.base_url, "transport": transport}
    )

    lines = await run_check(checked)

    report = "\n".join(lines)
    assert "@propdesk_bot" in report
    assert f"sunshine / engineering team: chat {desk.eng.id}" in report
    assert "sunshine / environment team: not bound" in report
    assert str(ADMIN) in report
    assert "High: 20 / 300" in report  # the override
    assert "Emergency: 5 / 120" in report  # a default
    methods = {method for method, _ in emulator.calls[calls_before:]}
    assert methods == {"getMe"}, "check only asks who the bot is: no polling, no webhook"


async def test_check_stops_at_a_refused_token(
    emulator: BotAPIEmulator, settings: Settings, transport: str
) -> None:
    checked = settings.model_copy(
        update={
            "telegram_api_base": emulator.base_url,
            "transport": transport,
            "telegram_token": SecretStr("999999:WRONG-token"),
        }
    )
    with pytest.raises(SettingsError) as error:
        await run_check(checked)
    assert "PROPDESK_TELEGRAM_TOKEN" in str(error.value)
    assert "WRONG-token" not in str(error.value)


async def test_propdesk_check_command_exits_0_and_prints_the_report(
    emulator: BotAPIEmulator, settings: Settings, transport: str
) -> None:
    env = bot_environment(settings.database_url, emulator.base_url, transport, PROPDESK_LOCALE="en")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "check",
        env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    report = out.decode()
    assert "token accepted, the bot is @propdesk_bot" in report
    assert "SLA (minutes to respond / to resolve):" in report
    assert "TEST" not in report + err.decode()  # the token's secret part
