"""SQLAlchemy's aiosqlite driver with statements run on the event loop's own thread.

aiosqlite runs each sqlite3 call on a thread of its own and hands every result back to the
event loop; SQLAlchemy's adapter makes four such calls per statement (open a cursor,
execute, fetch the rows, close the cursor). One trip costs about 80 us of CPU (a queue, a
thread wake-up, a future resolved through the loop's self-pipe), twenty times what SQLite
spends on one of the desk's indexed statements; and while the loop is busy the thread
waits up to the interpreter's switch interval (5 ms) for the GIL to hand its result back.

Here a statement, COMMIT and ROLLBACK run whole, at once, on the loop's thread: the cursor
is opened, executed, read and closed, and the adapter keeps what it returned (description,
row count, last row id, rows). SQLite must never wait for a lock there (the lock's holder
may be another task of this same loop, which could then never finish), so the connection
waits for nothing (`busy_timeout` 0); a statement refused as busy (BEGIN IMMEDIATE while
another connection writes) runs again on aiosqlite's thread, which waits for the lock as
long as the engine allows while the loop goes on. The WAL's checkpoints (which sync the
files) run there too, every CHECKPOINT_EVERY commits, not inside a COMMIT. Everything else
(opening and closing, errors, server-side cursors, the pool) is SQLAlchemy's aiosqlite
driver unchanged; `storage.db` passes this module to the engine as its DBAPI.
"""

from __future__ import annotations

import collections
import logging
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, cast

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

# what one statement left behind: description, rowcount, lastrowid, rows
_Outcome = tuple[Any, int, int | None, list[Any]]
# SQLite's primary result codes for a lock another connection holds
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
DEFAULT_BUSY_SECONDS = 5.0  # sqlite3.connect's own default
# commits (of all of an engine's connections) between two checkpoints of the WAL: about
# SQLite's own 1,000 pages at the desk's few pages per commit
CHECKPOINT_EVERY = 200
log = logging.getLogger(__name__)


def refused_as_busy(error: BaseException) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return (
        isinstance(error, sqlite3.OperationalError)
        and code is not None
        and (code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED))
    )


def _waiting_for_locks(
    busy_ms: int, work: Callable[..., Any], connection: sqlite3.Connection, *args: Any
) -> Any:
    """On aiosqlite's thread: `work`, waiting up to `busy_ms` for another's lock."""
    connection.execute(f"PRAGMA busy_timeout={busy_ms}")
    try:
        return work(connection, *args)
    finally:
        connection.execute("PRAGMA busy_timeout=0")


def _commit(connection: sqlite3.Connection) -> None:
    connection.commit()


def _rollback(connection: sqlite3.Connection) -> None:
    connection.rollback()


def _checkpoint(connection: sqlite3.Connection) -> None:
    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def _execute(connection: sqlite3.Connection, operation: str, parameters: Any) -> _Outcome:
    """On aiosqlite's thread: the whole statement."""
    cursor = connection.cursor()
    try:
        cursor.execute(operation, () if parameters is None else parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _executemany(connection: sqlite3.Connection, operation: str, seq: Sequence[Any]) -> _Outcome:
    cursor = connection.cursor()
    try:
        cursor.executemany(operation, seq)
        return cursor.description, cursor.rowcount, cursor.lastrowid, []
    finally:
        cursor.close()


class LoopThreadCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor that holds no aiosqlite cursor: each statement runs whole on
    the loop's thread (or, when busy, on aiosqlite's)."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # (not the base's __init__: that opens an aiosqlite cursor, one trip)
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    def _keep(self, outcome: _Outcome) -> None:
        self._description, self._rowcount, self._lastrowid, rows = outcome
        self._rows = collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        adapted = self._adapt_connection
        async with adapted._execute_mutex:
            self._keep(await adapted.run(_execute, operation, parameters))  # type: ignore[attr-defined]
        return self

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        adapted = self._adapt_connection
        async with adapted._execute_mutex:
            self._keep(await adapted.run(_executemany, operation, seq_of_parameters))  # type: ignore[attr-defined]
        return self

    async def _async_soft_close(self) -> None:
        return  # nothing open on the thread

    def close(self) -> None:
        self._rows.clear()


class LoopThreadConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("busy_ms",)
    busy_ms: int  # how long aiosqlite's thread waits for another's lock
    _cursor_cls = LoopThreadCursor  # type: ignore[assignment]  # (a subclass of the base's)
    inline = True  # read by storage.db: this connection must not wait for locks itself

    async def run(self, work: Callable[..., Any], *args: Any) -> Any:
        """`work(sqlite3 connection, *args)` at once on this thread; on aiosqlite's, waiting
        for the lock, when another connection holds it."""
        connection = self._connection._conn
        try:
            return work(connection, *args)
        except sqlite3.OperationalError as error:
            if not refused_as_busy(error):
                raise
        return await self._connection._execute(
            _waiting_for_locks, self.busy_ms, work, connection, *args
        )

    def commit(self) -> None:
        self._finish(_commit)
        if cast(LoopThreadDbapi, self.dbapi).checkpoint_due():
            self._checkpoint_off_the_loop()

    def _checkpoint_off_the_loop(self) -> None:
        """The WAL written back into the database file, on aiosqlite's thread. SQLite's own
        automatic checkpoint (off on these connections, storage.db) would run inside a
        COMMIT, on the loop's thread, and it syncs both files: milliseconds on a real disk,
        with every chat waiting. (PASSIVE: it waits for no one; what it cannot copy now, the
        next one does.)"""
        try:
            await_(self._connection._execute(_checkpoint, self._connection._conn))
        except Exception as error:
            log.warning("SQLite checkpoint failed, tried again later: %s", error)

    def rollback(self) -> None:
        self._finish(_rollback)

    def _finish(self, work: Callable[[sqlite3.Connection], None]) -> None:
        if not self._connection._connection:
            return  # closed: nothing to finish (as the base adapter does)
        try:
            await_(self.run(work))
        except Exception as error:
            self._handle_exception(error)


class LoopThreadDbapi(AsyncAdapt_aiosqlite_dbapi):
    def __init__(self, aiosqlite: Any, sqlite: Any) -> None:
        super().__init__(aiosqlite, sqlite)
        self._commits = 0

    def checkpoint_due(self) -> bool:
        """Counts a commit; True once every CHECKPOINT_EVERY of them."""
        self._commits += 1
        if self._commits < CHECKPOINT_EVERY:
            return False
        self._commits = 0
        return True

    def connect(self, *arg: Any, **kw: Any) -> LoopThreadConnection:
        # used from the loop's thread as well as aiosqlite's, never at once (the mutex)
        kw["check_same_thread"] = False
        busy_seconds = float(kw.get("timeout", DEFAULT_BUSY_SECONDS))
        adapted = super().connect(*arg, **kw)
        connection = LoopThreadConnection(self, adapted._connection)
        connection.busy_ms = int(busy_seconds * 1000)
        return connection


def loop_thread_dbapi() -> LoopThreadDbapi:
    """The DBAPI module to hand `create_async_engine(module=...)` for sqlite+aiosqlite."""
    return LoopThreadDbapi(aiosqlite, sqlite3)
