"""APScheduler wiring. The scheduler only decides *when* to look; what is due lives in our
tables (timers are data), so a restart, a second process or downtime changes no promise."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class JobSpec:
    id: str
    run: Job
    trigger: BaseTrigger


def every(seconds: float) -> IntervalTrigger:
    return IntervalTrigger(seconds=seconds)


class Scheduler:
    """An in-memory APScheduler; each job sweeps what is due in the database."""

    def __init__(self, jobs: Sequence[JobSpec], tz: ZoneInfo) -> None:
        self.jobs = list(jobs)
        self._scheduler = AsyncIOScheduler(
            timezone=tz,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        )

    def start(self) -> None:
        for spec in self.jobs:
            self._scheduler.add_job(_logged(spec), spec.trigger, id=spec.id, replace_existing=True)
        self._scheduler.start()

    async def run_all_once(self) -> None:
        """At start: catch up on whatever fell due while the bot was down, once."""
        for spec in self.jobs:
            await _logged(spec)()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)


def _logged(spec: JobSpec) -> Job:
    async def run() -> None:
        try:
            await spec.run()
        except Exception:  # one failing sweep must not stop the others
            log.exception("scheduled job %s failed", spec.id)

    return run
