"""SQLite's statements run whole on the event loop's thread (storage/sqlite_driver.py)
instead of four trips to aiosqlite's thread (open a cursor, execute, fetch, close), and
behave as SQLAlchemy's driver does: rows, RETURNING, row counts, last row ids, executemany,
errors. A statement that would wait for another connection's lock waits on aiosqlite's
thread, never on the loop's."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import PoolSettings, create_engine, is_busy
from storage.sqlite_driver import CHECKPOINT_EVERY

META = MetaData()
THINGS = Table(
    "things",
    META,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), unique=True, nullable=False),
)


def _trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of each function sent to an aiosqlite connection's thread."""
    seen: list[str] = []
    send = aiosqlite.Connection._execute

    async def counting(
        self: aiosqlite.Connection, fn: Callable[..., Any], *a: Any, **kw: Any
    ) -> Any:
        seen.append(getattr(fn, "__name__", repr(fn)))
        return await send(self, fn, *a, **kw)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
    return seen


async def _make(tmp_path: Path, **kwargs: Any) -> AsyncEngine:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", **kwargs)
    async with engine.begin() as conn:
        await conn.run_sync(META.create_all)
    return engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    made = await _make(tmp_path)
    yield made
    await made.dispose()


async def _trips_of(
    monkeypatch: pytest.MonkeyPatch,
    engine: AsyncEngine,
    work: Callable[[Any], Awaitable[object]],
) -> list[str]:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))  # the pool's connection is open and warm
        seen = _trips(monkeypatch)
        await work(conn)
        monkeypatch.undo()
    return seen


async def test_statements_commit_and_rollback_take_no_trip_to_the_thread(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def a_transaction_each_way(conn: Any) -> None:
        assert (await conn.execute(select(THINGS.c.id))).all() == []
        await conn.commit()
        await conn.execute(insert(THINGS).values(name="kept"))
        await conn.commit()
        await conn.execute(insert(THINGS).values(name="dropped"))
        await conn.rollback()
        names = (await conn.execute(select(THINGS.c.name))).scalars().all()
        assert names == ["kept"]

    assert await _trips_of(monkeypatch, engine, a_transaction_each_way) == []


async def test_a_lock_held_by_another_task_is_waited_for_off_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock's holder is another task of this loop: had the waiter waited on the loop's
    thread, the holder could not have finished, and the waiter would fail after its
    lock_timeout (2 s) instead of writing right after the holder commits."""
    engine = await _make(tmp_path, pool=PoolSettings(lock_timeout=2.0))
    try:
        seen = _trips(monkeypatch)
        holding = asyncio.Event()
        ticks = 0

        async def holder() -> None:
            async with engine.begin() as conn:
                await conn.execute(insert(THINGS).values(name="first"))
                holding.set()
                await asyncio.sleep(0.3)

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        held = asyncio.create_task(holder())
        ticking = asyncio.create_task(ticker())
        await holding.wait()
        started = time.perf_counter()
        async with engine.begin() as conn:  # BEGIN IMMEDIATE: refused, then waited for
            await conn.execute(insert(THINGS).values(name="second"))
        waited = time.perf_counter() - started
        await held
        ticking.cancel()
        assert waited < 1.5, waited  # right after the holder, not at the lock_timeout
        assert ticks >= 10  # the loop went on meanwhile
        assert "_waiting_for_locks" in seen
        async with engine.connect() as conn:
            names = (await conn.execute(select(THINGS.c.name).order_by(THINGS.c.id))).all()
        assert names == [("first",), ("second",)]
    finally:
        monkeypatch.undo()
        await engine.dispose()


async def test_the_stock_driver_took_four_trips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the driver replaces (so the test above means something)."""
    stock = await _make(tmp_path, module=SQLiteDialect_aiosqlite.import_dbapi())
    try:

        async def one_select(conn: Any) -> None:
            await conn.execute(select(THINGS.c.id))

        assert len(await _trips_of(monkeypatch, stock, one_select)) == 4
    finally:
        await stock.dispose()


async def test_rows_counts_ids_returning_and_executemany(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        first = await conn.execute(insert(THINGS).values(name="a"))
        assert first.inserted_primary_key == (1,)  # lastrowid or RETURNING, as SQLAlchemy likes
        many = await conn.execute(insert(THINGS), [{"name": "b"}, {"name": "c"}, {"name": "d"}])
        assert many.rowcount == 3
        returned = await conn.execute(insert(THINGS).values(name="e").returning(THINGS.c.id))
        assert returned.scalar_one() == 5
        changed = await conn.execute(
            update(THINGS).where(THINGS.c.id > 2).values(name=THINGS.c.name + "!")
        )
        assert changed.rowcount == 3
        rows = (await conn.execute(select(THINGS).order_by(THINGS.c.id))).all()
        assert [tuple(r) for r in rows] == [(1, "a"), (2, "b"), (3, "c!"), (4, "d!"), (5, "e!")]
        result = await conn.execute(select(THINGS.c.name).order_by(THINGS.c.id))
        assert result.fetchmany(2) == [("a",), ("b",)]
        assert result.fetchone() == ("c!",)
        assert result.keys() == ["name"]
        assert len(result.fetchall()) == 2


async def test_errors_are_sqlalchemys_as_before(engine: AsyncEngine, tmp_path: Path) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(THINGS).values(name="a"))
    with pytest.raises(sa_exc.IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(THINGS).values(name="a"))
    with pytest.raises(sa_exc.OperationalError):
        async with engine.connect() as conn:
            await conn.execute(text("SELECT * FROM no_such_table"))
    # a write lock held elsewhere: "database is locked", which the desk reads as busy
    other = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    impatient = await _make(tmp_path, pool=PoolSettings(lock_timeout=0.1))
    try:
        async with other.begin() as holder:
            await holder.execute(insert(THINGS).values(name="held"))
            with pytest.raises(sa_exc.OperationalError) as caught:
                async with impatient.begin() as conn:
                    await conn.execute(insert(THINGS).values(name="late"))
        assert is_busy(caught.value)
    finally:
        await other.dispose()
        await impatient.dispose()


async def test_the_wal_is_checkpointed_on_the_thread_not_inside_a_commit(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's own checkpoint would run inside a COMMIT on the loop's thread (and sync both
    files there): it is off, and every CHECKPOINT_EVERY commits one runs on aiosqlite's
    thread instead, so the WAL is still written back and reused, not grown for ever."""
    async with engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar() == 0
    wal = tmp_path / "db.sqlite-wal"
    seen = _trips(monkeypatch)
    sizes: list[int] = []
    for n in range(CHECKPOINT_EVERY * 3):
        async with engine.begin() as conn:
            await conn.execute(insert(THINGS).values(name=f"n{n}"))
        sizes.append(wal.stat().st_size)
    monkeypatch.undo()
    assert seen.count("_checkpoint") == 3
    # after each checkpoint the WAL is written from its start again: about what one period
    # of commits wrote (a few pages more as the table grows), not three times that
    assert max(sizes) < 1.5 * max(sizes[: CHECKPOINT_EVERY + 1])
    async with engine.connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(THINGS))).scalar()
    assert count == CHECKPOINT_EVERY * 3
