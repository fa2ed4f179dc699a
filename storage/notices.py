"""Queries for announcements (通知): the notices, who they were queued to, and who turned
ordinary notices off. Like every repository, it never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import String, cast, delete, exists, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Notice,
    NoticeOptOut,
    NoticeRecipient,
    OutboxMessage,
    Resident,
    Ticket,
)


class NoticeRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, notice: Notice) -> Notice:
        self.session.add(notice)
        await self.session.flush()
        return notice

    async def get(self, notice_id: int) -> Notice | None:
        return await self.session.get(Notice, notice_id)

    async def move(self, notice_id: int, from_status: str, to_status: str) -> bool:
        """Change the status only if it still is `from_status`: of two, exactly one wins."""
        result = await self.session.execute(
            update(Notice)
            .where(Notice.id == notice_id, Notice.status == from_status)
            .values(status=to_status)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def due(
        self, status: str, now: datetime, limit: int, unreported: bool = False
    ) -> Sequence[int]:
        """Notices in `status` whose time came; `unreported`: only those whose delivery
        report is not sent yet (a stopped notice keeps its status once reported, and the
        reported ones would otherwise fill every batch)."""
        query = select(Notice.id).where(Notice.status == status, Notice.send_at <= now)
        if unreported:
            query = query.where(Notice.finished_at.is_(None))
        rows = await self.session.scalars(query.order_by(Notice.send_at, Notice.id).limit(limit))
        return rows.all()

    async def postpone(self, notice_id: int, now: datetime, until: datetime) -> None:
        """Look at a notice later (starting or reporting it failed), if still due."""
        await self.session.execute(
            update(Notice)
            .where(Notice.id == notice_id, Notice.send_at <= now)
            .values(send_at=until)
            .execution_options(synchronize_session=False)
        )

    async def recent(self, property_id: int | None, limit: int) -> Sequence[Notice]:
        """The latest announcements of a property (None: of every property)."""
        query = select(Notice).order_by(Notice.created_at.desc(), Notice.id.desc()).limit(limit)
        if property_id is not None:
            query = query.where(Notice.property_id == property_id)
        return (await self.session.scalars(query)).all()

    async def received_by(self, telegram_id: int, limit: int) -> Sequence[Notice]:
        """The notices whose copy to this resident was sent: one stopped before it, or
        refused, was queued but never received. The copy is found by its unique outbox key
        (`notice:<id>:<telegram id>`), one index look-up per notice."""
        key = literal("notice:") + cast(Notice.id, String) + literal(f":{telegram_id}")
        sent = exists().where(OutboxMessage.dedupe_key == key, OutboxMessage.status == "sent")
        query = (
            select(Notice)
            .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
            .where(NoticeRecipient.telegram_id == telegram_id, sent)
            .order_by(Notice.started_at.desc(), Notice.id.desc())
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    async def add_recipients(self, notice_id: int, telegram_ids: Sequence[int]) -> None:
        if not telegram_ids:
            return
        rows = [{"notice_id": notice_id, "telegram_id": t} for t in telegram_ids]
        await self.session.execute(insert(NoticeRecipient), rows)

    # who -------------------------------------------------------------------------------
    async def residents(
        self,
        property_id: int | None,
        building: str | None = None,
        unit: str | None = None,
        category: str | None = None,
        open_statuses: Sequence[str] = (),
    ) -> Sequence[Resident]:
        """Registered residents still reachable, narrowed to a property, building, unit,
        or to those with an open ticket in a category."""
        query = select(Resident).where(Resident.registered.is_(True), Resident.active.is_(True))
        if property_id is not None:
            query = query.where(Resident.property_id == property_id)
        if building is not None:
            query = query.where(Resident.building == building)
        if unit is not None:
            query = query.where(Resident.unit == unit)
        if category is not None:
            query = query.where(
                exists().where(
                    Ticket.resident_id == Resident.id,
                    Ticket.category == category,
                    Ticket.status.in_(open_statuses),
                )
            )
        return (await self.session.scalars(query.order_by(Resident.id))).all()

    async def opted_out(self) -> set[int]:
        return set((await self.session.scalars(select(NoticeOptOut.telegram_id))).all())

    async def is_opted_out(self, telegram_id: int) -> bool:
        return await self.session.get(NoticeOptOut, telegram_id) is not None

    async def opt_out(self, telegram_id: int, now: datetime) -> None:
        if await self.session.get(NoticeOptOut, telegram_id) is None:
            self.session.add(NoticeOptOut(telegram_id=telegram_id, at=now))
            await self.session.flush()

    async def opt_in(self, telegram_id: int) -> None:
        await self.session.execute(
            delete(NoticeOptOut).where(NoticeOptOut.telegram_id == telegram_id)
        )
