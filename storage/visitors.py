"""Front-desk records: visitors (one row per visit, deleted after the keeping period) and
questions the FAQ left unanswered."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FaqGap, Visitor


class VisitorRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, visitor: Visitor) -> Visitor:
        self.session.add(visitor)
        await self.session.flush()
        return visitor

    async def get(self, visitor_id: int) -> Visitor | None:
        return await self.session.get(Visitor, visitor_id)

    async def by_code(self, property_id: int | None, code: str) -> Visitor | None:
        """The newest visit with this pass code (codes are reused only after purging)."""
        query = select(Visitor).where(Visitor.code == code)
        if property_id is not None:
            query = query.where(Visitor.property_id == property_id)
        return await self.session.scalar(query.order_by(Visitor.id.desc()).limit(1))

    async def code_in_use(self, code: str) -> bool:
        return await self.session.scalar(select(Visitor.id).where(Visitor.code == code)) is not None

    async def move(self, visitor_id: int, old: Sequence[str], values: dict[str, Any]) -> bool:
        """A conditional UPDATE: changes nothing when someone moved the visit first."""
        result = await self.session.execute(
            update(Visitor)
            .where(Visitor.id == visitor_id, Visitor.status.in_(old))
            .values(**values)
        )
        return bool(getattr(result, "rowcount", 0))

    async def unanswered(self, now: datetime, limit: int) -> list[int]:
        """Walk-ins whose host was asked and whose answer time is over
        (`ix_visitors_status_due`: the sweep reads what is due, not what is stored)."""
        query = (
            select(Visitor.id)
            .where(Visitor.status == "asking", Visitor.answer_due_at < now)
            .order_by(Visitor.answer_due_at, Visitor.id)
            .limit(limit)
        )
        return list((await self.session.scalars(query)).all())

    async def refresh(self, visitor: Visitor) -> None:
        await self.session.refresh(visitor)

    async def purge(self, before: datetime) -> int:
        result = await self.session.execute(delete(Visitor).where(Visitor.created_at < before))
        return int(getattr(result, "rowcount", 0) or 0)

    async def counts(self, property_id: int, start: datetime, end: datetime) -> dict[str, int]:
        """Visits registered in a period, by kind, and how many of them arrived."""
        query = (
            select(Visitor.kind, func.count(), func.count(Visitor.arrived_at))
            .where(
                Visitor.property_id == property_id,
                Visitor.created_at >= start,
                Visitor.created_at < end,
            )
            .group_by(Visitor.kind)
        )
        counts: dict[str, int] = {"arrived": 0}
        for kind, n, arrived in (await self.session.execute(query)).all():
            counts[str(kind)] = int(n)
            counts["arrived"] += int(arrived)
        return counts


class FaqGapRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, gap: FaqGap) -> None:
        self.session.add(gap)
        await self.session.flush()

    async def since(self, property_id: int | None, start: datetime) -> Sequence[FaqGap]:
        # a question blanked by /forgetme still counts, but has nothing to show
        query = select(FaqGap).where(FaqGap.at >= start, FaqGap.question != "")
        if property_id is not None:
            query = query.where(FaqGap.property_id == property_id)
        return (await self.session.scalars(query.order_by(FaqGap.at, FaqGap.id))).all()

    async def latest(
        self, property_id: int, start: datetime, end: datetime, limit: int
    ) -> Sequence[str]:
        query = (
            select(FaqGap.question)
            .where(
                FaqGap.property_id == property_id,
                FaqGap.at >= start,
                FaqGap.at < end,
                FaqGap.question != "",
            )
            .order_by(FaqGap.at.desc(), FaqGap.id.desc())
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    async def count(self, property_id: int, start: datetime, end: datetime) -> int:
        query = select(func.count(FaqGap.id)).where(
            FaqGap.property_id == property_id, FaqGap.at >= start, FaqGap.at < end
        )
        return int(await self.session.scalar(query) or 0)
