"""Visitors end to end, on both transports and both databases: a resident announces a
visitor who arrives and leaves, walk-ins let in and refused by their host, answers too
late, windows and plates refused, the digest's visitor counts and the purge of old records."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.clock import Clock, FixedClock
from emulator import BotAPIEmulator, SimGroup, SimUser
from storage.models import Visitor
from tests.support.harness import Harness, StaffedProperty, texts

START = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
PASS = re.compile(r"通行码 ([2-9A-HJ-NP-Z]{6})")


@pytest.fixture
def bot_clock() -> Clock:
    return FixedClock(START)


async def _gate(desk: StaffedProperty, emulator: BotAPIEmulator) -> tuple[SimUser, SimGroup]:
    await desk.setup()
    guard = emulator.user("保安老刘", language_code="zh-hans")
    gate = emulator.group("安保部", members=[desk.admin, guard])
    await desk.bind(gate, "security")
    await desk.invite_and_join(guard, "security")
    return guard, gate


async def test_announced_visitor_arrives_and_leaves(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk = StaffedProperty(harness, emulator)
    guard, gate = await _gate(desk, emulator)
    wang = desk.wang

    await harness.act(wang.send_text("/visitor"))
    await harness.act(wang.send_text("<b>张先生</b>"))
    await harness.act_press_last(wang, "2")
    refused = await harness.act(wang.send_text("ABC123"))
    assert "车牌号格式不对" in texts(refused)
    await harness.act(wang.send_text("浙a·12345"))
    past = await harness.act(wang.send_text("11-27 14:00-16:00"))
    assert "已经过去了" in texts(past)
    far = await harness.act(wang.send_text("12-20 14:00-16:00"))
    assert "最多只能提前 7 天" in texts(far)
    done = await harness.act(wang.send_text("11-28 14:00-16:00"))
    match = PASS.search(texts(done))
    assert match is not None and "浙A12345" in texts(done)
    code = match.group(1)

    card = emulator.bot_messages(gate)[-1]
    assert code in card.body and "浙A12345" in card.body and "3栋2单元501" in card.body
    assert "&lt;b&gt;张先生" in (card.html or "")  # escaped, not markup
    stranger = emulator.user("路人", language_code="zh-hans")
    press = await stranger.press(card, "✅ 已到达", chat=gate)
    await harness.settle()
    assert (await press.wait_answer()).get("text")  # refused, politely
    assert (await harness.rows(Visitor))[0].status == "expected"

    await harness.act(guard.press(card, "✅ 已到达"))
    assert (await harness.rows(Visitor))[0].status == "arrived"
    assert "已到达门岗" in texts(wang.messages())
    again = await harness.act(guard.send_text(f"/visitor {code.lower()}", chat=gate))
    assert "已经登记到达了" in texts(again)  # a pass code used twice
    await harness.act(guard.press(emulator.bot_messages(gate)[-2], "🚪 已离开"))
    assert (await harness.rows(Visitor))[0].status == "left"

    assert harness.app is not None and isinstance(harness.app.clock, FixedClock)
    harness.app.clock.advance(seconds=60)  # "today so far" ends now
    stats = await harness.act(desk.admin.send_text("/stats today"))
    assert "访客:预约 1 · 临时 0 · 已到达 1" in texts(stats)

    sent = await harness.act(desk.admin.send_text("/export today"))
    [export] = [m for m in sent if m.document is not None]
    stored = emulator.world.files.get(export.document["file_id"])  # type: ignore[index]
    assert stored is not None
    rows = list(load_workbook(BytesIO(stored.data))["访客"].iter_rows(values_only=True))
    visit = dict(zip(rows[0], rows[1], strict=True))
    assert (visit["访客"], visit["车牌"], visit["状态"]) == ("<b>张先生</b>", "浙A12345", "已离开")
    assert visit["预约开始"] == datetime(2026, 11, 28, 14, 0)  # local wall-clock time


async def test_walk_ins_let_in_refused_and_answered_late(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk = StaffedProperty(harness, emulator)
    guard, gate = await _gate(desk, emulator)
    wang = desk.wang

    usage = await harness.act(guard.send_text("/visitor", chat=gate))
    assert "用法" in texts(usage)
    nobody = await harness.act(guard.send_text("/visitor 赵六 9栋9单元909", chat=gate))
    assert "没有找到登记住户" in texts(nobody)

    asked = await harness.act(guard.send_text("/visitor 李四 3栋2单元501", chat=gate))
    assert "已询问住户" in texts(asked)
    ask = wang.last_message()
    assert ask is not None and "李四" in ask.body
    await harness.act(wang.press(ask, "✅ 让他进来"))
    assert "住户同意访客 李四 进入" in texts(emulator.bot_messages(gate)[-2:])
    twice = await wang.press(ask, "🚫 不认识")
    await harness.settle()
    assert "已经回复过了" in ((await twice.wait_answer()).get("text") or "")

    await harness.act(guard.send_text("/visitor 王五 3栋2单元501"))  # privately, too
    await harness.act(wang.press(wang.last_message() or ask, "🚫 不认识"))
    assert "住户不认识访客 王五" in texts(guard.messages())
    statuses = [v.status for v in await harness.rows(Visitor)]
    assert statuses == ["guard", "let_in", "refused"]

    await harness.act(guard.send_text("/visitor 钱七 3栋2单元501", chat=gate))
    assert harness.app is not None and isinstance(harness.app.clock, FixedClock)
    periodic = harness.app.periodic()
    harness.app.clock.advance(seconds=4 * 60)
    assert await periodic.visitor_answer_sweep() == 0  # the host still has a minute
    harness.app.clock.advance(seconds=2 * 60)  # past the 5 minutes the guard waits
    assert await periodic.visitor_answer_sweep() == 1
    assert await periodic.visitor_answer_sweep() == 0  # told once
    await harness.drain_outbox()
    [told] = [m for m in emulator.bot_messages(gate) if m.body.startswith("⏰")]
    assert "钱七" in told.body and "5 分钟内没有回复" in told.body
    assert (await harness.rows(Visitor))[-1].status == "guard"  # the guard decides
    late = await wang.press(wang.last_message() or ask, "✅ 让他进来")
    await harness.settle()
    assert "已超过回复时间" in ((await late.wait_answer()).get("text") or "")
    assert (await harness.rows(Visitor))[-1].status == "guard"
    await harness.act(guard.press(told, "✅ 已到达"))  # the guard's buttons still work
    assert (await harness.rows(Visitor))[-1].status == "arrived"

    not_guard = await harness.act(desk.li.send_text("/visitor 孙八 3栋2单元501", chat=desk.eng))
    assert "只有安保部" in texts(not_guard)


async def test_old_visitor_records_are_purged(harness: Harness, emulator: BotAPIEmulator) -> None:
    desk = StaffedProperty(harness, emulator)
    guard, gate = await _gate(desk, emulator)
    await harness.act(guard.send_text("/visitor 李四 3栋2单元501", chat=gate))
    assert harness.app is not None and isinstance(harness.app.clock, FixedClock)
    periodic = harness.app.periodic()
    harness.app.clock.advance(seconds=timedelta(days=29).total_seconds())
    assert await periodic.visitor_purge() == 0  # kept 30 days
    harness.app.clock.advance(seconds=timedelta(days=2).total_seconds())
    assert await periodic.visitor_purge() == 1
    async with harness.app.uow_factory() as uow:
        assert await uow.session.scalar(select(func.count(Visitor.id))) == 0
