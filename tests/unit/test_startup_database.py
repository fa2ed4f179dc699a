"""A database that cannot be opened stops start-up with one line naming PROPDESK_DATABASE_URL:
a URL no driver reads, a server nobody answers at, a database that does not exist."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from bot.app import App, with_retry
from bot.config import Settings, SettingsError
from bot.services.pacing import UNLIMITED, Limits
from tests.support.apps import settings_for
from tests.support.people import fake_classify

CASES = [
    ("nosuchdriver://x", "Can't load plugin"),
    ("postgresql+asyncpg://postgres@127.0.0.1:9/test", "cannot open the database"),
]


@pytest.mark.parametrize(("url", "said"), CASES)
async def test_a_database_that_cannot_be_opened_is_one_line(url: str, said: str) -> None:
    settings = settings_for(url).model_copy(update={"db_connect_seconds": 0})
    with pytest.raises(SettingsError) as error:
        await App.create(settings, classify=fake_classify)
    message = str(error.value)
    assert message.startswith("setting PROPDESK_DATABASE_URL") and said in message
    assert "\n" not in message


async def test_a_missing_postgresql_database_is_one_line(settings: Settings) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("needs the PostgreSQL server (this case runs in the postgres variant)")
    url = settings.database_url.rsplit("/", 1)[0] + "/propdesk_no_such_database"
    with pytest.raises(SettingsError) as error:
        await App.create(settings_for(url), classify=fake_classify)
    assert 'database "propdesk_no_such_database" does not exist' in str(error.value)


async def test_flood_limits_off_lifts_the_outbox_pacing(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    settings = settings_for(url).model_copy(update={"flood_limits": False})
    app = await App.create(settings, classify=fake_classify)
    try:
        assert app.limits == UNLIMITED
    finally:
        await app.close()
    default = await App.create(settings_for(url), classify=fake_classify)
    try:
        assert default.limits == Limits()  # Telegram's, unless told otherwise
    finally:
        await default.close()


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


async def test_a_database_not_up_yet_is_waited_for_with_backoff() -> None:
    clock, tries = FakeTime(), []

    async def attempt() -> str:
        tries.append(clock.now)
        if clock.now < 6:
            raise ConnectionRefusedError("connection refused")
        return "opened"

    assert await with_retry(attempt, 30, clock.sleep, clock.monotonic) == "opened"
    assert clock.waits == [0.5, 1.0, 2.0, 4.0]  # doubling; opened at 7.5 s


async def test_the_retry_gives_up_at_its_time() -> None:
    clock = FakeTime()

    async def attempt() -> str:
        raise ConnectionRefusedError("connection refused")

    with pytest.raises(ConnectionRefusedError):
        await with_retry(attempt, 10, clock.sleep, clock.monotonic)
    assert clock.waits == [0.5, 1.0, 2.0, 4.0, 2.5]  # the last wait ends at the deadline
    assert clock.now == 10


async def test_a_missing_database_is_not_waited_for(settings: Settings) -> None:
    """No wait changes "database does not exist": one try, however long the retry time."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("needs the PostgreSQL server (this case runs in the postgres variant)")
    url = settings.database_url.rsplit("/", 1)[0] + "/propdesk_no_such_database"
    slow = settings_for(url).model_copy(update={"db_connect_seconds": 60})
    started = time.monotonic()
    with pytest.raises(SettingsError):
        await App.create(slow, classify=fake_classify)
    assert time.monotonic() - started < 10


def _sqlite_workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if "_connection_worker_thread" in t.name]


async def test_a_sqlite_file_that_cannot_open_leaves_no_worker_thread(tmp_path: Path) -> None:
    """aiosqlite's thread of the failed connection still posts to the loop: a start that
    fails must let it end before the loop closes, or it prints a traceback at exit under
    the one-line error (seen once in CI)."""
    before = set(_sqlite_workers())
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path}").model_copy(
        update={"db_connect_seconds": 0}
    )
    with pytest.raises(SettingsError, match="cannot open the database"):
        await App.create(settings, classify=fake_classify)
    assert [t for t in _sqlite_workers() if t not in before and t.is_alive()] == []
