"""aiogram parses each Bot API answer as `Response[X]`, a pydantic generic made per call;
pydantic keeps those classes only weakly, so a dropped one was built again (schema and
validator) on the next call. The adapter keeps each one built once, takes getUpdates'
answer as plain JSON, and sends calls without a file as a JSON body; the desk's own text
messages, edits and button answers build no aiogram model at all unless refused."""

from __future__ import annotations

import gc
import weakref
from dataclasses import replace
from typing import Any

import orjson
import pytest
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    GetUpdates,
    Response,
    SendMessage,
)
from aiogram.types import InlineKeyboardMarkup
from aiohttp import web

from bot.messages import (
    BadRequest,
    Button,
    CallbackAnswer,
    Document,
    NotModified,
    Outgoing,
    RateLimited,
    ReplyKeyboard,
)
from bot.transports import aiogram_transport
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


async def test_the_desks_own_calls_are_answered_as_json_without_aiogram_models(
    emu: BotAPIEmulator,
) -> None:
    """A text message, its edit and a button's answer go out as JSON built from the desk's
    own values and come back as JSON: no aiogram method or `Response` is built. The desk
    needs only the new message's id."""
    alice = emu.user("Alice")
    await alice.start()
    transport = AiogramTransport(TOKEN, emu.base_url, NoCore())  # type: ignore[arg-type]
    session = transport.bot.session
    checked: list[str] = []
    check = session.check_response

    def recording(**kwargs: Any) -> Any:
        checked.append(kwargs["method"].__api_method__)
        return check(**kwargs)

    session.check_response = recording  # type: ignore[method-assign]
    built: list[str] = []
    validate = SendMessage.model_validate

    def counting(*args: Any, **kwargs: Any) -> Any:
        built.append("SendMessage")
        return validate(*args, **kwargs)

    SendMessage.model_validate = counting  # type: ignore[method-assign]
    try:
        sent = await transport.sender.send(
            Outgoing(chat_id=alice.id, text="hi", buttons=((Button("好", "ok:1"),),))
        )
        await transport.sender.send(
            Outgoing(chat_id=alice.id, text="hi again", edit_message_id=sent.message_id)
        )
        view = await alice.next_message()
        press = await alice.press(view, "好")
        await transport.sender.answer(CallbackAnswer(press.id, "收到"))
    finally:
        SendMessage.model_validate = validate  # type: ignore[method-assign]
        await transport.close()
    assert checked == [] and built == [], (checked, built)
    assert [m.message_id for m in emu.bot_messages(alice)] == [sent.message_id]
    assert emu.bot_messages(alice)[-1].text == "hi again"


async def test_a_refused_call_raises_what_aiogram_raises(emu: BotAPIEmulator) -> None:
    """A refusal still goes through aiogram's `check_response` (with the call as a model made
    without validation), so the desk sees the same errors as through aiogram's own calls."""
    alice = emu.user("Alice")
    await alice.start()
    transport = AiogramTransport(TOKEN, emu.base_url, NoCore())  # type: ignore[arg-type]
    try:
        with pytest.raises(BadRequest, match="chat not found"):
            await transport.sender.send(Outgoing(chat_id=424242, text="hi"))
        sent = await transport.sender.send(Outgoing(chat_id=alice.id, text="same"))
        with pytest.raises(NotModified):
            await transport.sender.send(
                Outgoing(chat_id=alice.id, text="same", edit_message_id=sent.message_id)
            )
        emu.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
        with pytest.raises(RateLimited) as limited:
            await transport.sender.send(Outgoing(chat_id=alice.id, text="later"))
        assert limited.value.retry_after == 7
        with pytest.raises(BadRequest, match="query is too old"):
            await transport.sender.answer(CallbackAnswer("no-such-query", "ok"))
    finally:
        await transport.close()


OUTGOING = [
    Outgoing(chat_id=1, text="plain"),
    Outgoing(
        chat_id=1,
        text="<b>a</b> &amp;",
        buttons=((Button("好", "ok:1"), Button("看", url="https://t.me/x")),),
    ),
    Outgoing(chat_id=-100, text="card", buttons=((Button("接单", "c:1:a"),),), thread_id=7),
    Outgoing(chat_id=1, text="reply", reply_to_message_id=9),
    Outgoing(
        chat_id=1,
        text="phone?",
        reply_keyboard=ReplyKeyboard(rows=(("3栋", "5栋"),), contact_button="📱", one_time=True),
    ),
    Outgoing(chat_id=1, text="rooms", reply_keyboard=ReplyKeyboard(rows=(("501",),))),
    Outgoing(chat_id=1, text="bye", remove_keyboard=True),
]


@pytest.mark.parametrize("out", OUTGOING)
def test_a_messages_json_is_what_aiogram_would_send(out: Outgoing) -> None:
    transport = AiogramTransport(TOKEN, "http://127.0.0.1:9", NoCore())  # type: ignore[arg-type]
    session, bot = transport.bot.session, transport.bot
    markup = aiogram_transport._markup(out)
    method = SendMessage(
        chat_id=out.chat_id,
        text=out.text,
        reply_markup=markup,
        message_thread_id=out.thread_id,
        reply_to_message_id=out.reply_to_message_id,
    )
    assert orjson.loads(session.json_body(bot, method)) == aiogram_transport._text_params(out)
    edit = replace(out, edit_message_id=3)
    method = EditMessageText(
        chat_id=out.chat_id,
        message_id=3,
        text=out.text,
        reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
    )
    assert orjson.loads(session.json_body(bot, method)) == aiogram_transport._edit_params(edit)


@pytest.mark.parametrize("answer", [CallbackAnswer("q1"), CallbackAnswer("q2", "好", alert=True)])
def test_a_button_answers_json_is_what_aiogram_would_send(answer: CallbackAnswer) -> None:
    transport = AiogramTransport(TOKEN, "http://127.0.0.1:9", NoCore())  # type: ignore[arg-type]
    method = AnswerCallbackQuery(
        callback_query_id=answer.callback_id, text=answer.text or None, show_alert=answer.alert
    )
    aiogram_body = orjson.loads(transport.bot.session.json_body(transport.bot, method))
    assert aiogram_body == aiogram_transport._answer_params(answer)
