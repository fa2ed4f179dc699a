"""Telegram's refusals, as aiogram sees them (its own exception types)."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
)
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from emulator import BotAPIEmulator, ManualClock, RateLimitConfig, SimUser


@pytest.fixture
async def alice(emu: BotAPIEmulator) -> SimUser:
    user = emu.user("Alice")
    await user.start()
    return user


def _keyboard(text: str, data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=text, callback_data=data)]]
    )


async def _refused(coro: object, exc_type: type[Exception], description: str) -> Exception:
    with pytest.raises(exc_type) as info:
        await coro  # type: ignore[misc]
    assert getattr(info.value, "message", "") == description
    return info.value


@pytest.mark.parametrize("text", ["", "   \n ", "<b></b>", "<b> </b>"])
async def test_empty_text(abot: Bot, alice: SimUser, text: str) -> None:
    await _refused(
        abot.send_message(alice.id, text, parse_mode="HTML"),
        TelegramBadRequest,
        "Bad Request: message text is empty",
    )


async def test_length_counts_utf16_after_entity_parsing(abot: Bot, alice: SimUser) -> None:
    await abot.send_message(alice.id, "😀" * 2048)  # 4096 UTF-16 units
    await abot.send_message(alice.id, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    await abot.send_message(alice.id, "&lt;" * 4096, parse_mode="HTML")
    for text in ("a" * 4097, "😀" * 2049, "水" * 4097):
        await _refused(
            abot.send_message(alice.id, text),
            TelegramBadRequest,
            "Bad Request: message is too long",
        )


async def test_caption_too_long(abot: Bot, alice: SimUser) -> None:
    photo = BufferedInputFile(b"\x89PNG\r\n\x1a\n", filename="p.png")
    await _refused(
        abot.send_photo(alice.id, photo, caption="c" * 1025),
        TelegramBadRequest,
        "Bad Request: message caption is too long",
    )
    sent = await abot.send_photo(alice.id, photo, caption="c" * 1024)
    assert sent.photo and sent.caption == "c" * 1024


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("报修 <foo>x</foo>", 'Unsupported start tag "foo" at byte offset 7'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("水压 < 0.1MPa", 'Unsupported start tag "" at byte offset 7'),
        ("a<b", "Unclosed start tag at byte offset 1"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("Tom & Jerry", 'Character "&" at byte offset 4 must be escaped as "&amp;"'),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
async def test_html_parse_errors(abot: Bot, alice: SimUser, text: str, detail: str) -> None:
    await _refused(
        abot.send_message(alice.id, text, parse_mode="HTML"),
        TelegramBadRequest,
        f"Bad Request: can't parse entities: {detail}",
    )


async def test_html_allowed_tags_and_entities(
    emu: BotAPIEmulator, abot: Bot, alice: SimUser
) -> None:
    html = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s>"
        '<strike>k</strike><del>d</del><span class="tg-spoiler">p</span><tg-spoiler>t</tg-spoiler>'
        '<a href="https://example.com/?a=1&amp;b=2">link</a><code>c</code>'
        '<pre><code class="language-python">x = 1</code></pre><blockquote>q</blockquote>'
        "<blockquote expandable>z</blockquote> &lt;&gt;&amp;&quot;&#33;&#x21;"
    )
    sent = await abot.send_message(alice.id, html, parse_mode="HTML")
    assert sent.text is not None and sent.text.endswith(' <>&"!!')
    kinds = [e.type for e in sent.entities or []]
    assert "text_link" in kinds and "spoiler" in kinds and "expandable_blockquote" in kinds
    pre = next(e for e in sent.entities or [] if e.type == "pre")
    assert pre.language == "python"
    link = next(e for e in sent.entities or [] if e.type == "text_link")
    assert link.url == "https://example.com/?a=1&b=2"
    assert emu.last_bot_message(alice) is not None


async def test_button_data_limits(abot: Bot, alice: SimUser) -> None:
    await abot.send_message(alice.id, "ok", reply_markup=_keyboard("A", "x" * 64))
    await abot.send_message(alice.id, "ok", reply_markup=_keyboard("A", "报" * 21))  # 63 bytes
    for data in ("x" * 65, "报" * 22, ""):
        await _refused(
            abot.send_message(alice.id, "no", reply_markup=_keyboard("A", data)),
            TelegramBadRequest,
            "Bad Request: BUTTON_DATA_INVALID",
        )


async def test_empty_button_text(abot: Bot, alice: SimUser) -> None:
    await _refused(
        abot.send_message(alice.id, "no", reply_markup=_keyboard("", "a")),
        TelegramBadRequest,
        "Bad Request: text buttons are unallowed in the inline keyboard",
    )


async def test_request_contact_only_in_private(emu: BotAPIEmulator, abot: Bot) -> None:
    group = emu.group("Staff")
    markup = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="Share phone", request_contact=True)]]
    )
    await _refused(
        abot.send_message(group.id, "phone?", reply_markup=markup),
        TelegramBadRequest,
        "Bad Request: BUTTON_TYPE_INVALID",
    )
    alice = emu.user("Alice")
    await alice.start()
    await abot.send_message(alice.id, "phone?", reply_markup=markup)
    assert (await alice.next_message()).requests_contact


async def test_chat_not_found(abot: Bot) -> None:
    await _refused(abot.send_message(42, "hi"), TelegramBadRequest, "Bad Request: chat not found")


async def test_edit_errors(abot: Bot, alice: SimUser) -> None:
    await _refused(
        abot.edit_message_text("x", chat_id=alice.id, message_id=999),
        TelegramBadRequest,
        "Bad Request: message to edit not found",
    )
    sent = await abot.send_message(alice.id, "same", reply_markup=_keyboard("A", "a"))
    await _refused(
        abot.edit_message_text(
            "same", chat_id=alice.id, message_id=sent.message_id, reply_markup=_keyboard("A", "a")
        ),
        TelegramBadRequest,
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message",
    )
    # Same text without the markup removes the keyboard: that is a change.
    await abot.edit_message_text("same", chat_id=alice.id, message_id=sent.message_id)
    await _refused(
        abot.edit_message_reply_markup(chat_id=alice.id, message_id=sent.message_id),
        TelegramBadRequest,
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message",
    )


async def test_callback_answer_errors(
    emu: BotAPIEmulator, abot: Bot, alice: SimUser, clock: ManualClock
) -> None:
    too_old = "Bad Request: query is too old and response timeout expired or query ID is invalid"
    await _refused(abot.answer_callback_query("12345"), TelegramBadRequest, too_old)
    sent = await abot.send_message(alice.id, "pick", reply_markup=_keyboard("A", "a"))
    view = await alice.next_message()
    assert view.message_id == sent.message_id
    press = await alice.press(view, "A")
    await _refused(
        abot.answer_callback_query(press.id, text="t" * 201),
        TelegramBadRequest,
        "Bad Request: MESSAGE_TOO_LONG",
    )
    assert await abot.answer_callback_query(press.id, text="t" * 200)
    await _refused(abot.answer_callback_query(press.id), TelegramBadRequest, too_old)
    late = await alice.press(view, "A")
    clock.advance(emu.world.callback_timeout + 1)
    await _refused(abot.answer_callback_query(late.id), TelegramBadRequest, too_old)


async def test_forbidden(emu: BotAPIEmulator, abot: Bot) -> None:
    stranger = emu.user("Stranger")
    await _refused(
        abot.send_message(stranger.id, "hi"),
        TelegramForbiddenError,
        "Forbidden: bot can't initiate conversation with a user",
    )
    alice = emu.user("Alice")
    await alice.start()
    alice.block_bot()
    await _refused(
        abot.send_message(alice.id, "hi"),
        TelegramForbiddenError,
        "Forbidden: bot was blocked by the user",
    )
    alice.unblock_bot()
    await abot.send_message(alice.id, "welcome back")
    group = emu.group("Basic", supergroup=False)
    group.remove_bot()
    await _refused(
        abot.send_message(group.id, "hi"),
        TelegramForbiddenError,
        "Forbidden: bot was kicked from the group chat",
    )
    supergroup = emu.group("Super")
    supergroup.remove_bot()
    await _refused(
        abot.send_message(supergroup.id, "hi"),
        TelegramForbiddenError,
        "Forbidden: bot was kicked from the supergroup chat",
    )


async def test_private_chat_flood_limit(
    emu: BotAPIEmulator, abot: Bot, alice: SimUser, clock: ManualClock
) -> None:
    for i in range(RateLimitConfig().chat_burst):  # a short burst, then about 1/s
        await abot.send_message(alice.id, f"burst {i}")
    with pytest.raises(TelegramRetryAfter) as info:
        await abot.send_message(alice.id, "one too many")
    assert info.value.retry_after >= 1
    assert "Too Many Requests: retry after" in info.value.message
    clock.advance(info.value.retry_after)
    await abot.send_message(alice.id, "after waiting")
    with pytest.raises(TelegramRetryAfter):
        await abot.send_message(alice.id, "sustained")


async def test_group_flood_limit(emu: BotAPIEmulator, abot: Bot, clock: ManualClock) -> None:
    group = emu.group("Staff")
    for i in range(20):
        await abot.send_message(group.id, f"m{i}")
        clock.advance(1.5)
    with pytest.raises(TelegramRetryAfter) as info:
        await abot.send_message(group.id, "21st within a minute")
    assert 1 <= info.value.retry_after <= 60
    clock.advance(info.value.retry_after)
    await abot.send_message(group.id, "later")


async def test_global_flood_limit(emu: BotAPIEmulator, abot: Bot, clock: ManualClock) -> None:
    users = [emu.user(f"U{i}") for i in range(31)]
    for user in users:
        await user.start()
    for user in users[:30]:
        await abot.send_message(user.id, "broadcast")
    with pytest.raises(TelegramRetryAfter):
        await abot.send_message(users[30].id, "broadcast")
    clock.advance(1)
    await abot.send_message(users[30].id, "broadcast")


async def test_limits_can_be_disabled() -> None:
    async with BotAPIEmulator(token="1:X", rate_limits=False) as emu:
        user = emu.user("A")
        await user.start()
        session_bot = Bot("1:X", session=_session(emu))
        try:
            for i in range(40):
                await session_bot.send_message(user.id, str(i))
        finally:
            await session_bot.session.close()


def _session(emu: BotAPIEmulator):  # type: ignore[no-untyped-def]
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    return AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url))


async def test_upgraded_group(emu: BotAPIEmulator, abot: Bot) -> None:
    group = emu.group("Basic", supergroup=False)
    old_id = group.id
    assert -5_000_000_000 < old_id < -4_000_000_000
    group.migrate_to_supergroup()
    assert str(group.id).startswith("-100")
    with pytest.raises(TelegramMigrateToChat) as info:
        await abot.send_message(old_id, "hi")
    assert info.value.migrate_to_chat_id == group.id
    assert "Bad Request: group chat was upgraded to a supergroup chat" in info.value.message
    await abot.send_message(group.id, "hi again")


async def test_fail_next(emu: BotAPIEmulator, abot: Bot, alice: SimUser) -> None:
    emu.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7, times=2)
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as info:
            await abot.send_message(alice.id, "x")
        assert info.value.retry_after == 7
    await abot.send_message(alice.id, "x")
    emu.fail_next("getMe", 400, "Bad Request: custom")
    await _refused(abot.get_me(), TelegramBadRequest, "Bad Request: custom")
