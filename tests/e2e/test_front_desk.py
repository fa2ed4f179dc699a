"""The front desk end to end, on both transports and both databases: a phone request
registered by staff for a registered resident (who is told), one for a caller without
Telegram (confirmed and rated by phone after the fix), a patrol finding, an emergency that
skips the questions, the second registration of one caller, and refusals."""

from __future__ import annotations

from sqlalchemy import select

from emulator import BotAPIEmulator, SimUser
from storage.models import Rating, Ticket, TicketEvent
from tests.support.harness import Harness, StaffedProperty, texts

LEAK = "卫生间天花板一直在滴水,楼上好像漏了"


async def _front_desk(desk: StaffedProperty, emulator: BotAPIEmulator) -> SimUser:
    """The property's staff, and a front-desk clerk of the service team."""
    await desk.setup()
    clerk = emulator.user("前台小陈", language_code="zh-hans")
    await desk.invite_and_join(clerk, "service")
    return clerk


async def _events(harness: Harness, ticket_id: int) -> list[TicketEvent]:
    assert harness.app is not None
    async with harness.app.uow_factory() as uow:
        query = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
        return list((await uow.session.scalars(query.order_by(TicketEvent.id))).all())


async def _rating(harness: Harness, ticket_id: int) -> Rating | None:
    assert harness.app is not None
    async with harness.app.uow_factory() as uow:
        return await uow.session.scalar(select(Rating).where(Rating.ticket_id == ticket_id))


async def test_phone_request_for_a_registered_resident(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk = StaffedProperty(harness, emulator)
    clerk = await _front_desk(desk, emulator)

    await harness.act(clerk.send_text("/new"))
    await harness.act_press_last(clerk, "电话")
    bad = await harness.act(clerk.send_text("12ab"))
    assert "号码好像不对" in texts(bad)  # asked again
    found = await harness.act(clerk.send_text("138 1234 5678"))
    assert "王女士" in texts(found) and "3栋2单元501" in texts(found)
    assert "13812345678" not in texts(found)  # masked, even privately
    await harness.act_press_last(clerk, harness.button_label(clerk, "王女士"))
    draft = await harness.act(clerk.send_text(LEAK))
    assert "报修" in texts(draft) and "电话" in texts(draft)
    # the category is the staff member's to correct before filing
    await harness.act_press_last(clerk, "改紧急程度")
    await harness.act_press_last(clerk, "加急")
    filed = await harness.act_press_last(clerk, "✅ 登记")
    assert "已登记工单" in texts(filed) and "已在 Telegram 收到" in texts(filed)

    ticket = (await harness.rows(Ticket))[-1]
    assert (ticket.channel, ticket.registered_by, ticket.urgency) == ("phone", clerk.id, "high")
    assert ticket.resident_id is not None and ticket.team == "engineering"
    card = desk.card(desk.eng)
    assert "电话登记 · 前台小陈" in card.body and "138****5678" in card.body
    assert "前台已为您登记(电话)" in texts(desk.wang.messages())
    assert any(
        e.kind == "registered" and e.new_value == "phone" for e in await _events(harness, ticket.id)
    )
    # the resident's timeline says who registered it
    listing = await harness.act(desk.wang.send_text("/my"))
    details = await harness.act_press_last(desk.wang, listing[-1].button_texts[0])
    assert "前台 前台小陈 代为登记(电话)" in texts(details)

    # the usual machinery: accept, complete, the resident confirms and is asked to rate
    await harness.act(desk.li.press(card, "接单"))
    await harness.act(desk.li.press(desk.card(desk.eng), "完成"))
    await harness.act(desk.li.press(emulator.bot_messages(desk.eng)[-1], "不写说明,直接完成"))
    notice = desk.wang.last_message()
    assert notice is not None and "问题解决了吗" in notice.body

    # a second clerk taking the same call sees the first ticket before filing another
    await harness.act(desk.admin.send_text("/new"))
    await harness.act_press_last(desk.admin, "来访")
    await harness.act(desk.admin.send_text("13812345678"))
    await harness.act_press_last(desk.admin, harness.button_label(desk.admin, "王女士"))
    await harness.act(desk.admin.send_text("客厅灯不亮了"))
    filed = await harness.act_press_last(desk.admin, "✅ 登记")
    assert "未完成的工单" not in texts(filed)  # the resolved one is not open: no warning
    assert len(await harness.rows(Ticket)) == 2 and "已登记工单" in texts(filed)


async def test_second_registration_of_one_caller_needs_confirming(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk = StaffedProperty(harness, emulator)
    clerk = await _front_desk(desk, emulator)
    for person in (clerk, desk.admin):
        await harness.act(person.send_text("/new"))
        await harness.act_press_last(person, "电话")
        await harness.act(person.send_text("13812345678"))
        await harness.act_press_last(person, harness.button_label(person, "王女士"))
        await harness.act(person.send_text(LEAK))
    await harness.act_press_last(clerk, "✅ 登记")
    warned = await harness.act_press_last(desk.admin, "✅ 登记")
    assert "最近已有未完成的工单" in texts(warned) and "前台小陈" in texts(warned)
    assert len(await harness.rows(Ticket)) == 1
    await harness.act_press_last(desk.admin, "仍然登记新工单")
    assert len(await harness.rows(Ticket)) == 2


async def test_caller_without_telegram_confirmed_and_rated_by_phone(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk = StaffedProperty(harness, emulator)
    clerk = await _front_desk(desk, emulator)

    await harness.act(clerk.send_text("/new"))
    await harness.act_press_last(clerk, "来访")
    await harness.act(clerk.send_text("13900001111"))  # nobody registered with it
    await harness.act(clerk.send_text("<b>李阿姨</b> & 女儿"))
    await harness.act_press_last(clerk, "1栋")
    await harness.act_press_last(clerk, "1单元")
    await harness.act(clerk.send_text("302"))
    draft = await harness.act(clerk.send_text(LEAK))
    assert "<b>李阿姨</b> & 女儿" in texts(draft)  # shown literally, not as markup
    await harness.act(clerk.send_photo())
    filed = await harness.act_press_last(clerk, "✅ 登记")
    assert "没有 Telegram" in texts(filed)
    assert "来访" in texts(filed) and "1栋1单元302" in texts(filed)  # the filed draft, kept

    ticket = (await harness.rows(Ticket))[-1]
    assert ticket.resident_id is None and ticket.channel == "walk_in"
    assert (ticket.contact_phone, ticket.address) == ("+8613900001111", "1栋1单元302")
    assert len(ticket.photo_file_ids) == 1
    card = desk.card(desk.eng)
    assert "来访登记" in card.body and "139****1111" in card.body
    assert "13900001111" not in card.body

    await harness.act(desk.li.press(card, "接单"))
    await harness.act(desk.li.press(desk.card(desk.eng), "完成"))
    await harness.act(desk.li.press(emulator.bot_messages(desk.eng)[-1], "不写说明,直接完成"))
    ask = emulator.bot_messages(desk.eng)[-1]
    assert "请电话确认" in ask.body and "139****1111" in ask.body
    stranger = emulator.user("路人", language_code="zh-hans")
    refused = await stranger.press(ask, "✅ 已解决", chat=desk.eng)
    await harness.settle()
    assert (await refused.wait_answer()).get("text")
    assert (await harness.rows(Ticket))[-1].status == "resolved"

    await harness.act(desk.li.press(ask, "✅ 已解决"))
    assert (await harness.rows(Ticket))[-1].status == "closed"
    stars = emulator.bot_messages(desk.eng)[-1]
    assert "电话里给的评价" in stars.body
    await harness.act(desk.li.press(stars, "⭐⭐⭐⭐"))
    rating = await _rating(harness, ticket.id)
    assert rating is not None and rating.stars == 4 and rating.status == "answered"
    again = await desk.li.press(stars, "⭐⭐⭐⭐⭐", chat=desk.eng)
    await harness.settle()
    assert "已经有评价" in ((await again.wait_answer()).get("text") or "")
    assert (await _rating(harness, ticket.id)).stars == 4  # type: ignore[union-attr]
    kinds = [e.kind for e in await _events(harness, ticket.id)]
    assert "confirmed_by_phone" in kinds and "rated_by_phone" in kinds


async def test_patrol_finding_and_the_digest_line(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk = StaffedProperty(harness, emulator)
    await desk.setup()
    await harness.act(desk.li.send_text("/report"))
    await harness.act_press_last(desk.li, "2栋")
    await harness.act(desk.li.send_text("2栋三楼走廊的灯坏了,一直不亮"))
    await harness.act_press_last(desk.li, "✅ 登记")
    ticket = (await harness.rows(Ticket))[-1]
    assert (ticket.channel, ticket.resident_id, ticket.address) == ("patrol", None, "2栋")
    assert ticket.registered_by == desk.li.id
    card = desk.card(desk.eng)
    assert "巡查发现登记 · 李师傅" in card.body

    stats = await harness.act(desk.admin.send_text("/stats today"))  # privately
    assert "按渠道:巡查发现 1" in texts(stats)

    await harness.act(desk.zhang.press(card, "接单"))
    await harness.act(desk.zhang.press(desk.card(desk.eng), "完成"))
    await harness.act(desk.zhang.press(emulator.bot_messages(desk.eng)[-1], "不写说明,直接完成"))
    ask = emulator.bot_messages(desk.eng)[-1]
    assert "巡查发现的工单" in ask.body
    await harness.act(desk.li.press(ask, "✅ 已解决"))
    assert (await harness.rows(Ticket))[-1].status == "closed"
    assert await _rating(harness, ticket.id) is None


async def test_emergency_skips_the_questions_and_residents_may_not_register(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk = StaffedProperty(harness, emulator)
    clerk = await _front_desk(desk, emulator)
    mgr = emulator.group("管理层", members=[desk.admin])
    await desk.bind(mgr, "managers")

    refused = await harness.act(desk.wang.send_text("/new"))
    assert "只有客服部" in texts(refused)
    refused = await harness.act(desk.li.send_text("/new"))  # engineering staff, not a lead
    assert "只有客服部" in texts(refused)

    await harness.act(clerk.send_text("/new"))
    await harness.act_press_last(clerk, "电话")
    await harness.act(clerk.send_text("13812345678"))
    await harness.act_press_last(clerk, harness.button_label(clerk, "王女士"))
    sent = await harness.act(clerk.send_text("厨房有很浓的煤气味,好像燃气泄漏了"))
    assert "紧急工单" in texts(sent) and "96777" in texts(sent)
    ticket = (await harness.rows(Ticket))[-1]
    assert ticket.urgency == "emergency" and ticket.channel == "phone"
    assert emulator.bot_messages(mgr), "the managers' group hears of it"
    assert not any("✅ 登记" in m.button_texts for m in clerk.messages())  # no draft shown


async def test_forged_desk_buttons_change_nothing(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk = StaffedProperty(harness, emulator)
    clerk = await _front_desk(desk, emulator)
    await harness.act(clerk.send_text("/new"))
    prompt = harness.last_with_button(clerk, "电话")
    await harness.act(clerk.send_text("/cancel"))
    old = await clerk.press(prompt, "电话")  # a button of the finished session
    await harness.settle()
    assert "过期" in ((await old.wait_answer()).get("text") or "")
    forged = await clerk.press(prompt, data="fd:abcdef:ch:phone")
    await harness.settle()
    assert (await forged.wait_answer()).get("text")
    assert await harness.rows(Ticket) == []


async def test_patrol_finding_from_the_team_group(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk = StaffedProperty(harness, emulator)
    await desk.setup()
    usage = await harness.act(desk.li.send_text("/report", chat=desk.eng))
    assert "/report 3栋一楼大堂" in texts(usage) and await harness.rows(Ticket) == []
    ignored = await harness.act(desk.wang.send_text("/report 3栋大堂灯坏了", chat=desk.eng))
    assert ignored == [] and await harness.rows(Ticket) == []  # not staff: not heard
    sent = await harness.act(desk.li.send_text("/report 3栋一楼大堂的灯不亮了", chat=desk.eng))
    ticket = (await harness.rows(Ticket))[-1]
    assert (ticket.channel, ticket.address, ticket.resident_id) == ("patrol", "3栋", None)
    assert f"已登记工单 {ticket.number}" in texts(sent)
    assert "巡查发现登记 · 李师傅" in desk.card(desk.eng).body
