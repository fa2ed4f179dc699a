"""Locks that let several processes share one database: who leads (runs the outbox sender
and the sweeps), one person's updates one at a time, and one process per SQLite file.

PostgreSQL: leadership is a session-level advisory lock held on a connection kept
checked out for it; the server frees it the moment that session ends (the process died, or
its connection was lost), so another process can take it at its next try. SQLite: an
exclusive `flock` on "<database>.lock"; the kernel frees it when the process dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import zlib
from pathlib import Path
from typing import IO, Any

from sqlalchemy import ColumnElement, Integer, func, literal, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# The advisory lock key of leadership ("PropDesk" in ASCII, as a signed 64-bit number).
LEADER_KEY = 0x50726F704465736B
# Per-person locks use the two-number form of advisory locks, with this first number, so they
# never meet the leader's key or another program's locks.
PERSON_SPACE = 0x5044  # "PD"
# How long a check of the leader's connection may take before it counts as lost. Only the
# server's end of the session frees the lock, so a slow answer never means two leaders; a
# short limit only made a leader on a starved 2-core machine step down for nothing.
CHECK_TIMEOUT = 10.0
APPLICATION_PREFIX = "propdesk leader"
# pg_locks shows a bigint key as its high half (classid) and low half (objid), objsubid 1.
# Advisory locks belong to one database, but pg_locks lists every database's: another
# database's desk on the same server holds a lock with the same key.
_MATCH = (
    "locktype = 'advisory' AND granted AND objsubid = 1 "
    "AND pg_locks.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND classid = (CAST(:key AS bigint) >> 32)::oid "
    "AND objid = (CAST(:key AS bigint) & 4294967295)::oid"
)


def process_name() -> str:
    """Who this process is, as shown to the other processes and in /healthz."""
    return f"{socket.gethostname()}:{os.getpid()}"


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


class PgLeaderLock:
    """pg_try_advisory_lock on a dedicated connection, kept open while we lead."""

    def __init__(self, engine: AsyncEngine, key: int = LEADER_KEY, name: str = "") -> None:
        self._engine = engine
        self._key = key
        self.name = name or process_name()
        self._connection: AsyncConnection | None = None

    @property
    def held(self) -> bool:
        return self._connection is not None

    async def try_acquire(self) -> bool:
        """True when this process holds the lock now (taken now, or held already)."""
        if self._connection is not None:
            return True
        connection = await self._engine.connect()
        try:
            # Shown in pg_stat_activity, so followers can tell who leads.
            await connection.execute(
                text("SELECT set_config('application_name', :name, false)"),
                {"name": f"{APPLICATION_PREFIX} {self.name}"[:63]},
            )
            taken = await connection.scalar(
                text("SELECT pg_try_advisory_lock(CAST(:key AS bigint))"), {"key": self._key}
            )
            await connection.commit()  # the lock is the session's, not the transaction's
        except BaseException:
            await _discard(connection)
            raise
        if not taken:
            await _discard(connection)
            return False
        self._connection = connection
        return True

    async def check(self) -> bool:
        """Whether we still hold it: the session answers and still has the lock. A lost
        connection means the server has freed the lock already: we must step down."""
        connection = self._connection
        if connection is None:
            return False
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                mine = await connection.scalar(
                    text(
                        f"SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND {_MATCH}"
                    ),
                    {"key": self._key},
                )
                await connection.commit()
        except Exception:
            mine = 0
        if not mine:
            self._connection = None
            await _discard(connection)
            return False
        return True

    async def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CHECK_TIMEOUT):
                await connection.execute(
                    text("SELECT pg_advisory_unlock(CAST(:key AS bigint))"), {"key": self._key}
                )
                await connection.commit()
        await _discard(connection)

    async def holder(self) -> str | None:
        """The process leading now as it named itself, or None when nobody does (asked
        through the pool: a follower has no connection of its own)."""
        async with self._engine.connect() as connection:
            name = await connection.scalar(
                text(
                    "SELECT a.application_name FROM pg_locks "
                    f"JOIN pg_stat_activity a ON a.pid = pg_locks.pid WHERE {_MATCH} LIMIT 1"
                ),
                {"key": self._key},
            )
        if name is None:
            return None
        return str(name).removeprefix(APPLICATION_PREFIX).strip() or "?"


async def _discard(connection: AsyncConnection) -> None:
    """Close a connection that may be broken; invalidate it so the pool never reuses it."""
    with contextlib.suppress(Exception):
        await connection.invalidate()
    with contextlib.suppress(Exception):
        await connection.close()


def person_key(chat_id: int, user_id: int) -> int:
    """A 32-bit key for one person in one chat (a collision only makes two people wait)."""
    digest = zlib.crc32(f"{chat_id}:{user_id}".encode())
    return digest - (1 << 32) if digest >= 1 << 31 else digest


def person_lock(chat_id: int, user_id: int) -> ColumnElement[Any]:
    """PostgreSQL: waits until no other transaction (in any process) holds this person's
    lock, then holds it until this transaction ends. (SQLite has one writer at a time.)"""
    return person_lock_by_key(literal(person_key(chat_id, user_id), Integer))


def person_lock_by_key(key: ColumnElement[Any]) -> ColumnElement[Any]:
    """`person_lock` for a key given as an expression (a bound parameter in a statement
    built once)."""
    return func.pg_advisory_xact_lock(literal(PERSON_SPACE, Integer), key)


class DatabaseInUse(Exception):
    """Another process holds the SQLite database file."""


class SqliteFileLock:
    """An exclusive lock on "<database>.lock" for as long as the process runs."""

    def __init__(self, database_url: str) -> None:
        database = make_url(database_url).database or ""
        self.database = database
        self.path = Path(f"{database}.lock")
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        if not self.database or self.database == ":memory:":
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise DatabaseInUse(
                f"the SQLite database {self.database} is in use by {owner} "
                f"(lock file {self.path}); one process per SQLite file: stop it first, "
                "or use PostgreSQL for several workers"
            ) from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"PropDesk process {process_name()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        handle, self._file = self._file, None
        if handle is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()
