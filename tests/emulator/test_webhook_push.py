"""The emulator posts to a webhook as Telegram does: up to max_connections posts at once,
a chat's updates one after another, an update not answered 2xx kept and posted again, the
secret in its header, max_connections and the last error in getWebhookInfo."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiohttp import web

from emulator import BotAPIEmulator


class Hook:
    """A webhook that holds each post until released, and answers `status`."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.open = 0
        self.most_open = 0
        self.release = asyncio.Event()
        self.status = 200
        self.secrets: list[str | None] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            await self.release.wait()
            self.received.append(await request.json())
            return web.Response(status=self.status)
        finally:
            self.open -= 1


@pytest.fixture
async def hook() -> AsyncIterator[tuple[Hook, str]]:
    served = Hook()
    app = web.Application()
    app.router.add_post("/hook", served.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield served, f"http://127.0.0.1:{port}/hook"
    served.release.set()
    await runner.cleanup()


async def _until(condition: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_posts_at_once_up_to_max_connections_one_at_a_time_per_chat(
    emu: BotAPIEmulator, abot: Bot, hook: tuple[Hook, str]
) -> None:
    served, url = hook
    await abot.set_webhook(url, secret_token="s3", max_connections=3)
    assert (await abot.get_webhook_info()).max_connections == 3
    people = [emu.user(f"P{i}") for i in range(5)]
    for person in people:
        await person.send_text("one")
    await people[0].send_text("two")  # a second update of the first chat
    await _until(lambda: served.open == 3)
    await asyncio.sleep(0.1)
    assert served.open == 3, "no more than max_connections at once"
    served.release.set()
    await _until(lambda: len(served.received) == 6)
    assert served.most_open == 3
    first_chat = [
        u["message"]["text"] for u in served.received if u["message"]["chat"]["id"] == people[0].id
    ]
    assert first_chat == ["one", "two"], "a chat's updates in order"
    assert set(served.secrets) == {"s3"}
    assert emu.pending_updates == 0


async def test_an_update_answered_non_2xx_is_posted_again(
    emu: BotAPIEmulator, abot: Bot, hook: tuple[Hook, str]
) -> None:
    served, url = hook
    served.status = 401
    served.release.set()
    await abot.set_webhook(url, secret_token="s3")
    sent = await emu.user("Alice").send_text("hi")
    await _until(lambda: len(served.received) >= 2)  # refused, and posted again
    info = await abot.get_webhook_info()
    assert "401" in (info.last_error_message or "")
    assert emu.pending_updates == 1, "kept until answered 2xx"
    served.status = 200
    await emu.wait_confirmed(sent.update_id or 0, timeout=5)
    assert emu.pending_updates == 0
    assert {u["update_id"] for u in served.received} == {sent.update_id}


async def _serve(served: Hook) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/hook", served.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/hook"


def _refusing_url() -> str:
    """A loopback port nobody listens on: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/hook"


async def test_as_a_reverse_proxy_posts_go_round_robin_skipping_a_refusing_worker(
    emu: BotAPIEmulator, abot: Bot, hook: tuple[Hook, str]
) -> None:
    one, one_url = hook
    two = Hook()
    runner, two_url = await _serve(two)
    dead = _refusing_url()
    try:
        one.release.set()
        two.release.set()
        emu.spread_webhook([one_url, dead, two_url])
        await abot.set_webhook("https://desk.example.com/hook", secret_token="s4")
        people = [emu.user(f"P{i}") for i in range(6)]
        for person in people:
            await person.send_text("one")
            await person.send_text("two")
        await _until(lambda: len(one.received) + len(two.received) == 12)
        assert emu.pending_updates == 0
        assert emu.posts_by_target == {one_url: 6, two_url: 6}, "even; the dead one skipped"
        assert set(one.secrets) | set(two.secrets) == {"s4"}
        for person in people:  # a chat's updates in order, whichever worker took them
            texts = [
                (u["update_id"], u["message"]["text"])
                for u in one.received + two.received
                if u["message"]["chat"]["id"] == person.id
            ]
            assert [text for _, text in sorted(texts)] == ["one", "two"]
        # A worker answering non-2xx: the update is posted again (to the next worker).
        two.status = 503
        for person in people[:3]:
            await person.send_text("three")
        await _until(lambda: [u["message"]["text"] for u in one.received].count("three") == 3)
        assert [u["message"]["text"] for u in two.received].count("three") >= 1
        assert emu.pending_updates == 0
        # Back to the URL the bot set when no targets are given.
        emu.spread_webhook([])
        assert emu.server.webhook_targets == []
    finally:
        await runner.cleanup()
