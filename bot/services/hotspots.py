"""Hot spots for service improvement (服务改进): what recurs within the last 30 days, so a
manager can look for the cause: the same building and unit with the same category three
times or more, tickets reopened more than once, and residents who reported the same
category three times or more (thresholds in bot/domain/policy.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.policy import (
    HOTSPOT_REOPENS,
    HOTSPOT_SAME_PLACE,
    HOTSPOT_SAME_RESIDENT,
    hotspot_window,
)
from bot.services.desk import Desk, uow_of
from storage.reports import HotspotRepo, Recurrence, Reopened, Window

__all__ = ["Hotspots", "Recurrence", "Reopened", "hotspots_for", "hotspots_of"]


@dataclass(frozen=True)
class Hotspots:
    start: datetime
    end: datetime
    places: list[Recurrence]
    reopened: list[Reopened]
    residents: list[Recurrence]

    @property
    def empty(self) -> bool:
        return not (self.places or self.reopened or self.residents)


async def hotspots_of(session: AsyncSession, property_id: int, now: datetime) -> Hotspots:
    start, end = hotspot_window(now)
    w = Window(start, end, property_id)
    repo = HotspotRepo(session)
    return Hotspots(
        start=start,
        end=end,
        places=await repo.same_place(w, HOTSPOT_SAME_PLACE),
        reopened=await repo.reopened(w, HOTSPOT_REOPENS),
        residents=await repo.same_resident(w, HOTSPOT_SAME_RESIDENT),
    )


async def hotspots_for(desk: Desk, property_id: int) -> Hotspots:
    return await hotspots_of(uow_of(desk).session, property_id, desk.now())
