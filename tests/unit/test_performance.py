"""Staff and team performance against hand-computed values, on both databases.

The digest's dataset (tests/unit/test_digest_figures.py; local times, the 27th) with
assignees: 李 (101) holds T1 T2 T6 T9, 王 (104) T10, 张 (102) T3, 陈 (103) T4 T7; T5 and T8
have nobody. T2 was reopened on the 27th at 13:00, T1 on the 28th (outside the day). The
other property's ticket is assigned to 李 too and never counts.

By hand, for the 27th (the digest's definitions, grouped):

engineering (T1 T2 T5 T6 T9 T10)
- accepted T1 09:10, T2 10:40, T10 15:30 = 3; resolved T1, T2 = 2
- response 10, 30, 40 min: median rank ⌈1.5⌉ = 2nd = 30; P90 rank ⌈2.7⌉ = 3rd = 40
- resolution 120, 120: median 120, P90 rank ⌈1.8⌉ = 2nd = 120
- SLA due: T1 T2 (resolved) + T9 (due 10:00, unresolved) = 3; met T1 = 1
- ratings: T1 5, T2 2 → 2, average 3.5, 1 low; reopened T2 = 1; visit done T2 = 1
environment (T3 T8): accepted 1, resolved 1, response 5, resolution 300, SLA 0/1 (T3 late;
  T8 cancelled before the deadline), ratings 1 (1 star, low), no visit done
service (T4 T7): accepted T4 = 1, resolved T7 = 1, response 20, resolution 660, SLA 1/1, ratings
  1 (4 stars)
李: T1 T2 (and T6 T9): accepted 2, resolved 2, response 10, 40 → median 10, P90 40; resolution
  120/120; SLA 1/3; ratings 2, 3.5, 1 low; reopened 1; visits 1
王: T10: accepted 1, resolved 0, response 30/30, no resolution, SLA none due, no ratings
"""

from __future__ import annotations

from datetime import date

import pytest

from bot.app import App
from bot.domain.policy import Actor, may_read_performance, performance_teams
from bot.handlers.digests import digest_text, performance_text, plain_text
from bot.i18n import Translator
from bot.services.desk import Desk
from bot.services.digest import compute, day_period, digest_for
from bot.services.export import days_span
from bot.services.hotspots import hotspots_of
from bot.services.performance import Performance, performance_of
from storage.reports import GroupFigures
from tests.support.digest_data import DAY, TZ, WANG, staff_the_dataset


@pytest.fixture
async def app(digest_app: App) -> App:
    """The digest dataset with its staff: assignees, the staff list and two reopenings."""
    await staff_the_dataset(digest_app.uow_factory)
    return digest_app


def _figures(g: GroupFigures) -> tuple[object, ...]:
    minutes = [
        None if v is None else round(v / 60)
        for v in (g.response_median, g.response_p90, g.resolution_median, g.resolution_p90)
    ]
    return (
        g.accepted,
        g.resolved,
        *minutes,
        g.sla_met,
        g.sla_due,
        g.rating_count,
        g.rating_average,
        g.low_ratings,
        g.reopened,
        g.visits_done,
    )


async def _performance(app: App, teams: tuple[str, ...] | None = None):  # type: ignore[no-untyped-def]
    async with app.uow_factory() as uow:
        prop = await uow.properties.by_code("sunshine")
        assert prop is not None
        return await performance_of(uow.session, day_period(DAY, TZ).window(prop.id), teams)


async def test_team_figures_match_hand_computed(app: App) -> None:
    result = await _performance(app)
    teams = {g.key: _figures(g) for g in result.teams}
    assert teams == {
        "engineering": (3, 2, 30, 40, 120, 120, 1, 3, 2, 3.5, 1, 1, 1),
        "environment": (1, 1, 5, 5, 300, 300, 0, 1, 1, 1.0, 1, 0, 0),
        "service": (1, 1, 20, 20, 660, 660, 1, 1, 1, 4.0, 0, 0, 0),
    }
    engineering = next(g for g in result.teams if g.key == "engineering")
    assert engineering.sla_share == pytest.approx(1 / 3)


async def test_staff_figures_match_hand_computed(app: App) -> None:
    result = await _performance(app)
    staff = {g.name: _figures(g) for g in result.staff}
    assert staff == {
        "李师傅": (2, 2, 10, 40, 120, 120, 1, 3, 2, 3.5, 1, 1, 1),
        "王师傅": (1, 0, 30, 30, None, None, 0, 0, 0, None, 0, 0, 0),
        "张阿姨": (1, 1, 5, 5, 300, 300, 0, 1, 1, 1.0, 1, 0, 0),
        "陈客服": (1, 1, 20, 20, 660, 660, 1, 1, 1, 4.0, 0, 0, 0),
    }
    wang = next(g for g in result.staff if g.key == str(WANG))
    assert wang.sla_share is None


async def test_a_lead_sees_only_their_team(app: App) -> None:
    result = await _performance(app, ("engineering",))
    assert [g.key for g in result.teams] == ["engineering"]
    assert {g.name for g in result.staff} == {"李师傅", "王师傅"}


async def test_a_quiet_day_has_no_rows(app: App) -> None:
    async with app.uow_factory() as uow:
        prop = await uow.properties.by_code("sunshine")
        assert prop is not None
        result = await performance_of(
            uow.session, day_period(date(2026, 11, 20), TZ).window(prop.id)
        )
    assert result.teams == [] and result.staff == []


def test_who_reads_performance() -> None:
    manager = Actor(1, "m", 1, {"managers": "staff"})
    lead = Actor(2, "l", 1, {"engineering": "lead", "security": "staff"})
    worker = Actor(3, "w", 1, {"engineering": "staff"})
    assert may_read_performance(manager) and performance_teams(manager) is None
    assert may_read_performance(lead) and performance_teams(lead) == ("engineering",)
    assert not may_read_performance(worker)


async def test_the_chat_text_words_the_figures(app: App) -> None:
    result = await _performance(app)
    async with app.uow_factory() as uow:
        prop = await uow.properties.by_code("sunshine")
    assert prop is not None
    span = days_span(DAY, DAY, TZ)
    text = plain_text(performance_text(Translator("en"), prop, span, result))
    lines = text.splitlines()
    assert lines[0] == "👥 阳光花园 staff performance, 2026-11-27 to 2026-11-27"
    assert lines[2] == (
        "engineering team: accepted 3 · resolved 2 · response 30 min / P90 40 min · "
        "resolution 2.0 h / P90 2.0 h · SLA 33% · ★ 3.5 (2, 1 low) · reopened 1 · "
        "return visits 1"
    )
    assert (
        "王师傅: accepted 1 · resolved 0 · response 30 min / P90 30 min · resolution — / P90 —"
        in text
    )
    quiet = Performance([], [])
    assert "No ticket was accepted" in performance_text(Translator("en"), prop, span, quiet)


async def test_the_weekly_digest_has_a_line_per_team_and_the_hot_spots(app: App) -> None:
    async with app.uow_factory() as uow:
        prop = await uow.properties.by_code("sunshine")
        assert prop is not None
        # the weekly digest's comparisons, on the hand-computed day
        weekly = await compute(uow.session, prop, day_period(DAY, TZ), compare=True)
        daily = await compute(uow.session, prop, day_period(DAY, TZ))
        expected_hotspots = await hotspots_of(uow.session, prop.id, weekly.period.end)
        desk = Desk(uow, app.settings, app.clock)
        week = await digest_for(desk, prop, DAY, weekly=True)
        week_teams = await performance_of(uow.session, week.period.window(prop.id))
    assert {g.key: _figures(g) for g in weekly.teams} == {
        "engineering": (3, 2, 30, 40, 120, 120, 1, 3, 2, 3.5, 1, 1, 1),
        "environment": (1, 1, 5, 5, 300, 300, 0, 1, 1, 1.0, 1, 0, 0),
        "service": (1, 1, 20, 20, 660, 660, 1, 1, 1, 4.0, 0, 0, 0),
    }
    assert weekly.hotspots == expected_hotspots
    assert daily.teams == () and daily.hotspots is None
    assert list(week.teams) == week_teams.teams and week.hotspots is not None

    text = plain_text(digest_text(Translator("en"), weekly)).splitlines()
    heading = text.index("By team this week")
    assert text[heading + 1] == (
        "engineering team: accepted 3 · resolved 2 · response 30 min · resolution 2.0 h "
        "(medians) · SLA 33% · ★ 3.5 (1 low) · reopened 1"
    )
    assert text[heading + 4] == "🔁 Hot spots, last 30 days"
    daily_text = plain_text(digest_text(Translator("zh-CN"), daily))
    assert "本周各班组" not in daily_text and "重复问题" not in daily_text
    assert "本周各班组" in plain_text(digest_text(Translator("zh-CN"), weekly))
