"""Staff and team performance over a period: the digest's figures (bot/services/digest.py,
README "Digests and figures") grouped by the team a ticket belongs to, or by the staff
member it is assigned to.

- **accepted**: tickets accepted in the period; **resolved**: resolved in the period.
- **response / resolution time**: median and P90 (nearest rank) of created → accepted over
  the tickets accepted in the period, created → resolved over those resolved in it.
- **SLA met share**: met ÷ due, as the digest's SLA compliance.
- **ratings**: answered in the period; low = 1-2 stars.
- **reopened**: tickets reopened (by their resident) in the period.
- **return visits done**: return visits (回访) on their tickets recorded in the period.

A ticket counts for the staff member holding it now (its assignee); tickets nobody accepted
count only for their team.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.desk import Desk, uow_of
from storage.reports import GroupFigures, PerformanceRepo, Window

__all__ = ["GroupFigures", "Performance", "performance_for", "performance_of"]


class Bounds(Protocol):
    """A period as UTC-comparable bounds (a digest Period, an export Span)."""

    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...


@dataclass(frozen=True)
class Performance:
    teams: list[GroupFigures]
    staff: list[GroupFigures]


async def performance_of(
    session: AsyncSession, window: Window, teams: tuple[str, ...] | None = None
) -> Performance:
    """Per team and per staff member; `teams` limits both to those teams (a lead's own)."""
    repo = PerformanceRepo(session)
    return Performance(
        teams=await repo.figures(window, "team", teams),
        staff=await repo.figures(window, "staff", teams),
    )


async def performance_for(
    desk: Desk, property_id: int, period: Bounds, teams: tuple[str, ...] | None = None
) -> Performance:
    window = Window(period.start, period.end, property_id)
    return await performance_of(uow_of(desk).session, window, teams)
