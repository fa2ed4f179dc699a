"""Several processes on one database: one leader at a time (a PostgreSQL advisory lock on a
connection of its own), a follower takes over when the leader's session ends, one person's
updates one at a time across processes, and one process per SQLite file.

The PostgreSQL tests skip (with the reason) when no server answers at 127.0.0.1:5432; each
"process" here is an engine of its own, as a process would have."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import App
from bot.clock import FixedClock
from bot.services.leadership import Leadership
from storage.db import create_engine, is_sqlite
from storage.leadership import DatabaseInUse, PgLeaderLock, SqliteFileLock, person_lock
from tests.support.postgres import PG_ADMIN_DSN

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
async def engines(pg_database: str) -> AsyncIterator[list[AsyncEngine]]:
    """Three engines on one PostgreSQL database, as three processes would hold."""
    url = pg_database.replace("postgresql://", "postgresql+asyncpg://", 1)
    made = [create_engine(url) for _ in range(3)]
    yield made
    for engine in made:
        await engine.dispose()


async def terminate_session_of(lock: PgLeaderLock, admin: AsyncEngine) -> None:
    """What kill -9 of the leader, or a lost network, does to its session."""
    connection = lock._connection
    assert connection is not None
    pid = await connection.scalar(text("SELECT pg_backend_pid()"))
    await connection.commit()
    async with admin.connect() as other:
        assert await other.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await other.commit()


@pytest.mark.postgres
async def test_one_lock_holder_and_the_next_after_release(engines: list[AsyncEngine]) -> None:
    first = PgLeaderLock(engines[0], name="host-a:1")
    second = PgLeaderLock(engines[1], name="host-b:2")
    assert await first.try_acquire()
    assert not await second.try_acquire()
    assert await first.try_acquire()  # held already: still ours
    assert await first.check()
    assert await second.holder() == "host-a:1"  # a follower can tell who leads
    await first.release()
    assert await second.holder() is None
    assert await second.try_acquire()
    assert not await first.try_acquire()
    assert await first.holder() == "host-b:2"
    await second.release()


@pytest.mark.postgres
async def test_a_leader_in_another_database_of_the_server_is_not_ours(
    engines: list[AsyncEngine],
) -> None:
    """Two deployments (say staging and production) on one PostgreSQL server: each has a
    leader of its own, and a follower names its own deployment's leader only."""
    other = create_engine(PG_ADMIN_DSN.replace("postgresql://", "postgresql+asyncpg://", 1))
    elsewhere = PgLeaderLock(other, name="staging:7")
    ours = PgLeaderLock(engines[0], name="production:1")
    follower = PgLeaderLock(engines[1], name="production:2")
    try:
        assert await elsewhere.try_acquire()
        assert await follower.holder() is None  # nobody leads in our database
        assert await ours.try_acquire()
        assert await follower.holder() == "production:1"
        assert await elsewhere.holder() == "staging:7"
    finally:
        await ours.release()
        await elsewhere.release()
        await other.dispose()


@pytest.mark.postgres
async def test_a_lost_session_frees_the_lock_and_its_holder_notices(
    engines: list[AsyncEngine],
) -> None:
    leader = PgLeaderLock(engines[0], name="a")
    follower = PgLeaderLock(engines[1], name="b")
    assert await leader.try_acquire()
    await terminate_session_of(leader, engines[2])
    assert await follower.try_acquire()  # the server freed it with the session
    assert not await leader.check()  # the old leader learns it at its next check
    assert not leader.held
    assert not await leader.try_acquire()  # and cannot take it back while b leads
    await follower.release()
    await leader.release()


class Recorded:
    def __init__(self) -> None:
        self.events: list[str] = []

    async def lead(self) -> None:
        self.events.append("lead")

    async def follow(self) -> None:
        self.events.append("follow")


async def until(condition: object, timeout: float = 5.0) -> float:
    """Seconds until `condition()` held (AssertionError after `timeout`)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not condition():  # type: ignore[operator]
        if loop.time() - started > timeout:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.02)
    return loop.time() - started


@pytest.mark.postgres
async def test_a_follower_takes_over_within_a_few_tries_when_the_leader_dies(
    engines: list[AsyncEngine],
) -> None:
    clock = FixedClock(NOW)
    a_lock, b_lock = PgLeaderLock(engines[0], name="a"), PgLeaderLock(engines[1], name="b")
    a, b = Leadership(a_lock, clock, "a", 0.1), Leadership(b_lock, clock, "b", 0.1)
    a_seen, b_seen = Recorded(), Recorded()
    a_stop, b_stop = asyncio.Event(), asyncio.Event()
    await a.step(a_seen.lead, a_seen.follow)  # a starts first
    runs = [
        asyncio.create_task(a.run(a_seen.lead, a_seen.follow, a_stop)),
        asyncio.create_task(b.run(b_seen.lead, b_seen.follow, b_stop)),
    ]
    try:
        await until(lambda: b.leader == "a")
        await asyncio.sleep(0.5)  # several of b's tries: none succeeds while a leads
        assert (a.leading, b.leading) == (True, False)
        assert b.status().as_dict()["leader"] == "a"
        assert b.status().as_dict()["role"] == "follower"
        assert a.status().as_dict()["role"] == "leader"
        assert (a_seen.events, b_seen.events) == (["lead"], [])

        await terminate_session_of(a_lock, engines[2])  # a's session dies
        took = await until(lambda: b.leading and not a.leading)
        assert took < 2.0
        assert a_seen.events == ["lead", "follow"]  # a stepped down by itself
        assert b_seen.events == ["lead"]
        await asyncio.sleep(0.5)
        assert not a.leading  # and a does not take it back while b leads
        assert await PgLeaderLock(engines[2]).holder() == "b"

        b_stop.set()  # b stops in order: its lock is released, a leads again
        await runs[1]
        await until(lambda: a.leading)
        assert a_seen.events == ["lead", "follow", "lead"]
    finally:
        a_stop.set()
        b_stop.set()
        await asyncio.gather(*runs, return_exceptions=True)


async def test_without_a_lock_the_only_process_leads_at_once() -> None:
    alone = Leadership(None, FixedClock(NOW), "solo", 0.05)
    seen = Recorded()
    stop = asyncio.Event()
    task = asyncio.create_task(alone.run(seen.lead, seen.follow, stop))
    await until(lambda: alone.leading)
    await asyncio.sleep(0.2)
    stop.set()
    await task
    assert seen.events == ["lead"]
    assert not alone.shared


@pytest.mark.postgres
async def test_one_persons_updates_wait_for_each_other_across_processes(
    engines: list[AsyncEngine],
) -> None:
    """The lock the update's claim takes: a second transaction for the same person waits
    until the first ends; another person does not wait."""
    first, second = engines[0], engines[1]
    async with first.connect() as one:
        await one.execute(select(person_lock(-100, 7)))
        async with second.connect() as two:
            await two.execute(select(person_lock(-100, 8)))  # someone else: at once
            await two.commit()
            waiting = asyncio.create_task(two.execute(select(person_lock(-100, 7))))
            await asyncio.sleep(0.3)
            assert not waiting.done()
            await one.commit()  # the first transaction ends: the lock is free
            await asyncio.wait_for(waiting, 5)
            await two.commit()


async def test_the_claim_of_an_update_locks_its_person(app: App) -> None:
    """Through the real repository (on both databases): a second update of the same person
    is claimed only after the first one's transaction ended."""
    if is_sqlite(app.settings.database_url):
        pytest.skip("SQLite: one writer at a time, no per-person lock needed")
    async with app.uow_factory() as first:
        assert await first.updates.claim(1, NOW, (-5, 5))
        async with app.uow_factory() as other:
            assert await other.updates.claim(2, NOW, (-5, 6))  # another person
            await other.commit()
        second_uow = app.uow_factory()
        await second_uow.__aenter__()
        waiting = asyncio.create_task(second_uow.updates.claim(3, NOW, (-5, 5)))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await first.commit()
    assert await asyncio.wait_for(waiting, 5)
    await second_uow.commit()
    await second_uow.__aexit__(None, None, None)
    async with app.uow_factory() as check:
        assert not await check.updates.claim(3, NOW, (-5, 5))  # recorded once


def test_a_second_process_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'desk.db'}"
    first, second = SqliteFileLock(url), SqliteFileLock(url)
    first.acquire()
    with pytest.raises(DatabaseInUse) as refused:
        second.acquire()
    message = str(refused.value)
    assert str(tmp_path / "desk.db.lock") in message
    assert "PropDesk process" in message and "\n" not in message
    first.release()
    second.acquire()  # free again once the first let go (or died: the kernel frees it)
    second.release()
    other = SqliteFileLock(f"sqlite+aiosqlite:///{tmp_path / 'other.db'}")
    other.acquire()  # another file: no conflict
    other.release()
