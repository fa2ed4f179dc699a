"""Two workers on one PostgreSQL database, each with its own engine (as two processes have),
take 200 residents' reports at once, every person's updates split between them (the draft
at one worker, the Submit press at the other, as a load balancer in front of webhook workers
would spread them): every report gives exactly one ticket with a number of its own and
exactly one card row.

(Two polling processes cannot share a token, and webhook mode is not part of this branch:
the updates are fed to the two workers' dialog engines directly. The leader's part, one
sender and one sweeper at a time, is tests/e2e/test_two_processes.py.)"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.config import Settings
from bot.i18n import translate
from storage.db import is_sqlite
from storage.models import OutboxMessage, Resident, Ticket, TicketCard
from storage.uow import UnitOfWorkFactory
from tests.support.apps import AppFactory
from tests.support.crowd import registered_resident
from tests.support.people import Person

REPORTS = 200
GROUPS = {"engineering": -7001, "environment": -7002, "security": -7003, "finance": -7004}
SUBMIT = "确认提交"
BUSY = translate("zh-CN", "common.busy")
BUSY_BUTTON = translate("zh-CN", "common.busy_button")
FIRST_ID = 5_000_000


async def seed(uow_factory: UnitOfWorkFactory, count: int) -> list[int]:
    async with uow_factory() as uow:
        prop = (await uow.properties.all())[0]
        for code, chat_id in GROUPS.items():
            team = await uow.teams.ensure(prop.id, code)
            team.chat_id = chat_id
        for i in range(count):
            await uow.residents.add(registered_resident(prop.id, FIRST_ID + i, i))
        await uow.commit()
    return [FIRST_ID + i for i in range(count)]


async def report_across(person: Person, workers: list[App], index: int) -> None:
    """The draft at one worker, the Submit press at the other; "busy" means: again."""
    person.dialog = workers[index % 2].dialog
    for _ in range(10):
        replies = await person.say(f"卫生间天花板一直在滴水(第{index}户)")
        if all(BUSY not in out.text for out in replies):
            break
    button = person.button(SUBMIT)
    person.dialog = workers[(index + 1) % 2].dialog
    for _ in range(10):
        await person.press(button)
        if not person.answers or person.answers[-1].text != BUSY_BUTTON:
            return


@pytest.mark.postgres
async def test_200_reports_over_two_workers_give_one_ticket_and_one_card_each(
    settings: Settings, app_factory: AppFactory
) -> None:
    if is_sqlite(settings.database_url):
        pytest.skip("several workers share PostgreSQL only")
    first = await app_factory(settings, None)
    second = await app_factory(settings, None)  # an engine, a pool and a dialog of its own
    ids = await seed(first.uow_factory, REPORTS)
    people = [Person(first.dialog, user_id) for user_id in ids]
    await asyncio.gather(
        *(report_across(person, [first, second], i) for i, person in enumerate(people))
    )
    async with first.uow_factory() as uow:
        per_person = Counter(
            dict(
                (
                    await uow.session.execute(
                        select(Resident.telegram_id, func.count(Ticket.id))
                        .join(Ticket, Ticket.resident_id == Resident.id)
                        .group_by(Resident.telegram_id)
                    )
                ).all()
            )
        )
        numbers = (await uow.session.scalars(select(Ticket.number))).all()
        cards = Counter((await uow.session.scalars(select(TicketCard.ticket_id))).all())
        card_rows = (
            await uow.session.scalars(
                select(OutboxMessage.payload).where(OutboxMessage.chat_id.in_(GROUPS.values()))
            )
        ).all()
    assert per_person == Counter({user_id: 1 for user_id in ids})
    assert len(numbers) == REPORTS == len(set(numbers))  # numbered once each, no clash
    assert len(cards) == REPORTS and set(cards.values()) == {1}
    posted = Counter(n for payload in card_rows for n in numbers if n in payload.get("text", ""))
    assert posted == Counter({n: 1 for n in numbers})  # one card message queued per ticket
