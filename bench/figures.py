"""Digest figures stay bounded by their period: 100,000 vs 1,000,000 tickets on PostgreSQL.

Builds two databases of its own with the same daily volume (five properties, about 200 new
tickets a day each; the larger one simply has ten times the history: 100 vs 1,000 days),
with bulk SQL (generate_series). Then, in interleaved rounds against both, it times what the
managers' figures cost for one property:

- the daily digest (every figure and the chart's seven days, as the scheduler computes it;
  drawing the PNG is left out: it costs the same at any size),
- the weekly digest (with the week before and the chart's days),
- `/stats month` (this month so far),
- one catch-up tick of the digest scheduler with nothing left to send (all five properties;
  its SQL statements are counted with SQLAlchemy's events).

It prints EXPLAIN ANALYZE of each query of the daily digest at 1,000,000 tickets, and the
medians and ratios. Targets: each time at 1M <= 1.3x the same at 100k; a tick with nothing
to send <= 20 statements per property; no digest query reading all of `tickets`, `ratings`,
`return_visits` or `survey_responses` (in the plans PostgreSQL really chose). Exits 1 on a
miss. The databases are dropped afterwards.

    .venv/bin/python bench/figures.py [--rounds 15] [--sizes 100000 1000000]

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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.clock import FixedClock  # noqa: E402
from bot.config import PropertyConfig, Settings  # noqa: E402
from bot.handlers.notices import HandlerNotifier  # noqa: E402
from bot.services.desk import Desk  # noqa: E402
from bot.services.digest import compute, day_period, iso_week_of, stats_for  # noqa: E402
from bot.services.digest_schedule import digest_tick  # noqa: E402
from storage.db import create_engine, session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Property  # noqa: E402
from storage.plans import (  # noqa: E402
    StatementLog,
    explain,
    explain_text,
    indexes,
    whole_table_reads,
)
from storage.uow import UnitOfWorkFactory  # noqa: E402

ADMIN_DSN = os.environ.get("PROPDESK_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
PROPERTIES = 5
PER_DAY = 200  # new tickets a day, each property
# 08:30 property time on a Tuesday: yesterday's daily digest and last week's weekly are due.
NOW = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
MAX_GROWTH = 1.3
MAX_STATEMENTS_PER_PROPERTY = 20
FIGURE_TABLES = ("tickets", "ratings", "return_visits", "survey_responses")

CATEGORIES = (
    ("repair", "engineering"),
    ("repair", "engineering"),
    ("repair", "engineering"),
    ("cleaning", "environment"),
    ("cleaning", "environment"),
    ("security", "security"),
    ("parking", "security"),
    ("billing", "finance"),
    ("complaint", "service"),
    ("inquiry", "service"),
    ("suggestion", "service"),
    ("other", "service"),
)


def history_sql(size: int) -> list[str]:
    """Statements that fill an empty, migrated database with `size` tickets and what follows
    them (ratings, return visits, survey answers), ending at NOW.

    Tickets arrive evenly; 2 % are cancelled, 5 % are urgent; accepted 5-60 minutes after,
    resolved 1-31 hours after that (so SLAs are sometimes missed, and the last day's tickets
    are partly open); about 30 tickets of the last month are stuck open (the same at any
    size). 60 % of resolved tickets are rated; 1-2 stars open a return visit.
    """
    days = size // (PROPERTIES * PER_DAY)
    end = NOW.replace(tzinfo=None).isoformat(sep=" ")
    cats = "ARRAY[" + ",".join(f"'{c}'" for c, _ in CATEGORIES) + "]"
    teams = "ARRAY[" + ",".join(f"'{t}'" for _, t in CATEGORIES) + "]"
    n = len(CATEGORIES)
    return [
        "SELECT setseed(0.17)",
        f"""
        INSERT INTO properties (id, code, name)
        SELECT p, 'p' || p, 'Property ' || p FROM generate_series(1, {PROPERTIES}) AS p
        """,
        f"""
        INSERT INTO teams (property_id, code, chat_id)
        SELECT p, 'managers', -1000000 - p FROM generate_series(1, {PROPERTIES}) AS p
        """,
        f"""
        INSERT INTO tickets (number, property_id, category, urgency, confidence, matched,
            description, photo_file_ids, address, contact_name, contact_phone, team, status,
            created_at, updated_at, response_due_at, resolution_due_at, accepted_at,
            resolved_at, closed_at, sla_stage, escalations)
        SELECT 'B' || g, 1 + g % {PROPERTIES}, ({cats})[1 + k], urgency, 0.9, '[]',
            '楼道灯不亮了 ' || g, '[]', '1栋-1单元-' || (g % 3000), '', '', ({teams})[1 + k],
            CASE WHEN cancelled THEN 'cancelled'
                 WHEN resolved < '{end}' AND resolved < timestamp '{end}' - interval '3 days'
                     THEN 'closed'
                 WHEN resolved < '{end}' AND NOT stuck THEN 'resolved'
                 WHEN accepted < '{end}' AND NOT cancelled THEN 'accepted'
                 ELSE 'new' END,
            t, t, t + response, t + resolution,
            CASE WHEN NOT cancelled AND accepted < '{end}' THEN accepted END,
            CASE WHEN NOT cancelled AND NOT stuck AND resolved < '{end}' THEN resolved END,
            CASE WHEN cancelled THEN t + interval '2 hours'
                 WHEN NOT stuck AND resolved < timestamp '{end}' - interval '3 days'
                     THEN resolved + interval '3 days' END,
            '', 0
        FROM (
            SELECT g, t, k, urgency, response, resolution,
                r4 < 0.02 AND t < timestamp '{end}' - interval '1 day' AS cancelled,
                r4 BETWEEN 0.02 AND 0.021 AND t > timestamp '{end}' - interval '30 days'
                    AS stuck,
                t + make_interval(mins => 5 + (r1 * 55)::int) AS accepted,
                t + make_interval(mins => 5 + (r1 * 55)::int)
                  + make_interval(mins => 60 + (r2 * 1800)::int) AS resolved
            FROM (
                SELECT g, timestamp '{end}' - make_interval(
                        secs => ({size} - g + 1)::float8 * {days * 86400} / {size}) AS t,
                    (g * 7 + g / 13) % {n} AS k,
                    CASE WHEN r3 < 0.05 THEN 'high' ELSE 'normal' END AS urgency,
                    CASE WHEN r3 < 0.05 THEN interval '15 minutes'
                         ELSE interval '30 minutes' END AS response,
                    CASE WHEN r3 < 0.05 THEN interval '4 hours' ELSE interval '24 hours' END
                        AS resolution,
                    r1, r2, r4
                FROM (
                    SELECT g, random() AS r1, random() AS r2, random() AS r3, random() AS r4
                    FROM generate_series(1, {size}) AS g
                ) AS draws
            ) AS shaped
        ) AS tickets_to_be
        """,
        f"""
        INSERT INTO ratings (ticket_id, resident_telegram_id, status, due_at, asked_at, stars,
            reasons, answered_at)
        SELECT id, 10000000 + id, 'answered', resolved_at + interval '1 hour',
            resolved_at + interval '1 hour', stars, '[]', answered
        FROM (
            SELECT id, resolved_at, random() AS r,
                LEAST(5, 1 + floor(5 * sqrt(random())))::int AS stars,
                resolved_at + make_interval(mins => 60 + (random() * 1200)::int) AS answered
            FROM tickets WHERE resolved_at IS NOT NULL
        ) AS rated
        WHERE r < 0.6 AND answered < '{end}'
        """,
        f"""
        INSERT INTO return_visits (ticket_id, reason, status, created_at, due_at, outcome,
            recorded_at)
        SELECT ticket_id, 'low_rating',
            CASE WHEN answered_at + interval '1 day' < '{end}' THEN 'done' ELSE 'open' END,
            answered_at, answered_at + interval '1 day',
            CASE WHEN answered_at + interval '1 day' < '{end}' THEN '已回访' END,
            CASE WHEN answered_at + interval '1 day' < '{end}'
                THEN answered_at + interval '1 day' END
        FROM ratings WHERE stars <= 2
        """,
        f"""
        INSERT INTO survey_responses (period, property_id, resident_telegram_id, sent_at, stars,
            answered_at)
        SELECT to_char(t, 'YYYY-MM'), 1 + g % {PROPERTIES}, 20000000 + g, t,
            3 + g % 3, t + interval '2 hours'
        FROM (
            SELECT g, timestamp '{end}' - make_interval(
                secs => ({size // 20} - g + 1)::float8 * {days * 86400} / {size // 20}
                    + 7200) AS t
            FROM generate_series(1, {size // 20}) AS g
        ) AS answers
        """,
        "SELECT setval(pg_get_serial_sequence('properties', 'id'), 100)",
    ]


@dataclass
class Database:
    size: int
    name: str
    settings: Settings
    uow_factory: UnitOfWorkFactory
    engine: AsyncEngine
    times: dict[str, list[float]] = field(default_factory=dict)
    statements_per_property: float = 0.0

    def record(self, measure: str, seconds: float) -> None:
        self.times.setdefault(measure, []).append(seconds)

    def median_ms(self, measure: str) -> float:
        return statistics.median(self.times[measure]) * 1000


def bench_settings(url: str) -> Settings:
    return Settings(
        database_url=url,
        telegram_token=SecretStr("123456:BENCH"),
        properties=[
            PropertyConfig(code=f"p{p}", name=f"Property {p}") for p in range(1, PROPERTIES + 1)
        ],
    )


async def build(size: int) -> Database:
    name = f"propdesk_bench_figures_{os.getpid()}_{size}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = create_engine(url)
    await upgrade(engine)
    started = time.perf_counter()
    connection = await asyncpg.connect(dsn)
    try:
        # Load first, index after (the migrations' own definitions): several times faster
        # than keeping a dozen indexes up to date row by row.
        secondary = await connection.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            " AND tablename = ANY($1::text[]) AND indexname LIKE 'ix\\_%'",
            list(FIGURE_TABLES),
        )
        for row in secondary:
            await connection.execute(f'DROP INDEX "{row["indexname"]}"')
        await connection.execute("SET synchronous_commit = off")
        await connection.execute("SET maintenance_work_mem = '256MB'")
        for statement in history_sql(size):
            await connection.execute(statement)
        for row in secondary:
            await connection.execute(row["indexdef"])
        await connection.execute("VACUUM ANALYZE")
        counts = {
            table: await connection.fetchval(f"SELECT count(*) FROM {table}")
            for table in FIGURE_TABLES
        }
    finally:
        await connection.close()
    print(
        f"built {size:>9,} tickets in {time.perf_counter() - started:5.1f} s: "
        + ", ".join(f"{table} {n:,}" for table, n in counts.items())
    )
    settings = bench_settings(url)
    return Database(size, name, settings, UnitOfWorkFactory(session_factory(engine)), engine)


async def drop(database: Database) -> None:
    await database.engine.dispose()
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')
    finally:
        await admin.close()


async def the_property(db: Database) -> Property:
    async with db.uow_factory() as uow:
        prop = await uow.properties.by_code("p1")
        assert prop is not None
        return prop


def days_ago(settings: Settings, days: int) -> date:
    return (NOW.astimezone(settings.tz) - timedelta(days=days)).date()


async def daily(db: Database, prop: Property) -> None:
    async with db.uow_factory() as uow:
        day = day_period(days_ago(db.settings, 1), db.settings.tz)
        await compute(uow.session, prop, day, chart=True)


async def weekly(db: Database, prop: Property) -> None:
    async with db.uow_factory() as uow:
        last_week = iso_week_of(days_ago(db.settings, 7), db.settings.tz)
        await compute(uow.session, prop, last_week, chart=True, compare=True)


async def stats_month(db: Database, prop: Property) -> None:
    async with db.uow_factory() as uow:
        await stats_for(Desk(uow, db.settings, FixedClock(NOW)), prop, "month")


async def catch_up_tick(db: Database, prop: Property) -> None:
    sent = await digest_tick(db.uow_factory, db.settings, FixedClock(NOW), HandlerNotifier())
    assert sent == [], f"a tick with nothing to send sent {sent}"


MEASURES: dict[str, Callable[[Database, Property], Awaitable[None]]] = {
    "daily digest": daily,
    "weekly digest": weekly,
    "/stats month": stats_month,
    "catch-up tick, nothing to send": catch_up_tick,
}


async def send_due_digests(db: Database) -> None:
    """The first tick sends every due digest (figures, charts, the outbox); later ones must
    find them sent."""
    started = time.perf_counter()
    sent = await digest_tick(db.uow_factory, db.settings, FixedClock(NOW), HandlerNotifier())
    print(
        f"{db.size:>9,}: first tick sent {len(sent)} digests with charts "
        f"in {time.perf_counter() - started:.1f} s"
    )
    assert len(sent) == 2 * PROPERTIES, sent


async def count_tick_statements(db: Database) -> float:
    with StatementLog(db.engine) as log:
        await catch_up_tick(db, await the_property(db))
    return len(log) / PROPERTIES


async def print_plans(db: Database) -> int:
    """EXPLAIN ANALYZE of each query of the daily digest (its figures; the chart's days
    repeat the same queries for other days); returns how many read a whole table."""
    prop = await the_property(db)
    with StatementLog(db.engine) as log:
        async with db.uow_factory() as uow:
            await compute(uow.session, prop, day_period(days_ago(db.settings, 1), db.settings.tz))
    offenders = 0
    async with db.engine.connect() as connection:
        known = await indexes(connection)
        for number, statement in enumerate(log.reading(*FIGURE_TABLES), start=1):
            print(f"\n-- daily digest query {number} at {db.size:,} tickets")
            print(" ".join(statement.sql.split())[:600])
            print(await explain_text(connection, statement))
            bad = whole_table_reads(await explain(connection, statement), known, FIGURE_TABLES)
            for scan in bad:
                print(f"!! reads all of {scan.table}: {scan.node} {scan.index or ''}")
            offenders += len(bad)
    return offenders


async def run(sizes: list[int], rounds: int) -> int:
    databases: list[Database] = []
    try:
        for size in sizes:
            databases.append(await build(size))
        for db in databases:
            await send_due_digests(db)
            db.statements_per_property = await count_tick_statements(db)
        props = {db.size: await the_property(db) for db in databases}
        for db in databases:  # warm the caches and the prepared statements once
            for measure in MEASURES.values():
                await measure(db, props[db.size])
        for _ in range(rounds):  # interleaved, so a busy moment hits both sizes alike
            for name, measure in MEASURES.items():
                for db in databases:
                    started = time.perf_counter()
                    await measure(db, props[db.size])
                    db.record(name, time.perf_counter() - started)
        offenders = await print_plans(databases[-1])
        return report(databases, rounds, offenders)
    finally:
        for db in databases:
            await drop(db)


def report(databases: list[Database], rounds: int, offenders: int) -> int:
    small, large = databases[0], databases[-1]
    print(f"\nmedians of {rounds} interleaved rounds, one property of {PROPERTIES}:")
    print(f"{'measure':32s} {small.size:>10,} {large.size:>10,}  ratio  target")
    failed = False
    for name in MEASURES:
        a, b = small.median_ms(name), large.median_ms(name)
        ratio = b / a
        miss = ratio > MAX_GROWTH
        failed |= miss
        print(
            f"{name:32s} {a:8.1f}ms {b:8.1f}ms  {ratio:5.2f}  <= {MAX_GROWTH}"
            + ("  MISS" if miss else "")
        )
    for db in databases:
        per = db.statements_per_property
        miss = per > MAX_STATEMENTS_PER_PROPERTY
        failed |= miss
        print(
            f"catch-up tick statements per property at {db.size:,}: {per:.1f}"
            f" (target <= {MAX_STATEMENTS_PER_PROPERTY})" + ("  MISS" if miss else "")
        )
    print(f"digest queries reading a whole table at {large.size:,}: {offenders} (target 0)")
    failed |= offenders > 0
    print("FAIL" if failed else "OK")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--sizes", type=int, nargs=2, default=[100_000, 1_000_000])
    args = parser.parse_args()
    return asyncio.run(run(sorted(args.sizes), args.rounds))


if __name__ == "__main__":
    raise SystemExit(main())
