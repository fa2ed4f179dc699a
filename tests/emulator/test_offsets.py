"""getUpdates offsets as Telegram keeps them (Bot API, getUpdates): an update is confirmed
once getUpdates is called with a higher offset and is then forgotten for good; everything
unconfirmed is answered again, to any client, after any restart; a negative offset keeps
only the last updates. Our polling loop relies on exactly this to confirm only what it
finished."""

from __future__ import annotations

import telegram
from aiogram import Bot

from emulator import BotAPIEmulator


async def test_unconfirmed_updates_survive_a_new_client(
    emu: BotAPIEmulator, abot: Bot, pbot: telegram.Bot
) -> None:
    alice = emu.user("Alice")
    for i in range(4):
        await alice.send_text(f"m{i}")
    first = await abot.get_updates(limit=4)
    ids = [u.update_id for u in first]
    assert len(ids) == 4 and ids == sorted(ids)
    # Confirm the first two only, as a client that finished just those would.
    await abot.get_updates(offset=ids[2], timeout=0, limit=1)
    # Another client (a restarted process: no offset of its own) gets the other two again.
    again = await pbot.get_updates(timeout=0)
    assert [u.update_id for u in again] == ids[2:]
    # Answered again as long as nobody confirms them; an old offset changes nothing.
    assert [u.update_id for u in await abot.get_updates(offset=ids[0])] == ids[2:]
    await pbot.get_updates(offset=ids[3] + 1, timeout=0)
    assert await abot.get_updates(timeout=0) == []


async def test_updates_after_the_offset_keep_their_order(emu: BotAPIEmulator, abot: Bot) -> None:
    alice, bob = emu.user("Alice"), emu.user("Bob")
    for i in range(3):
        await alice.send_text(f"a{i}")
        await bob.send_text(f"b{i}")
    batch = await abot.get_updates(limit=3)
    assert [u.message.text for u in batch if u.message] == ["a0", "b0", "a1"]
    rest = await abot.get_updates(offset=batch[1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["a1", "b1", "a2", "b2"]


async def test_a_negative_offset_keeps_only_the_last(emu: BotAPIEmulator, abot: Bot) -> None:
    alice = emu.user("Alice")
    for i in range(5):
        await alice.send_text(f"m{i}")
    last_two = await abot.get_updates(offset=-2)
    assert [u.message.text for u in last_two if u.message] == ["m3", "m4"]
    assert [u.message.text for u in await abot.get_updates() if u.message] == ["m3", "m4"]
