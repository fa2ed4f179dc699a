"""When digests are due, and sending each one exactly once.

At every tick, for each property, only the *latest* scheduled moment that has passed counts:
the daily digest for yesterday once `daily_at` has passed today (else the day before
yesterday's, which was due yesterday), and the weekly one on `weekly_weekday`. A run is
claimed in `scheduled_runs` (unique job and period) in the same transaction that queues the
message, so a restart, a second process or a repeated tick never sends it twice, and days
missed while the bot was down are not sent as a backlog: only the latest, marked late.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.config import Settings
from bot.services.desk import Desk
from bot.services.digest import Period, compute, day_period, week_period
from storage.models import Property
from storage.uow import UnitOfWorkFactory

if TYPE_CHECKING:
    from bot.services.notify import Notifier

log = logging.getLogger(__name__)

# Sent this long after its scheduled moment, a digest says it is late.
LATE_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class DueDigest:
    job: str
    period: Period
    scheduled_at: datetime


def _daily_at(settings: Settings) -> time:
    hours, minutes = settings.digest.daily_at.split(":")
    return time(int(hours), int(minutes))


def latest_daily(settings: Settings, now: datetime) -> tuple[date, datetime]:
    """The latest daily moment at or before `now`, and the day its digest covers."""
    tz = settings.tz
    local = now.astimezone(tz)
    moment = datetime.combine(local.date(), _daily_at(settings), tzinfo=tz)
    if moment > now:
        moment -= timedelta(days=1)
    return moment.date() - timedelta(days=1), moment


def latest_weekly(settings: Settings, now: datetime) -> tuple[date, datetime]:
    """The latest weekly moment at or before `now`, and the first day of the week it covers."""
    _, daily = latest_daily(settings, now)
    back = (daily.weekday() - settings.digest.weekly_weekday) % 7
    moment = daily - timedelta(days=back)
    return moment.date() - timedelta(days=7), moment


def due_digests(settings: Settings, prop: Property, now: datetime) -> list[DueDigest]:
    tz = settings.tz
    day, daily_moment = latest_daily(settings, now)
    first, weekly_moment = latest_weekly(settings, now)
    return [
        DueDigest(f"digest.daily.{prop.code}", day_period(day, tz), daily_moment),
        DueDigest(f"digest.weekly.{prop.code}", week_period(first, tz), weekly_moment),
    ]


async def digest_tick(
    uow_factory: UnitOfWorkFactory, settings: Settings, clock: Clock, notifier: Notifier
) -> list[str]:
    """Queue every digest that is due and not sent yet; returns their `job/period` keys.

    `scheduled_runs` is read first, for every property at once: a tick with nothing to
    send (nearly every catch-up tick) computes no figure and draws no chart.
    """
    now = clock.now()
    async with uow_factory() as uow:
        properties = list(await uow.properties.all())
        due = [(prop, d) for prop in properties for d in due_digests(settings, prop, now)]
        sent_before = await uow.runs.already_ran([(d.job, d.period.key) for _, d in due])
    sent: list[str] = []
    for prop, d in due:
        if (d.job, d.period.key) in sent_before:
            continue
        if await _send_once(uow_factory, settings, clock, notifier, prop, d):
            sent.append(f"{d.job}/{d.period.key}")
    return sent


async def _send_once(
    uow_factory: UnitOfWorkFactory,
    settings: Settings,
    clock: Clock,
    notifier: Notifier,
    prop: Property,
    due: DueDigest,
) -> bool:
    now = clock.now()
    late = now - due.scheduled_at > LATE_AFTER
    async with uow_factory() as uow:
        if await uow.runs.already_ran([(due.job, due.period.key)]):
            return False  # another process sent it since the tick looked
        managers = await uow.teams.get(prop.id, "managers")
        if managers is None or managers.chat_id is None:
            # No managers' group bound yet: leave the period unclaimed for a later tick.
            return False
        weekly = due.period.kind == "week"
        digest = await compute(
            uow.session, prop, due.period, chart=True, compare=weekly, settings=settings
        )
    # Drawing takes a while: no transaction (and no SQLite write lock) is held meanwhile.
    chart = await notifier.digest_chart(settings, digest)
    async with uow_factory() as uow:
        # The claim and the message commit together: a concurrent tick finds the row taken.
        if not await uow.runs.claim(due.job, due.period.key, now, late=late):
            return False
        desk = Desk(uow, settings, clock)
        queued = await notifier.digest(desk, digest, late=late, chart=chart)
        if not queued:
            log.info("digest %s/%s: not queued", due.job, due.period.key)
            return False
        await uow.commit()
    return True
