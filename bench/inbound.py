"""Inbound benchmark: 50 residents report at once on SQLite, through the dialog engine.

Run: ``.venv/bin/python bench/inbound.py [--people 50] [--rounds 5]``

Compares, in the same run and on the same database, the dialog engine queueing its own
transactions for SQLite's one write lock (the default) against letting every event contend
for it through SQLite's busy handler (the baseline, which sleeps up to 100 ms between tries).
Prints each side's median seconds per burst and the throughput ratio; exits non-zero when
the queue is not at least TARGET times the baseline's throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import App, default_classifier  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.dialog import DialogEngine  # noqa: E402
from bot.messages import Incoming  # noqa: E402
from storage.models import Resident  # noqa: E402

TARGET = 1.5
REPORT = "卫生间天花板一直在滴水,楼上好像漏了"
FIRST_RESIDENT = 7_000_000_001


async def seed(app: App, people: int) -> None:
    now = datetime.now(UTC)
    async with app.uow_factory() as uow:
        prop = (await uow.properties.all())[0]
        for i in range(people):
            resident = Resident(
                telegram_id=FIRST_RESIDENT + i,
                property_id=prop.id,
                name=f"住户{i}",
                phone=f"+86138{i:08d}",
                room=str(100 + i),
                locale="zh-CN",
                registered=True,
                active=True,
                created_at=now,
                updated_at=now,
            )
            await uow.residents.add(resident)
        await uow.commit()


async def burst(engine: DialogEngine, people: int, first_update: int) -> float:
    """Everyone writes a report at the same moment; seconds until all are handled."""
    events = [
        Incoming(
            update_id=first_update + i,
            chat_id=FIRST_RESIDENT + i,
            user_id=FIRST_RESIDENT + i,
            text=f"{REPORT}({first_update})",
            language_code="zh-hans",
        )
        for i in range(people)
    ]
    started = time.perf_counter()
    await asyncio.gather(*(engine.handle(event) for event in events))
    return time.perf_counter() - started


async def main(people: int, rounds: int) -> int:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(database_url=f"sqlite+aiosqlite:///{folder}/bench.db")
        app = await App.create(settings)
        try:
            await seed(app, people)
            queued = app.dialog
            contending = DialogEngine(
                app.uow_factory, settings, app.clock, default_classifier(), queue_writers=False
            )
            times: dict[str, list[float]] = {"queued": [], "contending": []}
            update_id = 1
            for _ in range(rounds):  # interleaved, so both sides see the same machine load
                for name, engine in (("queued", queued), ("contending", contending)):
                    times[name].append(await burst(engine, people, update_id))
                    update_id += people
        finally:
            await app.close()
    queued_s = statistics.median(times["queued"])
    contending_s = statistics.median(times["contending"])
    ratio = contending_s / queued_s
    print(f"{people} reports at once on SQLite, median of {rounds} bursts each")
    print(f"  queued for the write lock (default): {queued_s:.2f} s")
    print(f"  contending through busy handler:     {contending_s:.2f} s (baseline)")
    print(f"  throughput ratio: {ratio:.2f} (target >= {TARGET})")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.people, args.rounds)))
