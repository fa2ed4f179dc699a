"""Injected weather over real HTTP: 5xx bodies, dropped connections, slow answers, outages
and random faults, with the counters that tell processed calls from answered ones."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import pytest
import telegram
from aiogram import Bot
from aiogram.exceptions import ClientDecodeError, TelegramNetworkError, TelegramServerError
from telegram.error import NetworkError

from emulator import NGINX_502_HTML, BotAPIEmulator, FaultKind, ManualClock, SimUser
from tests.support.clients import TOKEN

NGINX_TEXT = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    "</h1></center><hr><center>nginx</center></body></html>"
)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def alice(emu: BotAPIEmulator) -> SimUser:
    user = emu.user("Alice")
    await user.start()
    return user


def url(emu: BotAPIEmulator, method: str) -> str:
    return f"{emu.base_url}/bot{TOKEN}/{method}"


async def call(
    http: aiohttp.ClientSession, emu: BotAPIEmulator, method: str, **params: Any
) -> tuple[int, str, str]:
    """POST ``method``; the status, content type and body text."""
    async with http.post(url(emu, method), json=params) as response:
        return response.status, response.content_type, await response.text()


async def send(
    http: aiohttp.ClientSession, emu: BotAPIEmulator, chat: SimUser, text: str
) -> tuple[int, str, str]:
    return await call(http, emu, "sendMessage", chat_id=chat.id, text=text)


# -- 5xx bodies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "description"),
    [("json_500", 500, "Internal Server Error"), ("json_502", 502, "Bad Gateway")],
)
async def test_json_5xx(
    emu: BotAPIEmulator,
    http: aiohttp.ClientSession,
    alice: SimUser,
    kind: str,
    status: int,
    description: str,
) -> None:
    emu.inject(kind, "sendMessage", times=2)
    for _ in range(2):
        answer = await send(http, emu, alice, "lost")
        assert answer[:2] == (status, "application/json")
        assert answer[2] == (
            f'{{"ok": false, "error_code": {status}, "description": "{description}"}}'
        )
    assert alice.messages() == []  # never processed
    assert (await send(http, emu, alice, "through"))[0] == 200
    assert [m.text for m in alice.messages()] == ["through"]
    assert emu.stats.injected[kind] == 2
    assert emu.stats.answers[status] == 2


async def test_nginx_html_502(
    emu: BotAPIEmulator, http: aiohttp.ClientSession, alice: SimUser
) -> None:
    emu.inject(FaultKind.HTML_502)  # method None: any method but getUpdates
    status, content_type, body = await call(http, emu, "getMe")
    assert (status, content_type) == (502, "text/html")
    assert body == NGINX_TEXT == NGINX_502_HTML
    assert (await call(http, emu, "getMe"))[0] == 200


# -- dropped connections ----------------------------------------------------------------


async def test_close_before_processing(
    emu: BotAPIEmulator, http: aiohttp.ClientSession, alice: SimUser
) -> None:
    emu.inject("close_before", "sendMessage")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await asyncio.wait_for(send(http, emu, alice, "never"), timeout=5)
    assert alice.messages() == []
    assert emu.calls_to("sendMessage") == []
    assert (emu.stats.sent, emu.stats.dropped) == (0, 1)


async def test_close_after_processing(
    emu: BotAPIEmulator, http: aiohttp.ClientSession, alice: SimUser
) -> None:
    emu.inject("close_after", "sendMessage")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await asyncio.wait_for(send(http, emu, alice, "seen, unanswered"), timeout=5)
    assert [m.text for m in alice.messages()] == ["seen, unanswered"]
    # processed vs answered: one message sent, no 200 written
    assert (emu.stats.sent, emu.stats.answers[200], emu.stats.dropped) == (1, 0, 1)
    assert emu.stats.injected == {"close_after": 1}
    assert (await send(http, emu, alice, "next"))[0] == 200  # the server still serves


@pytest.mark.parametrize("kind", ["close_before", "close_after"])
async def test_httpx_sees_a_disconnect(emu: BotAPIEmulator, alice: SimUser, kind: str) -> None:
    emu.inject(kind, "sendMessage")
    async with httpx.AsyncClient(timeout=5) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(url(emu, "sendMessage"), data={"chat_id": alice.id, "text": "x"})
    assert len(alice.messages()) == (1 if kind == "close_after" else 0)


async def test_fault_for_one_chat(
    emu: BotAPIEmulator, http: aiohttp.ClientSession, alice: SimUser
) -> None:
    bob = emu.user("Bob")
    await bob.start()
    emu.inject("json_500", "sendMessage", chat=bob)
    assert (await send(http, emu, alice, "a"))[0] == 200
    assert (await send(http, emu, bob, "b"))[0] == 500
    assert (await send(http, emu, bob, "b"))[0] == 200


async def test_updates_in_a_dropped_answer_come_again(
    emu: BotAPIEmulator, http: aiohttp.ClientSession, alice: SimUser
) -> None:
    emu.inject("close_after", "getUpdates")  # an explicit method: getUpdates too
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await call(http, emu, "getUpdates", timeout=0)
    status, _, body = await call(http, emu, "getUpdates", timeout=0)
    assert status == 200
    assert [u["message"]["text"] for u in json.loads(body)["result"]] == ["/start"]


# -- slow answers -----------------------------------------------------------------------


async def test_slow_answer(
    emu: BotAPIEmulator, http: aiohttp.ClientSession, alice: SimUser
) -> None:
    emu.inject("slow", "sendMessage", delay=0.3)
    started = time.monotonic()
    assert (await send(http, emu, alice, "late"))[0] == 200
    assert time.monotonic() - started >= 0.3
    assert emu.stats.injected["slow"] == 1


async def test_late_answer_times_out_after_processing(
    emu: BotAPIEmulator, http: aiohttp.ClientSession, alice: SimUser
) -> None:
    """The outcome is unknown to a client that gives up: the message is there anyway."""
    emu.inject("late_answer", "sendMessage", delay=1.0)
    with pytest.raises(TimeoutError):
        async with http.post(
            url(emu, "sendMessage"),
            json={"chat_id": alice.id, "text": "delivered"},
            timeout=aiohttp.ClientTimeout(total=0.2),
        ):
            pass
    assert [m.text for m in alice.messages()] == ["delivered"]


async def test_slow_fault_processes_after_the_delay(
    emu: BotAPIEmulator, http: aiohttp.ClientSession, alice: SimUser
) -> None:
    emu.inject("slow", "sendMessage", delay=0.3)
    task = asyncio.create_task(send(http, emu, alice, "queued"))
    await asyncio.sleep(0.1)
    assert alice.messages() == []
    await task
    assert [m.text for m in alice.messages()] == ["queued"]


# -- outages ----------------------------------------------------------------------------


async def test_outage_on_the_limits_clock(
    emu: BotAPIEmulator, http: aiohttp.ClientSession, alice: SimUser, clock: ManualClock
) -> None:
    emu.outage(60)
    assert emu.server.outage_active
    answer = await send(http, emu, alice, "during")
    assert answer == (502, "text/html", NGINX_502_HTML)
    assert (await call(http, emu, "getUpdates", timeout=0))[0] == 200  # exempt
    clock.advance(59.5)
    assert (await call(http, emu, "getMe"))[0] == 502
    clock.advance(0.5)
    assert (await send(http, emu, alice, "after"))[0] == 200
    assert not emu.server.outage_active
    assert [m.text for m in alice.messages()] == ["after"]
    assert emu.stats.injected["html_502"] == 2


async def test_outage_that_drops_connections_everywhere(
    emu: BotAPIEmulator, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    emu.outage(10, kind="close_before", exempt=())
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await call(http, emu, "getUpdates", timeout=0)
    emu.end_outage()
    assert (await call(http, emu, "getUpdates", timeout=0))[0] == 200


# -- random faults ----------------------------------------------------------------------


async def _outcomes(seed: int, n: int = 100) -> tuple[list[str], BotAPIEmulator]:
    async with (
        BotAPIEmulator(token=TOKEN, rate_limits=False) as emu,
        aiohttp.ClientSession() as http,
    ):
        user = emu.user("U")
        await user.start()
        emu.random_faults(rate=0.2, methods=("sendMessage",), seed=seed)
        outcomes = []
        for i in range(n):
            try:
                outcomes.append(str((await send(http, emu, user, str(i)))[0]))
            except aiohttp.ServerDisconnectedError:
                outcomes.append("dropped")
        assert (await call(http, emu, "getMe"))[0] == 200  # not among `methods`
        assert len(user.messages()) == emu.stats.sent
        return outcomes, emu


async def test_random_faults_are_reproducible_and_counted() -> None:
    first, emu = await _outcomes(seed=11)
    again, _ = await _outcomes(seed=11)
    other, _ = await _outcomes(seed=12)
    assert first == again
    assert first != other
    stats = emu.stats
    failed = sum(stats.injected.values())
    assert 10 <= failed <= 30  # about 20 of 100
    assert set(stats.injected) <= {
        "json_500",
        "json_502",
        "html_502",
        "close_before",
        "close_after",
    }
    assert first.count("200") == 100 - failed == stats.answers[200] - 1  # getMe
    assert first.count("dropped") == stats.dropped
    # processed = answered + processed-but-dropped
    assert stats.sent == first.count("200") + stats.injected["close_after"]


async def test_random_faults_stop_with_rate_zero(
    emu: BotAPIEmulator, http: aiohttp.ClientSession, alice: SimUser, clock: ManualClock
) -> None:
    emu.random_faults(rate=1.0, kinds=["json_502"])
    assert (await call(http, emu, "getMe"))[0] == 502
    assert (await call(http, emu, "getUpdates", timeout=0))[0] == 200  # never by default
    emu.random_faults(rate=0)
    assert (await call(http, emu, "getMe"))[0] == 200


async def test_fail_next_still_answers_its_error(
    emu: BotAPIEmulator, http: aiohttp.ClientSession, alice: SimUser
) -> None:
    emu.fail_next("sendMessage", 400, "Bad Request: custom", times=1)
    status, _, body = await send(http, emu, alice, "x")
    assert (status, body) == (
        400,
        '{"ok": false, "error_code": 400, "description": "Bad Request: custom"}',
    )
    assert emu.stats.injected["api_error"] == 1
    assert (await send(http, emu, alice, "x"))[0] == 200


# -- what the libraries make of it ------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("json_500", TelegramServerError),
        ("json_502", TelegramServerError),
        ("html_502", ClientDecodeError),  # not a TelegramServerError: classify it yourself
        ("close_before", TelegramNetworkError),
        ("close_after", TelegramNetworkError),
    ],
)
async def test_what_aiogram_raises(
    emu: BotAPIEmulator, abot: Bot, alice: SimUser, kind: str, expected: type[Exception]
) -> None:
    emu.inject(kind, "sendMessage")
    with pytest.raises(expected):
        await abot.send_message(alice.id, "x")


@pytest.mark.parametrize(
    "kind", ["json_500", "json_502", "html_502", "close_before", "close_after"]
)
async def test_what_ptb_raises(
    emu: BotAPIEmulator, pbot: telegram.Bot, alice: SimUser, kind: str
) -> None:
    emu.inject(kind, "sendMessage")
    with pytest.raises(NetworkError):
        await pbot.send_message(alice.id, "x")
    assert len(alice.messages()) == (1 if kind == "close_after" else 0)
