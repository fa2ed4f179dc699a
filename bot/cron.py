"""Crontab expressions as people write them (day of week 0 or 7 = Sunday, 1 = Monday).

APScheduler 3's `CronTrigger.from_crontab` passes the weekday field through to its own
numbering (0 = Monday), so "0 9 * * 1" would fire on Tuesdays; translate to names first.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def crontab_trigger(expression: str, tz: ZoneInfo | None = None) -> CronTrigger:
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields, got {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_weekday_names(weekday),
        timezone=tz,
    )


def _weekday_names(field: str) -> str:
    def name(match: re.Match[str]) -> str:
        number = int(match.group(0))
        if number > 7:
            raise ValueError(f"day of week {number} is out of range 0-7")
        return _DAYS[number]

    return re.sub(r"\d+", name, field)
