"""The gate behind the outbox's overall budget: emergencies first, the other priorities
sharing turns by their shares while they wait, so an announcement behind a crowd of
residents talking to the bot slows down but is never starved."""

from __future__ import annotations

import asyncio

from bot.domain.vocabulary import SendPriority
from bot.services.gate import PriorityGate
from bot.services.pacing import Limits

URGENT, REPLY, CARD, BULK = (
    SendPriority.URGENT,
    SendPriority.REPLY,
    SendPriority.CARD,
    SendPriority.BULK,
)


async def turns(gate: PriorityGate, waiting: list[tuple[str, int]]) -> list[str]:
    """Queue every waiter behind a holder, then let them through one at a time; the
    order in which they got their turn."""
    order: list[str] = []
    await gate.acquire(URGENT)  # the holder

    async def one(name: str, priority: int) -> None:
        async with gate.turn(priority):
            order.append(name)

    tasks = []
    for name, priority in waiting:
        tasks.append(asyncio.create_task(one(name, priority)))
        await asyncio.sleep(0)  # queued in this order
    gate.release()
    await asyncio.gather(*tasks)
    return order


async def test_without_shares_the_most_urgent_always_goes_first() -> None:
    waiting = [(f"bulk{n}", BULK) for n in range(3)] + [(f"reply{n}", REPLY) for n in range(3)]
    order = await turns(PriorityGate(), waiting)
    assert order == ["reply0", "reply1", "reply2", "bulk0", "bulk1", "bulk2"]


TWO_TO_ONE = {REPLY: 2, CARD: 2, BULK: 1}


async def test_an_announcement_gets_its_share_while_replies_keep_coming() -> None:
    gate = PriorityGate(TWO_TO_ONE)
    waiting = [(f"bulk{n}", BULK) for n in range(4)] + [(f"reply{n}", REPLY) for n in range(8)]
    order = await turns(gate, waiting)
    # two turns in three to replies, one to the announcement, each in its own order
    kinds = "".join("b" if name.startswith("bulk") else "r" for name in order)
    assert kinds[:9] == "rbrrbrrbr"
    assert [n for n in order if n.startswith("bulk")] == ["bulk0", "bulk1", "bulk2", "bulk3"]
    assert [n for n in order if n.startswith("reply")] == [f"reply{n}" for n in range(8)]


async def test_the_outbox_gives_an_announcement_three_slots_in_eight_beside_replies() -> None:
    gate = PriorityGate(dict(Limits().shares))
    waiting = [(f"bulk{n}", BULK) for n in range(10)] + [(f"reply{n}", REPLY) for n in range(10)]
    order = await turns(gate, waiting)
    assert sum(1 for name in order[:16] if name.startswith("bulk")) == 6


async def test_an_emergency_overtakes_every_share() -> None:
    gate = PriorityGate(dict(Limits().shares))
    waiting = [(f"bulk{n}", BULK) for n in range(3)] + [("card", CARD), ("emergency", URGENT)]
    order = await turns(gate, waiting)
    assert order[0] == "emergency"


async def test_a_priority_idle_for_a_while_gets_no_credit_for_it() -> None:
    """Replies alone for a long time, then an announcement: it takes its share from then on,
    not a run of turns for all the time it had nothing to send."""
    gate = PriorityGate(TWO_TO_ONE)
    assert await turns(gate, [(f"early{n}", REPLY) for n in range(20)]) == [
        f"early{n}" for n in range(20)
    ]
    waiting = [(f"bulk{n}", BULK) for n in range(4)] + [(f"reply{n}", REPLY) for n in range(4)]
    order = await turns(gate, waiting)
    assert [name[:4] for name in order[:4]] != ["bulk"] * 4
    assert sum(1 for name in order[:3] if name.startswith("bulk")) == 1


async def test_a_cancelled_waiter_passes_its_turn_on() -> None:
    gate = PriorityGate(dict(Limits().shares))
    await gate.acquire(URGENT)
    order: list[str] = []

    async def one(name: str, priority: int) -> None:
        async with gate.turn(priority):
            order.append(name)

    gone = asyncio.create_task(one("gone", BULK))
    stays = asyncio.create_task(one("stays", BULK))
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.sleep(0)
    gate.release()
    await stays
    assert order == ["stays"]
    async with gate.turn(REPLY):  # and the gate is free again
        pass
