"""The SLA table: response and resolution times by category and urgency (docs/taxonomy.md).

Emergencies always run on the wall clock; other urgencies may count only business hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.policy import DEFAULT_SLA_MINUTES, counts_business_hours_only
from bot.domain.vocabulary import URGENCIES

__all__ = ["URGENCIES", "Deadlines", "SlaPolicy", "WorkingHours"]


DEFAULT_MINUTES = DEFAULT_SLA_MINUTES


@dataclass(frozen=True)
class Deadlines:
    response_minutes: int
    resolution_minutes: int
    response_due: datetime
    resolution_due: datetime


@dataclass(frozen=True)
class WorkingHours:
    """Property-local opening hours on the given weekdays (0 = Monday)."""

    start: time
    end: time
    weekdays: frozenset[int]
    tz: ZoneInfo

    def add(self, moment: datetime, minutes: int) -> datetime:
        """`moment` plus `minutes` of working time."""
        remaining = timedelta(minutes=minutes)
        local = moment.astimezone(self.tz)
        for _ in range(3660):  # ten years of days: a bound, never reached in practice
            opening, closing = self._window(local)
            if local < opening:
                local = opening
            if local < closing and local.weekday() in self.weekdays:
                available = closing - local
                if remaining <= available:
                    return (local + remaining).astimezone(moment.tzinfo)
                remaining -= available
            local = self._next_day(local)
        raise ValueError("working hours never open")

    def _window(self, local: datetime) -> tuple[datetime, datetime]:
        day = local.date()
        opening = datetime.combine(day, self.start, self.tz)
        closing = datetime.combine(day, self.end, self.tz)
        return opening, closing

    def _next_day(self, local: datetime) -> datetime:
        return datetime.combine(local.date() + timedelta(days=1), self.start, self.tz)


class SlaPolicy:
    """Defaults from docs/taxonomy.md; settings override by urgency or by `category.urgency`."""

    def __init__(
        self,
        overrides: dict[str, tuple[int, int]] | None = None,
        working_hours: WorkingHours | None = None,
    ) -> None:
        self._overrides = dict(overrides or {})
        self._hours = working_hours

    def minutes(self, category: str, urgency: str) -> tuple[int, int]:
        for key in (f"{category}.{urgency}", urgency):
            if key in self._overrides:
                return self._overrides[key]
        return DEFAULT_MINUTES.get(urgency, DEFAULT_MINUTES["normal"])

    def add(self, urgency: str, start: datetime, minutes: int) -> datetime:
        if self._hours is None or not counts_business_hours_only(urgency, True):
            return start + timedelta(minutes=minutes)
        return self._hours.add(start, minutes)

    def deadlines(self, category: str, urgency: str, start: datetime) -> Deadlines:
        response, resolution = self.minutes(category, urgency)
        return Deadlines(
            response_minutes=response,
            resolution_minutes=resolution,
            response_due=self.add(urgency, start, response),
            resolution_due=self.add(urgency, start, resolution),
        )
