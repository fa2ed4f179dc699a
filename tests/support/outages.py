"""Many residents of one building reporting one outage (incident tests)."""

from __future__ import annotations

from storage.models import Resident
from tests.support.world import World, staffed

# The flow tests' stand-in classifier calls anything with 漏 a repair.
OUTAGE = "3栋停水了,总管漏水"


async def seed(world: World, count: int, building: str = "3栋") -> list[int]:
    await staffed(world)
    ids = [6100 + i for i in range(count)]
    now = world.app.clock.now()
    async with world.app.uow_factory() as uow:
        prop = (await uow.properties.all())[0]
        for telegram_id in ids:
            await uow.residents.add(
                Resident(
                    telegram_id=telegram_id,
                    property_id=prop.id,
                    name=f"住户{telegram_id}",
                    phone=f"+86138{telegram_id:08d}",
                    building=building,
                    unit="1单元",
                    room=str(telegram_id),
                    registered=True,
                    active=True,
                    created_at=now,
                    updated_at=now,
                )
            )
        await uow.commit()
    return ids


async def report_outage(world: World, ids: list[int]) -> None:
    for telegram_id in ids:
        person = world.person(telegram_id, telegram_id, "住户")
        await person.say(OUTAGE)
        await person.press(person.button("确认"))
    await world.flush()
