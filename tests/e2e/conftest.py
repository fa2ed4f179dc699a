"""End-to-end fixtures: the real aiogram or python-telegram-bot stack, over HTTP, against
the project's Bot API emulator on loopback. Every e2e test runs on both transports (and
both databases, through `settings`). The harness itself lives in tests/support/harness.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import Clock
from bot.config import Settings
from bot.handlers.base import Classifier
from emulator import BotAPIEmulator
from tests.support.apps import TOKEN
from tests.support.harness import TRANSPORTS, FloodClock, Harness, running_harness, texts

# `from tests.e2e.conftest import Harness, texts` keeps working for older modules;
# new ones import from tests.support.harness.
__all__ = ["Harness", "texts"]


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def flood_clock() -> FloodClock:
    """Telegram's flood limits in the emulator and the outbox's pacer both run on it."""
    return FloodClock()


@pytest.fixture
async def emulator(flood_clock: FloodClock) -> AsyncIterator[BotAPIEmulator]:
    emu = BotAPIEmulator(token=TOKEN, bot_username="propdesk_bot", clock=flood_clock)
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
def bot_clock() -> Clock | None:
    """The clock the bot runs on: the system's; a module overrides it to travel in time."""
    return None


@pytest.fixture
async def harness(
    emulator: BotAPIEmulator,
    settings: Settings,
    transport: str,
    bot_clock: Clock | None,
    flood_clock: FloodClock,
    real_classify: Classifier,
) -> AsyncIterator[Harness]:
    """The shared App on the emulator, per transport and database, running."""
    async with running_harness(
        emulator, settings, transport, bot_clock, flood_clock, real_classify
    ) as runner:
        yield runner


@pytest.fixture
async def quiet_emulator() -> AsyncIterator[BotAPIEmulator]:
    """Telegram's flood limits off, for the tests about processes (crashes, handovers,
    several workers) rather than pacing; `propdesk run` children use its token."""
    emu = BotAPIEmulator(token=TOKEN, bot_username="propdesk_bot", rate_limits=False)
    await emu.start()
    yield emu
    await emu.stop()
