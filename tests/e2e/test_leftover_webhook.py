"""A webhook left from an earlier setup: Telegram refuses getUpdates with 409 while it is set,
so polling mode deletes it at start (with a warning for the operator), keeping the updates
Telegram holds, and residents are answered. On both transports."""

from __future__ import annotations

import logging

import pytest

from bot.config import Settings
from bot.handlers.base import Classifier
from emulator import BotAPIEmulator
from tests.support.crowd import seed_residents
from tests.support.harness import FloodClock, running_harness


async def test_polling_deletes_a_leftover_webhook_and_loses_no_update(
    emulator: BotAPIEmulator,
    settings: Settings,
    transport: str,
    flood_clock: FloodClock,
    real_classify: Classifier,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # (a loopback address nobody listens on: the emulator tries to push to it meanwhile)
    emulator.world.webhook = {"url": "http://127.0.0.1:9/hook", "secret_token": None}
    wang = emulator.user("王", language_code="zh-hans")
    await wang.send_text("/help")  # waits at Telegram while the webhook is set
    caplog.set_level(logging.WARNING)
    async with running_harness(
        emulator, settings, transport, None, flood_clock, real_classify
    ) as harness:
        assert harness.app is not None
        await seed_residents(harness.app.uow_factory, emulator, 1)
        # the update sent before the start is answered (waited for as such: the emulator's
        # failed pushes to the old webhook count as hand-outs, so settle() may look too soon)
        await emulator.wait_for_bot_message(wang, timeout=30.0)
        await harness.settle()
    assert emulator.world.webhook == {}
    assert any("webhook" in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
