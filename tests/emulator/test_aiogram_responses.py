"""aiogram parses each Bot API answer as `Response[X]`, a pydantic generic made per call;
pydantic keeps those classes only weakly, so a dropped one was built again (schema and
validator) on the next call. The adapter keeps each one built once, takes the answers to
getUpdates, sendMessage and editMessageText as plain JSON, and sends calls without a file
as a JSON body."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest
from aiogram.methods import AnswerCallbackQuery, GetUpdates, Response, SendMessage
from aiogram.types import Message
from aiohttp import web

from bot.messages import Button, Document, Outgoing
from bot.transports.aiogram_transport import AiogramTransport  # as `propdesk run` loads it
from emulator import BotAPIEmulator
from emulator import server as emulator_server
from emulator.params import Params
from tests.support.clients import TOKEN
from tests.support.polling import NoCore, assert_taken_as_json, poll_twice


def test_each_response_type_is_built_once_and_kept() -> None:
    for method in (SendMessage, GetUpdates, AnswerCallbackQuery):
        first = weakref.ref(Response[method.__returning__])
        gc.collect()  # without the pin the class is unreferenced now and collected
        assert first() is not None, method.__name__
        assert Response[method.__returning__] is first(), method.__name__


def test_a_kept_response_still_parses_an_answer() -> None:
    parsed = Response[SendMessage.__returning__].model_validate(
        {
            "ok": True,
            "result": {
                "message_id": 7,
                "date": 0,
                "chat": {"id": 1, "type": "private"},
                "text": "hi",
            },
        }
    )
    assert parsed.result is not None
    assert parsed.result.message_id == 7


async def test_a_poll_brings_updates_as_plain_json_parsed_once_when_taken(
    emu: BotAPIEmulator,
) -> None:
    """While an early update is handled, every poll brings back those already taken: they
    come as JSON (with the key that orders them) and are parsed into aiogram's models
    only when the transport feeds one to its dispatcher."""
    alice = emu.user("Alice")
    await alice.send_text("one")
    await alice.send_text("two")
    transport = AiogramTransport(TOKEN, emu.base_url, NoCore())  # type: ignore[arg-type]
    try:
        first, again = await poll_twice(transport)
    finally:
        await transport.close()
    assert_taken_as_json(first, again, alice)
    assert first[1].update["message"]["text"] == "two"


@pytest.fixture
def content_types(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(Bot API method, request content type) of each call the emulator receives."""
    seen: list[tuple[str, str]] = []
    read = emulator_server.read_params

    async def recording(request: web.Request) -> Params:
        seen.append((request.match_info.get("method", request.path), request.content_type))
        return await read(request)

    monkeypatch.setattr(emulator_server, "read_params", recording)
    return seen


async def test_calls_without_a_file_go_as_json_and_files_as_multipart(
    emu: BotAPIEmulator, content_types: list[tuple[str, str]]
) -> None:
    """aiogram posts every call as multipart form data; the adapter's session sends a call
    without a file as one JSON body (nested markup as an object), the same parameters."""
    alice = emu.user("Alice")
    await alice.start()
    content_types.clear()
    transport = AiogramTransport(TOKEN, emu.base_url, NoCore())  # type: ignore[arg-type]
    buttons = ((Button("好", "ok:1"),),)
    try:
        sent = await transport.sender.send(
            Outgoing(chat_id=alice.id, text="<b>收到</b>", buttons=buttons)
        )
        await transport.sender.send(
            Outgoing(chat_id=alice.id, text="已改", edit_message_id=sent.message_id)
        )
        await transport.sender.send(
            Outgoing(chat_id=alice.id, text="表", document=Document("a.csv", b"x,y\n"))
        )
    finally:
        await transport.close()
    kinds = [kind for _, kind in content_types]
    assert kinds == ["application/json", "application/json", "multipart/form-data"], content_types
    first, *_ = emu.bot_messages(alice)
    assert first.message_id == sent.message_id and first.text == "已改"  # edited in place
    original = first.history[0]
    assert original.html == "<b>收到</b>" and original.text == "收到"  # parse_mode HTML went along
    assert original.reply_markup == {"inline_keyboard": [[{"text": "好", "callback_data": "ok:1"}]]}
    assert emu.bot_messages(alice)[-1].document is not None


async def test_a_sent_message_is_answered_with_its_id_without_parsing_the_message(
    emu: BotAPIEmulator,
) -> None:
    """sendMessage's and editMessageText's answers are read as plain JSON: the desk needs
    only the id, not aiogram's Message with its chat, sender and keyboard."""
    alice = emu.user("Alice")
    await alice.start()
    transport = AiogramTransport(TOKEN, emu.base_url, NoCore())  # type: ignore[arg-type]
    session = transport.bot.session
    results: list[tuple[str, object]] = []
    check = session.check_response

    def recording(**kwargs: Any) -> Any:
        response = check(**kwargs)
        results.append((kwargs["method"].__api_method__, response.result))
        return response

    session.check_response = recording  # type: ignore[method-assign]
    try:
        sent = await transport.sender.send(Outgoing(chat_id=alice.id, text="hi"))
        await transport.sender.send(
            Outgoing(chat_id=alice.id, text="hi again", edit_message_id=sent.message_id)
        )
    finally:
        await transport.close()
    assert [method for method, _ in results] == ["sendMessage", "editMessageText"]
    assert all(type(result) is dict for _, result in results), results
    assert not any(isinstance(result, Message) for _, result in results)
    assert [m.message_id for m in emu.bot_messages(alice)] == [sent.message_id]
