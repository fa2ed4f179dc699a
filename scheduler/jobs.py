"""Which sweep runs how often. Each job is a thin call into services; what is due lives
in the database, so these intervals only bound how late a due thing can be noticed."""

from __future__ import annotations

from typing import Protocol

from scheduler.runner import JobSpec, every

SLA_SECONDS = 30
RATING_SECONDS = 60
SURVEY_SECONDS = 300
PLAN_SECONDS = 60
CLOSE_SECONDS = 600
PRUNE_SECONDS = 3600
RETENTION_SECONDS = 3600
NOTICE_SECONDS = 30
VISITOR_ANSWER_SECONDS = 30
DANGER_SECONDS = 15  # an unanswered "anyone in danger?" pages at most this late


class PeriodicWork(Protocol):
    async def sla_sweep(self) -> int: ...

    async def rating_sweep(self) -> int: ...

    async def survey_tick(self) -> int: ...

    async def plan_tick(self) -> int: ...

    async def close_sweep(self) -> int: ...

    async def prune_updates(self) -> int: ...

    async def retention_sweep(self) -> int: ...

    async def visitor_purge(self) -> int: ...

    async def notice_sweep(self) -> int: ...

    async def visitor_answer_sweep(self) -> int: ...

    async def danger_sweep(self) -> int: ...


def core_jobs(work: PeriodicWork) -> list[JobSpec]:
    return [
        JobSpec("sla", work.sla_sweep, every(SLA_SECONDS)),
        JobSpec("ratings", work.rating_sweep, every(RATING_SECONDS)),
        JobSpec("survey", work.survey_tick, every(SURVEY_SECONDS)),
        JobSpec("plans", work.plan_tick, every(PLAN_SECONDS)),
        JobSpec("auto-close", work.close_sweep, every(CLOSE_SECONDS)),
        JobSpec("prune-updates", work.prune_updates, every(PRUNE_SECONDS)),
        JobSpec("retention", work.retention_sweep, every(RETENTION_SECONDS)),
        JobSpec("visitor-purge", work.visitor_purge, every(RETENTION_SECONDS)),
        JobSpec("notices", work.notice_sweep, every(NOTICE_SECONDS)),
        JobSpec("visitor-answers", work.visitor_answer_sweep, every(VISITOR_ANSWER_SECONDS)),
        JobSpec("danger", work.danger_sweep, every(DANGER_SECONDS)),
    ]
