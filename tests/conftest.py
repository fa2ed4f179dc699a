"""Shared fixtures: a fresh database per test, on SQLite and (when present) PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.config import BuildingConfig, PropertyConfig, Settings

PG_ADMIN_DSN = os.environ.get("PROPDESK_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("PROPDESK_REQUIRE_POSTGRES") == "1"


def _pg_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


async def _pg_execute(dsn: str, *statements: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def _run_blocking(dsn: str, *statements: str) -> None:
    """Session fixtures may be set up inside a running loop: use a thread of our own."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _pg_execute(dsn, *statements)).result()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database of our own for this test run, so parallel runs never collide."""
    name = f"propdesk_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    import asyncpg

    try:
        _run_blocking(PG_ADMIN_DSN, f'CREATE DATABASE "{name}"')
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        reason = f"PostgreSQL not reachable at {PG_ADMIN_DSN}: {exc}"
        if REQUIRE_POSTGRES:
            pytest.fail(f"{reason} (PROPDESK_REQUIRE_POSTGRES=1)", pytrace=False)
        pytest.skip(reason)
    dsn = PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    yield dsn
    _run_blocking(PG_ADMIN_DSN, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'propdesk.db'}"
        return
    dsn = request.getfixturevalue("pg_database")
    await _pg_execute(dsn, "DROP SCHEMA IF EXISTS public CASCADE", "CREATE SCHEMA public")
    yield _pg_url(dsn)


def demo_properties() -> list[PropertyConfig]:
    return [
        PropertyConfig(
            code="sunshine",
            name="阳光花园",
            buildings=[
                BuildingConfig(name="1栋", units=["1单元", "2单元"]),
                BuildingConfig(name="2栋", units=[]),
                BuildingConfig(name="3栋", units=["1单元", "2单元"]),
            ],
            hotlines={"gas": "96777", "property": "0571-88886666"},
        )
    ]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        telegram_token="123456:TEST",
        properties=demo_properties(),
        admin_ids=[900001],
    )
