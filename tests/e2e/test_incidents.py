"""Incidents on the real transports and both databases: thirty residents of one building
reporting the same water outage produce one incident card (edited, not thirty cards);
accepting and completing it reaches every reporter once, and each is asked for a rating
once; a report about something else in the same building is not merged; a reporter's
"not solved" splits their ticket out onto a card of its own; a weaker match waits for
staff to merge it (pressed twice: answered, nothing doubled); planned work announced to
the building answers a report with the notice instead of opening a ticket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.clock import Clock, FixedClock
from emulator import BotAPIEmulator, BotMessage, SimGroup, SimUser
from storage.models import Incident, Ticket
from tests.support.apps import ADMIN
from tests.support.crowd import seed_residents
from tests.support.harness import Harness, StaffedProperty, texts

pytestmark = pytest.mark.e2e
START = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai, outside quiet hours
# Ways thirty people say "no water" (none of them is a question the FAQ answers).
SAYINGS = (
    "1栋停水了",
    "家里没水了",
    "我家没水了,整栋楼都停水",
    "楼里没水了",
    "停水了,麻烦尽快处理",
)
SUBMIT = "✅ 确认提交"


@pytest.fixture
def bot_clock() -> Clock:
    return FixedClock(START)


def cards_in(emulator: BotAPIEmulator, group: SimGroup) -> list[BotMessage]:
    """Ticket cards the bot posted in the group (each card once, as last edited)."""
    return [m for m in emulator.bot_messages(group) if "新工单" in m.body]


async def report(harness: Harness, person: SimUser, text: str) -> None:
    await harness.act(person.send_text(text))
    await harness.act_press_last(person, SUBMIT)


async def ready(
    harness: Harness, emulator: BotAPIEmulator, count: int
) -> tuple[StaffedProperty, list[SimUser]]:
    desk = StaffedProperty(harness, emulator)
    await desk.bind(desk.eng, "engineering")
    await desk.invite_and_join(desk.li)
    assert harness.app is not None
    people = await seed_residents(harness.app.uow_factory, emulator, count, prefix="一栋")
    return desk, people


async def tickets(harness: Harness) -> list[Ticket]:
    assert harness.app is not None
    async with harness.app.uow_factory() as uow:
        return list((await uow.session.scalars(select(Ticket).order_by(Ticket.id))).all())


def count_of(emulator: BotAPIEmulator, person: SimUser, part: str) -> int:
    return sum(part in m.body for m in emulator.bot_messages(person))


async def test_thirty_reports_of_one_outage_are_one_incident(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk, people = await ready(harness, emulator, 31)
    reporters, other = people[:30], people[30]
    for i, person in enumerate(reporters):
        await report(harness, person, SAYINGS[i % len(SAYINGS)])
    await harness.drain_outbox()

    cards = cards_in(emulator, desk.eng)
    assert len(cards) == 1, [c.body for c in cards]  # one card, edited as reports joined
    assert "1栋 停水 · 30 户报告" in cards[0].body
    assert len(emulator.calls_to("editMessageText")) >= 29
    rows = await tickets(harness)
    assert len(rows) == 30 and len({r.incident_id for r in rows}) == 1
    assert sorted(r.incident_role for r in rows).count("member") == 29
    # a later reporter was told at once that it is known, with a way out
    assert count_of(emulator, reporters[-1], "已并入该事件") == 1
    assert "单独报修" in emulator.bot_messages(reporters[-1])[-1].button_texts[0]

    # something else in the same building: a card of its own, not merged
    await report(harness, other, "电梯坏了,按钮没反应")
    await harness.drain_outbox()
    assert len(cards_in(emulator, desk.eng)) == 2
    lift = (await tickets(harness))[-1]
    assert lift.incident_id != rows[0].incident_id and lift.incident_role == "lead"

    # accept and complete the incident's card: every reporter hears each step once
    await harness.act(desk.li.press(cards_in(emulator, desk.eng)[0], "接单"))
    await harness.drain_outbox()
    assert all(count_of(emulator, p, "已接单") == 1 for p in reporters)
    await harness.act(desk.li.press(cards_in(emulator, desk.eng)[0], "完成"))
    prompt = emulator.bot_messages(desk.eng)[-1]
    await harness.act(desk.li.send_text("水泵已修好,已恢复供水", chat=desk.eng, reply_to=prompt))
    await harness.drain_outbox()
    assert all(count_of(emulator, p, "已处理完成") == 1 for p in reporters), [
        count_of(emulator, p, "已处理完成") for p in reporters
    ]
    assert count_of(emulator, other, "已处理完成") == 0
    assert {r.status for r in (await tickets(harness))[:30]} == {"resolved"}

    # one reporter says not solved: their ticket leaves the incident, on its own card
    unlucky = reporters[7]
    notice = [m for m in emulator.bot_messages(unlucky) if "已处理完成" in m.body][-1]
    await harness.act(unlucky.press(notice, "没解决"))
    await harness.act(unlucky.send_text("我家还是没水"))
    await harness.drain_outbox()
    split = next(t for t in await tickets(harness) if t.contact_name == "一栋7")
    assert (split.status, split.incident_id, split.incident_role) == ("new", None, "")
    assert len(cards_in(emulator, desk.eng)) == 3
    assert "住户反馈没解决" in cards_in(emulator, desk.eng)[-1].body
    assert "已从事件" in cards_in(emulator, desk.eng)[-1].body

    # the others confirm; each is asked for a rating once
    for person in reporters:
        if person is unlucky:
            continue
        done = [m for m in emulator.bot_messages(person) if "已处理完成" in m.body][-1]
        await harness.act(person.press(done, "已解决"))
    app = harness.app
    assert app is not None and isinstance(app.clock, FixedClock)
    app.clock.advance(seconds=timedelta(minutes=31).total_seconds())
    await app.periodic().rating_sweep()
    await harness.drain_outbox()
    asked = [count_of(emulator, p, "请为这次服务打分") for p in reporters]
    assert asked == [0 if p is unlucky else 1 for p in reporters], asked


async def test_a_weaker_match_asks_staff_and_merge_twice_is_answered(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk, people = await ready(harness, emulator, 3)
    await report(harness, people[0], "1栋停水了")
    await report(harness, people[1], "水压很小,水龙头出水很细")
    await harness.drain_outbox()
    cards = cards_in(emulator, desk.eng)
    assert len(cards) == 2 and "合并到" in " ".join(cards[1].button_texts)
    first = (await tickets(harness))[0]
    merge = next(b for b in cards[1].button_texts if "合并到" in b)
    assert first.number in merge
    pressed = await harness.act(desk.li.press(cards[1], merge))
    again = await desk.li.press(cards[1], merge)  # the old snapshot still shows the button
    await harness.settle()
    assert "已经处理过" in ((await again.wait_answer()).get("text") or "")
    await harness.drain_outbox()
    assert pressed is not None
    rows = await tickets(harness)
    assert rows[1].incident_role == "member" and rows[1].incident_id == rows[0].incident_id
    assert "2 户报告" in cards_in(emulator, desk.eng)[0].body
    assert count_of(emulator, people[1], "已并入该事件") == 1

    # the merged resident says theirs is something else: its own card again
    told = [m for m in emulator.bot_messages(people[1]) if "已并入该事件" in m.body][-1]
    await harness.act(people[1].press(told, "不是这个问题,单独报修"))
    await harness.drain_outbox()
    rows = await tickets(harness)
    assert rows[1].incident_id is None and rows[1].status == "new"
    assert "1 户报告" in cards_in(emulator, desk.eng)[0].body


async def test_a_joined_report_cancelled_by_its_resident(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk, people = await ready(harness, emulator, 3)
    for person in people:
        await report(harness, person, "1栋停水了")
    await harness.drain_outbox()
    assert "3 户报告" in cards_in(emulator, desk.eng)[0].body
    # the first reporter (the card's ticket) cancels: the card passes to the next report
    listing = await harness.act(people[0].send_text("/my"))
    await harness.act_press_last(people[0], listing[-1].button_texts[0])
    await harness.act_press_last(people[0], "取消工单")
    await harness.act_press_last(people[0], "确定取消")
    await harness.drain_outbox()
    rows = await tickets(harness)
    assert rows[0].status == "cancelled"
    assert rows[1].incident_role == "lead"
    live = cards_in(emulator, desk.eng)[-1]
    assert rows[1].number in live.body and "2 户报告" in live.body

    # a report that joined is cancelled by its resident: it stops counting, said under the card
    listing = await harness.act(people[2].send_text("/my"))
    await harness.act_press_last(people[2], listing[-1].button_texts[0])
    await harness.act_press_last(people[2], "取消工单")
    await harness.act_press_last(people[2], "确定取消")
    await harness.drain_outbox()
    live = next(m for m in cards_in(emulator, desk.eng) if m.message_id == live.message_id)
    assert "1 户报告" in live.body
    under = [m for m in emulator.bot_messages(desk.eng) if m.reply_to_message_id == live.message_id]
    assert any(rows[2].number in m.body and "住户已取消" in m.body for m in under)
    assert len(cards_in(emulator, desk.eng)) == 2  # no card of its own, ever


async def test_planned_work_answers_a_report_with_the_notice(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk, people = await ready(harness, emulator, 2)
    for person in people:
        await harness.act(person.send_text("/notices"))
    admin = emulator.user("Admin", language_code="zh-hans", user_id=ADMIN)
    text = "今天 14:30-17:00 1栋停水检修,请提前储水"
    await harness.act(admin.send_text("/notice"))
    for part in ("1栋", "整栋"):
        await harness.act_press_last(admin, harness.button_label(admin, part))
    await harness.act(admin.send_text(text))
    await harness.act_press_last(admin, harness.button_label(admin, "计划停运"))
    await harness.act_press_last(admin, harness.button_label(admin, "立即发送"))
    assert "已登记计划停运" in texts(emulator.bot_messages(admin))
    app = harness.app
    assert app is not None and isinstance(app.clock, FixedClock)
    app.clock.advance(seconds=timedelta(minutes=40).total_seconds())  # 14:40, inside
    await report(harness, people[0], "家里没水了")
    await harness.drain_outbox()
    assert count_of(emulator, people[0], "计划内的维修") == 1
    assert await tickets(harness) == [] and cards_in(emulator, desk.eng) == []
    async with app.uow_factory() as uow:
        planned = (await uow.session.scalars(select(Incident))).one()
    assert planned.planned and planned.building == "1栋"
    # after the window, the same words are a report again
    app.clock.advance(seconds=timedelta(hours=3).total_seconds())
    await report(harness, people[1], "家里没水了")
    await harness.drain_outbox()
    assert len(await tickets(harness)) == 1
