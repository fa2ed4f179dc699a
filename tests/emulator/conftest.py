"""Fixtures: a running emulator and real aiogram / python-telegram-bot clients on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import telegram
from aiogram import Bot as AiogramBot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from telegram.request import HTTPXRequest

from emulator import BotAPIEmulator, ManualClock
from tests.support.clients import TOKEN


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def emu(clock: ManualClock) -> AsyncIterator[BotAPIEmulator]:
    emulator = BotAPIEmulator(token=TOKEN, bot_username="propdesk_bot", clock=clock)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def abot(emu: BotAPIEmulator) -> AsyncIterator[AiogramBot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url))
    bot = AiogramBot(TOKEN, session=session)
    yield bot
    await bot.session.close()


@pytest.fixture
async def pbot(emu: BotAPIEmulator) -> AsyncIterator[telegram.Bot]:
    request = HTTPXRequest(connection_pool_size=4, read_timeout=10)
    bot = telegram.Bot(
        TOKEN,
        base_url=emu.api_url,
        base_file_url=emu.file_url,
        request=request,
        get_updates_request=HTTPXRequest(read_timeout=15),
    )
    await bot.initialize()
    yield bot
    await bot.shutdown()
