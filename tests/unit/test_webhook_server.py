"""The webhook server alone (bot/transports/webhook.py): the secret checked before anything
is read, one person's updates in arrival order while others run at once, 503 while
stopping (Telegram posts again), /healthz 503 when the database cannot be used."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from bot.transports.webhook import SECRET_HEADER, WebhookServer, WebhookSpec, ordering_key

SECRET = "unit_secret"


def update(update_id: int, user: int, text: str = "hi") -> dict[str, Any]:
    person = {"id": user, "is_bot": False, "first_name": "x"}
    chat = {"id": user, "type": "private"}
    message = {"message_id": update_id, "date": 0, "chat": chat, "from": person, "text": text}
    return {"update_id": update_id, "message": message}


class Recorder:
    def __init__(self) -> None:
        self.handled: list[int] = []
        self.gates: dict[int, asyncio.Event] = {}

    async def __call__(self, raw: dict[str, Any]) -> None:
        gate = self.gates.get(raw["update_id"])
        if gate is not None:
            await gate.wait()
        self.handled.append(raw["update_id"])


async def started(handle: Recorder, health: Any = None) -> tuple[WebhookServer, str]:
    spec = WebhookSpec("https://x.example/hook", SECRET, "127.0.0.1", 0, 40, health)
    server = WebhookServer(spec, handle)
    await server.start()
    return server, f"http://127.0.0.1:{server.port}"


async def post(session: aiohttp.ClientSession, url: str, body: Any, secret: str | None) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with session.post(f"{url}/hook", json=body, headers=headers) as response:
        return response.status


@pytest.mark.parametrize("secret", [None, "", "unit_secreT", "unit_secret_"])
async def test_without_the_right_secret_nothing_is_read(secret: str | None) -> None:
    handle = Recorder()
    server, url = await started(handle)
    try:
        async with aiohttp.ClientSession() as session:
            assert await post(session, url, update(1, 7), secret) == 401
            assert await post(session, url, update(2, 7), SECRET) == 200
    finally:
        await server.close()
    assert handle.handled == [2]
    assert server.rejected == 1


async def test_one_persons_updates_in_order_others_meanwhile() -> None:
    handle = Recorder()
    handle.gates[1] = asyncio.Event()  # the first update of person 7 is slow
    server, url = await started(handle)
    try:
        async with aiohttp.ClientSession() as session:
            first = asyncio.create_task(post(session, url, update(1, 7), SECRET))
            await asyncio.sleep(0.05)
            second = asyncio.create_task(post(session, url, update(2, 7), SECRET))
            assert await post(session, url, update(3, 8), SECRET) == 200  # not held back
            await asyncio.sleep(0.05)
            assert handle.handled == [3], "person 7's second waits for the first"
            handle.gates[1].set()
            assert await first == 200 and await second == 200
    finally:
        await server.close()
    assert handle.handled == [3, 1, 2]


async def test_stopping_answers_503_and_waits_for_what_was_taken() -> None:
    handle = Recorder()
    handle.gates[1] = asyncio.Event()
    server, url = await started(handle)
    try:
        async with aiohttp.ClientSession() as session:
            taken = asyncio.create_task(post(session, url, update(1, 7), SECRET))
            await asyncio.sleep(0.05)
            stopping = asyncio.create_task(server.shutdown(5))
            await asyncio.sleep(0.05)
            assert await post(session, url, update(2, 8), SECRET) == 503
            handle.gates[1].set()
            assert await stopping is True
            assert await taken == 200
    finally:
        await server.close()
    assert handle.handled == [1]


@pytest.mark.parametrize(("reachable", "status"), [(True, 200), (False, 503)])
async def test_healthz_status_follows_the_database(reachable: bool, status: int) -> None:
    async def health() -> dict[str, Any]:
        return {"database": {"reachable": reachable}, "leader": "h:1"}

    server, url = await started(Recorder(), health)
    try:
        async with aiohttp.ClientSession() as session, session.get(f"{url}/healthz") as answer:
            assert answer.status == status
            body = await answer.json()
    finally:
        await server.close()
    assert body["database"]["reachable"] is reachable and body["leader"] == "h:1"


def test_ordering_key_reads_person_and_chat() -> None:
    assert ordering_key(update(1, 7)) == (7, 7)
    press = {"update_id": 2, "callback_query": {"from": {"id": 7}, "message": {"chat": {"id": -5}}}}
    assert ordering_key(press) == (-5, 7)
    assert ordering_key({"update_id": 3}) == (0, 0)
