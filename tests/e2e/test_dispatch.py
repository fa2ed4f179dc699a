"""Staff dispatch end to end over both transports against the emulator: binding a group,
invite and join, the card reaching the routed team, accept race, reassign, contact
resident, complete with note and photo, the resident confirming, reopening, adding
information and cancelling, refusals for strangers, residents and forged data, a
category correction, a late second Accept, and a removed technician's ticket going back
to the pool for a teammate."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from emulator import BotAPIEmulator, BotMessage
from storage.models import Correction
from tests.support.harness import CODE, Harness, StaffedProperty, texts


async def test_bind_invite_and_card_reaches_routed_team(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk = StaffedProperty(harness, emulator)
    bound = await desk.bind(desk.eng, "engineering")
    assert "已绑定" in texts(bound) and "工程部" in texts(bound)

    def group_texts(sent: list[BotMessage]) -> str:
        return texts([m for m in sent if m.chat_id == desk.eng.id])

    sent = await harness.act(desk.admin.send_text("/invite engineering", chat=desk.eng))
    # never shown in the group; the admin has no private chat yet, so the group gets a hint
    assert not CODE.search(group_texts(sent)) and "私聊我" in group_texts(sent)
    code = await desk.invite_and_join(desk.li)
    sent = await harness.act(desk.admin.send_text("/invite engineering", chat=desk.eng))
    assert not CODE.search(group_texts(sent)) and CODE.search(texts(desk.admin.messages()))
    again = await harness.act(desk.zhang.send_text(f"/join {code}"))
    assert "无效" in texts(again)  # one-time code
    await harness.register(desk.wang)

    card = await desk.report()
    assert "报修" in card.body and "138****5678" in card.body and "3栋2单元501" in card.body
    assert card.button_texts[:3] == ["接单", "转派", "联系住户"]
    assert all("13812345678" not in m.body for m in emulator.bot_messages(desk.eng))
    assert emulator.bot_messages(desk.env) == []  # not routed there


async def test_accept_race_reassign_and_contact(harness: Harness, emulator: BotAPIEmulator) -> None:
    desk = StaffedProperty(harness, emulator)
    await desk.setup()
    card = await desk.report()

    first, second = await asyncio.gather(
        desk.li.press(card, "接单"), desk.zhang.press(card, "接单")
    )
    await harness.settle()
    answers = [await first.wait_answer(), await second.wait_answer()]
    ticket = await desk.ticket()
    assert ticket.status == "accepted" and ticket.assignee_name in ("李师傅", "张师傅")
    assert sorted(a.get("text", "") for a in answers)[0] == "已接单"
    assert any("已经接单了" in (a.get("text") or "") for a in answers)
    edited = desk.card(desk.eng)
    assert f"{ticket.assignee_name} 已接单" in edited.body and "开始处理" in edited.button_texts
    assert "已派单" in texts(desk.wang.messages())

    holder = desk.li if ticket.assignee_name == "李师傅" else desk.zhang
    await harness.act(holder.press(edited, "联系住户"))
    assert "13812345678" in texts(holder.messages())  # full number, privately
    assert all("13812345678" not in m.body for m in emulator.bot_messages(desk.eng))

    await harness.act(holder.press(desk.card(desk.eng), "转派"))
    await harness.act(holder.press(desk.card(desk.eng), "环境保洁部"))
    prompt = emulator.bot_messages(desk.eng)[-1]
    assert "转派原因" in prompt.body
    await harness.act(holder.send_text("是冷凝水,归保洁", chat=desk.eng, reply_to=prompt))
    moved = await desk.ticket()
    assert (moved.team, moved.status) == ("environment", "new")
    assert "由工程部转来" in desk.card(desk.env).body
    assert "已转交环境保洁部" in texts(desk.wang.messages())


async def test_second_accept_on_an_accepted_card_sends_no_edit(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    """Telegram refuses an edit that changes nothing (400 "message is not modified"):
    a late press on a taken card is answered, and nothing is edited."""
    desk = StaffedProperty(harness, emulator)
    await desk.setup()
    card = await desk.report()
    await harness.act(desk.li.press(card, "接单"))
    edits_before = len(emulator.calls_to("editMessageText"))
    late = await desk.zhang.press(card, "接单")  # the snapshot still shows 接单
    await harness.settle()
    assert "李师傅 已经接单了" in ((await late.wait_answer()).get("text") or "")
    assert len(emulator.calls_to("editMessageText")) == edits_before
    ticket = await desk.ticket()
    assert (ticket.status, ticket.assignee_name) == ("accepted", "李师傅")


async def test_contact_without_private_chat_gets_a_hint(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk = StaffedProperty(harness, emulator)
    await desk.bind(desk.eng, "engineering")
    await harness.register(desk.wang)
    card = await desk.report()
    await harness.act(desk.admin.press(card, "联系住户"))  # the admin never opened a chat
    hint = emulator.bot_messages(desk.eng)[-1]
    assert "私聊" in hint.body and "13812345678" not in hint.body


async def test_complete_with_note_and_photo_then_confirm_or_reopen(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk = StaffedProperty(harness, emulator)
    await desk.setup()
    card = await desk.report()
    await harness.act(desk.li.press(card, "接单"))
    await harness.act(desk.li.press(desk.card(desk.eng), "开始处理"))
    assert "已开始处理" in texts(desk.wang.messages())
    await harness.act(desk.li.press(desk.card(desk.eng), "完成"))
    prompt = emulator.bot_messages(desk.eng)[-1]
    assert "处理说明" in prompt.body
    await harness.act(desk.li.send_photo(chat=desk.eng, reply_to=prompt))
    await harness.act(desk.li.send_text("已更换排水管", chat=desk.eng, reply_to=prompt))
    assert (await desk.ticket()).status == "resolved"
    notice = desk.wang.last_message()
    assert notice is not None and "已更换排水管" in notice.body and "问题解决了吗" in notice.body
    assert any(m.photos for m in desk.wang.messages())

    await harness.act(desk.wang.press(notice, "没解决"))
    await harness.act(desk.wang.send_text("还是在滴水"))
    reopened = await desk.ticket()
    assert (reopened.status, reopened.team) == ("new", "engineering")
    assert "住户反馈没解决:还是在滴水" in desk.card(desk.eng).body

    await harness.act(desk.li.press(desk.card(desk.eng), "接单"))
    await harness.act(desk.li.press(desk.card(desk.eng), "完成"))
    await harness.act(desk.li.press(emulator.bot_messages(desk.eng)[-1], "不写说明,直接完成"))
    await harness.act(desk.wang.press(desk.wang.last_message() or notice, "已解决"))
    assert (await desk.ticket()).status == "closed"
    assert any("住户已确认解决" in m.body for m in emulator.bot_messages(desk.eng))


async def test_resident_adds_info_and_cancels(harness: Harness, emulator: BotAPIEmulator) -> None:
    desk = StaffedProperty(harness, emulator)
    await desk.setup()
    card = await desk.report()
    listing = await harness.act(desk.wang.send_text("/my"))
    await harness.act_press_last(desk.wang, listing[-1].button_texts[0])
    await harness.act_press_last(desk.wang, "补充说明")
    await harness.act(desk.wang.send_text("晚上八点后家里有人"))
    await harness.act(desk.wang.send_photo())
    await harness.act_press_last(desk.wang, "补充完了")
    under_card = [
        m for m in emulator.bot_messages(desk.eng) if m.reply_to_message_id == card.message_id
    ]
    assert any("晚上八点后家里有人" in m.body for m in under_card)
    assert any(m.photos for m in under_card)

    await harness.act_press_last(desk.wang, listing[-1].button_texts[0])
    await harness.act_press_last(desk.wang, "取消工单")
    await harness.act_press_last(desk.wang, "确定取消")
    assert (await desk.ticket()).status == "cancelled"
    final = next(m for m in emulator.bot_messages(desk.eng) if m.message_id == card.message_id)
    assert "住户已取消" in final.body and final.button_texts == []


async def test_strangers_residents_and_forged_data_change_nothing(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk = StaffedProperty(harness, emulator)
    await desk.setup()
    card = await desk.report()
    stranger = emulator.user("路人", language_code="zh-hans")
    for person in (stranger, desk.wang):
        press = await person.press(card, "接单", chat=desk.eng)
        await harness.settle()
        answer = await press.wait_answer()
        assert "只有本组" in (answer.get("text") or "") and answer.get("show_alert")
    ticket = await desk.ticket()
    for data in (f"tk:{ticket.id + 99}:acc", "tk:x:acc", f"tk:{ticket.id}:zz", "tk:1:rt:evil"):
        press = await desk.li.press(card, data=data)
        await harness.settle()
        assert (await press.wait_answer()).get("text")
    ignored = await harness.act(stranger.send_text("我来修", chat=desk.eng, reply_to=card))
    assert ignored == []
    after = await desk.ticket()
    assert (after.status, after.assignee_id, after.team) == ("new", None, "engineering")


async def test_category_correction_is_recorded(harness: Harness, emulator: BotAPIEmulator) -> None:
    desk = StaffedProperty(harness, emulator)
    await desk.setup()
    card = await desk.report()
    await harness.act(desk.zhang.press(card, "改类别"))
    await harness.act(desk.zhang.press(desk.card(desk.eng), "保洁"))
    assert "保洁" in desk.card(desk.eng).body
    assert harness.app is not None
    async with harness.app.uow_factory() as uow:
        [row] = (await uow.session.scalars(select(Correction))).all()
    assert (row.field, row.old_value, row.new_value) == ("category", "repair", "cleaning")


async def test_removed_technicians_ticket_returns_to_the_pool_and_a_teammate_completes_it(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk = StaffedProperty(harness, emulator)
    await desk.setup()
    card = await desk.report()
    await harness.act(desk.li.press(card, "接单"))
    told_wang = len(desk.wang.messages())
    held = await desk.ticket()
    assert held.assignee_name == "李师傅"

    sent = await harness.act(desk.admin.send_text(f"/remove {desk.li.id}", chat=desk.eng))
    assert "已将 李师傅 移出" in texts(sent) and held.number in texts(sent)
    returned = await desk.ticket()
    assert (returned.status, returned.assignee_id) == ("new", None)
    pool_card = desk.card(desk.eng)
    assert pool_card.message_id == card.message_id  # the same card, edited
    assert "已退回待接单:李师傅 已离开本组" in pool_card.body
    assert "接单" in pool_card.button_texts and "李师傅 已接单" not in pool_card.body
    assert len(desk.wang.messages()) == told_wang  # nothing promised changed

    await harness.act(desk.zhang.press(desk.card(desk.eng), "接单"))
    await harness.act(desk.zhang.press(desk.card(desk.eng), "完成"))
    await harness.act(desk.zhang.press(emulator.bot_messages(desk.eng)[-1], "不写说明,直接完成"))
    done = await desk.ticket()
    assert (done.status, done.assignee_name) == ("resolved", "张师傅")
    gone = await desk.li.press(card, "联系住户")  # the first snapshot still had it
    await harness.settle()
    assert "只有本组" in ((await gone.wait_answer()).get("text") or "")


async def test_a_reply_to_an_older_prompt_is_not_filed_on_the_newer_steps_ticket(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    """Telegram sends the replied-to prompt along with the reply: a reply to 完成's prompt of
    one ticket while 备注 of another is open is refused with the number awaited."""
    desk = StaffedProperty(harness, emulator)
    await desk.setup()
    first_card = await desk.report()
    await harness.act(desk.li.press(first_card, "接单"))
    await harness.act(desk.li.press(desk.card(desk.eng), "开始处理"))
    first = await desk.ticket()
    await harness.act(desk.li.press(desk.card(desk.eng), "完成"))
    complete_prompt = emulator.bot_messages(desk.eng)[-1]
    assert "处理说明" in complete_prompt.body and first.number in complete_prompt.body
    second_card = await desk.report("厨房水管也在漏水")
    second = await desk.ticket()
    await harness.act(desk.li.press(second_card, "接单"))
    await harness.act(desk.li.press(desk.card(desk.eng), "添加备注"))
    await harness.act(desk.li.send_text("已更换排水管", chat=desk.eng, reply_to=complete_prompt))
    answer = emulator.bot_messages(desk.eng)[-1]
    assert "已被后来的操作取代" in answer.body and second.number in answer.body
    assert harness.app is not None
    async with harness.app.uow_factory() as uow:
        notes = [e for e in await uow.tickets.events(second.id) if e.kind == "note"]
        status = (await uow.tickets.get(first.id)).status  # type: ignore[union-attr]
    assert notes == [] and status == "in_progress"
