"""The hot path's SQL statements, counted with SQLAlchemy's events: a test fails when a
common step grows past its number. (BEGIN is not counted: every event has one.)

A message in an ongoing draft: the update's claim, the dialog state, the resident (once,
however often the handlers ask), the new state, the reply's outbox row. The reply costs a
row of its own because it must survive a crash or a 429 (README, "Delivery")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from bot.app import App
from tests.support.people import Person, register

DRAFT_LINE = 5
FIRST_LINE = 5  # as a draft line: the dialog state is looked for once, then inserted
STATELESS_COMMAND = 5
SUBMIT = 9
# with a card for the team's group: its team, the card and the card's outbox row (the new
# ticket has no card yet, so none are counted)
SUBMIT_WITH_CARD = SUBMIT + 3
ENGINEERING_GROUP = -100777


@contextmanager
def counted(app: App) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statement = str(args[2])
        if (
            not statement.lstrip()
            .upper()
            .startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"))
        ):
            statements.append(statement.split("\n")[0][:80])

    engine = app.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def statements_of(app: App, step: Callable[[], Awaitable[object]]) -> list[str]:
    with counted(app) as statements:
        await step()
    # the test's own bookkeeping (tests/support/people.py marks replies delivered) is not the bot's
    return [s for s in statements if not s.startswith("UPDATE outbox SET status")]


@pytest.fixture
async def drafting(app: App) -> Person:
    wang = await register(app)
    await wang.say("卫生间天花板一直在滴水")
    return wang


async def test_a_message_in_an_ongoing_draft(app: App, drafting: Person) -> None:
    statements = await statements_of(app, lambda: drafting.say("楼上好像漏了"))
    assert len(statements) <= DRAFT_LINE, statements
    assert sum(s.startswith("SELECT residents") for s in statements) == 1
    assert not any(s.startswith("UPDATE residents") for s in statements)  # nothing changed


async def test_the_first_message_of_a_report(app: App) -> None:
    wang = await register(app)
    statements = await statements_of(app, lambda: wang.say("卫生间天花板一直在滴水"))
    assert len(statements) <= FIRST_LINE, statements
    assert sum(s.startswith("SELECT dialog_states") for s in statements) == 1


async def test_a_command_without_a_dialog(app: App) -> None:
    wang = await register(app)
    statements = await statements_of(app, lambda: wang.say("/my"))
    assert len(statements) <= STATELESS_COMMAND, statements
    assert not any("dialog_states" in s and not s.startswith("SELECT") for s in statements)


async def test_pressing_submit(app: App, drafting: Person) -> None:
    statements = await statements_of(app, lambda: drafting.press(drafting.button("确认")))
    assert len(statements) <= SUBMIT, statements


async def test_pressing_submit_with_a_group_for_the_card(app: App, drafting: Person) -> None:
    async with app.uow_factory() as uow:
        prop = (await uow.properties.all())[0]
        team = await uow.teams.ensure(prop.id, "engineering")
        team.chat_id = ENGINEERING_GROUP
        await uow.commit()
    statements = await statements_of(app, lambda: drafting.press(drafting.button("确认")))
    assert any(s.startswith("INSERT INTO ticket_cards") for s in statements), statements
    assert not any(s.startswith("SELECT count(*)") for s in statements), statements
    assert len(statements) <= SUBMIT_WITH_CARD, statements
