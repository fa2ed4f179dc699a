"""getMe, polling, sending and pressing through both client libraries."""

from __future__ import annotations

import asyncio

import telegram
from aiogram import Bot as AiogramBot
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from emulator import BotAPIEmulator


async def test_get_me_aiogram(emu: BotAPIEmulator, abot: AiogramBot) -> None:
    me = await abot.get_me()
    assert me.id == 123456
    assert me.username == "propdesk_bot"
    assert me.is_bot
    assert me.can_read_all_group_messages is False


async def test_get_me_ptb(emu: BotAPIEmulator, pbot: telegram.Bot) -> None:
    me = await pbot.get_me()
    assert me.id == 123456
    assert me.username == "propdesk_bot"


async def test_long_poll_returns_when_update_arrives(emu: BotAPIEmulator, abot: AiogramBot) -> None:
    alice = emu.user("王", language_code="zh-hans")
    poll = asyncio.create_task(abot.get_updates(timeout=5))
    await emu.wait_polling()
    assert not poll.done()
    await alice.send_text("/start")
    updates = await asyncio.wait_for(poll, 2)
    assert len(updates) == 1
    message = updates[0].message
    assert message is not None
    assert message.text == "/start"
    assert message.from_user is not None and message.from_user.id == alice.id
    assert message.chat.type == "private"
    assert message.entities is not None and message.entities[0].type == "bot_command"


async def test_send_and_press_round_trip(emu: BotAPIEmulator, abot: AiogramBot) -> None:
    alice = emu.user("Alice")
    await alice.start()
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Yes", callback_data="y:1")]]
    )
    sent = await abot.send_message(
        alice.id, "<b>Confirm</b> &amp; go", reply_markup=keyboard, parse_mode="HTML"
    )
    assert sent.text == "Confirm & go"
    seen = await alice.next_message()
    assert seen.text == "Confirm & go"
    assert seen.html == "<b>Confirm</b> &amp; go"
    assert seen.buttons == [["Yes"]]
    press = await alice.press(seen, "Yes")
    updates = await abot.get_updates(offset=0, timeout=1)
    query = updates[-1].callback_query
    assert query is not None and query.data == "y:1"
    assert query.message is not None and query.message.message_id == sent.message_id
    assert await abot.answer_callback_query(query.id, text="Done")
    assert (await press.wait_answer())["text"] == "Done"
    edited = await abot.edit_message_text("Confirmed", chat_id=alice.id, message_id=sent.message_id)
    assert not isinstance(edited, bool) and edited.edit_date is not None
    latest = await alice.next_message()
    assert latest.edited and latest.text == "Confirmed" and latest.buttons == []
    assert latest.history[0].text == "Confirm & go"
    print("\n".join(emu.transcript()))
