"""New deadlines, new milestones: a reopened ticket and a ticket whose urgency changed are
reminded and escalated again for their new deadlines (the outbox keys name the deadline),
while a sweep repeated on the same deadline still queues nothing twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.clock import FixedClock
from bot.services.desk import Desk, sla_policy
from storage.models import OutboxMessage
from tests.support.apps import START
from tests.support.world import (
    ENG_GROUP,
    LI,
    MGR_GROUP,
    SERVICE_GROUP,
    WANG,
    GroupPerson,
    World,
    accepted,
    complete,
    report,
    staffed,
)

HALF_TIME = "响应时限的一半"
NOT_ACCEPTED = "超时未接单"
NOT_DONE = "超时未完成"
DELAY_WARNING = "可能无法在"


def clock(world: World) -> FixedClock:
    assert isinstance(world.app.clock, FixedClock)
    return world.app.clock


async def at(world: World, moment: datetime) -> None:
    """Travel to `moment`, run the SLA sweep, deliver what it queued."""
    clock(world).set(moment)
    await world.app.periodic().sla_sweep()
    await world.flush()


def count(world: World, chat: int, part: str) -> int:
    return sum(part in o.text for o in world.sender.to(chat))


async def not_solved(world: World, wang: GroupPerson, li: GroupPerson, ticket_id: int) -> None:
    await complete(world, li, ticket_id)
    await wang.press(f"rs:{ticket_id}:no")
    await wang.say("还是在滴水")
    await world.flush()


async def set_urgency(world: World, ticket_id: int, urgency: str) -> None:
    li = world.person(LI, ENG_GROUP, "李师傅")
    await li.press(f"tk:{ticket_id}:u:{urgency}", await world.card_message(ticket_id, ENG_GROUP))
    await world.flush()


async def test_a_reopened_ticket_is_reminded_and_escalated_again(world: World) -> None:
    await world.bind("service", SERVICE_GROUP)
    await staffed(world)
    wang, ticket_id = await report(world)  # repair/high: respond in 30 min
    await at(world, START + timedelta(minutes=16))
    await at(world, START + timedelta(minutes=31))
    assert (count(world, ENG_GROUP, HALF_TIME), count(world, MGR_GROUP, NOT_ACCEPTED)) == (1, 1)
    li = world.person(LI, ENG_GROUP, "李师傅")
    await li.press(f"tk:{ticket_id}:acc", await world.card_message(ticket_id, ENG_GROUP))
    await not_solved(world, wang, li, ticket_id)
    reopened = clock(world).now()
    assert (await world.ticket(ticket_id)).status == "new"
    await at(world, reopened + timedelta(minutes=16))
    assert count(world, ENG_GROUP, HALF_TIME) == 2
    await at(world, reopened + timedelta(minutes=31))
    await at(world, reopened + timedelta(minutes=32))
    assert count(world, MGR_GROUP, NOT_ACCEPTED) == 2
    assert (await world.ticket(ticket_id)).sla_stage == "response_overdue"


async def test_the_same_deadline_is_queued_once(world: World) -> None:
    await staffed(world)
    _, ticket_id = await report(world)
    notifier = world.app.notifier()
    for _ in range(2):  # a sweep repeated on the same deadline
        async with world.app.uow_factory() as uow:
            desk = Desk(uow, world.app.settings, world.app.clock)
            ticket = await uow.tickets.get(ticket_id)
            assert ticket is not None
            await notifier.sla_reminder(desk, ticket)
            await notifier.sla_escalation(desk, ticket, "response_overdue", 0)
            await uow.commit()
    async with world.app.uow_factory() as uow:
        keys = OutboxMessage.dedupe_key.like(f"sla:{ticket_id}:%")
        query = select(func.count()).select_from(OutboxMessage).where(keys)
        queued = await uow.session.scalar(query)
    assert queued == 4  # reminder, escalation to the managers' group, to the lead, to the manager


async def test_urgency_lowered_after_the_last_escalation_escalates_the_new_deadline(
    world: World,
) -> None:
    await staffed(world)
    _, _, ticket_id = await accepted(world)  # repair/high: resolve in 8 h
    due = (await world.ticket(ticket_id)).resolution_due_at
    for hours in (0, 2, 4, 6):
        await at(world, due + timedelta(hours=hours, minutes=1))
    assert count(world, MGR_GROUP, NOT_DONE) == 4  # the first and the 3 repeats
    warnings = count(world, WANG, DELAY_WARNING)
    clock(world).set(due + timedelta(hours=7))
    await set_urgency(world, ticket_id, "normal")  # 48 h from the report
    ticket = await world.ticket(ticket_id)
    new_due = ticket.resolution_due_at
    assert new_due == ticket.created_at + timedelta(hours=48)
    assert ticket.next_sla_check_at is not None
    await at(world, new_due - timedelta(minutes=29))
    assert count(world, WANG, DELAY_WARNING) == warnings + 1
    for hours in (0, 2, 4, 6, 30):
        await at(world, new_due + timedelta(hours=hours, minutes=1))
    assert count(world, MGR_GROUP, NOT_DONE) == 8


async def test_urgency_change_keeps_the_time_spent_waiting_for_the_resident(
    world: World,
) -> None:
    await staffed(world)
    wang, li, ticket_id = await accepted(world)
    await li.press(f"tk:{ticket_id}:wt", await world.card_message(ticket_id, ENG_GROUP))
    paused = timedelta(hours=3)
    clock(world).set(clock(world).now() + paused)
    await wang.press(f"my:{ticket_id}:add")
    await wang.say("明天上午在家")
    await world.flush()
    assert (await world.ticket(ticket_id)).status == "in_progress"
    await set_urgency(world, ticket_id, "normal")
    ticket = await world.ticket(ticket_id)
    normal = sla_policy(world.app.settings).deadlines("repair", "normal", ticket.created_at)
    assert ticket.resolution_due_at == normal.resolution_due + paused
    assert ticket.response_due_at == normal.response_due


async def test_urgency_change_after_a_reopen_counts_from_the_reopen(world: World) -> None:
    await world.bind("service", SERVICE_GROUP)
    await staffed(world)
    wang, li, ticket_id = await accepted(world)
    clock(world).set(START + timedelta(days=2))
    await not_solved(world, wang, li, ticket_id)
    reopened = clock(world).now()
    await set_urgency(world, ticket_id, "normal")
    ticket = await world.ticket(ticket_id)
    normal = sla_policy(world.app.settings).deadlines("repair", "normal", reopened)
    assert (ticket.response_due_at, ticket.resolution_due_at) == (
        normal.response_due,
        normal.resolution_due,
    )
    await at(world, normal.response_due + timedelta(minutes=1))
    assert count(world, MGR_GROUP, NOT_ACCEPTED) == 1  # the reopened round's own escalation
