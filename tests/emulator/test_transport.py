"""Request encodings, status codes, getUpdates semantics, privacy mode and files."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramConflictError
from aiogram.types import BufferedInputFile, InputMediaPhoto

from emulator import BotAPIEmulator
from tests.support.clients import TOKEN


async def _raw(emu: BotAPIEmulator, method: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session:
        url = f"{emu.base_url}/bot{kwargs.pop('token', TOKEN)}/{method}"
        async with session.post(url, **kwargs) as response:
            return response.status, await response.json()


async def test_unauthorized_and_not_found(emu: BotAPIEmulator) -> None:
    status, body = await _raw(emu, "getMe", token="1:bad")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    status, body = await _raw(emu, "noSuchMethod")
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    status, body = await _raw(emu, "GETME")
    assert status == 200 and body["result"]["username"] == "propdesk_bot"


async def test_json_form_query_and_multipart(emu: BotAPIEmulator) -> None:
    alice = emu.user("Alice")
    await alice.start()
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    status, body = await _raw(
        emu, "sendMessage", json={"chat_id": alice.id, "text": "json", "reply_markup": markup}
    )
    assert status == 200 and body["result"]["reply_markup"] == markup
    status, body = await _raw(
        emu,
        "sendMessage",
        data={"chat_id": str(alice.id), "text": "form", "reply_markup": json.dumps(markup)},
    )
    assert status == 200 and body["result"]["text"] == "form"
    status, body = await _raw(emu, "sendMessage", params={"chat_id": alice.id, "text": "query"})
    assert status == 200 and body["result"]["text"] == "query"
    form = aiohttp.FormData()
    form.add_field("chat_id", str(alice.id))
    form.add_field("caption", "<i>upload</i>")
    form.add_field("parse_mode", "HTML")
    form.add_field("photo", b"\x89PNG\r\n\x1a\nxxxxxxxxxxxxxxxx", filename="a.png")
    status, body = await _raw(emu, "sendPhoto", data=form)
    assert status == 200
    result = body["result"]
    assert result["caption"] == "upload" and result["caption_entities"][0]["type"] == "italic"
    assert result["photo"][-1]["file_id"]
    texts = [m.body for m in alice.messages()]
    assert texts == ["json", "form", "query", "upload"]


async def test_message_shapes_parse_in_both_libraries(emu: BotAPIEmulator) -> None:
    import telegram

    alice = emu.user("王", language_code="zh-hans")
    grp = emu.group("工程部", forum=True, members=[alice], bot_admin=True)
    topic = grp.add_topic("报修")
    await alice.start()
    await alice.send_contact("+8613812345678")
    await alice.send_photo("漏水")
    await alice.send_album(3, "三张")
    await alice.send_sticker()
    await alice.send_voice()
    await alice.send_video()
    await alice.send_document()
    await alice.send_location(31.2, 121.5)
    sent = await alice.send_text("/bind repair", chat=grp, thread_id=topic)
    await alice.send_text("回复", chat=grp, thread_id=topic, reply_to=sent)
    status, body = await _raw(emu, "getUpdates")
    assert status == 200
    updates = body["result"]
    assert len(updates) == 14  # the topic creation, 11 private messages, 2 in the topic
    ptb_bot = telegram.Bot(TOKEN)
    for raw in updates:
        from aiogram.types import Update

        Update.model_validate(raw)
        assert telegram.Update.de_json(raw, ptb_bot) is not None
    topic_message = updates[-2]["message"]
    assert topic_message["message_thread_id"] == topic
    assert topic_message["is_topic_message"] is True
    assert topic_message["reply_to_message"]["forum_topic_created"]["name"] == "报修"
    assert updates[-1]["message"]["reply_to_message"]["message_id"] == sent.message_id
    album = [u["message"] for u in updates if "media_group_id" in u.get("message", {})]
    assert len(album) == 3 and len({m["media_group_id"] for m in album}) == 1
    contact = next(u["message"]["contact"] for u in updates if "contact" in u.get("message", {}))
    assert contact == {"phone_number": "+8613812345678", "first_name": "王", "user_id": alice.id}


async def test_offset_limit_and_redelivery(emu: BotAPIEmulator, abot: Bot) -> None:
    alice = emu.user("Alice")
    for i in range(3):
        await alice.send_text(f"m{i}")
    first = await abot.get_updates(limit=2)
    assert [u.message.text for u in first if u.message] == ["m0", "m1"]
    again = await abot.get_updates()
    assert len(again) == 3  # nothing confirmed yet
    rest = await abot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["m2"]
    emu.redeliver_last()
    dup = await abot.get_updates(offset=rest[-1].update_id + 1, timeout=1)
    assert [u.update_id for u in dup] == [rest[-1].update_id]
    assert await abot.get_updates(offset=rest[-1].update_id + 1) == []


async def test_allowed_updates_filter(emu: BotAPIEmulator, abot: Bot) -> None:
    alice = emu.user("Alice")
    await alice.start()
    alice.block_bot()
    updates = await abot.get_updates(allowed_updates=["message"])
    assert [u.event_type for u in updates] == ["message"]


async def test_concurrent_get_updates_conflict(emu: BotAPIEmulator, abot: Bot) -> None:
    first = asyncio.create_task(abot.get_updates(timeout=5))
    await emu.wait_polling()
    second = asyncio.create_task(abot.get_updates(timeout=1))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 2)
    assert await second == []


async def test_reject_newer_policy() -> None:
    emu = BotAPIEmulator(token=TOKEN, conflict_policy="reject_newer")
    async with emu, aiohttp.ClientSession() as session:
        url = f"{emu.base_url}/bot{TOKEN}/getUpdates"
        first = asyncio.create_task(session.post(url, json={"timeout": 1}))
        await emu.wait_polling()
        async with session.post(url, json={"timeout": 0}) as response:
            assert response.status == 409
        (await first).release()


async def test_webhook_blocks_polling_and_receives_pushes(emu: BotAPIEmulator, abot: Bot) -> None:
    from aiohttp import web

    received: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        assert request.headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret"
        received.append(await request.json())
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        await abot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await abot.get_updates()
        sent = await emu.user("Alice").send_text("hi")
        assert sent.update_id is not None
        await emu.wait_confirmed(sent.update_id, timeout=3)
        assert received[0]["message"]["text"] == "hi"
        info = await abot.get_webhook_info()
        assert info.pending_update_count == 0
        await abot.delete_webhook()
        assert await abot.get_updates() == []
    finally:
        await runner.cleanup()


async def test_privacy_mode(emu: BotAPIEmulator, abot: Bot) -> None:
    alice = emu.user("Alice")
    grp = emu.group("Staff", members=[alice])
    seen = []
    for text in (
        "just chatting",
        "/bind repair",
        "/bind@propdesk_bot repair",
        "/x@other_bot",
        "hey @propdesk_bot",
        "@propdesk_bot",
    ):
        seen.append((text, (await alice.send_text(text, chat=grp)).delivered))
    assert [t for t, d in seen if d] == [
        "/bind repair",
        "/bind@propdesk_bot repair",
        "hey @propdesk_bot",
        "@propdesk_bot",
    ]
    own = await abot.send_message(grp.id, "bot says")
    reply = await alice.send_text("a reply", chat=grp, reply_to=own.message_id)
    assert reply.delivered
    photo = await alice.send_photo(chat=grp)
    assert not photo.delivered
    assert len(emu.user_messages(grp)) == 8
    grp.set_bot_admin(True)
    assert (await alice.send_text("admins see all", chat=grp)).delivered
    grp.set_bot_admin(False)
    emu.set_privacy(False)
    assert (await alice.send_text("privacy off", chat=grp)).delivered
    me = await abot.get_me()
    assert me.can_read_all_group_messages is True


async def test_files_and_albums(emu: BotAPIEmulator, abot: Bot) -> None:
    alice = emu.user("Alice")
    await alice.start()
    sent = await alice.send_photo("leak")
    file_id = sent.raw["photo"][-1]["file_id"]
    again = await abot.send_photo(alice.id, file_id, caption="your photo")
    assert again.photo is not None and again.photo[-1].file_id == file_id
    downloaded = await abot.download(file_id)
    assert downloaded is not None and downloaded.read().startswith(b"\x89PNG")
    album = await abot.send_media_group(
        alice.id,
        [
            InputMediaPhoto(media=file_id, caption="one"),
            InputMediaPhoto(media=BufferedInputFile(b"\x89PNG\r\n\x1a\n", "b.png")),
        ],
    )
    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
    with pytest.raises(Exception, match="wrong file identifier"):
        await abot.send_photo(alice.id, "nonexistent")
    document = await abot.send_document(alice.id, BufferedInputFile(b"a,b\n", "t.csv"))
    assert document.document is not None and document.document.file_name == "t.csv"
