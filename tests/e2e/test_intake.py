"""Resident intake end to end over both transports: registration, reports, /my, /cancel,
/lang, restarts, and bad input."""

from __future__ import annotations

from sqlalchemy import func, select

from emulator import BotAPIEmulator
from storage.models import Ticket
from tests.support.harness import Harness, texts


async def ticket_count(h: Harness) -> int:
    assert h.app is not None
    async with h.app.uow_factory() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(Ticket)) or 0)


async def test_registration_and_text_report(harness: Harness, emulator: BotAPIEmulator) -> None:
    wang = emulator.user("王", language_code="zh-hans")
    sent = await harness.act(wang.start())
    assert "怎么称呼" in texts(sent)
    await harness.act(wang.send_text("王女士"))
    phone_prompt = wang.last_message()
    assert phone_prompt is not None and phone_prompt.requests_contact
    await harness.act(wang.send_contact("+8613812345678"))
    await harness.act_press_last(wang, "3栋")
    await harness.act_press_last(wang, "2单元")
    done = await harness.act(wang.send_text("501"))
    assert "王女士 138****5678,3栋2单元501" in texts(done)

    draft = await harness.act(wang.send_text("卫生间天花板一直在滴水,楼上好像漏了"))
    assert "报修" in texts(draft)
    confirmed = await harness.act_press_last(wang, "✅ 确认提交")
    assert "已提交,单号" in texts(confirmed)
    assert await ticket_count(harness) == 1
    # setMyCommands registered in both languages
    assert emulator.commands_for("default", "zh") and emulator.commands_for("default", "en")
    staff_menu = {c["command"] for c in emulator.commands_for("all_group_chats", "zh")}
    assert {"stats", "ticket", "bind", "invite"} <= staff_menu
    assert "my" not in staff_menu


async def test_photo_report_and_emergency(harness: Harness, emulator: BotAPIEmulator) -> None:
    wang = emulator.user("王", language_code="zh-hans")
    await harness.register(wang)
    await harness.act(wang.send_photo(caption="楼道的灯坏了"))
    await harness.act(wang.send_photo())
    await harness.act_press_last(wang, harness.button_label(wang, "照片发完"))
    await harness.act_press_last(wang, "✅ 确认提交")
    assert harness.app is not None
    async with harness.app.uow_factory() as uow:
        ticket = (await uow.session.scalars(select(Ticket))).one()
    assert len(ticket.photo_file_ids) == 2

    sent = await harness.act(wang.send_text("楼道里好大一股煤气味!!"))
    assert "⚠️" in sent[0].body and "96777" in sent[0].body
    said = texts(sent)
    assert said.index("96777") < said.index("单号")  # the safety advice comes first
    assert await ticket_count(harness) == 2


async def test_my_cancel_and_lang(harness: Harness, emulator: BotAPIEmulator) -> None:
    li = emulator.user("Li", language_code="en")
    await harness.register(li, name="Li Lei")
    await harness.act(li.send_text("kitchen pipe leaking"))
    cancelled = await harness.act(li.send_text("/cancel"))
    assert cancelled and await ticket_count(harness) == 0
    await harness.act(li.send_text("the corridor light is broken"))
    await harness.act_press_last(li, harness.button_label(li, "Submit"))
    listing = await harness.act(li.send_text("/my"))
    number = listing[-1].button_texts[0].split()[-1]
    details = await harness.act_press_last(li, listing[-1].button_texts[0])
    assert number in texts(details) and "Submitted" in texts(details)
    await harness.act(li.send_text("/lang"))
    switched = await harness.act_press_last(li, "中文")
    assert "中文" in texts(switched)


async def test_restart_mid_registration_and_report_resumes(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    zhao = emulator.user("赵", language_code="zh-hans")
    await harness.act(zhao.start())
    await harness.act(zhao.send_text("赵先生"))
    await harness.restart()
    await harness.act(zhao.send_text("13912345678"))  # the phone step survived
    await harness.act_press_last(zhao, "2栋")
    await harness.act(zhao.send_text("1201"))
    await harness.act(zhao.send_text("电梯按钮坏了"))
    await harness.restart()
    resumed = await harness.act(zhao.start())
    assert "电梯按钮坏了" in texts(resumed)
    await harness.act_press_last(zhao, "✅ 确认提交")
    assert await ticket_count(harness) == 1


async def test_bad_input(harness: Harness, emulator: BotAPIEmulator) -> None:
    tom = emulator.user("Tom", language_code="en")
    await harness.act(tom.start())
    await harness.act(tom.send_text("<b>Tom & Jerry</b> 🐱"))
    bad_phone = await harness.act(tom.send_text("12345"))
    assert "13812345678" in texts(bad_phone)
    for action in (tom.send_sticker(), tom.send_voice(), tom.send_video(), tom.send_document()):
        hint = await harness.act(action)
        assert hint, "every unsupported message gets a polite answer"
    await harness.act(tom.send_location(31.2, 121.5))
    await harness.act(tom.send_text("+8613812345678"))
    unknown = await harness.act(tom.send_text("99 Building"))
    assert "1栋" in texts(unknown)
    await harness.act_press_last(tom, "2栋")
    done = await harness.act(tom.send_text("301"))
    assert "<b>Tom & Jerry</b> 🐱" in texts(done)  # shown literally

    long_text = "Water is leaking from the ceiling. " * 300
    draft = await harness.act(tom.send_text(long_text[:4000]))
    await harness.act(tom.send_text(long_text[:4000]))
    assert all(len(m.body) <= 4096 for m in draft)
    card = harness.last_with_button(tom, harness.button_label(tom, "Submit"))
    await harness.act(tom.press(card, harness.button_label(tom, "Submit")))
    again = await harness.act(
        tom.press(card, data=card.callback_data(harness.button_label(tom, "Submit")))
    )
    del again
    await harness.act(tom.press(card, data="rp:forged:ok"))
    assert await ticket_count(harness) == 1
    assert harness.app is not None
    async with harness.app.uow_factory() as uow:
        ticket = (await uow.session.scalars(select(Ticket))).one()
    assert len(ticket.description) == 8000 + 1


async def test_duplicate_update_and_blocked_user(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    wang = emulator.user("王", language_code="zh-hans")
    await harness.register(wang)
    await harness.act(wang.send_text("门口的垃圾没人收"))
    card = harness.last_with_button(wang, "✅ 确认提交")
    await harness.act(wang.press(card, "✅ 确认提交"))
    emulator.redeliver_last()
    await harness.settle()
    assert await ticket_count(harness) == 1

    # A 429 on a reply is waited out and the reply still arrives.
    emulator.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    listing = await harness.act(wang.send_text("/my"))
    assert any("我的工单" in m.body for m in listing)
    # She blocks the bot while it is answering: 403, marked inactive, nothing crashes.
    emulator.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    await harness.act(wang.send_text("/help"))
    assert harness.app is not None
    async with harness.app.uow_factory() as uow:
        resident = await uow.residents.by_telegram_id(wang.id)
    assert resident is not None and resident.active is False


async def test_group_messages_from_strangers_are_ignored(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    stranger = emulator.user("Stranger")
    group = emulator.group("工程部", members=[stranger])
    sent = await harness.act(stranger.send_text("/my", chat=group))
    assert sent == []
    assert emulator.bot_messages(group) == []
