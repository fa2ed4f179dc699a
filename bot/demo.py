"""`propdesk demo`: the bot against the local Bot API emulator on a fresh SQLite database,
with simulated residents; prints both sides of every chat and the tickets created."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.app import App
from bot.config import PropertyConfig, Settings
from bot.emulator import BotAPIEmulator, BotMessage, SimUser
from storage.models import Ticket

SCRIPT = Path(__file__).with_name("demo_script.toml")


class Demo:
    def __init__(self, emu: BotAPIEmulator, app: App) -> None:
        self.emu = emu
        self.app = app

    async def settle(self) -> None:
        await self.emu.wait_for_idle(quiet=0.25, timeout=30)

    async def press(self, user: SimUser, label: str) -> None:
        message = self._last_with(user, label)
        await user.press(message, label)
        await self.settle()

    def _last_with(self, user: SimUser, label: str) -> BotMessage:
        for message in reversed(self.emu.bot_messages(user.id)):
            if label in message.button_texts:
                return message
        raise LookupError(f"the bot offered no button {label!r}")

    def button(self, user: SimUser, index: int) -> str:
        last = self.emu.bot_messages(user.id)[-1]
        return last.button_texts[index]

    async def register(self, user: SimUser, resident: dict[str, Any]) -> None:
        await user.start()
        await self.settle()
        await user.send_text(resident["name"])
        await self.settle()
        await user.send_contact(resident["phone"])
        await self.settle()
        await self.press(user, resident["building"])
        if resident.get("unit"):
            await self.press(user, resident["unit"])
        await user.send_text(resident["room"])
        await self.settle()

    async def report(self, user: SimUser, report: dict[str, Any]) -> None:
        await user.send_text(report["text"])
        await self.settle()
        last = self.emu.bot_messages(user.id)[-1]
        if not last.inline_keyboard:
            return  # an emergency is opened at once
        if len(last.inline_keyboard) > 3:  # the bot asked for a category: take the first
            await user.press(last, last.button_texts[0])
            await self.settle()
            last = self.emu.bot_messages(user.id)[-1]
        if report.get("photo"):
            await user.send_photo()
            await self.settle()
            done = self.emu.bot_messages(user.id)[-1]
            await user.press(done, done.button_texts[0])
            await self.settle()
            last = self.emu.bot_messages(user.id)[-1]
        await user.press(last, last.button_texts[0])  # confirm
        await self.settle()

    async def tickets(self) -> list[Ticket]:
        async with self.app.uow_factory() as uow:
            return list((await uow.session.scalars(select(Ticket).order_by(Ticket.id))).all())


def load_script() -> dict[str, Any]:
    with SCRIPT.open("rb") as handle:
        return tomllib.load(handle)


async def run_demo(transport: str = "aiogram") -> int:
    script = load_script()
    with tempfile.TemporaryDirectory(prefix="propdesk-demo-") as folder:
        emu = BotAPIEmulator(token="123456:DEMO", bot_username="propdesk_demo_bot")
        await emu.start()
        settings = Settings(
            telegram_token="123456:DEMO",
            telegram_api_base=emu.base_url,
            transport=transport,  # type: ignore[arg-type]
            database_url=f"sqlite+aiosqlite:///{Path(folder) / 'demo.db'}",
            properties=[PropertyConfig(**script["property"])],
        )
        app = await App.create(settings)
        await app.start_transport()
        assert app.transport is not None
        polling = asyncio.create_task(app.transport.run())
        try:
            demo = Demo(emu, app)
            for resident in script["residents"]:
                user = emu.user(resident["first_name"], language_code=resident["language_code"])
                await demo.register(user, resident)
                for report in resident["reports"]:
                    await demo.report(user, report)
            tickets = await demo.tickets()
        finally:
            await app.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(polling, 10)
            await app.close()
            await emu.stop()
    print_transcript(emu, transport)
    print_tickets(tickets)
    return 0 if tickets else 1


def print_transcript(emu: BotAPIEmulator, transport: str) -> None:
    print(f"=== PropDesk demo ({transport} transport, local Bot API emulator) ===\n")
    print(emu.transcript_text())


def print_tickets(tickets: list[Ticket]) -> None:
    print(f"\n=== {len(tickets)} tickets created ===")
    for t in tickets:
        line = t.description.replace("\n", " ")[:40]
        print(f"{t.number}  {t.category:<10} {t.urgency:<9} {t.status:<9} {t.address:<10} {line}")
