"""Service figures for a property and a period, computed with SQL aggregates.

Definitions (README "Digests and figures" says the same):

- **new**: tickets reported in the period (cancelled ones included).
- **resolved**: tickets whose `resolved_at` falls in the period (whenever they were reported).
- **open**: tickets reported before the period's end, not resolved by then and not cancelled
  by then. **overdue**: open ones past a deadline at the period's end: the resolution
  deadline, or the response deadline while still not accepted.
- **response time**: created → accepted, for tickets accepted in the period;
  **resolution time**: created → resolved, for tickets resolved in the period. Median and P90
  use the nearest-rank method (the ⌈p·n⌉-th smallest value; the median of 4 is the 2nd).
- **SLA compliance**: met ÷ due. *Due* are the tickets whose outcome was decided in the period:
  resolved in it, or whose resolution deadline passed in it while unresolved at its end.
  *Met* are those resolved in the period no later than both their response deadline (accepted
  in time) and their resolution deadline. None when nothing was due.
- **resolution rate**: of the tickets reported in the period and not cancelled, the share
  resolved by the period's end. None when there were none.
- **ratings**: answered in the period; low = 1-2 stars; of the low ones, how many have a
  return visit (回访) and how many of those have their outcome recorded.
- **by category / by team / by channel**: tickets reported in the period; the channel says
  how each arrived (the resident's Telegram, registered by the front desk by phone, walk-in,
  email or otherwise, or found by staff on patrol).
- **visitors**: visits registered in the period (announced by residents, walk-ins met by a
  guard) and how many of them arrived.
- **FAQ gaps**: questions the FAQ did not answer, or whose answer the resident rejected,
  in the period (weekly digests list the latest five).
- **on duty**: per person on duty, the emergencies whose card reached them privately in the
  period (outside business hours), how many were accepted within the response time, how many
  they hold, and how many are resolved.
- **oldest open**: the tickets open at the period's end that were reported first, with
  their age at that moment.

Weekly digests carry the previous week's figures (`previous`) for week-over-week changes,
a line per team (bot/services/performance.py, the same definitions grouped by team) and the
hot spots as of the week's end (bot/services/hotspots.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.domain.vocabulary import VisitorKind
from bot.services.desk import Desk, uow_of
from bot.services.duty import DutyCallFigures, duty_figures, duty_roster
from bot.services.hotspots import Hotspots, hotspots_of
from storage.duty import DutyRepo
from storage.incidents import IncidentRepo
from storage.models import Property
from storage.reports import FeedbackRepo, GroupFigures, PerformanceRepo, ReportRepo, Window
from storage.visitors import FaqGapRepo, VisitorRepo

PeriodKind = Literal["day", "week", "month", "today"]
CHART_DAYS = 7
OLDEST_LIMIT = 3
FAQ_GAP_LIMIT = 5


@dataclass(frozen=True)
class Period:
    """A property-local span of time, as UTC bounds `[start, end)`."""

    kind: PeriodKind
    first_day: date
    last_day: date  # inclusive
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        """Identifies the period in `scheduled_runs` (never longer than 32 characters)."""
        if self.kind == "day":
            return self.first_day.isoformat()
        return f"{self.first_day.isoformat()}..{self.last_day.isoformat()}"

    def window(self, property_id: int | None) -> Window:
        return Window(self.start, self.end, property_id)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def day_period(day: date, tz: ZoneInfo) -> Period:
    return Period("day", day, day, _midnight(day, tz), _midnight(day + timedelta(days=1), tz))


def week_period(first_day: date, tz: ZoneInfo) -> Period:
    """Seven days from `first_day` (a Monday gives the ISO week)."""
    last = first_day + timedelta(days=6)
    return Period(
        "week", first_day, last, _midnight(first_day, tz), _midnight(last + timedelta(days=1), tz)
    )


def iso_week_of(day: date, tz: ZoneInfo) -> Period:
    return week_period(day - timedelta(days=day.weekday()), tz)


def month_period(day: date, tz: ZoneInfo) -> Period:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(
        "month",
        first,
        following - timedelta(days=1),
        _midnight(first, tz),
        _midnight(following, tz),
    )


def so_far(kind: str, now: datetime, tz: ZoneInfo) -> Period:
    """`/stats`: today, this ISO week or this month, up to now."""
    today = now.astimezone(tz).date()
    full = {"week": iso_week_of, "month": month_period}.get(kind, day_period)(today, tz)
    label: PeriodKind = "today" if kind not in ("week", "month") else full.kind
    return Period(label, full.first_day, today, full.start, now)


@dataclass(frozen=True)
class OldTicket:
    number: str
    description: str
    age: timedelta


@dataclass(frozen=True)
class DayFigures:
    """One day of the chart: tickets reported per category, and SLA compliance."""

    day: date
    by_category: tuple[tuple[str, int], ...]
    compliance: float | None


@dataclass(frozen=True)
class Digest:
    property_code: str
    property_name: str
    period: Period
    new: int
    resolved: int
    open: int
    overdue: int
    cancelled: int
    sla_met: int
    sla_due: int
    resolved_of_new: int
    response_median: float | None  # seconds
    response_p90: float | None
    resolution_median: float | None
    resolution_p90: float | None
    rating_count: int
    rating_average: float | None
    low_ratings: int
    low_with_visit: int
    low_visit_done: int
    survey_count: int
    survey_average: float | None
    by_category: tuple[tuple[str, int], ...]
    by_team: tuple[tuple[str, int], ...]
    oldest_open: tuple[OldTicket, ...]
    # the people on duty called privately about emergencies in the period, and how it went
    duty: tuple[DutyCallFigures, ...] = ()
    # who was on duty in the period, per team (rota and marks; empty without settings)
    on_duty: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # How the period's tickets arrived (`vocabulary.Channel`): Telegram, the front desk, patrol.
    by_channel: tuple[tuple[str, int], ...] = ()
    # Visitors registered in the period: announced by residents, walk-ins, and arrivals.
    visitors_expected: int = 0
    visitors_walk_in: int = 0
    visitors_arrived: int = 0
    # Questions the FAQ did not answer or whose answer was rejected (weekly digests list some).
    faq_gaps: int = 0
    faq_gap_questions: tuple[str, ...] = ()
    # Incidents opened in the period (one outage, many reports) and the households they touched.
    incidents: int = 0
    incident_households: int = 0
    days: tuple[DayFigures, ...] = ()  # the chart: the last 7 days up to the period's end
    previous: Digest | None = field(default=None, repr=False)  # weekly: the week before
    teams: tuple[GroupFigures, ...] = ()  # weekly: each team's performance in the period
    hotspots: Hotspots | None = None  # weekly: what recurs, as of the period's end

    @property
    def sla_compliance(self) -> float | None:
        return self.sla_met / self.sla_due if self.sla_due else None

    @property
    def resolution_rate(self) -> float | None:
        base = self.new - self.cancelled
        return self.resolved_of_new / base if base > 0 else None


async def compute(
    session: AsyncSession,
    prop: Property,
    period: Period,
    *,
    chart: bool = False,
    compare: bool = False,
    settings: Settings | None = None,
) -> Digest:
    """Every figure of `period` for `prop`; `chart` adds 7 days; `compare` (the weekly
    digest) adds the prior period, a line per team and the hot spots; `settings` who was
    on duty (the rotas are settings)."""
    reports, feedback = ReportRepo(session), FeedbackRepo(session)
    w = period.window(prop.id)
    counts = await reports.counts(w)
    response = await reports.percentiles(w, "response")
    resolution = await reports.percentiles(w, "resolution")
    ratings = await feedback.ratings(w)
    survey = await feedback.survey(w)
    oldest = await reports.oldest_open(w, OLDEST_LIMIT)
    team_channel = await reports.by_two_columns(w, "team", "channel")
    visits = await VisitorRepo(session).counts(prop.id, period.start, period.end)
    gaps = FaqGapRepo(session)
    gap_count = await gaps.count(prop.id, period.start, period.end)
    gap_questions = await gaps.latest(prop.id, period.start, period.end, FAQ_GAP_LIMIT)
    # Only incidents several households reported: a lone report is just a ticket.
    shared = [n for _, n in await IncidentRepo(session).in_period(prop.id, w.start, w.end) if n > 1]
    digest = Digest(
        property_code=prop.code,
        property_name=prop.name,
        period=period,
        new=counts.new,
        resolved=counts.resolved,
        open=counts.open_at_end,
        overdue=counts.overdue_at_end,
        cancelled=counts.cancelled_of_new,
        sla_met=counts.sla_met,
        sla_due=counts.sla_due,
        resolved_of_new=counts.resolved_of_new,
        response_median=response[0],
        response_p90=response[1],
        resolution_median=resolution[0],
        resolution_p90=resolution[1],
        rating_count=ratings.count,
        rating_average=ratings.average,
        low_ratings=ratings.low,
        low_with_visit=ratings.low_with_visit,
        low_visit_done=ratings.low_visit_done,
        survey_count=survey.count,
        survey_average=survey.average,
        by_category=tuple(await reports.by_column(w, "category")),
        by_team=_totals(team_channel, 0),
        by_channel=_totals(team_channel, 1),
        visitors_expected=visits.get(VisitorKind.EXPECTED, 0),
        visitors_walk_in=visits.get(VisitorKind.WALK_IN, 0),
        visitors_arrived=visits["arrived"],
        faq_gaps=gap_count,
        faq_gap_questions=tuple(gap_questions),
        incidents=len(shared),
        incident_households=sum(shared),
        oldest_open=tuple(
            OldTicket(t.number, t.description, period.end - t.created_at) for t in oldest
        ),
        duty=tuple(duty_figures(await DutyRepo(session).calls_between(prop.id, w.start, w.end))),
    )
    if settings is not None:
        roster = await duty_roster(session, settings, prop, w.start, w.end)
        digest = replace(digest, on_duty=roster)
    if chart:
        digest = replace(digest, days=await chart_days(session, prop, period))
    if compare:
        before = _previous(period)
        digest = replace(
            digest,
            previous=await compute(session, prop, before),
            teams=tuple(await PerformanceRepo(session).figures(w, "team")),
            hotspots=await hotspots_of(session, prop.id, period.end),
        )
    return digest


def _totals(rows: list[tuple[str, str, int]], side: int) -> tuple[tuple[str, int], ...]:
    """One breakdown of a two-column count, most first (as `by_column` orders)."""
    totals: dict[str, int] = {}
    for first, second, count in rows:
        key = second if side else first
        totals[key] = totals.get(key, 0) + count
    return tuple(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))


async def chart_days(
    session: AsyncSession, prop: Property, period: Period
) -> tuple[DayFigures, ...]:
    """The last seven property-local days ending with the period's last day."""
    reports = ReportRepo(session)
    tz = period.start.tzinfo
    assert isinstance(tz, ZoneInfo)
    days = []
    for offset in range(CHART_DAYS - 1, -1, -1):
        day = day_period(period.last_day - timedelta(days=offset), tz)
        # "today so far" must not count the rest of today.
        w = Window(day.start, min(day.end, period.end), prop.id)
        counts = await reports.counts(w)
        compliance = counts.sla_met / counts.sla_due if counts.sla_due else None
        by_category = tuple(await reports.by_column(w, "category"))
        days.append(DayFigures(day.first_day, by_category, compliance))
    return tuple(days)


def _previous(period: Period) -> Period:
    tz = period.start.tzinfo
    assert isinstance(tz, ZoneInfo)
    if period.kind == "week":
        return week_period(period.first_day - timedelta(days=7), tz)
    if period.kind == "month":
        return month_period(period.first_day - timedelta(days=1), tz)
    return day_period(period.first_day - timedelta(days=1), tz)


def _session(desk: Desk) -> AsyncSession:
    return uow_of(desk).session


async def stats_for(desk: Desk, prop: Property, kind: str) -> Digest:
    """`/stats`: today, this week or this month so far."""
    period = so_far(kind, desk.now(), desk.settings.tz)
    return await compute(_session(desk), prop, period, settings=desk.settings)


async def digest_for(desk: Desk, prop: Property, day: date, *, weekly: bool = False) -> Digest:
    """The daily digest of a property-local day, or the ISO week containing it."""
    tz = desk.settings.tz
    if weekly:
        week = iso_week_of(day, tz)
        return await compute(_session(desk), prop, week, compare=True, settings=desk.settings)
    return await compute(_session(desk), prop, day_period(day, tz), settings=desk.settings)
