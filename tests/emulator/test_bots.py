"""Whole bots on the emulator: an aiogram Dispatcher and a PTB Application, both polling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.filters import Command, CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from emulator import BotAPIEmulator
from tests.support.clients import TOKEN


def _dispatcher() -> Dispatcher:
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        keyboard = ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text="Share phone", request_contact=True)]],
            resize_keyboard=True,
        )
        await message.answer("Welcome! Your phone?", reply_markup=keyboard)

    @dp.message(F.contact)
    async def contact(message: Message) -> None:
        assert message.contact is not None
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(text="Confirm", callback_data="ok"),
                    InlineKeyboardButton(text="Cancel", callback_data="no"),
                ]
            ]
        )
        await message.answer(f"Use {message.contact.phone_number}?", reply_markup=markup)

    @dp.callback_query(F.data == "ok")
    async def confirm(query: CallbackQuery) -> None:
        await query.answer("Saved")
        if isinstance(query.message, Message):
            await query.message.edit_text("Phone saved.")

    @dp.callback_query()
    async def other(query: CallbackQuery) -> None:
        await query.answer("This button is no longer valid", show_alert=True)

    @dp.message(Command("bind"))
    async def bind(message: Message) -> None:
        await message.reply("Bound.")

    return dp


@pytest.fixture
async def aiogram_bot(emu: BotAPIEmulator, abot: Bot) -> AsyncIterator[Bot]:
    dp = _dispatcher()
    task = asyncio.create_task(
        dp.start_polling(abot, polling_timeout=1, handle_signals=False, close_bot_session=False)
    )
    yield abot
    await dp.stop_polling()
    await asyncio.wait_for(task, 5)


async def test_aiogram_dispatcher_flow(emu: BotAPIEmulator, aiogram_bot: Bot) -> None:
    alice = emu.user("王", language_code="zh-hans")
    await alice.start()
    welcome = await alice.next_message()
    assert welcome.requests_contact
    await alice.send_contact("+8613812345678")
    ask = await alice.next_message()
    assert ask.text == "Use +8613812345678?" and ask.buttons == [["Confirm", "Cancel"]]
    press = await alice.press(ask, "Confirm")
    assert (await press.wait_answer())["text"] == "Saved"
    edited = await alice.next_message()
    assert edited.edited and edited.text == "Phone saved." and edited.buttons == []
    forged = await alice.press(ask, data="forged:999")
    answer = await forged.wait_answer()
    assert answer["show_alert"] is True
    await emu.wait_confirmed(forged.update_id)
    lines = emu.transcript()
    assert lines[0] == "王 → bot: /start"
    assert lines[1] == "bot → 王: Welcome! Your phone? {Share phone}"
    assert "bot → 王: Use +8613812345678? [Confirm] [Cancel]" in lines
    assert "王 presses [Confirm]" in lines
    assert "bot ✎ 王: Phone saved." in lines
    assert "bot ⤷ 王: Saved" in lines


async def test_aiogram_group_command_and_topic_reply(emu: BotAPIEmulator, aiogram_bot: Bot) -> None:
    li = emu.user("李")
    grp = emu.group("工程部", forum=True, members=[li])
    topic = grp.add_topic("维修")
    await li.send_text("ignored chatter", chat=grp, thread_id=topic)
    command = await li.send_text("/bind repair", chat=grp, thread_id=topic)
    reply = await emu.wait_for_bot_message(grp)
    assert reply.text == "Bound."
    assert reply.thread_id == topic
    assert reply.reply_to_message_id == command.message_id
    # Nothing more may follow; a bare bot gives no event for "done", so a quiet period it is.
    await emu.wait_for_idle(quiet=0.1)
    assert len(emu.bot_messages(grp)) == 1


async def test_duplicate_delivery_reaches_the_bot_twice(
    emu: BotAPIEmulator, aiogram_bot: Bot
) -> None:
    alice = emu.user("Alice")
    start = await alice.start()
    await alice.next_message()
    assert start.update_id is not None
    await emu.wait_confirmed(start.update_id)
    emu.redeliver_last()
    again = await alice.next_message()
    assert again.text == "Welcome! Your phone?"


async def test_commands_and_chat_info(emu: BotAPIEmulator, abot: Bot) -> None:
    await abot.set_my_commands([BotCommand(command="my", description="My tickets")])
    await abot.set_my_commands(
        [BotCommand(command="my", description="我的工单")],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="zh",
    )
    assert emu.commands_for() == [{"command": "my", "description": "My tickets"}]
    assert emu.commands_for("all_private_chats", "zh")[0]["description"] == "我的工单"
    assert [c.command for c in await abot.get_my_commands()] == ["my"]
    from aiogram.exceptions import TelegramBadRequest

    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await abot.set_my_commands([BotCommand(command="MyTickets", description="x")])
    with pytest.raises(TelegramBadRequest, match="LANG_CODE_INVALID"):
        await abot.set_my_commands(
            [BotCommand(command="my", description="x")], language_code="zh-hans"
        )
    await abot.delete_my_commands()
    assert emu.commands_for() == []

    boss = emu.user("Boss")
    grp = emu.group("Staff", admins=[boss], bot_admin=True)
    chat = await abot.get_chat(grp.id)
    assert chat.title == "Staff" and chat.type == "supergroup"
    member = await abot.get_chat_member(grp.id, boss.id)
    assert member.status == "administrator"
    me = await abot.get_chat_member(grp.id, emu.bot_id)
    assert me.status == "administrator"
    outsider = await abot.get_chat_member(grp.id, emu.user("Nobody").id)
    assert outsider.status == "left"
    link = await abot.create_chat_invite_link(grp.id, name="staff")
    assert link.invite_link.startswith("https://t.me/+")
    assert await abot.send_chat_action(grp.id, "typing")


async def _ptb_app(emu: BotAPIEmulator) -> Application:  # type: ignore[type-arg]
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        from telegram import InlineKeyboardButton as Button
        from telegram import InlineKeyboardMarkup as Markup

        assert update.effective_chat is not None
        await context.bot.send_message(
            update.effective_chat.id,
            "<b>Hello</b>, pick one",
            parse_mode="HTML",
            reply_markup=Markup([[Button("A", callback_data="a")]]),
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("got " + str(query.data))
        await query.edit_message_text("You picked A")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(update.message.text.upper())

    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(emu.api_url)
        .base_file_url(emu.file_url)
        .get_updates_read_timeout(5)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return app


async def test_ptb_application_flow(emu: BotAPIEmulator) -> None:
    app = await _ptb_app(emu)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=1, poll_interval=0)
        try:
            alice = emu.user("Alice")
            await alice.start()
            hello = await alice.next_message()
            assert hello.text == "Hello, pick one" and hello.html == "<b>Hello</b>, pick one"
            press = await alice.press(hello, "A")
            assert (await press.wait_answer())["text"] == "got a"
            assert (await alice.next_message()).text == "You picked A"
            shout = await alice.send_text("shout")
            assert (await alice.next_message()).text == "SHOUT"
            assert shout.update_id is not None
            await emu.wait_confirmed(shout.update_id)
        finally:
            await app.updater.stop()
            await app.stop()
    assert emu.calls_to("deleteWebhook")
