"""The migrations build exactly the schema the models describe, and a revision that moves
data (the outbox's notice column) carries the rows queued before it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from storage.db import create_engine
from storage.migrate import upgrade
from storage.models import Base

NOW = datetime(2026, 12, 7)  # stored as naive UTC


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_notice_rows_queued_before_the_column_get_their_notice(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0010_notices")
        async with engine.begin() as connection:
            for key in ("notice:7:1001", "notice:12:1002", "reply:5:0", "notice-report:7"):
                await connection.execute(
                    text(
                        "INSERT INTO outbox (dedupe_key, chat_id, payload, status, attempts,"
                        " next_attempt_at, created_at, priority, uncertain_sends)"
                        " VALUES (:key, 1, '{}', 'pending', 0, :now, :now, 2, 0)"
                    ),
                    {"key": key, "now": NOW},
                )
        await upgrade(engine)
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT dedupe_key, notice_id FROM outbox"))
            found = {str(key): notice for key, notice in rows}
        assert found == {
            "notice:7:1001": 7,
            "notice:12:1002": 12,
            "reply:5:0": None,
            "notice-report:7": None,
        }
    finally:
        await engine.dispose()
