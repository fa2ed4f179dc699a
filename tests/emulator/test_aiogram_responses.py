"""aiogram parses each Bot API answer as `Response[X]`, a pydantic generic made per call;
pydantic keeps those classes only weakly, so a dropped one was built again (schema and
validator) on the next call. The adapter keeps each one built once, and takes getUpdates'
answers as plain JSON."""

from __future__ import annotations

import gc
import weakref

from aiogram.methods import AnswerCallbackQuery, GetUpdates, Response, SendMessage

from bot.transports.aiogram_transport import AiogramTransport  # as `propdesk run` loads it
from emulator import BotAPIEmulator
from tests.support.clients import TOKEN


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


class _NoCore:
    """The transport's core, unused here: only polling is looked at."""

    async def handle(self, inc: object) -> object:
        raise AssertionError("not handled in this test")

    def bot_commands(self, locale: str, groups: bool = False) -> list[tuple[str, str]]:
        return []


async def test_a_poll_brings_updates_as_plain_json_parsed_once_when_taken(
    emu: BotAPIEmulator,
) -> None:
    """While an early update is handled, every poll brings back those already taken: they
    come as JSON (with the key that orders them) and are parsed into aiogram's models
    only when the transport feeds one to its dispatcher."""
    alice = emu.user("Alice")
    await alice.send_text("one")
    await alice.send_text("two")
    transport = AiogramTransport(TOKEN, emu.base_url, _NoCore())  # type: ignore[arg-type]
    try:
        first = await transport._fetch(None, 0, 100)
        again = await transport._fetch(first[0].update_id, 0, 100)  # nothing confirmed yet
    finally:
        await transport.close()
    assert [f.update_id for f in again] == [f.update_id for f in first]
    assert len(first) == 2
    for fetched in first:
        assert isinstance(fetched.update, dict)
        assert fetched.key == (alice.id, alice.id)
    assert first[1].update["message"]["text"] == "two"
