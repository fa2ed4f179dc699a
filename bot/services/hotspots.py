"""Hot spots for service improvement (服务改进): what recurs within the last 30 days, so a
manager can look for the cause: the same building and unit with the same category three
times or more, tickets reopened more than once, residents who reported the same category
three times or more, and categories whose SLA misses grew week over week (thresholds and
rules in bot/domain/policy.py)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.policy import (
    HOTSPOT_REOPENS,
    HOTSPOT_SAME_PLACE,
    HOTSPOT_SAME_RESIDENT,
    hotspot_weeks,
    hotspot_window,
    sla_misses_grew,
)
from bot.services.desk import Desk, uow_of
from storage.reports import HotspotRepo, Recurrence, Reopened, Window

__all__ = ["Hotspots", "MissesGrew", "Recurrence", "Reopened", "hotspots_for", "hotspots_of"]


@dataclass(frozen=True)
class MissesGrew:
    """A category whose SLA misses grew: the latest week's missed tickets (numbers, in the
    order reported) against how many the week before had."""

    category: str
    numbers: tuple[str, ...]
    before: int


@dataclass(frozen=True)
class Hotspots:
    start: datetime
    end: datetime
    places: list[Recurrence]
    reopened: list[Reopened]
    residents: list[Recurrence]
    misses_grew: list[MissesGrew]

    @property
    def empty(self) -> bool:
        return not (self.places or self.reopened or self.residents or self.misses_grew)


async def hotspots_of(session: AsyncSession, property_id: int, now: datetime) -> Hotspots:
    """Hot spots as of `now`: the 30 days before it (the weekly digest passes its week's end)."""
    start, end = hotspot_window(now)
    w = Window(start, end, property_id)
    repo = HotspotRepo(session)
    return Hotspots(
        start=start,
        end=end,
        places=await repo.same_place(w, HOTSPOT_SAME_PLACE),
        reopened=await repo.reopened(w, HOTSPOT_REOPENS),
        residents=await repo.same_resident(w, HOTSPOT_SAME_RESIDENT),
        misses_grew=await misses_grew(repo, property_id, now),
    )


async def misses_grew(repo: HotspotRepo, property_id: int, now: datetime) -> list[MissesGrew]:
    """The categories whose SLA misses in the latest week outnumber the week before's."""
    (latest_start, latest_end), (before_start, before_end) = hotspot_weeks(now)
    latest: dict[str, list[str]] = defaultdict(list)
    for category, number in await repo.sla_misses(Window(latest_start, latest_end, property_id)):
        latest[category].append(number)
    before: dict[str, int] = defaultdict(int)
    for category, _ in await repo.sla_misses(Window(before_start, before_end, property_id)):
        before[category] += 1
    grew = [
        MissesGrew(category, tuple(numbers), before[category])
        for category, numbers in latest.items()
        if sla_misses_grew(len(numbers), before[category])
    ]
    return sorted(grew, key=lambda g: (-len(g.numbers), g.category))


async def hotspots_for(desk: Desk, property_id: int) -> Hotspots:
    return await hotspots_of(uow_of(desk).session, property_id, desk.now())
