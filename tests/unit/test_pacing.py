"""The outbox keeps Telegram's limits itself: per group per minute, per private chat a short
burst then one a second, overall per second; a refused attempt is given back, and the most
urgent waiting message takes the next overall slot. Time is simulated, nothing sleeps."""

from __future__ import annotations

import asyncio

from bot.domain.vocabulary import SendPriority
from bot.services.pacing import UNLIMITED, Limits, Pacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


async def send(pacer: Pacer, chat: int, priority: int = SendPriority.CARD) -> float:
    """Wait as the outbox does (the chat's pace, then an overall slot); the seconds waited."""
    timer = pacer.timer
    start = timer.monotonic()
    while (delay := pacer.chat_delay(chat)) > 0:
        await timer.sleep(delay)
    await pacer.take(chat, priority)
    return timer.monotonic() - start


async def test_group_gets_a_short_burst_then_twenty_a_minute() -> None:
    time = FakeTime()
    pacer = Pacer(Limits(), time)
    for _ in range(3):
        assert await send(pacer, -1001) == 0.0  # the burst
    assert await send(pacer, -1001) > 0.9  # then about one a second
    for _ in range(16):
        await send(pacer, -1001)
    assert time.now - 1000.0 < 60.0  # twenty within the first minute
    await send(pacer, -1001)  # the 21st waits for the first to leave the minute
    assert time.now - 1000.0 >= 60.0


async def test_private_chat_short_burst_then_one_a_second() -> None:
    time = FakeTime()
    pacer = Pacer(Limits(), time)
    for _ in range(3):
        assert await send(pacer, 7) == 0.0  # a short burst is fine
    assert await send(pacer, 8) == 0.0  # another person is not held up
    assert pacer.chat_delay(7) > 0.9  # the fourth at once would be refused
    start = time.now
    for _ in range(10):
        await send(pacer, 7)
    assert 9.0 <= time.now - start <= 10.5  # sustained: about one a second


async def test_overall_rate_for_a_broadcast() -> None:
    time = FakeTime()
    pacer = Pacer(Limits(per_second=25), time)
    for chat in range(100):  # a survey to 100 residents
        await send(pacer, chat + 1)
    assert time.now - 1000.0 >= 3.0  # 100 messages at 25/s take at least 3 s more


async def test_a_refused_attempt_is_given_back_and_the_chat_closed() -> None:
    time = FakeTime()
    pacer = Pacer(Limits(), time)
    await send(pacer, 7)
    pacer.refuse(7, retry_after=5)
    assert pacer.chat_delay(7) == 5.0  # closed for as long as Telegram said
    assert pacer.chat_delay(8) == 0.0  # nobody else is
    time.now += 5.0
    # the refused attempt did not spend the burst: three go at once again
    for _ in range(3):
        assert await send(pacer, 7) == 0.0


class HeldTime(FakeTime):
    """Waits finish only when the test lets time pass, so who queues when is exact."""

    def __init__(self) -> None:
        super().__init__()
        self.tick = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        await self.tick.wait()
        self.now += max(seconds, 0.0)


async def test_the_most_urgent_waiter_takes_the_next_overall_slot() -> None:
    time = HeldTime()
    pacer = Pacer(Limits(per_second=1), time)
    await pacer.take(1, SendPriority.BULK)  # the second's only slot is spent
    order: list[str] = []

    async def one(name: str, chat: int, priority: int) -> None:
        await pacer.take(chat, priority)
        order.append(name)

    waiting = [asyncio.create_task(one(f"bulk{n}", 10 + n, SendPriority.BULK)) for n in range(3)]
    await asyncio.sleep(0)  # bulk0 holds the gate waiting for the next second; 1, 2 queue
    waiting.append(asyncio.create_task(one("emergency", 99, SendPriority.URGENT)))
    await asyncio.sleep(0)
    time.tick.set()
    await asyncio.gather(*waiting)
    assert order == ["bulk0", "emergency", "bulk1", "bulk2"]


async def test_without_flood_limits_nothing_waits() -> None:
    """PROPDESK_FLOOD_LIMITS=false (a server without Telegram's limits): no pacing at all."""
    time = FakeTime()
    pacer = Pacer(UNLIMITED, time)
    for n in range(1000):
        await send(pacer, -1001 if n % 2 else 7)
    assert time.now == 1000.0


async def test_a_send_counts_in_the_second_from_its_answer() -> None:
    """Telegram counts a message when it arrives, at the latest when it answers: a send that
    left late (behind a crowd released with it) holds its place in the second's count from
    its answer on, not from the moment it was released."""
    time = FakeTime()
    pacer = Pacer(Limits(per_second=1), time)
    taken = await pacer.take(1, SendPriority.REPLY)
    time.now += 0.5  # the request went out and was answered half a second later
    pacer.landed(taken, 1)
    waited = await send(pacer, 2)
    assert waited >= 1.0  # a second from the answer (counted from release: 0.5 s and a margin)


async def test_a_groups_minute_counts_each_send_from_its_answer() -> None:
    """A group's first card answered 2 s after its release (it waited behind the loop's
    other work): the group's 21st message waits a minute from that answer, or it could
    reach Telegram within a minute of the first and be refused."""
    time = FakeTime()
    pacer = Pacer(Limits(per_group_minute=20), time)
    group = -1001
    first = await pacer.take(group, SendPriority.CARD)
    time.now += 2.0
    pacer.landed(first, group)
    answered_first = time.now
    for _ in range(19):
        await send(pacer, group)
    while (delay := pacer.chat_delay(group)) > 0:
        time.now += delay
    assert time.now >= answered_first + 60.0
