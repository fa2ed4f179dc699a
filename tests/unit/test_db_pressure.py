"""Database pressure: the pool and lock settings reach the engine, and the errors that mean
"could not get the database in time" are told apart from real failures."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import App, pool_settings
from bot.config import Settings
from storage.db import DatabaseBusy, PoolSettings, create_engine, is_busy
from tests.support.people import register


class PgError(Exception):
    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def wrapped(original: Exception) -> sa_exc.DBAPIError:
    return sa_exc.OperationalError("INSERT ...", {}, original)


def test_busy_errors_are_told_apart() -> None:
    assert is_busy(sa_exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"))
    assert is_busy(DatabaseBusy("waited too long for the database's write lock"))
    assert is_busy(wrapped(sqlite3.OperationalError("database is locked")))
    assert is_busy(wrapped(PgError("canceling statement due to lock timeout", "55P03")))
    lock_cause = Exception("asyncpg adapter error")
    lock_cause.__cause__ = PgError("lock timeout", "55P03")
    assert is_busy(wrapped(lock_cause))
    assert not is_busy(wrapped(sqlite3.OperationalError("no such table: tickets")))
    assert not is_busy(wrapped(PgError("deadlock detected", "40P01")))
    assert not is_busy(sa_exc.IntegrityError("INSERT ...", {}, Exception("UNIQUE constraint")))
    assert not is_busy(ValueError("database is locked"))  # not from the database at all


async def test_pool_settings_reach_the_engine(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}",
        db_pool_size=3,
        db_max_overflow=1,
        db_pool_timeout=2.5,
        db_lock_timeout=4.0,
    )
    pool = pool_settings(settings)
    assert pool == PoolSettings(size=3, max_overflow=1, timeout=2.5, lock_timeout=4.0)
    engine = create_engine(settings.database_url, pool)
    try:
        assert engine.pool.size() == 3  # type: ignore[attr-defined]
        assert engine.pool.timeout() == 2.5  # type: ignore[attr-defined]
        async with engine.connect() as connection:
            # SQLite waits for a lock on aiosqlite's thread, never on the loop's
            # (storage/sqlite_driver.py): there for 4 s, here not at all
            busy = await connection.exec_driver_sql("PRAGMA busy_timeout")
            assert busy.scalar() == 0
            raw = await connection.get_raw_connection()
            assert raw.dbapi_connection.busy_ms == 4000  # type: ignore[union-attr]
    finally:
        await engine.dispose()


async def test_a_burst_reuses_the_pools_connections(app: App) -> None:
    """Twenty residents writing at once, three times over: the connections opened stay
    within the pool. (An extra connection allowed on top of the pool is closed when handed
    back: with 5 + 10 extra, each burst opened new ones and prepared every statement again.)"""
    people = [await register(app, 3000 + n) for n in range(20)]
    opened: list[object] = []

    def count(dbapi_connection: object, _record: object) -> None:
        opened.append(dbapi_connection)

    engine = app.engine.pool
    event.listen(engine, "connect", count)
    try:
        for _ in range(3):
            await asyncio.gather(*(person.say("卫生间天花板一直在滴水") for person in people))
            for person in people:
                person.button("确认")  # every draft came back with its Submit button
            await asyncio.gather(*(person.say("/cancel") for person in people))
    finally:
        event.remove(engine, "connect", count)
    assert len(opened) <= app.settings.db_pool_size, len(opened)


# -- PostgreSQL: a pooled connection is checked only after sitting idle ----------------------


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def pg_url(pg_database: str) -> str:
    return pg_database.replace("postgresql://", "postgresql+asyncpg://", 1)


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(text("SELECT pg_backend_pid()")))


def count_pings(engine: AsyncEngine) -> list[object]:
    pings: list[object] = []
    dialect = engine.sync_engine.dialect
    original = dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return original(dbapi_connection)

    dialect.do_ping = counted  # type: ignore[method-assign]
    return pings


@pytest.mark.postgres
async def test_a_connection_back_a_moment_ago_is_lent_without_a_ping(pg_url: str) -> None:
    clock = FakeMonotonic()
    engine = create_engine(pg_url, PoolSettings(size=1, max_overflow=0), monotonic=clock)
    pings = count_pings(engine)
    try:
        first = await backend_pid(engine)
        for _ in range(5):  # a burst: each loan follows the last return at once
            assert await backend_pid(engine) == first
        assert pings == []
        clock.now += 1.5  # longer than the default second in the pool
        assert await backend_pid(engine) == first
        assert len(pings) == 1
        assert await backend_pid(engine) == first  # and busy again: no more checks
        assert len(pings) == 1
    finally:
        await engine.dispose()


async def cut_connection(admin_dsn: str, pid: int) -> None:
    admin = await asyncpg.connect(admin_dsn)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


@pytest.mark.postgres
@pytest.mark.parametrize("checked", [True, False])
async def test_an_idle_connection_the_server_cut_is_replaced_before_use(
    pg_database: str, pg_url: str, checked: bool
) -> None:
    """A restart or a proxy's idle timeout cuts a pooled connection: the check after idling
    replaces it, and the next unit of work runs on a new one. (Unchecked, the same cut
    connection fails the first statement lent it: the check is what saves it.)"""
    clock = FakeMonotonic()
    idle = 1.0 if checked else 1e9
    pool = PoolSettings(size=1, max_overflow=0, ping_after_idle=idle)
    engine = create_engine(pg_url, pool, monotonic=clock)
    try:
        cut = await backend_pid(engine)
        await cut_connection(pg_database, cut)
        clock.now += 60
        if checked:
            assert await backend_pid(engine) != cut
        else:
            with pytest.raises(sa_exc.DBAPIError):
                await backend_pid(engine)
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_the_connection_handed_back_last_is_lent_first(pg_url: str) -> None:
    """In a quiet spell one connection serves and the others sit idle (checked when next
    lent), rather than every connection taking turns and none ever sitting idle."""
    engine = create_engine(pg_url, PoolSettings(size=2, max_overflow=0))
    try:
        async with engine.connect() as first, engine.connect() as second:
            pids = {
                int(await first.scalar(text("SELECT pg_backend_pid()"))),
                int(await second.scalar(text("SELECT pg_backend_pid()"))),
            }
        assert len(pids) == 2  # both are in the pool now
        lent = {await backend_pid(engine) for _ in range(4)}
        assert len(lent) == 1 and lent <= pids
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_failed_check_renews_the_whole_pool(pg_url: str) -> None:
    """As pool_pre_ping: when one idle connection is found cut, the server most likely cut
    them all, so every connection made before is replaced at its next loan."""
    clock = FakeMonotonic()
    engine = create_engine(pg_url, PoolSettings(size=1, max_overflow=0), monotonic=clock)
    dialect = engine.sync_engine.dialect
    try:
        await backend_pid(engine)
        renewed_before = engine.sync_engine.pool._invalidate_time  # type: ignore[attr-defined]

        def cut(_dbapi_connection: object) -> bool:
            raise dialect.loaded_dbapi.Error("connection was closed in the middle of operation")

        dialect.do_ping = cut  # type: ignore[method-assign]
        clock.now += 60
        await backend_pid(engine)  # on a new connection
        assert engine.sync_engine.pool._invalidate_time > renewed_before  # type: ignore[attr-defined]
    finally:
        await engine.dispose()
