"""FAQ entries from resolved inquiries, end to end on both transports and both databases: the
card's [Add to FAQ] (refused to another team, pressed twice), the private dialog, a
manager's approval with /faqdrafts (refused to staff, approved once), and the approved
entry answering the next resident who asks, next to the file's entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.faq import print_entries
from bot.config import Settings
from emulator import BotAPIEmulator, SimGroup
from emulator.driver import BotMessage
from storage.models import FaqDraft
from tests.support.harness import Harness, StaffedProperty, texts

FAQ = Path(__file__).resolve().parents[2] / "examples" / "faq.toml"
QUESTION = "请问业委会怎么联系"
ANSWER = "业委会办公室在会所二楼,每周六 9:00-11:30 接待业主。"
ADD = "📝 加入问答库"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"faq_file": str(FAQ)})


def _finished_card(emulator: BotAPIEmulator, group: SimGroup) -> BotMessage:
    for message in reversed(emulator.bot_messages(group)):
        if ADD in message.button_texts:
            return message
    raise AssertionError("no card with the Add to FAQ button")


async def test_a_resolved_inquiry_becomes_an_faq_entry(
    harness: Harness, emulator: BotAPIEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    desk = StaffedProperty(harness, emulator)
    await desk.setup()
    clerk = emulator.user("前台小陈", language_code="zh-hans")
    service = emulator.group("客服部", members=[desk.admin, clerk])
    await desk.bind(service, "service")
    await desk.invite_and_join(clerk, "service")
    wang = desk.wang

    # an inquiry the FAQ cannot answer goes to the service team as a ticket
    asked = await harness.act(wang.send_text(QUESTION))
    assert "问题了吗" not in texts(asked)
    await harness.act_press_last(wang, "✅ 确认提交")
    ticket = await desk.ticket()
    assert (ticket.category, ticket.team) == ("inquiry", "service")
    card = desk.card(service)
    assert ADD not in card.button_texts  # offered only once it is resolved
    await harness.act(clerk.press(card, "接单"))
    await harness.act(clerk.press(desk.card(service), "完成"))
    await harness.act(clerk.press(emulator.bot_messages(service)[-1], "不写说明,直接完成"))
    card = _finished_card(emulator, service)

    # another team's staff may not; the inquiry's team writes it privately
    refused = await desk.li.press(card, ADD, chat=service)
    await harness.settle()
    assert "只有本工单所属部门" in ((await refused.wait_answer()).get("text") or "")
    assert await harness.rows(FaqDraft) == []
    pressed = await clerk.press(card, ADD, chat=service)
    await harness.settle()
    assert "私信" in ((await pressed.wait_answer()).get("text") or "")
    await harness.drain_outbox()
    prompt = clerk.last_message()
    assert prompt is not None and "请发送这个问题的答案" in prompt.body and QUESTION in prompt.body
    await harness.act(clerk.press(card, ADD))  # pressed twice: the same draft, asked again
    assert len(await harness.rows(FaqDraft)) == 1

    reword = await harness.act(clerk.press(prompt, "✏️ 修改问题"))
    assert "新的问题写法" in texts(reword)
    await harness.act(clerk.send_text("业委会怎么联系?"))
    keywords = await harness.act(clerk.send_text(ANSWER))
    assert "关键词" in texts(keywords)
    done = await harness.act(clerk.send_text("业委会, 业主委员会 联系"))
    [draft] = await harness.rows(FaqDraft)
    assert f"问答草稿 #{draft.id} 已提交" in texts(done)
    assert (draft.status, draft.question, draft.answer) == ("pending", "业委会怎么联系?", ANSWER)
    assert draft.keywords == ["业委会", "业主委员会", "联系"] and draft.author_id == clerk.id

    # once submitted, the card's button is refused politely
    again = await clerk.press(card, ADD, chat=service)
    await harness.settle()
    assert "已由 前台小陈 写成问答草稿(待审核)" in ((await again.wait_answer()).get("text") or "")

    # managers review: staff may not; a manager approves, once
    not_manager = await harness.act(desk.li.send_text("/faqdrafts"))
    assert "只有经理" in texts(not_manager)
    listing = await harness.act(desk.admin.send_text("/faqdrafts"))
    assert "待审核的问答草稿 1 条" in texts(listing)
    item = listing[-1]
    assert ANSWER in item.body and "业委会 业主委员会 联系" in item.body
    forged = await desk.li.press(not_manager[-1], data=f"fa:{draft.id}:ok")
    await harness.settle()
    assert "只有经理" in ((await forged.wait_answer()).get("text") or "")
    assert (await harness.rows(FaqDraft))[0].status == "pending"
    await harness.act(desk.admin.press(item, "✅ 批准"))
    [draft] = await harness.rows(FaqDraft)
    assert draft.status == "approved" and draft.reviewed_by == desk.admin.id
    twice = await desk.admin.press(item, "❌ 退回")  # the old message's other button
    await harness.settle()
    assert "已由 Admin 审核(已批准)" in ((await twice.wait_answer()).get("text") or "")
    assert (await harness.rows(FaqDraft))[0].status == "approved"
    await harness.drain_outbox()
    assert f"问答草稿 #{draft.id} 已由 Admin 批准" in texts(clerk.messages())
    empty = await harness.act(desk.admin.send_text("/faqdrafts"))
    assert "没有待审核的问答草稿" in texts(empty)

    # the next resident who asks is answered at once; the file's entries still answer
    answered = await harness.act(wang.send_text(QUESTION))
    assert ANSWER in texts(answered) and "问题了吗" in texts(answered)
    await harness.act_press_last(wang, "👍 解决了")
    pool = await harness.act(wang.send_text("游泳池几点关门"))
    assert "9:00-21:00" in texts(pool)

    assert await print_entries(harness.settings) == 0
    printed = capsys.readouterr().out
    assert f"draft-{draft.id}\tsunshine\t业委会怎么联系?" in printed
    assert "parcel\t*\t" in printed and "已批准的草稿 1 条" in printed
