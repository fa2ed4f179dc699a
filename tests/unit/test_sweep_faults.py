"""One failing row does not stop a sweep: the others are processed in the same run, the
failing row is logged by id (no personal data) and postponed, so that it no longer heads
every batch, and it is tried again later."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from bot.clock import FixedClock
from bot.services.sweeps import DANGER_RETRY_AFTER, RETRY_AFTER, Periodic
from storage.models import Notice, Rating, Ticket
from tests.support.apps import START
from tests.support.world import ENG_GROUP, LI, MGR_GROUP, WANG, World, report, staffed

LEAK = "1号楼道灯漏电"


def clock(world: World) -> FixedClock:
    assert isinstance(world.app.clock, FixedClock)
    return world.app.clock


def fail_for(periodic: Periodic, method: str, bad: Any, key: Any) -> None:
    """Make the notifier's `method` raise for the row whose `key(args)` is `bad`."""
    real = getattr(periodic.notifier, method)

    async def faulty(*args: Any) -> Any:
        if key(args) == bad:
            raise RuntimeError(f"broken row: {LEAK}")  # a message that quotes personal data
        return await real(*args)

    setattr(periodic.notifier, method, faulty)


async def test_a_failing_ticket_does_not_hold_up_the_sla_sweep(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await staffed(world)
    _, first = await report(world, LEAK)
    clock(world).set(START + timedelta(minutes=1))
    _, second = await report(world, "2号楼道灯漏电")
    periodic = world.app.periodic()
    fail_for(periodic, "sla_escalation", first, lambda args: args[1].id)
    now = START + timedelta(minutes=40)  # both past the response deadline
    clock(world).set(now)
    with caplog.at_level(logging.ERROR, logger="bot.services.sweeps"):
        assert await periodic.sla_sweep() == 2
    await world.flush()
    assert (await world.ticket(second)).sla_stage == "response_overdue"
    assert sum("超时未接单" in o.text for o in world.sender.to(MGR_GROUP)) == 1
    failed = await world.ticket(first)
    assert failed.sla_stage == "" and failed.next_sla_check_at == now + RETRY_AFTER
    assert f"sla sweep: {first} failed (RuntimeError)" in caplog.text
    assert LEAK not in caplog.text
    # Mended: the postponed ticket is escalated at its new time.
    clock(world).set(now + RETRY_AFTER)
    assert await world.app.periodic().sla_sweep() == 1
    assert (await world.ticket(first)).sla_stage == "response_overdue"


async def test_a_failing_rating_does_not_hold_up_the_others(world: World) -> None:
    await staffed(world)
    ids = [(await report(world, f"{n}号楼道灯漏电"))[1] for n in range(2)]
    now = clock(world).now()
    async with world.app.uow_factory() as uow:
        for ticket_id in ids:
            uow.session.add(Rating(ticket_id=ticket_id, resident_telegram_id=WANG, due_at=now))
        await uow.commit()
    periodic = world.app.periodic()
    fail_for(periodic, "rating_request", ids[0], lambda args: args[2].id)
    assert await periodic.rating_sweep() == 2
    async with world.app.uow_factory() as uow:
        bad, good = [await uow.ratings.for_ticket(t) for t in ids]
    assert good is not None and good.status == "asked"
    assert bad is not None and bad.status == "scheduled" and bad.due_at == now + RETRY_AFTER


async def test_an_unanswered_danger_question_pages_whatever_another_does(world: World) -> None:
    now = clock(world).now()
    async with world.app.uow_factory() as uow:
        for user in (1000, 1001):  # 1000's question fell due first and heads the batch
            due = now + timedelta(seconds=user - 1000)
            await uow.dialogs.save(user, user, "report", "danger", {}, now, due)
        await uow.commit()
    clock(world).set(now + timedelta(minutes=1))
    periodic = world.app.periodic()
    paged: list[int] = []

    async def page(desk: Any, user_id: int, data: dict[str, Any]) -> bool:
        if user_id == 1000:
            raise RuntimeError("broken row")
        paged.append(user_id)
        return True

    periodic.notifier.danger_unanswered = page  # type: ignore[method-assign]
    assert await periodic.danger_sweep() == 1
    assert paged == [1001]
    async with world.app.uow_factory() as uow:
        left = await uow.dialogs.get(1000, 1000)
        assert await uow.dialogs.get(1001, 1001) is None  # paged: the question is over
    assert left is not None and left.due_at == clock(world).now() + DANGER_RETRY_AFTER


async def test_a_failing_announcement_does_not_hold_up_the_others(world: World) -> None:
    await staffed(world)
    now = clock(world).now()
    async with world.app.uow_factory() as uow:
        [prop] = await uow.properties.all()
        notices = [
            Notice(
                property_id=prop.id,
                author_id=LI,
                audience="property",
                text=f"notice {n}",
                status="scheduled",
                send_at=now - timedelta(minutes=2 - n),
                created_at=now,
            )
            for n in range(2)
        ]
        uow.session.add_all(notices)
        await uow.commit()
        bad, good = (n.id for n in notices)
    periodic = world.app.periodic()
    fail_for(periodic, "notice_due", bad, lambda args: args[1].id)
    await periodic.notice_sweep()
    async with world.app.uow_factory() as uow:
        failed, started = await uow.notices.get(bad), await uow.notices.get(good)
    assert started is not None and started.status != "scheduled"
    assert failed is not None and failed.status == "scheduled"
    assert failed.send_at == now + RETRY_AFTER


async def test_a_failing_row_is_retried_not_lost(world: World) -> None:
    """A fault of the moment (the database busy, a network error) costs the row a delay."""
    await staffed(world)
    _, ticket_id = await report(world, LEAK)
    periodic = world.app.periodic()
    fail_for(periodic, "sla_reminder", ticket_id, lambda args: args[1].id)
    clock(world).set(START + timedelta(minutes=16))
    await periodic.sla_sweep()
    async with world.app.uow_factory() as uow:
        ticket = await uow.session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.sla_stage == ""
    clock(world).set(START + timedelta(minutes=16) + RETRY_AFTER)
    await world.app.periodic().sla_sweep()
    await world.flush()
    assert sum("响应时限的一半" in o.text for o in world.sender.to(ENG_GROUP)) == 1


async def test_the_database_failing_stops_the_sweep_once(world: World) -> None:
    """The database itself failing (gone, locked) is no fault of one row: the sweep stops at
    once (its next tick tries again) instead of failing and postponing row after row."""
    await staffed(world)
    await report(world, LEAK)
    clock(world).set(START + timedelta(minutes=1))
    _, second = await report(world, "2号楼道灯漏电")
    periodic = world.app.periodic()
    tried: list[int] = []
    real = periodic.notifier.sla_escalation

    async def database_gone(*args: Any) -> Any:
        tried.append(args[1].id)
        raise OperationalError("UPDATE tickets", {}, Exception("server closed the connection"))

    periodic.notifier.sla_escalation = database_gone  # type: ignore[method-assign]
    clock(world).set(START + timedelta(minutes=40))
    with pytest.raises(OperationalError):
        await periodic.sla_sweep()
    assert len(tried) == 1  # not every row in turn
    assert (await world.ticket(second)).next_sla_check_at is not None
    periodic.notifier.sla_escalation = real  # type: ignore[method-assign]
    assert await periodic.sla_sweep() == 2  # the next tick handles both
