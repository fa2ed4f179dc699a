"""Announcements on the real transports and both databases: a manager's notice to one
building reaches exactly its residents (not those who turned notices off, unless it is a
safety notice), and the manager gets the delivery report; a scheduled notice goes out once
at its time with a restart in between."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from bot.clock import Clock, FixedClock
from emulator import BotAPIEmulator, SimUser
from storage.models import Resident
from tests.support.apps import ADMIN
from tests.support.crowd import seed_residents
from tests.support.harness import Harness

pytestmark = pytest.mark.e2e
START = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
WATER = "明天 9:00-12:00 1栋停水检修,请提前储水"
FIRE = "今晚 20:00 1栋消防演练,请配合疏散"


@pytest.fixture
def bot_clock() -> Clock:
    """The bot runs on a clock the test moves."""
    return FixedClock(START)


def received(emulator: BotAPIEmulator, person: SimUser, text: str) -> bool:
    return any(text in message.body for message in emulator.bot_messages(person))


async def compose(harness: Harness, admin: SimUser, text: str) -> None:
    """/notice, building 1栋 (whole), the text: the preview."""
    await harness.act(admin.send_text("/notice"))
    for part in ("1栋", "整栋"):
        await harness.act_press_last(admin, harness.button_label(admin, part))
    await harness.act(admin.send_text(text))


async def send_notice(harness: Harness, admin: SimUser, text: str, safety: bool) -> None:
    """Composed, [safety], send now."""
    await compose(harness, admin, text)
    if safety:
        await harness.act_press_last(admin, harness.button_label(admin, "标为安全通知"))
    await harness.act_press_last(admin, harness.button_label(admin, "立即发送"))


async def residents(harness: Harness, emulator: BotAPIEmulator) -> list[SimUser]:
    """Three residents of 1栋, each of whom has talked to the bot (it cannot speak first)."""
    assert harness.app is not None
    people = await seed_residents(harness.app.uow_factory, emulator, 3, prefix="一栋")
    for person in people:
        await harness.act(person.send_text("/notices"))
    return people


async def test_a_notice_to_one_building_and_its_report(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    assert harness.app is not None
    uow_factory = harness.app.uow_factory
    building_one = await seed_residents(uow_factory, emulator, 4, prefix="一栋")
    building_three = await seed_residents(uow_factory, emulator, 2, prefix="三栋")
    async with uow_factory() as uow:
        ids = [p.id for p in building_three]
        await uow.session.execute(
            update(Resident).where(Resident.telegram_id.in_(ids)).values(building="3栋")
        )
        await uow.commit()
    for person in [*building_one, *building_three]:  # a bot cannot open a private chat
        await harness.act(person.send_text("/notices"))
    quiet = building_one[-1]
    await harness.act(quiet.send_text("/notices off"))
    admin = emulator.user("Admin", language_code="zh-hans", user_id=ADMIN)

    await send_notice(harness, admin, WATER, safety=False)
    assert all(received(emulator, p, WATER) for p in building_one[:-1])
    assert not received(emulator, quiet, WATER)
    assert not any(received(emulator, p, WATER) for p in building_three)

    await harness.app.periodic().notice_sweep()
    await harness.drain_outbox()
    reports = [m.body for m in emulator.bot_messages(admin) if m.body.startswith("📊")]
    assert len(reports) == 1 and "已送达:3" in reports[0], reports

    await send_notice(harness, admin, FIRE, safety=True)
    assert all(received(emulator, p, FIRE) for p in building_one)
    assert not any(received(emulator, p, FIRE) for p in building_three)
    await harness.app.periodic().notice_sweep()
    await harness.drain_outbox()
    reports = [m.body for m in emulator.bot_messages(admin) if m.body.startswith("📊")]
    assert len(reports) == 2 and "已送达:4" in reports[1], reports


async def test_a_scheduled_notice_goes_out_once_after_a_restart(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    people = await residents(harness, emulator)
    admin = emulator.user("Admin", language_code="zh-hans", user_id=ADMIN)
    await compose(harness, admin, WATER)
    await harness.act_press_last(admin, harness.button_label(admin, "定时发送"))
    await harness.act(admin.send_text("16:00"))
    assert "将于" in emulator.bot_messages(admin)[-1].body

    app = await harness.restart()
    assert isinstance(app.clock, FixedClock)
    await app.periodic().notice_sweep()
    await harness.drain_outbox()
    assert not any(received(emulator, p, WATER) for p in people)  # not yet

    app.clock.advance(seconds=timedelta(hours=2, minutes=1).total_seconds())
    await app.periodic().notice_sweep()
    await app.periodic().notice_sweep()
    await harness.drain_outbox()
    for person in people:
        copies = [m for m in emulator.bot_messages(person) if WATER in m.body]
        assert len(copies) == 1, person.id
    await app.periodic().notice_sweep()
    await harness.drain_outbox()
    reports = [m.body for m in emulator.bot_messages(admin) if m.body.startswith("📊")]
    assert len(reports) == 1 and "已送达:3" in reports[0], reports
