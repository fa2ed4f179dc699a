"""Managers' tools stay bounded by their period: 100,000 vs 1,000,000 tickets on PostgreSQL.

Builds two databases of its own with bench/figures.py's history (five properties, about 200
new tickets a day each, 100 vs 1,000 days back; ratings, return visits, survey answers, all by
bulk SQL with generate_series), and adds what the managers' tools read: residents (3,000 a
property, the reporters of the tickets), assignees and the staff list, and the timeline (a
"created" event for every ticket, an "accept" for the accepted, one or two reopenings for 1 %
of the resolved). Then, in interleaved rounds against both, it times for one property:

- the daily digest (every figure of yesterday, as the scheduler computes them),
- `/stats staff 2026-11` (per team and per staff member, the last whole month),
- `/stats hotspots` (the last 30 days, with the week-over-week SLA misses),
- the export of that month (the .xlsx written in memory),

each against a plain `SELECT count(*)` of the tickets reported in the same period, in the
same round. It prints `EXPLAIN (ANALYZE, BUFFERS)` of the queries of `/stats staff`,
`/stats hotspots` and the export at 1,000,000 tickets, the medians, each measure's ratio to
its count(*) and the growth from 100,000 to 1,000,000. Targets: growth <= 1.3x for every
measure, and no query reading all of a ticket table (in the plans PostgreSQL chose). Exits 1
on a miss. The databases are dropped afterwards, whatever happens.

    .venv/bin/python bench/managers.py [--rounds 5] [--sizes 100000 1000000]

PostgreSQL at $PROPDESK_BENCH_PG_DSN (default postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import figures  # noqa: E402  (bench/figures.py: the history and the settings)

from bot.clock import FixedClock  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.handlers.digests import plain_labels  # noqa: E402
from bot.i18n import Translator  # noqa: E402
from bot.services.desk import Desk  # noqa: E402
from bot.services.digest import compute, day_period, month_period  # noqa: E402
from bot.services.export import Exports, Span  # noqa: E402
from bot.services.hotspots import hotspots_of  # noqa: E402
from bot.services.performance import performance_of  # noqa: E402
from storage.db import create_engine, session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Property, Ticket  # noqa: E402
from storage.plans import (  # noqa: E402
    StatementLog,
    explain,
    explain_text,
    indexes,
    whole_table_reads,
)
from storage.reports import Window  # noqa: E402
from storage.uow import UnitOfWorkFactory  # noqa: E402

ADMIN_DSN = figures.ADMIN_DSN
NOW = figures.NOW  # 08:30 on Tuesday 1 December 2026, property time
PROPERTIES = figures.PROPERTIES
RESIDENTS = 3000  # a property
STAFF = 20  # a property, four in each of five teams
TEAMS = ("engineering", "environment", "security", "finance", "service")
MAX_GROWTH = 1.3
TICKET_TABLES = ("tickets", "ticket_events", "ratings", "return_visits", "survey_responses")
INDEXED_TABLES = (*figures.FIGURE_TABLES, "ticket_events")


def managers_sql() -> list[str]:
    """Residents, assignees, the staff list and the timeline, on top of figures' history."""
    return [
        f"""
        INSERT INTO residents (id, telegram_id, property_id, name, phone, building, unit, room,
            locale, active, registered, created_at, updated_at)
        SELECT r, 50000000 + r, 1 + (r - 1) / {RESIDENTS}, '住户' || r, '1390000' || r,
            (1 + r % 30) || '栋', (1 + r / 30 % 4) || '单元', (100 + r % 1000)::text,
            'zh-CN', true, true, timestamp '2024-01-01', timestamp '2024-01-01'
        FROM generate_series(1, {PROPERTIES * RESIDENTS}) AS r
        """,
        "SELECT setval(pg_get_serial_sequence('residents', 'id'), 1000000)",
        # Reporters spread over the property's residents; the holder among its 20 staff.
        f"""
        UPDATE tickets SET
            resident_id = (property_id - 1) * {RESIDENTS} + 1 + (id::bigint * 7919) % {RESIDENTS},
            assignee_id = CASE WHEN accepted_at IS NOT NULL
                THEN 30000 + property_id * 100 + id % {STAFF} END,
            assignee_name = CASE WHEN accepted_at IS NOT NULL THEN '师傅' || id % {STAFF} END
        """,
        f"""
        INSERT INTO staff_members (property_id, team, telegram_id, name, role, active,
            created_at, updated_at)
        SELECT p, (ARRAY{list(TEAMS)})[1 + i % {len(TEAMS)}], 30000 + p * 100 + i,
            '师傅' || i, 'staff', true, timestamp '2024-01-01', timestamp '2024-01-01'
        FROM generate_series(1, {PROPERTIES}) AS p, generate_series(0, {STAFF - 1}) AS i
        """,
        """
        INSERT INTO ticket_events (ticket_id, at, actor_kind, kind)
        SELECT id, created_at, 'resident', 'created' FROM tickets
        UNION ALL
        SELECT id, accepted_at, 'staff', 'accept' FROM tickets WHERE accepted_at IS NOT NULL
        UNION ALL
        SELECT id, resolved_at + interval '6 hours', 'resident', 'reopen' FROM tickets
            WHERE resolved_at IS NOT NULL AND id % 100 = 7
        UNION ALL
        SELECT id, resolved_at + interval '30 hours', 'resident', 'reopen' FROM tickets
            WHERE resolved_at IS NOT NULL AND id % 500 = 7
        """,
    ]


@dataclass
class Database:
    size: int
    name: str
    settings: Settings
    uow_factory: UnitOfWorkFactory
    engine: AsyncEngine
    times: dict[str, list[float]] = field(default_factory=dict)

    def record(self, measure: str, seconds: float) -> None:
        self.times.setdefault(measure, []).append(seconds)

    def median_ms(self, measure: str) -> float:
        return statistics.median(self.times[measure]) * 1000


async def build(size: int) -> Database:
    name = f"propdesk_bench_managers_{os.getpid()}_{size}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = create_engine(url)
    database = Database(
        size, name, figures.bench_settings(url), UnitOfWorkFactory(session_factory(engine)), engine
    )
    try:
        await fill(database, dsn)
    except BaseException:
        await drop(database)  # a failed build leaves no database behind
        raise
    return database


async def fill(database: Database, dsn: str) -> None:
    size = database.size
    await upgrade(database.engine)
    started = time.perf_counter()
    connection = await asyncpg.connect(dsn)
    try:
        # Load first, index after (the migrations' own definitions).
        secondary = await connection.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            " AND tablename = ANY($1::text[]) AND indexname LIKE 'ix\\_%'",
            list(INDEXED_TABLES),
        )
        for row in secondary:
            await connection.execute(f'DROP INDEX "{row["indexname"]}"')
        await connection.execute("SET synchronous_commit = off")
        await connection.execute("SET maintenance_work_mem = '256MB'")
        for statement in [*figures.history_sql(size), *managers_sql()]:
            await connection.execute(statement)
        for row in secondary:
            await connection.execute(row["indexdef"])
        await connection.execute("VACUUM ANALYZE")
        counts = {
            table: await connection.fetchval(f"SELECT count(*) FROM {table}")
            for table in ("tickets", "ticket_events", "ratings", "residents")
        }
    finally:
        await connection.close()
    print(
        f"built {size:>9,} tickets in {time.perf_counter() - started:5.1f} s: "
        + ", ".join(f"{table} {n:,}" for table, n in counts.items())
    )


async def drop(database: Database) -> None:
    await database.engine.dispose()
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')
    finally:
        await admin.close()


def last_month(settings: Settings) -> Span:
    """November 2026, the last whole month (`/stats staff 2026-11`, `/export 2026-11`)."""
    p = month_period(date(2026, 11, 1), settings.tz)
    return Span(p.first_day, p.last_day, p.start, p.end)


async def the_property(db: Database) -> Property:
    async with db.uow_factory() as uow:
        prop = await uow.properties.by_code("p1")
        assert prop is not None
        return prop


# Each measure returns the window of the tickets its count(*) counts.
async def daily(db: Database, prop: Property) -> Window:
    async with db.uow_factory() as uow:
        day = day_period(
            (NOW.astimezone(db.settings.tz) - timedelta(days=1)).date(), db.settings.tz
        )
        await compute(uow.session, prop, day)
    return Window(day.start, day.end, prop.id)


async def staff_month(db: Database, prop: Property) -> Window:
    span = last_month(db.settings)
    window = Window(span.start, span.end, prop.id)
    async with db.uow_factory() as uow:
        await performance_of(uow.session, window)
    return window


async def hotspots(db: Database, prop: Property) -> Window:
    async with db.uow_factory() as uow:
        found = await hotspots_of(uow.session, prop.id, NOW)
    return Window(found.start, found.end, prop.id)


async def export_month(db: Database, prop: Property) -> Window:
    span = last_month(db.settings)
    async with db.uow_factory() as uow:
        desk = Desk(uow, db.settings, FixedClock(NOW))
        made = await Exports(desk).workbook(prop, span, plain_labels(Translator("en")))
    assert made.summary.tickets > 0
    return Window(span.start, span.end, prop.id)


MEASURES: dict[str, Callable[[Database, Property], Awaitable[Window]]] = {
    "daily digest": daily,
    "/stats staff 2026-11": staff_month,
    "/stats hotspots": hotspots,
    "export of 2026-11": export_month,
}


async def count_reported(db: Database, window: Window) -> int:
    """The baseline: a plain count of the tickets reported in the same period."""
    query = select(func.count()).where(
        Ticket.property_id == window.property_id,
        Ticket.created_at >= window.start,
        Ticket.created_at < window.end,
    )
    async with db.uow_factory() as uow:
        return int((await uow.session.execute(query)).scalar_one())


async def timed(db: Database, name: str, prop: Property) -> None:
    started = time.perf_counter()
    window = await MEASURES[name](db, prop)
    db.record(name, time.perf_counter() - started)
    started = time.perf_counter()
    await count_reported(db, window)
    db.record(f"count: {name}", time.perf_counter() - started)


async def print_plans(db: Database) -> int:
    """EXPLAIN ANALYZE of every query of /stats staff, /stats hotspots and the export at the
    larger size; returns how many read a whole ticket table."""
    prop = await the_property(db)
    offenders = 0
    async with db.engine.connect() as connection:
        known = await indexes(connection)
    for name in ("/stats staff 2026-11", "/stats hotspots", "export of 2026-11"):
        with StatementLog(db.engine) as log:
            await MEASURES[name](db, prop)
        async with db.engine.connect() as connection:
            for number, statement in enumerate(log.reading(*TICKET_TABLES), start=1):
                print(f"\n-- {name}, query {number}, at {db.size:,} tickets")
                print(" ".join(statement.sql.split())[:600])
                print(await explain_text(connection, statement))
                plan = await explain(connection, statement)
                for scan in whole_table_reads(plan, known, TICKET_TABLES):
                    print(f"!! reads all of {scan.table}: {scan.node} {scan.index or ''}")
                    offenders += 1
    return offenders


async def run(sizes: list[int], rounds: int) -> int:
    databases: list[Database] = []
    try:
        for size in sizes:
            databases.append(await build(size))
        props = {db.size: await the_property(db) for db in databases}
        for db in databases:  # warm the caches and the prepared statements once
            for name in MEASURES:
                await timed(db, name, props[db.size])
            db.times.clear()
        for _ in range(rounds):  # interleaved, so a busy moment hits both sizes alike
            for name in MEASURES:
                for db in databases:
                    await timed(db, name, props[db.size])
        offenders = await print_plans(databases[-1])
        return report(databases, rounds, offenders)
    finally:
        for db in databases:
            await drop(db)


def report(databases: list[Database], rounds: int, offenders: int) -> int:
    small, large = databases[0], databases[-1]
    print(f"\nmedians of {rounds} interleaved rounds, one property of {PROPERTIES}:")
    print(
        f"{'measure':24s} {small.size:>10,} {'÷count':>8s} {large.size:>10,} {'÷count':>8s}"
        f"  growth  target"
    )
    failed = False
    for name in MEASURES:
        a, b = small.median_ms(name), large.median_ms(name)
        ca, cb = small.median_ms(f"count: {name}"), large.median_ms(f"count: {name}")
        growth = b / a
        miss = growth > MAX_GROWTH
        failed |= miss
        print(
            f"{name:24s} {a:8.1f}ms {a / ca:7.1f}x {b:8.1f}ms {b / cb:7.1f}x"
            f"  {growth:5.2f}  <= {MAX_GROWTH}" + ("  MISS" if miss else "")
        )
    for name in MEASURES:
        ca, cb = small.median_ms(f"count: {name}"), large.median_ms(f"count: {name}")
        print(f"  count(*) of its period ({name}): {ca:.1f} ms vs {cb:.1f} ms")
    print(f"queries reading a whole ticket table at {large.size:,}: {offenders} (target 0)")
    failed |= offenders > 0
    print("FAIL" if failed else "OK")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs=2, default=[100_000, 1_000_000])
    args = parser.parse_args()
    return asyncio.run(run(sorted(args.sizes), args.rounds))


if __name__ == "__main__":
    raise SystemExit(main())
