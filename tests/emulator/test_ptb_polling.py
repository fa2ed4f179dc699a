"""The python-telegram-bot adapter takes getUpdates' answers as plain JSON and parses an
update once, when it is taken: while an early update is handled, every poll brings back the
ones already taken (bot/transports/polling.py), and parsing them all again each time cost
more than the updates themselves under a crowd."""

from __future__ import annotations

import pytest
from telegram import Update

from bot.transports.ptb_transport import PtbTransport
from emulator import BotAPIEmulator
from tests.support.clients import TOKEN
from tests.support.polling import NoCore, assert_taken_as_json, poll_twice


async def test_a_poll_brings_updates_as_plain_json_parsed_once_when_taken(
    emu: BotAPIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = emu.user("Alice")
    await alice.send_text("one")
    await alice.send_text("two")
    transport = PtbTransport(TOKEN, emu.base_url, NoCore())  # type: ignore[arg-type]
    parsed: list[object] = []
    parse = Update.de_json

    def counting(data: object, bot: object = None) -> object:
        parsed.append(data)
        return parse(data, bot)  # type: ignore[arg-type]

    monkeypatch.setattr(Update, "de_json", staticmethod(counting))
    fed: list[Update] = []

    async def feed(update: Update) -> None:
        fed.append(update)

    monkeypatch.setattr(transport, "_feed", feed)
    try:
        await transport.application.initialize()
        first, again = await poll_twice(transport)
        assert parsed == []  # two polls, nothing parsed
        await transport._feed_raw(first[1].update)
    finally:
        await transport.close()
    assert_taken_as_json(first, again, alice)
    assert len(parsed) == 1  # parsed once, when fed
    assert fed[0].message is not None and fed[0].message.text == "two"
