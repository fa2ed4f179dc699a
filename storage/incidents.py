"""Queries for incidents (one outage, many reports). Like every repository, it never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Incident, Ticket

MEMBER_ROLE = "member"  # a report riding on its incident's lead (no card, no SLA of its own)
# A ticket that counts as a report of its incident (a split or cancelled one does not).
REPORTING_ROLES = ("lead", "member")
LIVE_STATUSES = ("new", "accepted", "in_progress", "waiting", "resolved", "closed")


class IncidentRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, incident: Incident) -> Incident:
        self.session.add(incident)
        await self.session.flush()
        return incident

    async def get(self, incident_id: int) -> Incident | None:
        return await self.session.get(Incident, incident_id)

    async def open_at(
        self, property_id: int, building: str, since: datetime, now: datetime
    ) -> Sequence[Incident]:
        """Open incidents of one place: unplanned ones reported since `since`, planned ones
        whose window holds `now`; newest first."""
        query = (
            select(Incident)
            .where(
                Incident.property_id == property_id,
                Incident.building == building,
                Incident.status == "open",
            )
            .order_by(Incident.last_report_at.desc(), Incident.id.desc())
        )
        found = (await self.session.scalars(query)).all()
        return [
            i
            for i in found
            if (
                (i.planned and i.starts_at is not None and i.ends_at is not None)
                and i.starts_at <= now < i.ends_at
            )
            or (not i.planned and i.last_report_at >= since)
        ]

    async def members(self, incident_id: int, roles: Sequence[str] = ("member",)) -> list[Ticket]:
        query = (
            select(Ticket)
            .where(Ticket.incident_id == incident_id, Ticket.incident_role.in_(roles))
            .order_by(Ticket.id)
        )
        return list((await self.session.scalars(query)).all())

    async def households(self, incident_id: int) -> int:
        """Distinct residents whose live report is part of the incident."""
        query = select(func.count(func.distinct(Ticket.resident_id))).where(
            Ticket.incident_id == incident_id,
            Ticket.incident_role.in_(REPORTING_ROLES),
            Ticket.status.in_(LIVE_STATUSES),
        )
        return int(await self.session.scalar(query) or 0)

    async def close(self, incident_id: int, now: datetime) -> bool:
        """Open → closed, once (a second close changes nothing)."""
        result = await self.session.execute(
            update(Incident)
            .where(Incident.id == incident_id, Incident.status == "open")
            .values(status="closed", closed_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def close_planned(self, notice_id: int, now: datetime) -> int:
        """The planned incident of a notice that was called off or stopped ends now (an
        incident that only recorded the notice it sent is left as it is)."""
        result = await self.session.execute(
            update(Incident)
            .where(
                Incident.notice_id == notice_id,
                Incident.planned.is_(True),
                Incident.status == "open",
            )
            .values(status="closed", closed_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def record_notice(self, incident_id: int, notice_id: int) -> bool:
        """The incident's notice to its building, recorded once: False when one is already
        (of two presses at once exactly one wins; PostgreSQL makes the second wait for the
        first's commit and then finds the notice there)."""
        result = await self.session.execute(
            update(Incident)
            .where(Incident.id == incident_id, Incident.notice_id.is_(None))
            .values(notice_id=notice_id)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def in_period(
        self, property_id: int, start: datetime, end: datetime
    ) -> list[tuple[int, int]]:
        """(incident id, households) of the unplanned incidents opened in [start, end).
        Two bounded reads: the period's incidents (`ix_incidents_property_opened`), then
        only their tickets (`ix_tickets_incident_id`), never the whole ticket table."""
        ids = (
            await self.session.scalars(
                select(Incident.id).where(
                    Incident.property_id == property_id,
                    Incident.opened_at >= start,
                    Incident.opened_at < end,
                    Incident.planned.is_(False),
                )
            )
        ).all()
        if not ids:
            return []
        query = (
            select(Ticket.incident_id, func.count(func.distinct(Ticket.resident_id)))
            .where(Ticket.incident_id.in_(ids), Ticket.incident_role.in_(REPORTING_ROLES))
            .group_by(Ticket.incident_id)
        )
        rows = (await self.session.execute(query)).all()
        return [(int(i or 0), int(n or 0)) for i, n in rows]
