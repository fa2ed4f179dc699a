"""Export benchmark: peak memory of writing a period of many tickets as an .xlsx workbook.

Run: ``.venv/bin/python bench/export.py [--tickets 100000] [--database-url URL]``

Bulk-inserts `--tickets` tickets reported over one month (with two timeline events each, a
rating for every other one, a phone number typed into one description in ten) into a fresh
database (a temporary SQLite file unless `--database-url` names another, which is emptied),
then writes that month's export.

The baseline is this process's resident memory just before the export, after the data was
inserted and the peak reset (``/proc/self/clear_refs``); the figure is the peak resident
memory during the export minus that baseline. Target: the export adds at most
``--target-mb`` (default 150 MB) for 100,000 tickets, which only a streamed workbook meets
(openpyxl's ordinary mode keeps every cell as an object: well over a gigabyte here).
Exits 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from bot.clock import FixedClock  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.handlers.digests import plain_labels  # noqa: E402
from bot.i18n import Translator  # noqa: E402
from bot.services.desk import Desk  # noqa: E402
from bot.services.export import Exports, days_span  # noqa: E402
from storage.db import create_engine, session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Property, Rating, Ticket, TicketEvent  # noqa: E402
from storage.uow import UnitOfWorkFactory  # noqa: E402

CHUNK = 5000
FIRST = date(2026, 10, 1)
LAST = date(2026, 10, 31)
CATEGORIES = ("repair", "cleaning", "security", "complaint", "inquiry")
TEAMS = ("engineering", "environment", "security", "service", "service")


def status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak() -> None:
    # Linux: writing 5 resets VmHWM (the peak) to the current resident size.
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def ticket_rows(start: int, count: int, property_id: int) -> list[dict[str, object]]:
    rows = []
    month_start = datetime(2026, 9, 30, 16, tzinfo=UTC)  # October 1st, 00:00 in Shanghai
    span = 31 * 86400
    for i in range(start, start + count):
        created = month_start + timedelta(seconds=(i * 7919) % span)
        c = i % len(CATEGORIES)
        resolved = created + timedelta(hours=1 + i % 30) if i % 4 else None
        rows.append(
            {
                "number": f"B{i:012d}",
                "property_id": property_id,
                "category": CATEGORIES[c],
                "urgency": "normal",
                "team": TEAMS[c],
                # one description in ten carries a phone number, which the export masks
                "description": f"卫生间天花板一直在滴水 {i}"
                + (f"，请打我电话 1398765{i % 10000:04d}" if i % 10 == 0 else ""),
                "address": f"{1 + i % 12}栋{1 + i % 3}单元{101 + i % 30}",
                "contact_name": "王女士",
                "contact_phone": f"+861381234{i % 10000:04d}",
                "status": "resolved" if resolved else "accepted",
                "assignee_name": f"师傅{i % 40}",
                "created_at": created,
                "updated_at": created,
                "accepted_at": created + timedelta(minutes=5 + i % 50),
                "resolved_at": resolved,
                "response_due_at": created + timedelta(minutes=30),
                "resolution_due_at": created + timedelta(hours=24),
                "matched": [],
                "photo_file_ids": [],
            }
        )
    return rows


async def populate(factory: UnitOfWorkFactory, tickets: int) -> int:
    async with factory() as uow:
        [prop] = await uow.properties.all()
        property_id = prop.id
        for start in range(0, tickets, CHUNK):
            count = min(CHUNK, tickets - start)
            await uow.session.execute(insert(Ticket), ticket_rows(start, count, property_id))
            ids = (
                await uow.session.execute(
                    select(Ticket.id, Ticket.created_at).where(
                        Ticket.number >= f"B{start:012d}", Ticket.number < f"B{start + count:012d}"
                    )
                )
            ).all()
            events = [
                {"ticket_id": tid, "at": at, "actor_kind": "resident", "kind": "created"}
                for tid, at in ids
            ] + [
                {
                    "ticket_id": tid,
                    "at": at + timedelta(minutes=5),
                    "actor_kind": "staff",
                    "kind": "accept",
                    "note": "已联系住户，马上到",
                }
                for tid, at in ids
            ]
            await uow.session.execute(insert(TicketEvent), events)
            ratings = [
                {
                    "ticket_id": tid,
                    "resident_telegram_id": 1,
                    "status": "answered",
                    "due_at": at,
                    "stars": 1 + tid % 5,
                    "reasons": [],
                    "comment": "师傅很专业",
                    "answered_at": at + timedelta(hours=30),
                }
                for tid, at in ids
                if tid % 2
            ]
            await uow.session.execute(insert(Rating), ratings)
        await uow.commit()
    return property_id


async def run(tickets: int, url: str | None, target_mb: float) -> int:
    folder = Path(tempfile.mkdtemp(prefix="propdesk-bench-"))
    database_url = url or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    settings = Settings(database_url=database_url, telegram_token="1:X")
    engine = create_engine(database_url)
    if url is not None and url.startswith("postgresql"):
        from sqlalchemy import text

        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    await upgrade(engine)
    factory = UnitOfWorkFactory(session_factory(engine))
    async with factory() as uow:
        if not await uow.properties.all():
            await uow.properties.add(Property(code="bench", name="Bench"))
            await uow.commit()
    started = time.perf_counter()
    property_id = await populate(factory, tickets)
    print(f"inserted {tickets} tickets in {time.perf_counter() - started:.1f} s")

    out = folder / "export.xlsx"
    gc.collect()
    reset_peak()
    baseline = status_kb("VmRSS")
    started = time.perf_counter()
    async with factory() as uow:
        desk = Desk(uow, settings, FixedClock(datetime(2026, 11, 5, tzinfo=UTC)))
        summary = await Exports(desk).write(
            property_id, days_span(FIRST, LAST, settings.tz), out, plain_labels(Translator("en"))
        )
    elapsed = time.perf_counter() - started
    peak = status_kb("VmHWM")
    await engine.dispose()
    added_mb = (peak - baseline) / 1024
    print(
        f"exported {summary.tickets} tickets, {summary.events} events, {summary.ratings} ratings "
        f"in {elapsed:.1f} s; file {out.stat().st_size / 1e6:.1f} MB"
    )
    print(
        f"RSS baseline before the export {baseline / 1024:.0f} MB; peak during it "
        f"{peak / 1024:.0f} MB; the export added {added_mb:.0f} MB "
        f"(ratio peak/baseline {peak / baseline:.2f}); target <= {target_mb:.0f} MB"
    )
    if summary.tickets != tickets:
        print(f"FAIL: {summary.tickets} tickets exported, {tickets} inserted")
        return 1
    if added_mb > target_mb:
        print("FAIL: the export held too much in memory")
        return 1
    print("OK")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--target-mb", type=float, default=150.0)
    args = parser.parse_args()
    return asyncio.run(run(args.tickets, args.database_url, args.target_mb))


if __name__ == "__main__":
    raise SystemExit(main())
