"""Two senders draining the outbox at once (two workers, or a nudge racing the poll loop)
deliver each message exactly once."""

from __future__ import annotations

import asyncio

from bot.messages import Outgoing
from bot.services.desk import Desk
from tests.support.world import World


async def test_concurrent_drains_send_each_row_once(world: World) -> None:
    async with world.app.uow_factory() as uow:
        desk = Desk(uow, world.app.settings, world.app.clock)
        for n in range(5):
            await desk.enqueue(f"k{n}", Outgoing(chat_id=-100123, text=f"m{n}"))
        await uow.commit()
    first, second = world.outbox, world.outbox
    await asyncio.gather(first.drain(), second.drain(), first.drain())
    await world.flush()
    assert sorted(o.text for o in world.sender.to(-100123)) == [f"m{n}" for n in range(5)]
