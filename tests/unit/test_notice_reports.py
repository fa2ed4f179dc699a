"""Every stopped announcement gets its delivery report, however many were stopped and
reported before it: the reported ones are not read again."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.models import Notice
from tests.support.world import LI, World, staffed

REPORTED_BEFORE = 60  # more than one batch (50)


def stopped(property_id: int, text: str, send_at: datetime, reported: bool) -> Notice:
    return Notice(
        property_id=property_id,
        author_id=LI,
        audience="property",
        text=text,
        status="stopped",
        send_at=send_at,
        created_at=send_at,
        started_at=send_at,
        finished_at=send_at if reported else None,
        recipients=0,
    )


async def test_a_stopped_notice_is_reported_after_many_reported_ones(world: World) -> None:
    await staffed(world)
    now = world.app.clock.now()
    async with world.app.uow_factory() as uow:
        [prop] = await uow.properties.all()
        for n in range(REPORTED_BEFORE):  # older, stopped and reported long ago
            at = now - timedelta(days=30, minutes=-n)
            uow.session.add(stopped(prop.id, f"old {n}", at, reported=True))
        fresh = stopped(prop.id, "new", now - timedelta(minutes=5), reported=False)
        uow.session.add(fresh)
        await uow.commit()
        fresh_id = fresh.id
    assert await world.app.periodic().notice_sweep() == 1
    async with world.app.uow_factory() as uow:
        notice = await uow.notices.get(fresh_id)
    assert notice is not None and notice.finished_at is not None
    await world.flush()
    assert world.sender.to(LI), "the author has the report"
