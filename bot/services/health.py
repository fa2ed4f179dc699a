"""What /healthz reports: can the database be used, how much the outbox holds and since
when, when a message last went out, and which process leads (runs the outbox and sweeps)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.clock import Clock
from storage.uow import UnitOfWorkFactory


async def health_report(uow_factory: UnitOfWorkFactory, clock: Clock) -> dict[str, Any]:
    """Never raises: a database that cannot be used is reported, not thrown."""
    now = clock.now()
    try:
        async with uow_factory() as uow:
            backlog, oldest = await uow.outbox.backlog(now)
            last_sent = await uow.outbox.last_sent()
    except Exception as exc:  # any failure of the database is what this reports
        return {"database": {"reachable": False, "error": _first_line(exc)}}
    return {
        "database": {"reachable": True},
        "outbox": {
            "backlog": backlog,
            "oldest_age_seconds": _age(now, oldest),
        },
        "last_sent_at": last_sent.isoformat() if last_sent else None,
        "last_sent_age_seconds": _age(now, last_sent),
    }


def _age(now: datetime, moment: datetime | None) -> float | None:
    return None if moment is None else round(max((now - moment).total_seconds(), 0.0), 1)


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]
