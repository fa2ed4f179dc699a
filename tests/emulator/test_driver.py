"""Driver conveniences and the pure helpers (HTML parser, limiter) without HTTP."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from emulator import BotAPIEmulator, ManualClock, RateLimitConfig, text_length
from emulator.limits import RateLimiter
from emulator.text import HtmlParseError, detect_entities, parse_html


def test_text_length_counts_utf16() -> None:
    assert text_length("水") == 1
    assert text_length("😀") == 2


def test_parse_html_plain_text_and_offsets() -> None:
    text, entities = parse_html("😀 <b>粗体</b> &lt;3")
    assert text == "😀 粗体 <3"
    assert entities == [{"type": "bold", "offset": 3, "length": 2}]
    with pytest.raises(HtmlParseError):
        parse_html("a & b")
    assert parse_html("a & b", strict_ampersand=False)[0] == "a & b"


def test_detect_entities() -> None:
    found = detect_entities("/start@propdesk_bot and @someone")
    assert [e["type"] for e in found] == ["bot_command", "mention"]


def test_rate_limiter_bucket_refills() -> None:
    clock = ManualClock()
    limiter = RateLimiter(RateLimitConfig(chat_burst=3), clock)
    for _ in range(3):
        assert limiter.check(1, False) == 0
        limiter.record(1, False)
    assert limiter.check(1, False) == 1
    clock.advance(1)
    assert limiter.check(1, False) == 0


async def test_wait_predicate_mark_seen_and_deletes(emu: BotAPIEmulator, abot: Bot) -> None:
    alice = emu.user("Alice")
    await alice.start()
    first = await abot.send_message(alice.id, "first")
    await abot.send_message(alice.id, "second")
    second = await alice.next_message(lambda m: m.text == "second")
    assert second.text == "second"
    assert (await alice.next_message()).message_id == first.message_id
    await abot.send_message(alice.id, "third")
    emu.mark_seen(alice)
    with pytest.raises(TimeoutError, match="no matching bot message"):
        await alice.next_message(timeout=0.05)
    assert await abot.delete_message(alice.id, first.message_id)
    assert [m.text for m in alice.messages()] == ["second", "third"]
    assert len(emu.bot_messages(alice, include_deleted=True)) == 3
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await abot.delete_message(alice.id, first.message_id)
    assert "bot ✗ Alice: deleted message #" in emu.transcript_text()


async def test_caption_edit_and_markup_edit(emu: BotAPIEmulator, abot: Bot) -> None:
    alice = emu.user("Alice")
    await alice.start()
    photo = await abot.send_photo(alice.id, BufferedInputFile(b"x", "p.jpg"), caption="old")
    await abot.edit_message_caption(chat_id=alice.id, message_id=photo.message_id, caption="new")
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="B", callback_data="b")]]
    )
    await abot.edit_message_reply_markup(
        chat_id=alice.id, message_id=photo.message_id, reply_markup=markup
    )
    current = alice.last_message()
    assert current is not None
    assert current.caption == "new" and current.buttons == [["B"]] and current.photos
    assert [v.caption for v in current.history] == ["old", "new"]
    with pytest.raises(TelegramBadRequest, match="there is no text in the message to edit"):
        await abot.edit_message_text("t", chat_id=alice.id, message_id=photo.message_id)


async def test_group_transcript_marks_unseen(emu: BotAPIEmulator) -> None:
    alice = emu.user("王")
    grp = emu.group("工程部", members=[alice])
    await alice.send_text("大家好", chat=grp)
    await alice.send_text("/bind repair", chat=grp)
    assert emu.transcript() == [
        "王 → 工程部: 大家好  (not seen by the bot)",
        "王 → 工程部: /bind repair",
    ]


async def test_user_edit_and_block_updates(emu: BotAPIEmulator, abot: Bot) -> None:
    alice = emu.user("Alice")
    sent = await alice.send_text("typo")
    await alice.edit_text(sent, "fixed")
    alice.block_bot()
    updates = await abot.get_updates()
    assert [u.event_type for u in updates] == ["message", "edited_message", "my_chat_member"]
    assert updates[1].edited_message is not None and updates[1].edited_message.text == "fixed"
    member = updates[2].my_chat_member
    assert member is not None and member.new_chat_member.status == "kicked"


async def test_wait_for_idle_times_out_without_a_bot(emu: BotAPIEmulator) -> None:
    await emu.user("Alice").send_text("anyone?")
    with pytest.raises(TimeoutError, match="is the bot polling"):
        await emu.wait_for_idle(timeout=0.1)


async def test_clock_driven_dates(clock: ManualClock) -> None:
    emu = BotAPIEmulator(wall_clock=lambda: 1_700_000_000.0, clock=clock)
    async with emu:
        message = await emu.user("A").send_text("hi")
        assert message.raw["date"] == 1_700_000_000


async def test_waits_for_an_update_fetched_and_confirmed(emu: BotAPIEmulator, abot: Bot) -> None:
    sent = await emu.user("Alice").send_text("hello")
    update_id = sent.update_id
    assert update_id is not None
    with pytest.raises(TimeoutError, match=f"update {update_id} not fetched"):
        await emu.wait_fetched(update_id, timeout=0.05)
    assert emu.fetch_count(update_id) == 0

    [update] = await abot.get_updates()
    await emu.wait_fetched(update_id, timeout=0.05)
    await emu.wait_fetched(timeout=0.05)  # nothing else waits either
    assert update.update_id == update_id and emu.fetch_count(update_id) == 1
    with pytest.raises(TimeoutError, match="not confirmed"):
        await emu.wait_confirmed(update_id, timeout=0.05)
    waiting = asyncio.create_task(emu.wait_confirmed(update_id, timeout=1))
    assert await abot.get_updates(offset=update_id + 1) == []
    await waiting  # woken by the confirming call

    emu.redeliver_last()  # the same id again: fetched again, counted again
    with pytest.raises(TimeoutError):
        await emu.wait_fetched(update_id, timeout=0.05)
    [again] = await abot.get_updates()
    await emu.wait_fetched(update_id, timeout=0.05)
    assert again.update_id == update_id and emu.fetch_count(update_id) == 2


async def test_next_message_by_text_and_button(emu: BotAPIEmulator, abot: Bot) -> None:
    alice = emu.user("Alice")
    await alice.start()
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Yes", callback_data="y")]]
    )
    await abot.send_message(alice.id, "one")
    await abot.send_message(alice.id, "two", reply_markup=keyboard)
    await abot.send_message(alice.id, "three two")
    assert (await alice.next_message(text="three")).text == "three two"
    assert (await alice.next_message(button="Yes")).text == "two"
    with pytest.raises(TimeoutError, match="no matching bot message"):
        await alice.next_message(text="two", timeout=0.05)  # both already returned
    with pytest.raises(TimeoutError):
        await alice.next_message(lambda m: m.text == "one", button="Yes", timeout=0.05)
    assert (await alice.next_message()).text == "one"
