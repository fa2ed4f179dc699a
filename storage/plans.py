"""What the database does with our queries: the statements an engine runs (recorded with
SQLAlchemy's events) and, on PostgreSQL, which of them read a whole table.

Used by bench/figures.py and the test suite to hold the digest queries to their period.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: Any


@dataclass
class StatementLog:
    """Every statement `engine` sends while the log is open (a `with` block)."""

    engine: AsyncEngine
    statements: list[Statement] = field(default_factory=list)

    def __enter__(self) -> StatementLog:
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._record)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        event.remove(self.engine.sync_engine, "before_cursor_execute", self._record)

    def _record(
        self,
        _connection: Any,
        _cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        self.statements.append(Statement(statement, parameters))

    def __len__(self) -> int:
        return len(self.statements)

    def reading(self, *tables: str) -> list[Statement]:
        """The SELECTs among them that name one of `tables`."""
        names = re.compile(r"\b(" + "|".join(map(re.escape, tables)) + r")\b")
        return [
            s
            for s in self.statements
            if s.sql.lstrip().upper().startswith(("SELECT", "WITH")) and names.search(s.sql)
        ]


@dataclass(frozen=True)
class IndexInfo:
    table: str
    columns: tuple[str, ...]
    partial: bool


@dataclass(frozen=True)
class Scan:
    """One node of a plan that reads a table or an index."""

    node: str  # "Seq Scan", "Index Scan", "Bitmap Index Scan", ...
    table: str
    index: str | None
    condition: str | None  # the Index Cond, if any


async def indexes(connection: AsyncConnection) -> dict[str, IndexInfo]:
    """Every index of the public schema: its table, its columns, whether it is partial."""
    rows = await connection.execute(
        text(
            "SELECT i.indexrelid::regclass::text, i.indrelid::regclass::text,"
            " array(SELECT a.attname::text FROM unnest(i.indkey) AS k(n)"
            "       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n),"
            " i.indpred IS NOT NULL"
            " FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
            " JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = 'public'"
        )
    )
    return {name: IndexInfo(table, tuple(cols), partial) for name, table, cols, partial in rows}


async def explain(
    connection: AsyncConnection, statement: Statement, *, analyze: bool = False
) -> Any:
    """The JSON plan of a recorded statement, with the parameters it ran with."""
    options = "ANALYZE, BUFFERS, FORMAT JSON" if analyze else "FORMAT JSON"
    result = await connection.exec_driver_sql(
        f"EXPLAIN ({options}) {statement.sql}", _driver_parameters(statement.parameters)
    )
    plan = result.scalar_one()
    return plan[0]["Plan"] if isinstance(plan, list) else plan


async def explain_text(connection: AsyncConnection, statement: Statement) -> str:
    """EXPLAIN ANALYZE as PostgreSQL prints it, for people to read."""
    result = await connection.exec_driver_sql(
        f"EXPLAIN (ANALYZE, BUFFERS) {statement.sql}", _driver_parameters(statement.parameters)
    )
    return "\n".join(row[0] for row in result)


def _driver_parameters(parameters: Any) -> Any:
    return tuple(parameters) if isinstance(parameters, list) else parameters


def scans(plan: dict[str, Any], known: dict[str, IndexInfo]) -> Iterator[Scan]:
    """Every node of `plan` that reads a table or an index, depth first."""
    index = plan.get("Index Name")
    table = plan.get("Relation Name") or (known[index].table if index in known else None)
    # An UPDATE's or DELETE's ModifyTable node writes the rows its child scan found.
    if table is not None and plan["Node Type"] != "ModifyTable":
        yield Scan(plan["Node Type"], table, index, plan.get("Index Cond"))
    for child in plan.get("Plans", ()):
        yield from scans(child, known)


def whole_table_reads(
    plan: dict[str, Any], known: dict[str, IndexInfo], tables: Sequence[str]
) -> list[Scan]:
    """The nodes that read all of one of `tables`, or all of one property's rows in it.

    A sequential scan reads everything; an index read without a condition too. An index
    read with a condition is bounded only as `_bounded` says; otherwise it walks a
    property's whole history, which grows just the same.
    """
    found = []
    for scan in scans(plan, known):
        if scan.table not in tables:
            continue
        if scan.index is None:
            if scan.node != "Bitmap Heap Scan":  # fed by index scans, checked on their own
                found.append(scan)
            continue
        if not _bounded(scan.condition, known[scan.index]):
            found.append(scan)
    return found


def _bounded(condition: str | None, index: IndexInfo) -> bool:
    """An index read is bounded when the index is partial, or when its condition pins a
    column past `property_id` from below (`>=`, `>`) or exactly (`=`): `created_at <
    end` alone reaches back to the first ticket ever, `created_at >= start` does not."""
    if condition is None:
        return False
    if index.partial:
        return True
    past_property = {c for c in index.columns if c != "property_id"}
    return any(
        column in past_property and operator in ("=", ">=", ">")
        for column, operator in _COMPARISON.findall(condition)
    )


# `(created_at >= '2026-11-27 ...'::timestamp ...)`, `(id = ratings.ticket_id)`: the
# index's own column stands unqualified on the left.
_COMPARISON = re.compile(r"(?<![\w.])([a-z_][a-z0-9_]*)\s*(>=|<=|<>|=|>|<)")


# SQLite ------------------------------------------------------------------------------------
async def sqlite_indexes(
    connection: AsyncConnection, tables: Sequence[str]
) -> dict[str, IndexInfo]:
    """The indexes of `tables`: their columns and whether they are partial."""
    found = {}
    for table in tables:
        listed = (await connection.exec_driver_sql(f"PRAGMA index_list({table})")).mappings()
        for row in listed.all():
            name = str(row["name"])
            info = await connection.exec_driver_sql(f"PRAGMA index_info({name})")
            columns = tuple(str(c["name"]) for c in info.mappings())
            found[name] = IndexInfo(table, columns, bool(row["partial"]))
    return found


async def sqlite_plan(connection: AsyncConnection, statement: Statement) -> list[str]:
    """EXPLAIN QUERY PLAN's lines (`SEARCH tickets USING INDEX ... (property_id=? AND ...)`)."""
    result = await connection.exec_driver_sql(
        f"EXPLAIN QUERY PLAN {statement.sql}", _driver_parameters(statement.parameters)
    )
    return [str(row[-1]) for row in result]


# `SCAN tickets`, `SEARCH ratings AS r USING INDEX ix_ratings_answered (answered_at>? AND
# answered_at<?)`, `SEARCH tickets USING INTEGER PRIMARY KEY (rowid=?)`; the inner side of an
# outer join ends with `LEFT-JOIN`
_SQLITE_TABLE = re.compile(r"^(?P<node>SCAN|SEARCH) (?P<table>\w+)")
_SQLITE_SEARCH = re.compile(
    r"^SEARCH \w+(?: AS \w+)? USING (?:(?:COVERING )?INDEX (?P<index>\w+)"
    r"|(?P<key>INTEGER PRIMARY KEY)) \((?P<condition>.*)\)(?: LEFT-JOIN)?$"
)


def sqlite_whole_table_reads(
    lines: Sequence[str], known: dict[str, IndexInfo], tables: Sequence[str]
) -> list[Scan]:
    """As `whole_table_reads`, for SQLite's plan lines: a SCAN of a table (or of one of its
    indexes) reads all of it, so does an automatic index (built from the whole table); a
    SEARCH of one of our indexes reads a bounded part as `_bounded` says."""
    found = []
    for line in (raw.strip() for raw in lines):
        head = _SQLITE_TABLE.match(line)
        if head is None or head["table"] not in tables:
            continue
        search = _SQLITE_SEARCH.match(line)
        scan = Scan(
            head["node"],
            head["table"],
            search["index"] if search else None,
            search["condition"] if search else None,
        )
        if not (search and (search["key"] or _bounded_search(scan, known))):
            found.append(scan)
    return found


def _bounded_search(scan: Scan, known: dict[str, IndexInfo]) -> bool:
    if scan.index not in known or scan.condition is None:
        return False
    # `created_at>?` reads like PostgreSQL's `(created_at > ...)` once spaced out.
    condition = re.sub(r"(>=|<=|<>|=|>|<)", r" \1 ", scan.condition)
    return _bounded(condition, known[scan.index])
