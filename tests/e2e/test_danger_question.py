"""The danger question end to end (issue 15), over both transports and both databases: an
unsure emergency shows the safety advice and asks "现在有危险吗?" without paging; "yes" (a
button or any typed answer but a clear no) pages the managers as today; "no" leaves an
ordinary draft with the rules' calm urgency; silence pages once when the time is up and the
resident is told; a clear emergency pages at once and asks nothing.

The unsure messages come from the spent development sets (corpus_unseen_v15 / desk_v1) and
are unsure under today's model; their classification is pinned here so that retraining the
model (which may make them sure, or calm) cannot change what this flow test exercises. The
classifier's own sure/unsure decision is tested in tests/test_nlp_paging.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.clock import Clock, FixedClock
from bot.handlers.base import Classification, Classifier
from bot.nlp import Classification as Result
from emulator import BotAPIEmulator, SimGroup
from storage.models import DialogState, Ticket
from tests.support.harness import Harness, StaffedProperty, texts

pytestmark = pytest.mark.e2e
START = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
QUESTION = "现在有危险吗"
YES, NO = "⚠️ 有危险,马上来人", "没有危险"

# corpus_unseen_v15: a goods lift stuck with the movers inside (an emergency the model alone
# raised), and a lift stopped with no one inside (ordinary: the rules call it high).
MOVERS = "货梯卡在负一楼 搬家师傅在里面出不来"
NOBODY = "no one is stuck, the lift just stopped at ground floor with doors open"
PINNED: dict[str, Result] = {
    MOVERS: Result("repair", "emergency", "lift", 0.8, ("货梯", "在里面出不来"), False, "normal"),
    NOBODY: Result("repair", "emergency", "lift", 0.93, ("lift", "stopped"), False, "high"),
}
FIRE = "厨房着火了 好大的烟"  # a clear emergency: the rules see live fire


@pytest.fixture
def bot_clock() -> Clock:
    return FixedClock(START)


@pytest.fixture
def real_classify(real_classify: Classifier) -> Classifier:
    def classify(text: str) -> Classification:
        return PINNED.get(text) or real_classify(text)

    return classify


async def _desk(harness: Harness, emulator: BotAPIEmulator) -> tuple[StaffedProperty, SimGroup]:
    desk = StaffedProperty(harness, emulator)
    managers = emulator.group("管理层", members=[desk.admin])
    await desk.setup()
    await desk.bind(managers, "managers")
    return desk, managers


async def _questions_waiting(harness: Harness) -> int:
    assert harness.app is not None
    async with harness.app.uow_factory() as uow:
        query = select(func.count()).select_from(DialogState).where(DialogState.due_at.is_not(None))
        return int(await uow.session.scalar(query) or 0)


def _clock(harness: Harness) -> FixedClock:
    assert harness.app is not None and isinstance(harness.app.clock, FixedClock)
    return harness.app.clock


async def test_unsure_asks_first_and_yes_pages_the_managers(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk, managers = await _desk(harness, emulator)
    before = len(emulator.bot_messages(managers))

    asked = await harness.act(desk.wang.send_text(MOVERS))
    said = texts(asked)
    assert "⚠️" in said and "按电梯内警铃" in said  # the lift's safety advice, at once
    assert said.index("警铃") < said.index(QUESTION)
    question = harness.last_with_button(desk.wang, YES)
    assert NO in question.button_texts and "2 分钟" in question.body
    assert await harness.rows(Ticket) == []  # nobody paged yet
    assert len(emulator.bot_messages(managers)) == before
    assert await _questions_waiting(harness) == 1

    paged = await harness.act(desk.wang.press(question, YES))
    [ticket] = await harness.rows(Ticket)
    assert (ticket.urgency, ticket.hazard) == ("emergency", "lift")
    assert ticket.number in desk.card(managers).body  # the managers are paged
    assert ticket.number in desk.card(desk.eng).body
    assert "单号" in texts(paged) and "值班经理" in texts(paged)
    assert "您的回答:有危险" in texts(paged)  # the question, edited: its buttons are gone
    assert await _questions_waiting(harness) == 0

    again = await desk.wang.press(question, NO)  # pressed twice: politely closed
    await harness.settle()
    assert "问题已经结束" in ((await again.wait_answer()).get("text") or "")
    assert len(await harness.rows(Ticket)) == 1
    for data in ("rp:abcdef:yes", "rp:zzzzzz:yes"):  # another draft's token; malformed
        forged = await desk.wang.press(question, data=data)
        await harness.settle()
        assert (await forged.wait_answer()).get("text")
    assert len(await harness.rows(Ticket)) == 1


async def test_no_keeps_an_ordinary_draft_with_the_calm_urgency(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk, managers = await _desk(harness, emulator)
    before = len(emulator.bot_messages(managers))

    await harness.act(desk.wang.send_text(NOBODY))
    draft = await harness.act_press_last(desk.wang, NO)
    assert "【报修 · 加急】" in texts(draft)  # high: the lift still stands, nobody inside
    assert "您的回答:没有危险" in texts(draft) and "分钟内没有回复" not in texts(draft)
    assert await _questions_waiting(harness) == 0
    await harness.act_press_last(desk.wang, "✅ 确认提交")
    [ticket] = await harness.rows(Ticket)
    assert (ticket.urgency, ticket.hazard) == ("high", None)
    assert len(emulator.bot_messages(managers)) == before  # no page

    _clock(harness).advance(seconds=10 * 60)
    assert harness.app is not None
    assert await harness.app.periodic().danger_sweep() == 0  # "no" cancelled the page


async def test_typed_answers_a_clear_no_is_no_anything_else_is_yes(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk, managers = await _desk(harness, emulator)
    before = len(emulator.bot_messages(managers))

    await harness.act(desk.wang.send_text(NOBODY))
    draft = await harness.act(desk.wang.send_text("没有!"))
    assert "【报修 · 加急】" in texts(draft)
    await harness.act_press_last(desk.wang, "取消")
    assert await harness.rows(Ticket) == []
    assert len(emulator.bot_messages(managers)) == before

    await harness.act(desk.wang.send_text(MOVERS))
    paged = await harness.act(desk.wang.send_text("有人 在里面喊"))
    [ticket] = await harness.rows(Ticket)
    assert ticket.urgency == "emergency" and "有人 在里面喊" in (ticket.description or "")
    assert "单号" in texts(paged)
    assert ticket.number in desk.card(managers).body


async def test_silence_pages_once_when_the_time_is_up(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk, managers = await _desk(harness, emulator)
    await harness.act(desk.wang.send_text(MOVERS))
    question = harness.last_with_button(desk.wang, YES)
    assert harness.app is not None
    periodic = harness.app.periodic()

    _clock(harness).advance(seconds=90)
    assert await periodic.danger_sweep() == 0  # still half a minute to answer
    assert await harness.rows(Ticket) == []
    _clock(harness).advance(seconds=31)
    assert await periodic.danger_sweep() == 1
    assert await periodic.danger_sweep() == 0  # paged once
    await harness.drain_outbox()
    [ticket] = await harness.rows(Ticket)
    assert ticket.urgency == "emergency"
    assert ticket.number in desk.card(managers).body
    told = [m for m in desk.wang.messages() if "您没有回复" in m.body]
    assert len(told) == 1 and ticket.number in told[0].body

    late = await desk.wang.press(question, NO)  # after the page: politely closed
    await harness.settle()
    assert "问题已经结束" in ((await late.wait_answer()).get("text") or "")
    assert len(await harness.rows(Ticket)) == 1
    assert (await harness.rows(Ticket))[0].urgency == "emergency"


async def test_a_clear_emergency_pages_at_once_without_a_question(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk, managers = await _desk(harness, emulator)
    sent = await harness.act(desk.wang.send_text(FIRE))
    [ticket] = await harness.rows(Ticket)
    assert (ticket.urgency, ticket.hazard) == ("emergency", "fire")
    assert QUESTION not in texts(sent)
    assert not any(YES in m.button_texts for m in desk.wang.messages())
    assert ticket.number in desk.card(managers).body
    assert await _questions_waiting(harness) == 0
