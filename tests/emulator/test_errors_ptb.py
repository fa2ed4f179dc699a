"""The same refusals through python-telegram-bot's own exception types."""

from __future__ import annotations

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter

from emulator import BotAPIEmulator, ManualClock


async def test_bad_requests(emu: BotAPIEmulator, pbot: telegram.Bot) -> None:
    alice = emu.user("Alice")
    await alice.start()
    cases = [
        (pbot.send_message(alice.id, " "), "Message text is empty"),
        (pbot.send_message(alice.id, "a" * 4097), "Message is too long"),
        (pbot.send_message(alice.id, "<foo>", parse_mode="HTML"), "Can't parse entities"),
        (pbot.send_message(alice.id, "a & b", parse_mode="HTML"), "Can't parse entities"),
        (pbot.send_message(42, "x"), "Chat not found"),
        (pbot.edit_message_text("x", chat_id=alice.id, message_id=77), "Message to edit not found"),
        (pbot.answer_callback_query("1"), "Query is too old"),
        (
            pbot.send_message(
                alice.id,
                "x",
                reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("A", callback_data="x" * 65)]]
                ),
            ),
            "Button_data_invalid",
        ),
    ]
    for coro, message in cases:
        with pytest.raises(BadRequest) as info:
            await coro
        assert info.value.message.startswith(message), info.value.message


async def test_forbidden_and_migrated(emu: BotAPIEmulator, pbot: telegram.Bot) -> None:
    alice = emu.user("Alice")
    await alice.start()
    alice.block_bot()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await pbot.send_message(alice.id, "hi")
    with pytest.raises(Forbidden, match="can't initiate conversation"):
        await pbot.send_message(emu.user("Bob").id, "hi")
    group = emu.group("Basic", supergroup=False)
    old_id = group.id
    group.migrate_to_supergroup()
    with pytest.raises(ChatMigrated) as info:
        await pbot.send_message(old_id, "hi")
    assert info.value.new_chat_id == group.id


async def test_retry_after(emu: BotAPIEmulator, pbot: telegram.Bot, clock: ManualClock) -> None:
    group = emu.group("Staff")
    for i in range(20):
        await pbot.send_message(group.id, str(i))
        clock.advance(1.5)  # within the 1/s per chat, so the 20/min of a group binds
    with pytest.raises(RetryAfter) as info:
        await pbot.send_message(group.id, "more")
    assert "Flood control exceeded. Retry in" in str(info.value)
    clock.advance(61)
    await pbot.send_message(group.id, "later")


async def test_wrong_token(emu: BotAPIEmulator) -> None:
    bot = telegram.Bot("999:WRONG", base_url=emu.api_url)
    with pytest.raises(InvalidToken):
        await bot.get_me()
