"""`propdesk demo`: the bot against the local Bot API emulator on a fresh SQLite database,
with residents and staff simulated; prints both sides of every chat and the tickets.

The story: staff groups are bound and a technician joins; residents register and report
(one with a photo, one emergency); a reminder fires when nobody accepts in time; the
technician accepts and completes a ticket; the resident confirms and rates it; the next
morning the managers receive the digest. Time is sped up with the injected clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import tempfile
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.app import App
from bot.clock import FixedClock
from bot.config import Settings
from bot.services.digest_schedule import digest_tick
from emulator import BotAPIEmulator, BotMessage, SimGroup, SimUser
from storage.models import Ticket

SCRIPT = Path(__file__).with_name("demo_script.toml")
FAQ = Path(__file__).resolve().parents[2] / "examples" / "faq.toml"  # in a source checkout
INVITE_CODE = re.compile(r"\b([2-9A-HJ-NP-Z]{8})\b")


class Demo:
    def __init__(self, emu: BotAPIEmulator, app: App, clock: FixedClock) -> None:
        self.emu = emu
        self.app = app
        self.clock = clock

    async def settle(self) -> None:
        """Wait until the bot has handled everything and the outbox is drained."""
        for _ in range(3):
            await self.emu.wait_for_idle(quiet=0.3, timeout=30)
            if self.app.outbox is not None:
                await self.app.outbox.drain()

    async def press(
        self, user: SimUser, label: str, chat: int | None = None, about: str = ""
    ) -> None:
        await user.press(self.last_with(chat or user.id, label, about), label)
        await self.settle()

    def last_with(self, chat: int, label: str, about: str = "") -> BotMessage:
        """The newest message in `chat` with a `label` button (and mentioning `about`)."""
        for message in reversed(self.emu.bot_messages(chat)):
            if label in message.button_texts and about in message.body:
                return message
        raise LookupError(f"the bot offered no button {label!r}")

    async def say(self, user: SimUser, text: str, chat: SimGroup | None = None) -> None:
        await user.send_text(text, chat=chat)
        await self.settle()

    async def travel(self, label: str, delta: timedelta) -> None:
        """Move the property's clock forward and run the scheduler's sweeps."""
        self.clock.advance(seconds=delta.total_seconds())
        print_marker(self.emu, f"{label} (+{delta})")
        periodic = self.app.periodic()
        await periodic.sla_sweep()
        await periodic.rating_sweep()
        await self.settle()

    # residents --------------------------------------------------------------------
    async def register(self, user: SimUser, resident: dict[str, Any]) -> None:
        await self.say(user, "/start")
        await self.say(user, resident["name"])
        await user.send_contact(resident["phone"])
        await self.settle()
        await self.press(user, resident["building"])
        if resident.get("unit"):
            await self.press(user, resident["unit"])
        await self.say(user, resident["room"])

    async def report(self, user: SimUser, report: dict[str, Any]) -> None:
        await self.say(user, report["text"])
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


def office_morning(settings: Settings) -> datetime:
    """Today 10:00 at the property: the story happens in office hours, not quiet hours."""
    local = datetime.now(settings.tz).replace(hour=10, minute=0, second=0, microsecond=0)
    return local.astimezone(UTC)


def load_script() -> dict[str, Any]:
    with SCRIPT.open("rb") as handle:
        return tomllib.load(handle)


def demo_settings(script: dict[str, Any], base_url: str, transport: str, folder: Path) -> Settings:
    return Settings.model_validate(
        {
            "telegram_token": "123456:DEMO",
            "telegram_api_base": base_url,
            "transport": transport,
            "database_url": f"sqlite+aiosqlite:///{folder / 'demo.db'}",
            "properties": [script["property"]],
            "admin_ids": [script["staff"]["admin_id"]],
            "faq_file": str(FAQ) if FAQ.exists() else None,
        }
    )


async def run_demo(transport: str = "aiogram") -> int:
    script = load_script()
    with tempfile.TemporaryDirectory(prefix="propdesk-demo-") as folder:
        emu = BotAPIEmulator(token="123456:DEMO", bot_username="propdesk_demo_bot")
        await emu.start()
        settings = demo_settings(script, emu.base_url, transport, Path(folder))
        clock = FixedClock(office_morning(settings))
        app = await App.create(settings, clock)
        await app.start_transport()
        assert app.transport is not None
        polling = asyncio.create_task(app.transport.run())
        demo = Demo(emu, app, clock)
        try:
            await play(demo, script)
        finally:
            tickets = await demo.tickets()
            await app.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(polling, 10)
            await app.close()
            await emu.stop()
            print_transcript(emu, transport)
            print_tickets(tickets)
    return 0 if any(t.status == "closed" for t in tickets) else 1


async def play(demo: Demo, script: dict[str, Any]) -> None:
    emu, staff, titles = demo.emu, script["staff"], script["groups"]
    admin = emu.user(staff["admin_name"], language_code="zh-hans", user_id=staff["admin_id"])
    tech = emu.user(staff["technician"], language_code="zh-hans")
    groups = {team: emu.group(title, members=[admin, tech]) for team, title in titles.items()}
    for team, group in groups.items():
        await demo.say(admin, f"/bind {team}", chat=group)
    await demo.say(admin, "/invite engineering")  # in private: the code is never shown in a group
    code = INVITE_CODE.search(emu.bot_messages(admin.id)[-1].body)
    if code:
        await demo.say(tech, f"/join {code.group(1)}")

    residents = []
    for resident in script["residents"]:
        user = emu.user(resident["first_name"], language_code=resident["language_code"])
        residents.append(user)
        await demo.register(user, resident)
        for report in resident["reports"]:
            await demo.report(user, report)

    eng = groups["engineering"].id
    first = (await demo.tickets())[0].number
    await demo.travel("nobody has accepted yet", timedelta(minutes=16))
    await demo.press(tech, "接单", eng, about=first)
    await demo.press(tech, "完成", eng, about=first)
    prompt = emu.bot_messages(eng)[-1]
    await tech.send_text(staff["completion_note"], chat=groups["engineering"], reply_to=prompt)
    await demo.settle()
    await demo.press(residents[0], "已解决")
    await demo.travel("half an hour after the resident confirmed", timedelta(minutes=30))
    stars = demo.last_with(residents[0].id, "⭐⭐⭐⭐⭐")
    await residents[0].press(stars, "⭐⭐⭐⭐⭐")
    await demo.settle()
    await front_desk(demo, script["front_desk"], admin, residents[0], groups["security"].id)
    await next_morning_digest(demo)


async def front_desk(
    demo: Demo, desk: dict[str, Any], admin: SimUser, resident: SimUser, gate: int
) -> None:
    """A phone request for a caller without Telegram, a visitor, and an FAQ answer."""
    print_marker(demo.emu, "the front desk")
    await demo.say(admin, "/new")
    await demo.press(admin, desk["channel"])
    caller = desk["caller"]
    await demo.say(admin, caller["phone"])
    await demo.say(admin, caller["name"])
    await demo.press(admin, caller["building"])
    await demo.press(admin, caller["unit"])
    await demo.say(admin, caller["room"])
    await demo.say(admin, caller["problem"])
    await demo.press(admin, desk["file"])

    visitor = desk["visitor"]
    await demo.say(resident, "/visitor")
    await demo.say(resident, visitor["name"])
    await demo.press(resident, visitor["people"])
    await demo.say(resident, visitor["plate"])
    local = demo.clock.now().astimezone(demo.app.settings.tz)
    start, end = local + timedelta(hours=1), local + timedelta(hours=3)
    await demo.say(resident, f"{start:%H:%M}-{end:%H:%M}")
    await demo.press(admin, visitor["arrived"], gate)

    await demo.say(resident, desk["question"])
    await demo.press(resident, desk["helped"])


async def next_morning_digest(demo: Demo) -> None:
    settings = demo.app.settings
    local = demo.clock.now().astimezone(settings.tz)
    hour, minute = (int(p) for p in settings.digest.daily_at.split(":"))
    morning = (local + timedelta(days=1)).replace(hour=hour, minute=minute, second=0)
    await demo.travel("the next morning", morning - local)
    await digest_tick(demo.app.uow_factory, settings, demo.clock, demo.app.notifier())
    await demo.settle()


def print_marker(emu: BotAPIEmulator, text: str) -> None:
    emu.world.transcript.append(f"\n⏩ {text}\n")


def print_transcript(emu: BotAPIEmulator, transport: str) -> None:
    print(f"=== PropDesk demo ({transport} transport, local Bot API emulator) ===\n")
    print(emu.transcript_text())


def print_tickets(tickets: list[Ticket]) -> None:
    print(f"\n=== {len(tickets)} tickets ===")
    for t in tickets:
        line = t.description.replace("\n", " ")[:40]
        print(f"{t.number}  {t.category:<10} {t.urgency:<9} {t.status:<11} {t.address:<10} {line}")
