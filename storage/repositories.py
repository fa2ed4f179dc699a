"""Repositories: queries over one session. They never commit; the unit of work does."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Building,
    DialogState,
    OutboxMessage,
    ProcessedUpdate,
    Property,
    Resident,
    Ticket,
    TicketEvent,
    TicketSequence,
)


class _Repo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _insert(self, table: Any) -> Any:
        # ON CONFLICT is spelled the same on both, but each dialect has its own construct.
        dialect = self.session.bind.dialect.name if self.session.bind else "sqlite"
        return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


class PropertyRepo(_Repo):
    async def by_code(self, code: str) -> Property | None:
        return await self.session.scalar(select(Property).where(Property.code == code))

    async def get(self, property_id: int) -> Property | None:
        return await self.session.get(Property, property_id)

    async def all(self) -> Sequence[Property]:
        return (await self.session.scalars(select(Property).order_by(Property.id))).all()

    async def add(self, prop: Property) -> Property:
        self.session.add(prop)
        await self.session.flush()
        return prop

    async def buildings(self, property_id: int) -> Sequence[Building]:
        query = (
            select(Building)
            .where(Building.property_id == property_id)
            .order_by(Building.position, Building.id)
        )
        return (await self.session.scalars(query)).all()

    async def replace_buildings(self, property_id: int, buildings: list[Building]) -> None:
        for old in await self.buildings(property_id):
            await self.session.delete(old)
        await self.session.flush()
        for building in buildings:
            building.property_id = property_id
            self.session.add(building)
        await self.session.flush()


class ResidentRepo(_Repo):
    async def by_telegram_id(self, telegram_id: int) -> Resident | None:
        return await self.session.scalar(
            select(Resident).where(Resident.telegram_id == telegram_id)
        )

    async def get(self, resident_id: int) -> Resident | None:
        return await self.session.get(Resident, resident_id)

    async def add(self, resident: Resident) -> Resident:
        self.session.add(resident)
        await self.session.flush()
        return resident

    async def set_active(self, telegram_id: int, active: bool, now: datetime) -> int:
        result = await self.session.execute(
            update(Resident)
            .where(Resident.telegram_id == telegram_id, Resident.active.is_not(active))
            .values(active=active, updated_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class TicketRepo(_Repo):
    async def next_number(self, day: str) -> int:
        """Atomic per-day counter: one statement, so concurrent callers never share a number."""
        statement = self._insert(TicketSequence).values(day=day, last=1)
        statement = statement.on_conflict_do_update(
            index_elements=[TicketSequence.day], set_={"last": TicketSequence.last + 1}
        ).returning(TicketSequence.last)
        return int((await self.session.execute(statement)).scalar_one())

    async def add(self, ticket: Ticket) -> Ticket:
        self.session.add(ticket)
        await self.session.flush()
        return ticket

    async def get(self, ticket_id: int) -> Ticket | None:
        return await self.session.get(Ticket, ticket_id)

    async def by_number(self, number: str) -> Ticket | None:
        return await self.session.scalar(select(Ticket).where(Ticket.number == number))

    async def for_resident(self, resident_id: int, limit: int = 10) -> Sequence[Ticket]:
        query = (
            select(Ticket)
            .where(Ticket.resident_id == resident_id)
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    async def count_for_resident(self, resident_id: int) -> int:
        query = select(func.count()).select_from(Ticket).where(Ticket.resident_id == resident_id)
        return int(await self.session.scalar(query) or 0)

    async def add_event(self, event: TicketEvent) -> None:
        self.session.add(event)
        await self.session.flush()

    async def events(self, ticket_id: int) -> Sequence[TicketEvent]:
        query = (
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(TicketEvent.at, TicketEvent.id)
        )
        return (await self.session.scalars(query)).all()

    async def all(self) -> Sequence[Ticket]:
        return (await self.session.scalars(select(Ticket).order_by(Ticket.id))).all()


class DialogRepo(_Repo):
    async def get(self, chat_id: int, user_id: int) -> DialogState | None:
        return await self.session.get(DialogState, (chat_id, user_id))

    async def save(
        self, chat_id: int, user_id: int, flow: str, step: str, data: dict[str, Any], now: datetime
    ) -> None:
        state = await self.get(chat_id, user_id)
        if state is None:
            state = DialogState(chat_id=chat_id, user_id=user_id)
            self.session.add(state)
        state.flow, state.step, state.data, state.updated_at = flow, step, dict(data), now
        await self.session.flush()

    async def clear(self, chat_id: int, user_id: int) -> None:
        state = await self.get(chat_id, user_id)
        if state is not None:
            await self.session.delete(state)
            await self.session.flush()


class UpdateLog(_Repo):
    async def claim(self, update_id: int, now: datetime) -> bool:
        """Record an update id; False when it was already processed."""
        statement = (
            self._insert(ProcessedUpdate)
            .values(update_id=update_id, processed_at=now)
            .on_conflict_do_nothing(index_elements=[ProcessedUpdate.update_id])
            .returning(ProcessedUpdate.update_id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none() is not None


class OutboxRepo(_Repo):
    async def add(
        self, dedupe_key: str, chat_id: int, payload: dict[str, Any], now: datetime
    ) -> bool:
        """Queue a message once per dedupe key; False when the key was already queued."""
        statement = (
            self._insert(OutboxMessage)
            .values(
                dedupe_key=dedupe_key,
                chat_id=chat_id,
                payload=payload,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=[OutboxMessage.dedupe_key])
            .returning(OutboxMessage.id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none() is not None

    async def due(self, now: datetime, limit: int = 50) -> Sequence[OutboxMessage]:
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(query)).all()

    async def by_key(self, dedupe_key: str) -> OutboxMessage | None:
        query = select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)
        return await self.session.scalar(query)
