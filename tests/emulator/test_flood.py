"""Flood limits over real HTTP: a short burst per chat, penalties for coming back early,
refusals that use no budget, and the counters."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from emulator import LENIENT_LIMITS, BotAPIEmulator, ManualClock, RateLimitConfig, SimUser
from tests.support.clients import TOKEN


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def send(http: aiohttp.ClientSession, emu: BotAPIEmulator, chat_id: int) -> int:
    """0 when accepted, else the retry_after of the 429."""
    url = f"{emu.base_url}/bot{TOKEN}/sendMessage"
    async with http.post(url, data={"chat_id": chat_id, "text": "hi"}) as response:
        body = json.loads(await response.text())
        if response.status == 200:
            return 0
        assert response.status == 429, body
        assert (
            body["description"]
            == f"Too Many Requests: retry after {body['parameters']['retry_after']}"
        )
        return int(body["parameters"]["retry_after"])


async def started(emu: BotAPIEmulator, name: str) -> SimUser:
    user = emu.user(name)
    await user.start()
    return user


async def test_short_burst_then_one_a_second(
    emu: BotAPIEmulator, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    alice = await started(emu, "Alice")
    assert RateLimitConfig().chat_burst == 5
    assert [await send(http, emu, alice.id) for _ in range(6)] == [0, 0, 0, 0, 0, 1]
    clock.advance(1)
    assert await send(http, emu, alice.id) == 0
    clock.advance(1)
    assert await send(http, emu, alice.id) == 0


async def test_coming_back_early_grows_the_wait(
    emu: BotAPIEmulator, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    alice, bob = await started(emu, "Alice"), await started(emu, "Bob")
    for _ in range(5):
        await send(http, emu, alice.id)
    assert await send(http, emu, alice.id) == 1  # told to wait 1 s
    # each early attempt: time left + 1, 2, 4 ... s
    assert [await send(http, emu, alice.id) for _ in range(3)] == [2, 4, 8]
    assert await send(http, emu, bob.id) == 0  # other chats are not held
    clock.advance(7)
    assert await send(http, emu, alice.id) == 9  # still early: 1 s left + 8
    clock.advance(9)
    assert await send(http, emu, alice.id) == 0  # waited it out: accepted, count reset
    stats = emu.stats
    assert stats.early_retries_by_chat[alice.id] == stats.early_retries == 4
    assert stats.too_many_requests_by_chat[alice.id] == stats.too_many_requests == 5
    assert stats.sent_by_chat == {alice.id: 6, bob.id: 1}
    assert stats.sent == 7


async def test_the_penalty_is_capped(http: aiohttp.ClientSession) -> None:
    clock = ManualClock()
    limits = RateLimitConfig(chat_burst=1, penalty_max=10)
    async with BotAPIEmulator(token=TOKEN, clock=clock, rate_limits=limits) as emu:
        alice = await started(emu, "Alice")
        await send(http, emu, alice.id)
        waits = [await send(http, emu, alice.id) for _ in range(8)]
    assert waits[:4] == [1, 2, 4, 8]
    assert waits[4:] == [10, 10, 10, 10]


async def test_refused_attempts_use_no_budget(http: aiohttp.ClientSession) -> None:
    clock = ManualClock()
    limits = RateLimitConfig(penalty=False)
    async with BotAPIEmulator(token=TOKEN, clock=clock, rate_limits=limits) as emu:
        alice = await started(emu, "Alice")
        for _ in range(5):
            assert await send(http, emu, alice.id) == 0
        for _ in range(10):
            assert await send(http, emu, alice.id) == 1  # no penalty: the plain wait
        clock.advance(1)
        assert await send(http, emu, alice.id) == 0  # the refusals took nothing
        assert await send(http, emu, alice.id) == 1
        assert (emu.stats.sent, emu.stats.too_many_requests, emu.stats.early_retries) == (6, 11, 0)


async def test_group_twenty_a_minute(
    emu: BotAPIEmulator, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    group = emu.group("Staff")
    for _ in range(20):
        assert await send(http, emu, group.id) == 0
        clock.advance(1)
    wait = await send(http, emu, group.id)
    assert 30 <= wait <= 41  # the first of the 20 leaves the minute at t=60
    clock.advance(wait)
    assert await send(http, emu, group.id) == 0


async def test_lenient_limits_keep_the_long_burst(http: aiohttp.ClientSession) -> None:
    async with BotAPIEmulator(token=TOKEN, clock=ManualClock(), rate_limits=LENIENT_LIMITS) as emu:
        alice = await started(emu, "Alice")
        assert [await send(http, emu, alice.id) for _ in range(31)] == [0] * 30 + [1]


async def test_stats_reset(emu: BotAPIEmulator, http: aiohttp.ClientSession) -> None:
    alice = await started(emu, "Alice")
    for _ in range(7):
        await send(http, emu, alice.id)
    assert emu.stats.too_many_requests == 2
    emu.stats.reset()
    assert (emu.stats.sent, emu.stats.too_many_requests, emu.stats.early_retries) == (0, 0, 0)
    assert not emu.stats.answers and not emu.stats.sent_by_chat
