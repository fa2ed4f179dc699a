"""The database as the commands that only read it see it: never migrated, checked at head."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.config import Settings
from storage.db import create_engine, session_factory
from storage.migrate import require_head
from storage.uow import UnitOfWork, UnitOfWorkFactory


@asynccontextmanager
async def reading_unit_of_work(settings: Settings) -> AsyncIterator[UnitOfWork]:
    """One unit of work on the configured database for a command that reads and exits.

    Raises SchemaNotAtHead (the command line prints "run propdesk migrate" and exits 2) rather
    than migrating: a report or an export must not change the schema of a production
    database behind its operator's back."""
    engine = create_engine(settings.database_url)
    try:
        await require_head(engine)
        async with UnitOfWorkFactory(session_factory(engine))() as uow:
            yield uow
    finally:
        await engine.dispose()
