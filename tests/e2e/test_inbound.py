"""Inbound on both transports: one person's messages are handled in the order they were
sent, even in a burst, while other people go on; a database that cannot be had in time
gets a polite "busy" answer and the update is left unprocessed, so a retry succeeds."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.config import Settings
from bot.i18n import translate
from emulator import BotAPIEmulator, BotMessage, CallbackPress, SimUser
from storage.db import create_engine, is_sqlite
from storage.models import Ticket
from tests.support.crowd import (
    REPORT,
    SUBMIT,
    bind_groups,
    draft_of,
    processed,
    seed_residents,
    ticket_counts,
    ticket_numbers,
)
from tests.support.harness import FloodClock, Harness

BURST = 12


def burst_lines(who: str) -> list[str]:
    return [f"{who}第{i:02d}句:卫生间天花板滴水" for i in range(1, BURST + 1)]


async def test_a_burst_from_one_person_is_kept_in_order(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    assert harness.app is not None
    uow_factory = harness.app.uow_factory
    wang, li = await seed_residents(uow_factory, emulator, 2)
    await bind_groups(uow_factory, emulator)
    mine, theirs = burst_lines("王"), burst_lines("李")
    # 24 updates within a few milliseconds, two people interleaved.
    for line_a, line_b in zip(mine, theirs, strict=True):
        await wang.send_text(line_a)
        await li.send_text(line_b)
    await harness.settle()

    for person, lines in ((wang, mine), (li, theirs)):
        async with uow_factory() as uow:
            stored = await uow.dialogs.get(person.id, person.id)
        assert stored is not None
        assert stored.data["draft"]["description"].split("\n") == lines
        shown = draft_of(emulator, person)
        assert shown is not None
        positions = [shown.body.find(line) for line in lines]
        assert -1 not in positions and positions == sorted(positions), shown.body

    await harness.act_press_last(wang, SUBMIT)
    async with uow_factory() as uow:
        ticket = (await uow.session.scalars(select(Ticket))).one()
    assert ticket.description.split("\n") == mine


# -- a busy database ---------------------------------------------------------------------
PRESSES = 20
TIMEOUT = 1.0  # seconds; the lock below is held for much longer


@pytest.fixture
async def busy_harness(
    emulator: BotAPIEmulator, settings: Settings, transport: str, flood_clock: FloodClock
) -> AsyncIterator[Harness]:
    """A small pool with short waits, so a held lock turns requests away quickly."""
    configured = settings.model_copy(
        update={
            "telegram_api_base": emulator.base_url,
            "transport": transport,
            "db_pool_size": 2,
            "db_max_overflow": 0,
            "db_pool_timeout": TIMEOUT,
            "db_lock_timeout": TIMEOUT,
        }
    )
    runner = Harness(emulator, configured, None, flood_clock)  # waits for limits travel
    await runner.start()
    yield runner
    await runner.stop()


async def write_drafts(
    harness: Harness, emulator: BotAPIEmulator, people: list[SimUser]
) -> list[BotMessage]:
    """Everyone writes a report at once; with so small a pool some are told "busy" even
    without a lock, and send it again, as a person would."""
    waiting = list(people)
    for _ in range(5):
        await asyncio.gather(*(person.send_text(REPORT) for person in waiting))
        await harness.settle()
        waiting = [person for person in waiting if draft_of(emulator, person) is None]
        if not waiting:
            break
    drafts = [draft_of(emulator, person) for person in people]
    assert all(drafts), "every resident has a draft to submit"
    return [draft for draft in drafts if draft is not None]


@contextlib.asynccontextmanager
async def tickets_locked(url: str) -> AsyncIterator[None]:
    """Another client holds a lock on `tickets` (SQLite: the database's write lock)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await _lock_tickets(connection, url)
            try:
                yield
            finally:
                await connection.rollback()
    finally:
        await engine.dispose()


async def _lock_tickets(connection: AsyncConnection, url: str) -> None:
    if is_sqlite(url):
        await connection.begin()  # BEGIN IMMEDIATE: the write lock
        await connection.execute(text("UPDATE tickets SET updated_at = updated_at"))
    else:
        await connection.begin()
        await connection.execute(text("LOCK TABLE tickets IN ACCESS EXCLUSIVE MODE"))


async def test_a_locked_database_answers_busy_and_loses_nothing(
    busy_harness: Harness, emulator: BotAPIEmulator, settings: Settings
) -> None:
    harness = busy_harness
    assert harness.app is not None
    uow_factory = harness.app.uow_factory
    people = await seed_residents(uow_factory, emulator, PRESSES)
    await bind_groups(uow_factory, emulator)
    asker = (await seed_residents(uow_factory, emulator, 1, prefix="问"))[0]
    drafts = await write_drafts(harness, emulator, people)

    busy_button = translate("zh-CN", "common.busy_button")
    busy_text = translate("zh-CN", "common.busy")
    async with tickets_locked(settings.database_url):
        presses: list[CallbackPress] = [
            await person.press(draft, SUBMIT) for person, draft in zip(people, drafts, strict=True)
        ]
        question = await asker.send_text("/my")
        answers = await asyncio.gather(*(p.wait_answer(timeout=30) for p in presses))
        busy_reply = await emulator.wait_for_bot_message(
            asker, lambda m: m.body == busy_text, timeout=30
        )
    # Every press was answered while the lock was held: none lost silently.
    assert [answer.get("text") for answer in answers] == [busy_button] * PRESSES
    assert all(answer.get("show_alert") for answer in answers)
    assert busy_reply.body == busy_text
    # ... and none was marked processed, so nothing was half done.
    assert question.update_id is not None
    update_ids = {p.update_id for p in presses} | {question.update_id}
    assert await processed(uow_factory, update_ids) == set()
    assert await ticket_counts(uow_factory) == {}

    # The lock is gone: the same presses again (again by whoever is told "busy" by the
    # small pool), and every resident gets exactly one ticket.
    await harness.settle()
    pending = list(zip(people, drafts, strict=True))
    for _ in range(5):
        presses = [await person.press(draft, SUBMIT) for person, draft in pending]
        answers = await asyncio.gather(*(p.wait_answer(timeout=30) for p in presses))
        pending = [
            turn
            for turn, answer in zip(pending, answers, strict=True)
            if answer.get("text") == busy_button
        ]
        if not pending:
            break
    await harness.settle()
    assert await ticket_counts(uow_factory) == {person.id: 1 for person in people}
    numbers = await ticket_numbers(uow_factory)
    for person in people:
        (number,) = numbers[person.id]
        assert any(number in m.body for m in emulator.bot_messages(person))
