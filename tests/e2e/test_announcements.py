"""Announcements on the real transports and both databases: a manager's notice to one
building reaches exactly its residents (not those who turned notices off, unless it is a
safety notice), and the manager gets the delivery report."""

from __future__ import annotations

from sqlalchemy import update

from emulator import BotAPIEmulator, SimUser
from storage.models import Resident
from tests.support.apps import ADMIN
from tests.support.crowd import seed_residents
from tests.support.harness import Harness

WATER = "明天 9:00-12:00 1栋停水检修,请提前储水"
FIRE = "今晚 20:00 1栋消防演练,请配合疏散"


def received(emulator: BotAPIEmulator, person: SimUser, text: str) -> bool:
    return any(text in message.body for message in emulator.bot_messages(person))


async def send_notice(harness: Harness, admin: SimUser, text: str, safety: bool) -> None:
    """/notice, building 1栋 (whole), the text, [safety], send now."""
    await harness.act(admin.send_text("/notice"))
    for part in ("1栋", "整栋"):
        await harness.act_press_last(admin, harness.button_label(admin, part))
    await harness.act(admin.send_text(text))
    if safety:
        await harness.act_press_last(admin, harness.button_label(admin, "标为安全通知"))
    await harness.act_press_last(admin, harness.button_label(admin, "立即发送"))


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
