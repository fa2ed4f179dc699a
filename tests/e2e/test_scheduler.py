"""The scheduler's work reaching real chats through both transports: a reminder in the
team group, an escalation to the managers, the rating request and its answer, a return
visit recorded by the service manager, and the morning digest with its chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.clock import Clock, FixedClock
from bot.services.digest_schedule import digest_tick
from emulator import BotAPIEmulator
from storage.models import Rating, ReturnVisit
from tests.support.harness import Harness, StaffedProperty, texts

pytestmark = pytest.mark.e2e
START = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def bot_clock() -> Clock:
    """The bot runs on a clock the test moves."""
    return FixedClock(START)


async def travel(h: Harness, delta: timedelta) -> None:
    assert h.app is not None and isinstance(h.app.clock, FixedClock)
    h.app.clock.advance(seconds=delta.total_seconds())
    periodic = h.app.periodic()
    await periodic.sla_sweep()
    await periodic.rating_sweep()
    await h.settle()


async def test_reminder_escalation_rating_visit_and_digest(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    h = harness
    desk = StaffedProperty(h, emulator)
    managers = emulator.group("管理层", members=[desk.admin])
    service = emulator.group("客服", members=[desk.admin])
    await desk.setup()
    await desk.bind(managers, "managers")
    await desk.bind(service, "service")
    card = await desk.report()  # repair/high: respond within 30 minutes

    await travel(h, timedelta(minutes=15))
    assert "响应时限的一半" in texts(emulator.bot_messages(desk.eng)[-2:])
    await travel(h, timedelta(minutes=15))
    assert any("超时未接单" in m.body for m in emulator.bot_messages(managers))
    assert "已超过响应时限" in desk.card(desk.eng).body

    await h.act(desk.li.press(desk.card(desk.eng), "接单"))
    await h.act(desk.li.press(desk.card(desk.eng), "完成"))
    prompt = emulator.bot_messages(desk.eng)[-1]
    await h.act(desk.li.send_text("已修好", chat=desk.eng, reply_to=prompt))
    await h.act(desk.wang.press(desk.wang.last_message() or card, "已解决"))

    await travel(h, timedelta(minutes=30))
    ask = desk.wang.last_message()
    assert ask is not None and "请为这次服务打分" in ask.body
    await h.act(desk.wang.press(ask, "⭐"))  # one star: a return visit opens
    visit_card = emulator.bot_messages(service)[-1]
    assert "待回访" in visit_card.body
    await h.act(desk.admin.press(visit_card, "记录回访结果"))
    prompt = emulator.bot_messages(service)[-1]
    await h.act(desk.admin.send_text("已致电住户,重新安排维修", chat=service, reply_to=prompt))
    assert h.app is not None
    async with h.app.uow_factory() as uow:
        rating = (await uow.session.scalars(select(Rating))).one()
        visit = (await uow.session.scalars(select(ReturnVisit))).one()
    assert rating.stars == 1 and visit.status == "done"

    await travel(h, timedelta(hours=21))  # 08:00 the next morning
    await digest_tick(h.app.uow_factory, h.app.settings, h.app.clock, h.app.notifier())
    await h.settle()
    [daily] = [m for m in emulator.bot_messages(managers) if "11月28日 服务日报" in m.body]
    assert daily.photos and "差评 1" in daily.body and "补发" not in daily.body
