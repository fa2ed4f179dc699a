"""Engine construction: SQLite gets WAL, foreign keys and BEGIN IMMEDIATE; PostgreSQL as is.
Both get bounded waits: for a pooled connection and for a lock."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

from storage.sqlite_driver import loop_thread_dbapi


async def sqlite_threads_finished(timeout: float = 2.0) -> None:
    """Wait (off the loop) for aiosqlite's worker threads to end. A connection that failed
    to open still hands its last result to the event loop from its thread; were the loop
    closed first (a start that fails and exits at once), that thread would print a
    traceback under our one-line error. Call after the engine is disposed."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        left = deadline - time.monotonic()
        if left > 0 and "_connection_worker_thread" in thread.name:
            await asyncio.to_thread(thread.join, left)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


@dataclass(frozen=True)
class PoolSettings:
    """Connections kept (`size`) and allowed on top (`max_overflow`); seconds to wait for a
    connection (`timeout`) and for a lock (`lock_timeout`) before giving up."""

    size: int = 5
    max_overflow: int = 10
    timeout: float = 30.0
    lock_timeout: float = 30.0
    # PostgreSQL: a connection back in the pool longer than this is checked before it is
    # lent again (0: at every loan, as SQLAlchemy's pool_pre_ping)
    ping_after_idle: float = 1.0


# PostgreSQL's lock_not_available: lock_timeout ran out.
PG_LOCK_NOT_AVAILABLE = "55P03"


def create_engine(
    url: str,
    pool: PoolSettings | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    **kwargs: Any,
) -> AsyncEngine:
    pool = pool or PoolSettings()
    sizes = {
        "pool_size": pool.size,
        "max_overflow": pool.max_overflow,
        "pool_timeout": pool.timeout,
    }
    if is_sqlite(url):
        _ensure_sqlite_folder(url)
        if make_url(url).get_driver_name() == "aiosqlite" and "module" not in kwargs:
            # statements on the loop's thread instead of four trips to aiosqlite's each
            kwargs["module"] = loop_thread_dbapi()
        engine = create_async_engine(
            url, connect_args={"timeout": pool.lock_timeout}, **sizes, **kwargs
        )
        _configure_sqlite(engine, pool.lock_timeout)
        return engine
    lock_ms = str(int(pool.lock_timeout * 1000))
    engine = create_async_engine(
        url,
        connect_args={"server_settings": {"lock_timeout": lock_ms}},
        # the connection handed back last is lent first: a quiet spell leaves the others
        # idle (and checked when next lent) rather than every one of them a little used
        pool_use_lifo=True,
        **sizes,
        **kwargs,
    )
    _ping_after_idle(engine, pool.ping_after_idle, monotonic)
    return engine


_RETURNED_AT = "propdesk_returned_at"  # in a pooled connection's info: when it came back


def _ping_after_idle(engine: AsyncEngine, idle: float, monotonic: Callable[[], float]) -> None:
    """SQLAlchemy's pool_pre_ping, for a connection that sat in the pool longer than `idle`
    seconds only. The asyncpg dialect pings with three round trips (BEGIN, an empty query,
    ROLLBACK), a fifth of a report's; under load a connection is lent again within
    milliseconds of its return and its server is the one that just answered it. One that
    sat idle may have been cut (a restart, a proxy's idle timeout): it is checked, and when
    the check fails the whole pool is renewed before anyone uses it, as pool_pre_ping does.
    What this gives up: a connection handed back within the last `idle` seconds before the
    server went away is lent unchecked and fails its first statement (that request is
    answered "busy" and nothing of it is kept); that failure renews the pool too."""
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = monotonic()

    @event.listens_for(pool, "checkout")
    def _lent(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED_AT)
        if returned is None or monotonic() - returned < idle:
            return  # a new connection, or one back a moment ago
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            raise sa_exc.InvalidatePoolError(f"idle connection is gone: {error}") from error
        if not alive:
            raise sa_exc.InvalidatePoolError("idle connection is gone")


class DatabaseBusy(Exception):
    """Our own wait for the database ran out (e.g. the queue for SQLite's write lock)."""


def is_busy(error: BaseException) -> bool:
    """The database could not be had in time: no pooled connection, or a lock held too long.
    Nothing was committed; the same request can simply be tried again."""
    if isinstance(error, sa_exc.TimeoutError | DatabaseBusy):
        return True
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    original = error.orig
    for layer in (original, getattr(original, "__cause__", None)):
        if getattr(layer, "sqlstate", None) == PG_LOCK_NOT_AVAILABLE:
            return True
    text = str(original).lower()
    return "database is locked" in text or "database is busy" in text


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def _ensure_sqlite_folder(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: AsyncEngine, lock_timeout: float) -> None:
    busy_ms = int(lock_timeout * 1000)

    # The driver's implicit transactions lose concurrent read-then-write updates;
    # SQLAlchemy's documented recipe takes the write lock at BEGIN instead.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # a connection run on the loop's thread must not wait there (storage.sqlite_driver)
        inline = getattr(dbapi_connection, "inline", False)
        cursor.execute(f"PRAGMA busy_timeout={0 if inline else busy_ms}")
        if inline:  # its checkpoints run on aiosqlite's thread instead of in a COMMIT
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
