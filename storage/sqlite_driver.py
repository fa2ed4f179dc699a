"""SQLAlchemy's aiosqlite driver with one trip to the connection's thread per statement.

aiosqlite runs each sqlite3 call on a thread of its own and hands every result back to the
event loop; SQLAlchemy's adapter makes four such calls per statement (open a cursor,
execute, fetch the rows, close the cursor), and each trip costs more CPU than SQLite spends
on one of the desk's indexed statements (a queue, a thread wake-up, a future resolved
through the loop's self-pipe). Here a statement runs whole in one trip: the cursor is
opened, executed, read and closed on the thread, and the adapter keeps what it returned
(description, row count, last row id, rows). Everything else (transactions, errors, server-
side cursors, the pool) is SQLAlchemy's aiosqlite driver unchanged; `storage.db` passes this
module to the engine as its DBAPI.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT

# what one statement left behind: description, rowcount, lastrowid, rows
_Outcome = tuple[Any, int, int | None, list[Any]]


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


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor that holds no aiosqlite cursor between statements."""

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
        connection = self._connection
        async with self._adapt_connection._execute_mutex:
            self._keep(await connection._execute(_execute, connection._conn, operation, parameters))
        return self

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        connection = self._connection
        async with self._adapt_connection._execute_mutex:
            self._keep(
                await connection._execute(
                    _executemany, connection._conn, operation, seq_of_parameters
                )
            )
        return self

    async def _async_soft_close(self) -> None:
        return  # nothing open on the thread

    def close(self) -> None:
        self._rows.clear()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor  # type: ignore[assignment]  # (a subclass of the base's)


class OneTripDbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def one_trip_dbapi() -> OneTripDbapi:
    """The DBAPI module to hand `create_async_engine(module=...)` for sqlite+aiosqlite."""
    return OneTripDbapi(aiosqlite, sqlite3)
