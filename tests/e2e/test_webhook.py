"""Webhook mode on both transports: setWebhook at start (url, secret, max_connections,
allowed_updates), updates pushed by the emulator over HTTP as Telegram does are handled;
a post without or with a wrong X-Telegram-Bot-Api-Secret-Token gets 401 and changes
nothing (the emulator, like Telegram, keeps the update and posts it again); /healthz
reports the database, the outbox, the last send and the leader."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.config import Settings
from bot.handlers.base import Classifier
from bot.transports.webhook import SECRET_HEADER
from emulator import BotAPIEmulator
from storage.models import DialogState, ProcessedUpdate
from tests.support.harness import FloodClock, Harness, running_harness

SECRET = "s3cret_Webhook-42"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
async def webhooked(
    emulator: BotAPIEmulator,
    settings: Settings,
    transport: str,
    flood_clock: FloodClock,
    real_classify: Classifier,
    port: int,
) -> AsyncIterator[Harness]:
    configured = settings.model_copy(
        update={
            "webhook_url": f"http://127.0.0.1:{port}/tg/hook",
            "webhook_port": port,
            "webhook_secret": SecretStr(SECRET),
            "webhook_max_connections": 7,
        }
    )
    async with running_harness(
        emulator, configured, transport, None, flood_clock, real_classify
    ) as harness:
        yield harness


async def _counts(h: Harness) -> tuple[int, int]:
    assert h.app is not None
    async with h.app.uow_factory() as uow:
        processed = await uow.session.scalar(select(func.count()).select_from(ProcessedUpdate))
        states = await uow.session.scalar(select(func.count()).select_from(DialogState))
    return int(processed or 0), int(states or 0)


async def test_set_webhook_at_start_and_a_pushed_update_is_answered(
    webhooked: Harness, emulator: BotAPIEmulator, port: int
) -> None:
    (call,) = emulator.calls_to("setWebhook")
    assert call["url"] == f"http://127.0.0.1:{port}/tg/hook"
    assert call["secret_token"] == SECRET
    assert str(call["max_connections"]) == "7"
    assert "callback_query" in str(call["allowed_updates"])
    assert not emulator.calls_to("getUpdates"), "webhook mode never polls"
    wang = emulator.user("王", language_code="zh-hans")
    replies = await webhooked.act(wang.send_text("/help"))
    assert replies, "the update posted to the webhook is answered"
    assert emulator.world.webhook.get("url"), "the webhook stays set"
    assert "last_error_message" not in emulator.world.webhook


@pytest.mark.parametrize("given", [None, "wrong-secret"])
async def test_a_post_without_the_right_secret_is_refused_and_changes_nothing(
    webhooked: Harness, emulator: BotAPIEmulator, port: int, given: str | None
) -> None:
    wang = emulator.user("王", language_code="zh-hans")
    await webhooked.act(wang.send_text("/help"))  # one handled update: the counts move
    before = await _counts(webhooked)
    answered_before = len(emulator.bot_messages(wang))

    # As an impostor would: straight to the bot's port, the update well formed.
    raw = _raw_update(990001, wang.id, "/start")
    headers = {SECRET_HEADER: given} if given else {}
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{port}/tg/hook"
        async with session.post(url, json=raw, headers=headers) as response:
            assert response.status == 401
        # The right secret on the same update: handled (the test can fail).
        async with session.post(url, json=raw, headers={SECRET_HEADER: SECRET}) as response:
            assert response.status == 200
    assert await _counts(webhooked) != before
    after_right = await _counts(webhooked)

    # Telegram itself holding a wrong secret (a proxy rewriting it, a second setup): it posts,
    # gets 401, keeps the update and posts it again; nothing is handled meanwhile.
    emulator.world.webhook["secret_token"] = given
    done = await wang.send_text("/help")
    await emulator._wait_until(
        lambda: "401" in str(emulator.world.webhook.get("last_error_message", "")),
        10.0,
        "no 401 recorded by the emulator",
    )
    assert emulator.world.handed_out[done.update_id] >= 1
    assert await _counts(webhooked) == after_right
    assert len(emulator.bot_messages(wang)) == answered_before + 1  # the /start answer only
    # Set right again: the update Telegram kept is delivered and handled once.
    emulator.world.webhook["secret_token"] = SECRET
    await emulator.wait_confirmed(done.update_id)
    await webhooked.settle(done.update_id)
    assert await _counts(webhooked) != after_right
    assert len(emulator.bot_messages(wang)) > answered_before + 1


async def test_healthz_reports_database_outbox_last_send_and_leader(
    webhooked: Harness, emulator: BotAPIEmulator, port: int
) -> None:
    wang = emulator.user("王", language_code="zh-hans")
    await webhooked.act(wang.send_text("/help"))
    report = await _healthz(port)
    assert report["database"] == {"reachable": True}
    assert report["outbox"]["backlog"] == 0
    assert report["outbox"]["oldest_age_seconds"] is None
    assert report["last_sent_at"] is not None, "the reply to /help went out"
    assert report["leader"]
    assert report["mode"] == "webhook"

    # A waiting row shows in the backlog with its age (the sender stopped: nothing sends it).
    app = webhooked.app
    assert app is not None
    await app._stop_outbox()
    made = app.clock.now() - timedelta(seconds=90)
    async with app.uow_factory() as uow:
        await uow.outbox.add("healthz-test", wang.id, {"text": "x"}, made)
        await uow.commit()
    report = await _healthz(port)
    assert report["outbox"]["backlog"] == 1
    assert report["outbox"]["oldest_age_seconds"] >= 90


async def _healthz(port: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}/healthz"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        return dict(await response.json())


def _raw_update(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    person = {"id": user_id, "is_bot": False, "first_name": "王", "language_code": "zh-hans"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 880001,
            "date": 1_764_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "王"},
            "from": person,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }
