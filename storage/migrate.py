"""Apply Alembic migrations programmatically (used by `propdesk migrate` and at start), and tell
whether a database is at head (read-only commands check it instead of migrating)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    def _upgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


class SchemaNotAtHead(Exception):
    """The database is missing migrations; only `propdesk migrate` (or a start) applies them."""

    def __init__(self, current: str | None, head: str) -> None:
        self.current = current
        self.head = head
        at = f"at revision {current}" if current else "without a schema"
        super().__init__(f"the database is {at}, the code expects {head}")


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations folder has no revisions"
    return head


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision stamped in the database, None when it has none; reads, never writes."""

    def _current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(_current)


async def require_head(engine: AsyncEngine) -> None:
    """Raise SchemaNotAtHead unless the database is at the newest revision."""
    current, head = await current_revision(engine), head_revision()
    if current != head:
        raise SchemaNotAtHead(current, head)
