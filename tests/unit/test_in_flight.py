"""InFlight: what the transports run each update through, and what callers wait on."""

from __future__ import annotations

import asyncio

import pytest

from bot.messages import CallbackAnswer, Incoming, Outgoing, Reply, Sent
from bot.transports.delivery import InFlight


class SlowCore:
    """Answers each update with one message, after `release` is set."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def handle(self, inc: Incoming) -> Reply:
        await self.release.wait()
        return Reply([Outgoing(chat_id=inc.chat_id, text=f"re {inc.update_id}")])

    async def mark_unreachable(self, chat_id: int) -> None:
        return None

    def bot_commands(self, locale: str, groups: bool = False) -> list[tuple[str, str]]:
        return []


class Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, out: Outgoing) -> Sent:
        self.sent.append(out.text)
        return Sent(len(self.sent))

    async def answer(self, answer: CallbackAnswer) -> None:
        return None


def incoming(update_id: int) -> Incoming:
    return Incoming(update_id=update_id, chat_id=5, user_id=5, user_name="W")


async def test_wait_handled_returns_once_the_reply_is_delivered() -> None:
    core, sender, in_flight = SlowCore(), Recorder(), InFlight()
    task = asyncio.create_task(in_flight.process(incoming(7), core, sender))
    waiter = asyncio.create_task(in_flight.wait_handled(7, timeout=5))
    await asyncio.sleep(0)
    assert not waiter.done() and in_flight.count == 1
    core.release.set()
    await waiter
    assert sender.sent == ["re 7"] and in_flight.handled[7] == 1
    await task


async def test_a_redelivery_is_waited_for_separately() -> None:
    core, sender, in_flight = SlowCore(), Recorder(), InFlight()
    core.release.set()
    await in_flight.process(incoming(7), core, sender)
    await in_flight.wait_handled(7, times=1, timeout=0.1)
    with pytest.raises(TimeoutError):
        await in_flight.wait_handled(7, times=2, timeout=0.05)
    with pytest.raises(TimeoutError):
        await in_flight.wait_handled(8, timeout=0.05)  # another update is not this one
    await in_flight.process(incoming(7), core, sender)
    await in_flight.wait_handled(7, times=2, timeout=0.1)
