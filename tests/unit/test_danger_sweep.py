"""The unanswered danger question's sweep (issue 15) costs what is due: its one read of
dialog_states goes through `ix_dialog_states_due`, and a sweep with nothing due reads nothing
else; a dialog with no question waiting is never picked up, however old."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import App
from storage.plans import Statement, StatementLog, sqlite_plan


async def _dialogs(app: App, waiting: int, idle: int) -> None:
    now = app.clock.now()
    async with app.uow_factory() as uow:
        for i in range(waiting):
            await uow.dialogs.save(
                1000 + i, 1000 + i, "report", "danger", {}, now, now + timedelta(minutes=2)
            )
        for i in range(idle):
            await uow.dialogs.save(5000 + i, 5000 + i, "report", "confirm", {}, now)
        await uow.commit()


async def test_nothing_due_is_one_indexed_read(app: App) -> None:
    if app.engine.dialect.name != "sqlite":
        pytest.skip("the plan is read with SQLite's EXPLAIN QUERY PLAN")
    await _dialogs(app, waiting=3, idle=200)
    with StatementLog(app.engine) as log:
        assert await app.periodic().danger_sweep() == 0  # asked, but not yet due
    sent = [s for s in log.statements if not s.sql.startswith("BEGIN")]
    reads = [s for s in sent if "dialog_states" in s.sql]
    assert len(sent) == 1 and len(reads) == 1, [s.sql for s in sent]
    async with app.engine.connect() as connection:
        plan = await sqlite_plan(connection, Statement(reads[0].sql, reads[0].parameters))
    assert any("ix_dialog_states_due" in line for line in plan), plan
    assert not any(line.strip().startswith("SCAN dialog_states") for line in plan), plan


async def test_only_due_questions_are_swept(app: App) -> None:
    await _dialogs(app, waiting=2, idle=5)
    assert hasattr(app.clock, "advance")
    app.clock.advance(seconds=3 * 60)
    async with app.uow_factory() as uow:
        due = await uow.dialogs.due(app.clock.now(), 100)
    assert sorted(due) == [(1000, 1000), (1001, 1001)]
