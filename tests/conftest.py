"""Shared fixtures: a fresh database per test, on SQLite and (when present) PostgreSQL, and
the one bot application built on it (builders in tests/support)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest

from bot.app import App
from bot.clock import Clock
from bot.config import Settings
from bot.handlers.base import Classifier
from bot.nlp import warm_up
from tests.support.apps import START, AppFactory, build_app, settings_for
from tests.support.digest_data import NOW as DIGEST_NOW
from tests.support.digest_data import seed as seed_digest_dataset
from tests.support.people import fake_classify
from tests.support.postgres import PG_ADMIN_DSN
from tests.support.world import World

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


@pytest.fixture
def settings(database_url: str) -> Settings:
    return settings_for(database_url)


@pytest.fixture(scope="session")
def real_classify() -> Classifier:
    """The real classifier, built once per run (App.create builds it at every start, which
    is right for a process and costs seconds per test)."""
    return warm_up().classify


# -- the application -----------------------------------------------------------------------
# One App fixture for every test that drives the core without a transport. A module changes
# what it is built from by overriding `start_at` or `app_settings`, and adds its own set-up
# by overriding `app` or `world` and asking for the original (pytest passes the outer one).


@pytest.fixture
def start_at() -> datetime:
    """When the app's FixedClock starts."""
    return START


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    """The settings the app is built from."""
    return settings


@pytest.fixture
async def app(app_settings: Settings, start_at: datetime) -> AsyncIterator[App]:
    """The bot application on a fresh database, a FixedClock and the stand-in classifier."""
    application = await build_app(app_settings, start_at)
    yield application
    await application.close()


@pytest.fixture
async def digest_app(app_settings: Settings) -> AsyncIterator[App]:
    """The application at 08:30 on 2026-11-28 (Shanghai) with the hand-computed digest
    dataset of tests/support/digest_data.py (the export's and performance tests' world)."""
    application = await build_app(app_settings, DIGEST_NOW)
    await seed_digest_dataset(application.uow_factory)
    yield application
    await application.close()


@pytest.fixture
def world(app: App) -> World:
    """`app` with a recording sender behind the real outbox sender."""
    return World(app)


@pytest.fixture
async def app_factory() -> AsyncIterator[AppFactory]:
    """More applications (other settings, clock or classifier); all closed at the end."""
    made: list[App] = []

    async def make(
        settings: Settings,
        clock: Clock | datetime | None = START,
        classify: Classifier | None = fake_classify,
    ) -> App:
        application = await build_app(settings, clock, classify)
        made.append(application)
        return application

    yield make
    for application in reversed(made):
        await application.close()
