"""Duty (值班) end to end over both transports and both databases: a night emergency reaches
the engineer on duty privately (with the card's working buttons) and the groups, the
resident hears the duty post and never a private number, and the engineer accepts from
the private card; going off duty with an open ticket hands it to a named colleague; a
removal asks the remover whether a colleague takes what went back to the pool."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.clock import Clock, FixedClock
from bot.config import DutyRotaConfig, Settings, ShiftConfig
from emulator import BotAPIEmulator, BotMessage, SimUser
from tests.support.apps import settings_for
from tests.support.harness import Harness, StaffedProperty, texts

pytestmark = pytest.mark.e2e
NIGHT = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)  # Sunday 02:00 in Shanghai


@pytest.fixture
def bot_clock() -> Clock:
    return FixedClock(NIGHT)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Engineering's night shift is 李师傅's; business hours 08:30-18:00 (the default)."""
    night = ShiftConfig(name="night", start="18:00", end="08:30", staff=["李师傅"])
    rota = DutyRotaConfig(team="engineering", shifts=[night])
    return settings_for(database_url).model_copy(update={"duty": [rota]})


def private_card(emu: BotAPIEmulator, person: SimUser) -> BotMessage:
    for message in reversed(emu.bot_messages(person.id)):
        if {"接单", "完成"} & set(message.button_texts):
            return message
    raise AssertionError(f"no card in {person}'s private chat")


async def test_night_emergency_reaches_the_person_on_duty_who_accepts_it_privately(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk = StaffedProperty(harness, emulator)
    managers = emulator.group("管理层", members=[desk.admin])
    await desk.setup()
    await desk.bind(managers, "managers")
    zhang_before = len(emulator.bot_messages(desk.zhang.id))

    sent = await harness.act(desk.wang.send_text("楼道里好大一股煤气味!!"))
    told = [m for m in sent if m.chat_id == desk.wang.id]
    ticket = await desk.ticket()
    assert (ticket.urgency, ticket.team) == ("emergency", "engineering")
    assert "值班维修工程师" in texts(told)  # the post on duty, not who
    assert "李师傅" not in texts(told) and str(desk.li.id) not in texts(told)

    card = private_card(emulator, desk.li)
    assert ticket.number in card.body and "您正在值班" in card.body
    assert "13812345678" not in card.body  # masked as in the group
    assert ticket.number in desk.card(desk.eng).body  # the group still has it
    assert ticket.number in desk.card(managers).body
    assert len(emulator.bot_messages(desk.zhang.id)) == zhang_before  # not on duty

    await harness.act(desk.li.press(card, "接单"))
    accepted = await desk.ticket()
    assert (accepted.status, accepted.assignee_id) == ("accepted", desk.li.id)
    assert "李师傅" in desk.card(desk.eng).body  # the group card follows
    assert "完成" in private_card(emulator, desk.li).button_texts  # so does the private one
    assert any("李师傅" in m.body for m in desk.wang.messages()[-2:])  # accepted notice


async def test_going_off_duty_hands_a_ticket_to_a_colleague(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk = StaffedProperty(harness, emulator)
    await desk.setup()
    card = await desk.report()
    await harness.act(desk.li.press(card, "接单"))

    sent = await harness.act(desk.li.send_text("/offduty"))
    assert "下岗" in texts(sent) and "1 张" in texts(sent)
    question = harness.last_with_button(desk.li, "→ 张师傅")
    assert {"↩ 退回待接单", "我继续处理"} <= set(question.button_texts)
    stranger = await desk.zhang.press(question, "→ 张师傅")  # not his to answer
    await harness.settle()
    assert "只有工单的处理人" in ((await stranger.wait_answer()).get("text") or "")

    await harness.act(desk.li.press(question, "→ 张师傅"))
    handed = await desk.ticket()
    assert (handed.status, handed.assignee_name) == ("accepted", "张师傅")
    assert "李师傅 已将工单转给 张师傅" in desk.card(desk.eng).body
    assert "转给您" in private_card(emulator, desk.zhang).body
    again = await desk.li.press(question, "↩ 退回待接单")  # pressed after the answer
    await harness.settle()
    assert (await again.wait_answer()).get("text")
    assert (await desk.ticket()).assignee_name == "张师傅"


async def test_removal_asks_whether_a_colleague_takes_the_returned_ticket(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk = StaffedProperty(harness, emulator)
    await desk.setup()
    card = await desk.report()
    await harness.act(desk.li.press(card, "接单"))

    await harness.act(desk.admin.send_text(f"/remove {desk.li.id}", chat=desk.eng))
    assert (await desk.ticket()).status == "new"  # without an answer: the pool
    question = harness.last_with_button(desk.eng.id, "→ 张师傅")
    assert "留在待接单" in question.button_texts and "→ 李师傅" not in question.button_texts
    await harness.act(desk.admin.press(question, "→ 张师傅"))
    taken = await desk.ticket()
    assert (taken.status, taken.assignee_name) == ("accepted", "张师傅")


async def test_staff_commands_in_private_are_refused_in_words_about_commands(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk = StaffedProperty(harness, emulator)
    await desk.setup()
    for command in ("/invite engineering", "/staff engineering", f"/remove {desk.li.id}"):
        sent = await harness.act(desk.wang.send_text(command))
        assert "没有执行这个命令的权限" in texts(sent), command
        assert "工单" not in texts(sent) and "李师傅" not in texts(sent), command
    sent = await harness.act(desk.li.send_text("/duty engineering 张师傅"))  # not a lead
    assert "没有执行这个命令的权限" in texts(sent)
    sent = await harness.act(desk.wang.send_text("/onduty"))
    assert "只有员工" in texts(sent)


async def test_invisible_text_opens_no_draft_and_never_reaches_a_description(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk = StaffedProperty(harness, emulator)
    await desk.setup()
    sent = await harness.act(desk.wang.send_text(" \u200b\u3000\ufeff "))
    assert "没有收到内容" in texts(sent)
    await desk.report("卫生间一直在滴水")
    assert (await desk.ticket()).description == "卫生间一直在滴水"
