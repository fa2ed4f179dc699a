"""Figures stay bounded by their period: no digest query reads a whole table, as the
database's own plans say (on PostgreSQL with sequential scans priced out, so the planner
shows what it could use), and a catch-up tick with nothing to send reads `scheduled_runs`
and nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.app import App
from bot.clock import FixedClock
from bot.config import Settings
from bot.services.desk import Desk
from bot.services.digest import compute, day_period, digest_for, stats_for
from bot.services.digest_schedule import digest_tick
from bot.services.export import Exports, days_span
from bot.services.hotspots import hotspots_of
from bot.services.performance import performance_of
from storage.models import Property, Ticket
from storage.plans import (
    Statement,
    StatementLog,
    explain,
    indexes,
    sqlite_indexes,
    sqlite_plan,
    sqlite_whole_table_reads,
    whole_table_reads,
)
from tests.support.digest_data import DAY, NOW, TZ, seed
from tests.support.people import fake_classify

FIGURE_TABLES = ("tickets", "ratings", "return_visits", "survey_responses")
HISTORY = 20_000  # tickets before the dataset, one every half hour: about 14 months
HISTORY_END = datetime(2026, 11, 20, tzinfo=UTC)


def history(property_id: int) -> list[dict[str, Any]]:
    """Closed tickets (2 % cancelled) reported before the hand dataset: enough for the
    planner's statistics to show that a day is a small part of the table."""
    rows = []
    for n in range(1, HISTORY + 1):
        reported = HISTORY_END - timedelta(minutes=30 * n)
        cancelled = n % 50 == 0
        rows.append(
            {
                "number": f"H{n}",
                "property_id": property_id,
                "category": "repair",
                "urgency": "normal",
                "team": "engineering",
                "status": "cancelled" if cancelled else "closed",
                "created_at": reported,
                "updated_at": reported,
                "response_due_at": reported + timedelta(minutes=30),
                "resolution_due_at": reported + timedelta(days=1),
                "accepted_at": reported + timedelta(minutes=10),
                "resolved_at": None if cancelled else reported + timedelta(hours=5),
                "closed_at": reported + timedelta(days=1),
            }
        )
    return rows


# Each resolved one rated (answered when resolved), low ones with a done return visit;
# a survey answer for every tenth.
FEEDBACK_SQL = [
    """
    INSERT INTO ratings (ticket_id, resident_telegram_id, status, due_at, stars, reasons,
        answered_at)
    SELECT id, 1, 'answered', resolved_at, 1 + id % 5, '[]', resolved_at
    FROM tickets WHERE number LIKE 'H%' AND resolved_at IS NOT NULL
    """,
    """
    INSERT INTO return_visits (ticket_id, reason, status, created_at, due_at, recorded_at)
    SELECT ticket_id, 'low_rating', 'done', answered_at, answered_at, answered_at
    FROM ratings WHERE stars <= 2 AND resident_telegram_id = 1 AND ticket_id > 20
    """,
    """
    INSERT INTO survey_responses (period, property_id, resident_telegram_id, sent_at, stars,
        answered_at)
    SELECT 'H', property_id, id, created_at, 4, created_at
    FROM tickets WHERE number LIKE 'H%' AND id % 10 = 0
    """,
]


@pytest.fixture
async def big_app(settings: Settings) -> AsyncIterator[App]:
    app = await App.create(settings, clock=FixedClock(NOW), classify=fake_classify)
    await seed(app.uow_factory)
    prop = await _property(app)
    async with app.engine.begin() as connection:
        await connection.execute(insert(Ticket), history(prop.id))
        for statement in FEEDBACK_SQL:
            await connection.exec_driver_sql(statement)
        await connection.exec_driver_sql("ANALYZE")
    yield app
    await app.close()


async def _property(app: App) -> Property:
    async with app.uow_factory() as uow:
        prop = await uow.properties.by_code("sunshine")
        assert prop is not None
        return prop


async def digest_queries(app: App) -> list[Statement]:
    """Every query of the daily digest and its chart, the weekly one with the week before,
    and `/stats` today, this week and this month."""
    prop = await _property(app)
    with StatementLog(app.engine) as log:
        async with app.uow_factory() as uow:
            desk = Desk(uow, app.settings, app.clock)
            await compute(uow.session, prop, day_period(DAY, TZ), chart=True)
            await digest_for(desk, prop, DAY, weekly=True)
            for kind in ("today", "week", "month"):
                await stats_for(desk, prop, kind)
    return log.reading(*FIGURE_TABLES)


async def whole_reads(connection: AsyncConnection, queries: list[Statement]) -> list[Any]:
    """What the database would read in full, per query, as its own plans say."""
    found: list[Any] = []
    if connection.dialect.name == "postgresql":
        # Sequential scans priced out: the planner shows what it could use at any size.
        await connection.execute(text("SET enable_seqscan = off"))
        known = await indexes(connection)
        for query in queries:
            plan = await explain(connection, query)
            found += [(query.sql, s) for s in whole_table_reads(plan, known, FIGURE_TABLES)]
    else:
        known = await sqlite_indexes(connection, FIGURE_TABLES)
        for query in queries:
            lines = await sqlite_plan(connection, query)
            found += [(query.sql, s) for s in sqlite_whole_table_reads(lines, known, FIGURE_TABLES)]
    return found


async def test_no_digest_query_reads_a_whole_table(big_app: App) -> None:
    queries = await digest_queries(big_app)
    assert len(queries) >= 20  # the daily, its chart, the weekly and its week before, /stats
    async with big_app.engine.connect() as connection:
        assert await whole_reads(connection, queries) == []


async def test_no_export_staff_or_hotspot_query_reads_a_whole_table(big_app: App) -> None:
    """A day's export (its Teams and Staff sheets included), `/stats staff` of that day and
    the hot spots: bounded like the digest."""
    prop = await _property(big_app)
    with StatementLog(big_app.engine) as log:
        async with big_app.uow_factory() as uow:
            desk = Desk(uow, big_app.settings, big_app.clock)
            made = await Exports(desk).workbook(prop, days_span(DAY, DAY, TZ), str)
            await performance_of(uow.session, day_period(DAY, TZ).window(prop.id))
            await hotspots_of(uow.session, prop.id, NOW)
    assert made.summary.tickets > 0 and made.summary.ratings > 0
    queries = log.reading(*FIGURE_TABLES)
    assert len(queries) >= 15
    async with big_app.engine.connect() as connection:
        assert await whole_reads(connection, queries) == []


async def test_a_day_of_figures_is_eight_queries(big_app: App) -> None:
    """Counts, one per percentile measure (median and P90 in one pass), ratings, survey,
    oldest open, by category, by team."""
    prop = await _property(big_app)
    with StatementLog(big_app.engine) as log:
        async with big_app.uow_factory() as uow:
            digest = await compute(uow.session, prop, day_period(DAY, TZ))
    assert len(log.reading(*FIGURE_TABLES)) == 8
    assert digest.response_median is not None and digest.resolution_p90 is not None


async def test_the_check_sees_a_whole_table_read(big_app: App) -> None:
    """The plan check is not blind: a query by a column no index has is caught, and so is
    one that walks a property's whole history through the property's index."""
    unindexed = Statement("SELECT count(*) FROM tickets WHERE urgency = 'normal'", ())
    history = Statement("SELECT count(*) FROM tickets WHERE property_id = 1", ())
    earlier = Statement(
        "SELECT count(*) FROM tickets WHERE property_id = 1 AND created_at < '2026-01-01'", ()
    )
    async with big_app.engine.connect() as connection:
        found = await whole_reads(connection, [unindexed, history, earlier])
    assert [sql for sql, _ in found] == [unindexed.sql, history.sql, earlier.sql]
    assert {scan.table for _, scan in found} == {"tickets"}


class CountingNotices:
    """A notifier that only counts what a tick would draw and queue."""

    def __init__(self) -> None:
        self.charts = 0
        self.queued = 0

    async def digest_chart(self, settings: Settings, digest: Any) -> Path | None:
        self.charts += 1
        return None

    async def digest(self, desk: Desk, digest: Any, *, late: bool, chart: Path | None) -> bool:
        self.queued += 1
        return True


async def test_a_tick_with_nothing_to_send_only_reads_scheduled_runs(settings: Settings) -> None:
    clock = FixedClock(datetime(2026, 12, 1, 0, 30, tzinfo=UTC))  # Tuesday 08:30 local
    app = await App.create(settings, clock=clock, classify=fake_classify)
    try:
        async with app.uow_factory() as uow:
            await uow.properties.add(Property(code="other", name="Other"))
            await uow.commit()
        notices = CountingNotices()
        first = await digest_tick(app.uow_factory, app.settings, clock, notices)
        # Nobody bound a managers' group in the fixture: bind none, claim by hand instead.
        assert first == [] and notices.charts == 0
        async with app.uow_factory() as uow:
            for code in ("sunshine", "other"):
                await uow.runs.claim(
                    f"digest.daily.{code}", date(2026, 11, 30).isoformat(), clock.now()
                )
                await uow.runs.claim(f"digest.weekly.{code}", "2026-11-23..2026-11-29", clock.now())
            await uow.commit()
        with StatementLog(app.engine) as log:
            assert await digest_tick(app.uow_factory, app.settings, clock, notices) == []
        assert notices.charts == 0 and notices.queued == 0
        reads = [s.sql.split()[0:1] for s in log.statements]
        # One transaction: (SQLite's BEGIN IMMEDIATE,) the properties, the runs of all of them.
        assert len(log) <= 3, reads
        assert len(log.reading("scheduled_runs")) == 1
        assert log.reading("tickets", "ratings") == []
    finally:
        await app.close()
