"""End-to-end harness: the real aiogram or python-telegram-bot stack, over HTTP, against
the project's Bot API emulator on loopback. Every e2e test runs on both transports."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from bot.app import App
from bot.clock import Clock
from bot.config import Settings
from emulator import BotAPIEmulator, BotMessage, SimUser

TRANSPORTS = ("aiogram", "ptb")


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def emulator() -> AsyncIterator[BotAPIEmulator]:
    emu = BotAPIEmulator(token="123456:TEST", bot_username="propdesk_bot")
    await emu.start()
    yield emu
    await emu.stop()


class Harness:
    """Runs the bot against the emulator; restartable, and switchable between transports."""

    def __init__(self, emu: BotAPIEmulator, settings: Settings, clock: Clock | None) -> None:
        self.emu = emu
        self.settings = settings
        self.clock = clock
        self.app: App | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, transport: str | None = None) -> App:
        if transport is not None:
            self.settings = self.settings.model_copy(update={"transport": transport})
        self.app = await App.create(self.settings, clock=self.clock)
        await self.app.start_transport()
        transport_obj = self.app.transport
        assert transport_obj is not None
        self._task = asyncio.create_task(transport_obj.run())
        return self.app

    async def stop(self) -> None:
        if self.app is None:
            return
        await self.app.stop()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, 10)
        await self.app.close()
        self.app, self._task = None, None

    async def restart(self, transport: str | None = None) -> App:
        await self.stop()
        return await self.start(transport)

    async def act(self, action: Awaitable[Any], quiet: float = 0.15) -> list[BotMessage]:
        """Do something as a person, wait until the bot is idle, return what it sent or edited."""
        before = len(self.emu.world.events)
        await action
        await self.settle(quiet)
        return self.new_events(before)

    async def settle(self, quiet: float = 0.15) -> None:
        """Idle means: every update fetched, none being handled, the outbox drained, and no
        API call for `quiet` s."""
        transport = self.app.transport if self.app else None
        outbox = self.app.outbox if self.app else None
        while True:
            await self.emu.wait_for_idle(quiet=quiet, timeout=20)
            while outbox is not None and (await outbox.drain() or outbox.sending):
                await asyncio.sleep(0.05)  # queued work reaches the emulator only when sent
            if transport is None or transport.in_flight.count == 0:
                await self.emu.wait_for_idle(quiet=0.05, timeout=20)
                if transport is None or transport.in_flight.count == 0:
                    return
            await transport.in_flight.wait_idle(timeout=20)

    def new_events(self, since: int) -> list[BotMessage]:
        from emulator.views import view_event

        found = []
        for event in self.emu.world.events[since:]:
            if event.kind in ("message", "edit"):
                stored = self.emu.world.messages[(event.chat_id, event.message_id)]
                found.append(view_event(event, stored))
        return found

    async def register(
        self, user: SimUser, name: str = "王女士", phone: str = "+8613812345678"
    ) -> list[BotMessage]:
        await self.act(user.start())
        await self.act(user.send_text(name))
        await self.act(user.send_contact(phone))
        building = await self.act_press_last(user, "3栋")
        del building
        await self.act_press_last(user, "2单元")
        return await self.act(user.send_text("501"))

    async def act_press_last(self, user: SimUser, label: str) -> list[BotMessage]:
        message = self.last_with_button(user, label)
        return await self.act(user.press(message, label))

    def last_with_button(self, user: SimUser | int, label: str) -> BotMessage:
        chat = user if isinstance(user, int) else user.id
        for message in reversed(self.emu.bot_messages(chat)):
            if label in message.button_texts:
                return message
        raise AssertionError(f"no message with button {label!r} in chat {chat}")

    def button_label(self, user: SimUser, part: str) -> str:
        for message in reversed(self.emu.bot_messages(user.id)):
            for label in message.button_texts:
                if part in label:
                    return label
        raise AssertionError(f"no button containing {part!r}")


@pytest.fixture
async def harness(
    emulator: BotAPIEmulator, settings: Settings, transport: str
) -> AsyncIterator[Harness]:
    configured = settings.model_copy(
        update={"telegram_api_base": emulator.base_url, "transport": transport}
    )
    runner = Harness(emulator, configured, None)
    await runner.start()
    yield runner
    await runner.stop()


Texts = Callable[[list[BotMessage]], str]


def texts(messages: list[BotMessage]) -> str:
    return "\n".join(m.body for m in messages)
