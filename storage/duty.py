"""Queries for duty (值班): marks set by hand and the private calls to the person on duty.
Like every repository, it never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DutyCallRow, DutyMark, Ticket


class DutyRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def marks(self, property_id: int, team: str, now: datetime) -> Sequence[DutyMark]:
        """The marks still counting for a team, oldest first (a later one wins)."""
        query = (
            select(DutyMark)
            .where(
                DutyMark.property_id == property_id,
                DutyMark.team == team,
                DutyMark.until > now,
            )
            .order_by(DutyMark.set_at, DutyMark.id)
        )
        return (await self.session.scalars(query)).all()

    async def end_marks(
        self, property_id: int, team: str, now: datetime, telegram_id: int | None = None
    ) -> None:
        """Marks of a team (or of one person in it) stop counting now."""
        statement = update(DutyMark).where(
            DutyMark.property_id == property_id, DutyMark.team == team, DutyMark.until > now
        )
        if telegram_id is not None:
            statement = statement.where(DutyMark.telegram_id == telegram_id)
        await self.session.execute(statement.values(until=now))

    async def marks_between(
        self, property_id: int, start: datetime, end: datetime
    ) -> Sequence[DutyMark]:
        """Every on-duty mark of a property that counted for part of a period."""
        query = (
            select(DutyMark)
            .where(
                DutyMark.property_id == property_id,
                DutyMark.on_duty.is_(True),
                DutyMark.until > start,
                DutyMark.set_at < end,
                DutyMark.until > DutyMark.set_at,  # not ended at once
            )
            .order_by(DutyMark.set_at, DutyMark.id)
        )
        return (await self.session.scalars(query)).all()

    async def add_mark(self, mark: DutyMark) -> None:
        self.session.add(mark)
        await self.session.flush()

    async def called(self, ticket_id: int, telegram_id: int, kind: str) -> bool:
        query = select(DutyCallRow.id).where(
            DutyCallRow.ticket_id == ticket_id,
            DutyCallRow.telegram_id == telegram_id,
            DutyCallRow.kind == kind,
        )
        return await self.session.scalar(query) is not None

    async def add_call(self, call: DutyCallRow) -> None:
        self.session.add(call)
        await self.session.flush()

    async def calls_for(self, ticket_id: int) -> Sequence[DutyCallRow]:
        query = select(DutyCallRow).where(DutyCallRow.ticket_id == ticket_id)
        return (await self.session.scalars(query.order_by(DutyCallRow.id))).all()

    async def calls_between(
        self, property_id: int, start: datetime, end: datetime
    ) -> Sequence[tuple[DutyCallRow, Ticket]]:
        """Every private call of a period with its ticket (bounded by the property-time index);
        the tickets are read only when there were calls, so a quiet period costs one query."""
        query = (
            select(DutyCallRow)
            .where(
                DutyCallRow.property_id == property_id,
                DutyCallRow.at >= start,
                DutyCallRow.at < end,
            )
            .order_by(DutyCallRow.at, DutyCallRow.id)
        )
        calls = (await self.session.scalars(query)).all()
        if not calls:
            return []
        ids = sorted({call.ticket_id for call in calls})
        tickets = {
            t.id: t for t in (await self.session.scalars(select(Ticket).where(Ticket.id.in_(ids))))
        }
        return [(call, tickets[call.ticket_id]) for call in calls if call.ticket_id in tickets]
