"""Figures stay bounded by their period: no digest query reads a whole table (PostgreSQL's own
plans, with sequential scans priced out so the planner shows what it could use), and a
catch-up tick with nothing to send reads `scheduled_runs` and nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.app import App
from bot.clock import FixedClock
from bot.config import Settings
from bot.services.desk import Desk
from bot.services.digest import compute, day_period, digest_for, stats_for
from bot.services.digest_schedule import digest_tick
from storage.models import Property
from storage.plans import StatementLog, explain, indexes, whole_table_reads
from tests.conftest import _pg_execute, _pg_url, demo_properties
from tests.unit.sim import fake_classify
from tests.unit.test_digest_figures import DAY, NOW, TZ, seed

FIGURE_TABLES = ("tickets", "ratings", "return_visits", "survey_responses")
HISTORY = 20_000  # tickets before the dataset, one every half hour: about 14 months

# Closed tickets (2 % cancelled) reported before the hand dataset, each rated; enough for
# the planner's statistics to show that a day is a small part of the table.
HISTORY_SQL = [
    """
    INSERT INTO tickets (number, property_id, category, urgency, confidence, matched,
        description, photo_file_ids, address, contact_name, contact_phone, team, status,
        created_at, updated_at, response_due_at, resolution_due_at, accepted_at,
        resolved_at, closed_at, sla_stage, escalations)
    SELECT 'H' || g, (SELECT id FROM properties WHERE code = 'sunshine'),
        'repair', 'normal', 0, '[]', '', '[]', '', '', '', 'engineering',
        CASE WHEN g % 50 = 0 THEN 'cancelled' ELSE 'closed' END,
        t, t, t + interval '30 minutes', t + interval '1 day', t + interval '10 minutes',
        CASE WHEN g % 50 = 0 THEN NULL ELSE t + interval '5 hours' END,
        t + interval '1 day', '', 0
    FROM generate_series(1, {n}) AS g,
        LATERAL (SELECT timestamp '2026-11-20' - g * interval '30 minutes' AS t) AS x
    """,
    """
    INSERT INTO ratings (ticket_id, resident_telegram_id, status, due_at, stars, reasons,
        answered_at)
    SELECT id, 1, 'answered', resolved_at, 1 + id % 5, '[]', resolved_at + interval '1 hour'
    FROM tickets WHERE number LIKE 'H%' AND resolved_at IS NOT NULL
    """,
    """
    INSERT INTO return_visits (ticket_id, reason, status, created_at, due_at, recorded_at)
    SELECT ticket_id, 'low_rating', 'done', answered_at, answered_at + interval '1 day',
        answered_at + interval '1 day'
    FROM ratings WHERE stars <= 2
    """,
]


@pytest.fixture
async def pg_app(pg_database: str) -> AsyncIterator[App]:
    await _pg_execute(pg_database, "DROP SCHEMA IF EXISTS public CASCADE", "CREATE SCHEMA public")
    settings = Settings(
        database_url=_pg_url(pg_database),
        telegram_token="123456:TEST",
        properties=demo_properties(),
    )
    app = await App.create(settings, clock=FixedClock(NOW), classify=fake_classify)
    await seed(app.uow_factory)
    async with app.engine.begin() as connection:
        for statement in HISTORY_SQL:
            await connection.exec_driver_sql(statement.format(n=HISTORY))
        await connection.execute(text("ANALYZE"))
    yield app
    await app.close()


async def _property(app: App) -> Property:
    async with app.uow_factory() as uow:
        prop = await uow.properties.by_code("sunshine")
        assert prop is not None
        return prop


@pytest.mark.postgres
async def test_no_digest_query_reads_a_whole_table(pg_app: App) -> None:
    prop = await _property(pg_app)
    with StatementLog(pg_app.engine) as log:
        async with pg_app.uow_factory() as uow:
            desk = Desk(uow, pg_app.settings, pg_app.clock)
            await compute(uow.session, prop, day_period(DAY, TZ), chart=True)
            await digest_for(desk, prop, DAY, weekly=True)
            for kind in ("today", "week", "month"):
                await stats_for(desk, prop, kind)
    queries = log.reading(*FIGURE_TABLES)
    assert len(queries) >= 20  # the daily, its chart, the weekly and its week before, /stats
    offenders: list[tuple[str, Any]] = []
    async with pg_app.engine.connect() as connection:
        await connection.execute(text("SET enable_seqscan = off"))
        known = await indexes(connection)
        for query in queries:
            plan = await explain(connection, query)
            offenders += [
                (query.sql, scan) for scan in whole_table_reads(plan, known, FIGURE_TABLES)
            ]
    assert offenders == []


@pytest.mark.postgres
async def test_the_check_sees_a_whole_table_read(pg_app: App) -> None:
    """The plan check is not blind: a query by a column no index has is caught, and so is
    one that walks a property's whole history through the property's index."""
    async with pg_app.engine.connect() as connection:
        await connection.execute(text("SET enable_seqscan = off"))
        known = await indexes(connection)
        unindexed = await connection.exec_driver_sql(
            "EXPLAIN (FORMAT JSON) SELECT count(*) FROM tickets WHERE urgency = 'normal'"
        )
        history = await connection.exec_driver_sql(
            "EXPLAIN (FORMAT JSON) SELECT count(*) FROM tickets WHERE property_id = 1"
        )
        [seq] = whole_table_reads(unindexed.scalar_one()[0]["Plan"], known, FIGURE_TABLES)
        [walk] = whole_table_reads(history.scalar_one()[0]["Plan"], known, FIGURE_TABLES)
    assert seq.node == "Seq Scan" and seq.table == "tickets"
    assert walk.table == "tickets" and walk.index is not None


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
