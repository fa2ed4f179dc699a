"""Front-desk records: visitors (one row per visit, deleted after the keeping period),
questions the FAQ left unanswered, and FAQ entries staff drafted for managers to approve."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FaqDraft, FaqGap, Property, Visitor


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


class FaqDraftRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, draft: FaqDraft) -> FaqDraft:
        self.session.add(draft)
        await self.session.flush()
        return draft

    async def get(self, draft_id: int) -> FaqDraft | None:
        return await self.session.get(FaqDraft, draft_id)

    async def for_ticket(self, ticket_id: int) -> FaqDraft | None:
        return await self.session.scalar(select(FaqDraft).where(FaqDraft.ticket_id == ticket_id))

    async def move(
        self, draft_id: int, old: str, values: dict[str, Any], author_id: int | None = None
    ) -> bool:
        """A conditional UPDATE: nothing changes when the draft moved on meanwhile (a second
        approval, a second press) or, with `author_id`, when it is someone else's."""
        query = update(FaqDraft).where(FaqDraft.id == draft_id, FaqDraft.status == old)
        if author_id is not None:
            query = query.where(FaqDraft.author_id == author_id)
        result = await self.session.execute(query.values(**values))
        return bool(getattr(result, "rowcount", 0))

    async def delete_writing(self, draft_id: int, author_id: int) -> None:
        await self.session.execute(
            delete(FaqDraft).where(
                FaqDraft.id == draft_id,
                FaqDraft.author_id == author_id,
                FaqDraft.status == "writing",
            )
        )

    async def refresh(self, draft: FaqDraft) -> None:
        await self.session.refresh(draft)

    async def with_status(self, status: str, property_id: int | None) -> Sequence[FaqDraft]:
        query = select(FaqDraft).where(FaqDraft.status == status)
        if property_id is not None:
            query = query.where(FaqDraft.property_id == property_id)
        return (await self.session.scalars(query.order_by(FaqDraft.id))).all()

    async def approved_ids(self) -> list[int]:
        query = select(FaqDraft.id).where(FaqDraft.status == "approved").order_by(FaqDraft.id)
        return list((await self.session.scalars(query)).all())

    async def approved_with_codes(self) -> list[tuple[FaqDraft, str]]:
        """Approved drafts with their property's code (an FAQ entry names its property)."""
        query = (
            select(FaqDraft, Property.code)
            .join(Property, Property.id == FaqDraft.property_id)
            .where(FaqDraft.status == "approved")
            .order_by(FaqDraft.id)
        )
        return [(draft, str(code)) for draft, code in (await self.session.execute(query)).all()]
