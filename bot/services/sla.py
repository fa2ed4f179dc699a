"""The SLA table: response and resolution times by category and urgency (TAXONOMY.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

URGENCIES: tuple[str, ...] = ("emergency", "high", "normal", "low")

DEFAULT_MINUTES: dict[str, tuple[int, int]] = {
    "emergency": (5, 2 * 60),
    "high": (30, 8 * 60),
    "normal": (2 * 60, 48 * 60),
    "low": (24 * 60, 5 * 24 * 60),
}


@dataclass(frozen=True)
class Deadlines:
    response_minutes: int
    resolution_minutes: int
    response_due: datetime
    resolution_due: datetime


class SlaPolicy:
    """Defaults from TAXONOMY.md; settings override by urgency or by `category.urgency`."""

    def __init__(self, overrides: dict[str, tuple[int, int]] | None = None) -> None:
        self._overrides = dict(overrides or {})

    def minutes(self, category: str, urgency: str) -> tuple[int, int]:
        for key in (f"{category}.{urgency}", urgency):
            if key in self._overrides:
                return self._overrides[key]
        return DEFAULT_MINUTES.get(urgency, DEFAULT_MINUTES["normal"])

    def deadlines(self, category: str, urgency: str, start: datetime) -> Deadlines:
        response, resolution = self.minutes(category, urgency)
        return Deadlines(
            response_minutes=response,
            resolution_minutes=resolution,
            response_due=start + timedelta(minutes=response),
            resolution_due=start + timedelta(minutes=resolution),
        )
