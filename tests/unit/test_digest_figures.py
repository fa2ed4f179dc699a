"""Digest figures against hand-computed values on a fixed dataset, on both databases.

The day under test is 2026-11-27 in Asia/Shanghai (UTC+8). Times below are local.

ticket  category   created   accepted  resolved  resp.due  resol.due  notes
T1      repair     27 09:00  27 09:10  27 11:00  27 09:30  27 17:00   met
T2      repair     27 10:00  27 10:40  27 12:00  27 10:30  27 18:00   accepted late: missed
T3      cleaning   27 11:00  27 11:05  27 16:00  27 12:00  27 15:00   resolved late: missed
T4      complaint  27 12:00  27 12:20  -         27 12:30  28 12:00   open, not overdue
T5      repair     27 22:00  -         -         27 22:30  28 06:00   open, overdue (response)
T6      repair     25 10:00  25 10:20  -         25 10:30  26 10:00   open, overdue, oldest
T7      inquiry    26 20:00  26 20:30  27 07:00  26 21:00  27 08:00   met
T8      cleaning   27 13:00  -         -         27 13:30  27 21:00   cancelled 27 14:00
T9      repair     26 09:00  26 09:15  -         26 09:30  27 10:00   missed, unresolved
T10     repair     27 15:00  27 15:30  28 09:00  27 15:30  28 10:00   open at the end
X1      repair     27 10:00  (another property: never counted)

By hand:
- new = T1 T2 T3 T4 T5 T8 T10 = 7; cancelled among them = T8 = 1
- resolved in the day = T1 T2 T3 T7 = 4; resolved among the new = T1 T2 T3 = 3
- open at 28 00:00 = T4 T5 T6 T9 T10 = 5; overdue = T5 (unaccepted past 22:30), T6, T9 = 3
- SLA due = resolved (T1 T2 T3 T7) + missed unresolved with deadline in the day (T9) = 5;
  met = T1 T7 = 2 → 40 %
- resolution rate = 3 / (7 - 1) = 50 %
- response (accepted in the day): T3 5, T1 10, T4 20, T10 30, T2 40 minutes; n = 5:
  median = rank ⌈2.5⌉ = 3rd = 20 min; P90 = rank ⌈4.5⌉ = 5th = 40 min
- resolution (resolved in the day): T1 120, T2 120, T3 300, T7 660 minutes; n = 4:
  median = rank 2 = 120 min; P90 = rank ⌈3.6⌉ = 4th = 660 min
- ratings answered in the day: 5 (T1), 2 (T2, visit done), 1 (T3, visit open), 4 (T7)
  → 4 ratings, average 3.0, 2 low, 2 with a visit, 1 done; T9's rating on the 26th and
  T10's unanswered request do not count
- survey: 4 and 5 on the 27th → 2 answers, 4.5; the 3 on the 26th does not count
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from bot.app import App
from bot.services.desk import Desk
from bot.services.digest import compute, day_period, digest_for, iso_week_of, so_far, stats_for
from storage.models import Property
from storage.uow import UnitOfWorkFactory
from tests.support.digest_data import DAY, NOW, TZ, seed


@pytest.fixture
def start_at() -> datetime:
    return NOW


@pytest.fixture
async def app(app: App) -> App:
    """The shared app with the hand-computed dataset."""
    await seed(app.uow_factory)
    return app


async def _property(uow_factory: UnitOfWorkFactory) -> Property:
    async with uow_factory() as uow:
        prop = await uow.properties.by_code("sunshine")
        assert prop is not None
        return prop


async def test_daily_figures_match_hand_computed(app: App) -> None:
    prop = await _property(app.uow_factory)
    async with app.uow_factory() as uow:
        d = await compute(uow.session, prop, day_period(DAY, TZ))
    assert (d.new, d.resolved, d.open, d.overdue, d.cancelled) == (7, 4, 5, 3, 1)
    assert (d.sla_met, d.sla_due, d.sla_compliance) == (2, 5, pytest.approx(0.4))
    assert (d.resolved_of_new, d.resolution_rate) == (3, pytest.approx(0.5))
    assert d.response_median == pytest.approx(20 * 60, abs=1)
    assert d.response_p90 == pytest.approx(40 * 60, abs=1)
    assert d.resolution_median == pytest.approx(120 * 60, abs=1)
    assert d.resolution_p90 == pytest.approx(660 * 60, abs=1)
    assert (d.rating_count, d.rating_average) == (4, pytest.approx(3.0))
    assert (d.low_ratings, d.low_with_visit, d.low_visit_done) == (2, 2, 1)
    assert (d.survey_count, d.survey_average) == (2, pytest.approx(4.5))
    assert d.by_category == (("repair", 4), ("cleaning", 2), ("complaint", 1))
    assert d.by_team == (("engineering", 4), ("environment", 2), ("service", 1))
    assert [o.number[-4:] for o in d.oldest_open] == ["0006", "0009", "0004"]
    # T6 was reported on the 25th at 10:00; the day ends on the 28th at 00:00.
    assert d.oldest_open[0].age == timedelta(days=2, hours=14)


async def test_a_day_without_tickets_has_no_rates(app: App) -> None:
    prop = await _property(app.uow_factory)
    async with app.uow_factory() as uow:
        d = await compute(uow.session, prop, day_period(date(2026, 11, 20), TZ))
    assert (d.new, d.resolved, d.open) == (0, 0, 0)
    assert d.sla_compliance is None and d.resolution_rate is None
    assert d.response_median is None and d.rating_average is None
    assert d.oldest_open == ()


async def test_chart_days_and_weekly_comparison(app: App) -> None:
    prop = await _property(app.uow_factory)
    async with app.uow_factory() as uow:
        d = await compute(uow.session, prop, day_period(DAY, TZ), chart=True)
        week = await digest_for(Desk(uow, app.settings, app.clock), prop, DAY, weekly=True)
    assert [x.day for x in d.days] == [DAY - timedelta(days=6 - i) for i in range(7)]
    assert d.days[-1].by_category == d.by_category
    assert d.days[-1].compliance == pytest.approx(0.4)
    # The 26th: only T6's resolution deadline fell due, unresolved → 0 %; the 25th: nothing due.
    assert d.days[-2].compliance == 0.0
    assert d.days[-3].compliance is None
    assert week.period.first_day == date(2026, 11, 23) and week.period.last_day == date(
        2026, 11, 29
    )
    assert week.previous is not None and week.previous.period.first_day == date(2026, 11, 16)
    # Every ticket of the dataset was reported in that ISO week (Monday 23rd to Sunday 29th).
    assert week.new == 10 and week.previous.new == 0


async def test_stats_so_far_periods(app: App) -> None:
    prop = await _property(app.uow_factory)
    async with app.uow_factory() as uow:
        desk = Desk(uow, app.settings, app.clock)
        today = await stats_for(desk, prop, "today")
        month = await stats_for(desk, prop, "month")
    assert today.period.kind == "today" and today.period.end == NOW
    assert today.period.first_day == date(2026, 11, 28)
    assert today.new == 0  # nothing was reported on the 28th before 08:30
    assert month.period.first_day == date(2026, 11, 1) and month.period.end == NOW
    assert month.new == 10
    week = so_far("week", NOW, TZ)
    assert week.first_day == iso_week_of(DAY, TZ).first_day and week.end == NOW
