"""Many residents at once: registered and team groups bound straight in the database, so a
test can spend its time on the burst it is about rather than on 6 registration steps each."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from emulator import BotAPIEmulator, BotMessage, SimGroup, SimUser
from storage.models import ProcessedUpdate, Resident, Ticket, TicketCard
from storage.uow import UnitOfWorkFactory

SUBMIT = "✅ 确认提交"
# Clearly a repair (never unsure, never an emergency): the draft comes with a Submit button.
REPORT = "卫生间天花板一直在滴水,楼上好像漏了"
TEAMS_BOUND = ("engineering", "environment", "security", "finance", "service", "managers")


def registered_resident(
    property_id: int, telegram_id: int, index: int, prefix: str = "住户"
) -> Resident:
    """A resident who finished registration: 1栋1单元, room 100 + index."""
    now = datetime.now(UTC)
    return Resident(
        telegram_id=telegram_id,
        property_id=property_id,
        name=f"{prefix}{index}",
        phone=f"+86138{index:08d}",
        building="1栋",
        unit="1单元",
        room=f"{100 + index}",
        locale="zh-CN",
        registered=True,
        active=True,
        created_at=now,
        updated_at=now,
    )


async def seed_residents(
    uow_factory: UnitOfWorkFactory, emulator: BotAPIEmulator, count: int, prefix: str = "住户"
) -> list[SimUser]:
    people = [emulator.user(f"{prefix}{i}", language_code="zh-hans") for i in range(count)]
    async with uow_factory() as uow:
        prop = (await uow.properties.all())[0]
        for i, person in enumerate(people):
            await uow.residents.add(registered_resident(prop.id, person.id, i, prefix))
        await uow.commit()
    return people


async def bind_groups(uow_factory: UnitOfWorkFactory, emulator: BotAPIEmulator) -> list[SimGroup]:
    """Every team of the first property gets a group of its own, with the bot in it."""
    groups = []
    async with uow_factory() as uow:
        prop = (await uow.properties.all())[0]
        for code in TEAMS_BOUND:
            group = emulator.group(f"{code} team")
            team = await uow.teams.ensure(prop.id, code)
            team.chat_id = group.id
            groups.append(group)
        await uow.commit()
    return groups


def draft_of(emulator: BotAPIEmulator, person: SimUser) -> BotMessage | None:
    for message in reversed(emulator.bot_messages(person)):
        if SUBMIT in message.button_texts:
            return message
    return None


async def ticket_counts(uow_factory: UnitOfWorkFactory) -> dict[int, int]:
    """Resident's Telegram id -> how many tickets they have."""
    async with uow_factory() as uow:
        rows = await uow.session.execute(
            select(Resident.telegram_id, func.count(Ticket.id))
            .join(Ticket, Ticket.resident_id == Resident.id)
            .group_by(Resident.telegram_id)
        )
        return {int(telegram_id): int(count) for telegram_id, count in rows}


async def ticket_numbers(uow_factory: UnitOfWorkFactory) -> dict[int, list[str]]:
    async with uow_factory() as uow:
        rows = await uow.session.execute(
            select(Resident.telegram_id, Ticket.number).join(
                Ticket, Ticket.resident_id == Resident.id
            )
        )
        found: dict[int, list[str]] = {}
        for telegram_id, number in rows:
            found.setdefault(int(telegram_id), []).append(str(number))
        return found


async def cards_per_ticket(uow_factory: UnitOfWorkFactory) -> dict[str, int]:
    """Ticket number -> card rows written for it (the outbox sends each)."""
    async with uow_factory() as uow:
        rows = await uow.session.execute(
            select(Ticket.number, func.count(TicketCard.id))
            .outerjoin(TicketCard, TicketCard.ticket_id == Ticket.id)
            .group_by(Ticket.number)
        )
        return {str(number): int(count) for number, count in rows}


async def processed(uow_factory: UnitOfWorkFactory, update_ids: set[int]) -> set[int]:
    async with uow_factory() as uow:
        rows = await uow.session.scalars(
            select(ProcessedUpdate.update_id).where(ProcessedUpdate.update_id.in_(update_ids))
        )
        return set(rows)
