"""aiogram parses each Bot API answer as `Response[X]`, a pydantic generic made per call;
pydantic keeps those classes only weakly, so a dropped one was built again (schema and
validator) on the next call. The adapter keeps each one built once."""

from __future__ import annotations

import gc
import weakref

from aiogram.methods import AnswerCallbackQuery, GetUpdates, Response, SendMessage

import bot.transports.aiogram_transport  # noqa: F401  # the adapter, as `propdesk run` loads it


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
