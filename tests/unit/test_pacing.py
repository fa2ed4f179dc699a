"""The outbox keeps Telegram's limits itself: per group per minute, per private chat per
second, and overall per second; time is simulated, nothing sleeps."""

from __future__ import annotations

from bot.services.pacing import Limits, Pacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_group_gets_twenty_a_minute() -> None:
    clock = FakeTime()
    pacer = Pacer(Limits(), now=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(20):
        assert await pacer.wait(-1001) == 0.0
    await pacer.wait(-1001)  # the 21st waits for the first to leave the window
    assert clock.now - start >= 60.0


async def test_private_chat_short_burst_then_one_a_second() -> None:
    clock = FakeTime()
    pacer = Pacer(Limits(), now=clock, sleep=clock.sleep)
    for _ in range(5):
        assert await pacer.wait(7) == 0.0  # a short burst is fine
    assert await pacer.wait(8) == 0.0  # another person is not held up
    assert await pacer.wait(7) >= 5.0 - 1e-9  # the sixth within 5 s waits
    start = clock.now
    for _ in range(10):
        await pacer.wait(7)
    assert clock.now - start >= 9.0  # sustained: about one a second


async def test_overall_rate_for_a_broadcast() -> None:
    clock = FakeTime()
    pacer = Pacer(Limits(per_second=25), now=clock, sleep=clock.sleep)
    start = clock.now
    for chat in range(100):  # a survey to 100 residents
        await pacer.wait(chat + 1)
    assert clock.now - start >= 3.0  # 100 messages at 25/s take at least 3 s more
