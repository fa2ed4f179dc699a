"""Digest jobs: a cron at `digest.daily_at` property time, and a periodic catch-up that
also covers a start after downtime. Both call the same idempotent tick (one run per
period, claimed in `scheduled_runs`), so overlapping triggers never send twice."""

from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import Clock
from bot.config import Settings
from bot.services.digest_schedule import digest_tick
from bot.services.notify import Notifier
from scheduler.runner import JobSpec
from storage.uow import UnitOfWorkFactory

CATCH_UP_MINUTES = 30


def digest_jobs(
    uow_factory: UnitOfWorkFactory, settings: Settings, clock: Clock, notifier: Notifier
) -> list[JobSpec]:
    hours, minutes = (int(part) for part in settings.digest.daily_at.split(":"))

    async def tick() -> None:
        await digest_tick(uow_factory, settings, clock, notifier)

    return [
        JobSpec("digest", tick, CronTrigger(hour=hours, minute=minutes, timezone=settings.tz)),
        JobSpec("digest.catchup", tick, IntervalTrigger(minutes=CATCH_UP_MINUTES)),
    ]
