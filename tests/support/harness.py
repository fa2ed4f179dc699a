"""The bot application wired on the Bot API emulator: the real aiogram or python-telegram-bot
stack over HTTP on loopback. Restartable, and switchable between transports.

Every wait is on an event: the emulator says when the bot has fetched an update, the
transport says when it has handled it (replies delivered), and the outbox is drained until
nothing is due. No quiet periods, so a step costs what the bot takes, not a fixed delay."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Iterable
from typing import Any, TypeVar

from sqlalchemy import select

from bot.app import App
from bot.clock import Clock
from bot.config import Settings
from bot.handlers.base import Classifier
from emulator import BotAPIEmulator, BotMessage, SimGroup, SimUser
from emulator.views import view_event
from storage.models import Ticket
from tests.support.apps import ADMIN, build_app

Row = TypeVar("Row")

TRANSPORTS = ("aiogram", "ptb")
WAIT = 20.0  # seconds before a wait fails loudly: far above any step, never reached when green
CODE = re.compile(r"\b([2-9A-HJ-NP-Z]{8})\b")  # an invite code


class FloodClock:
    """The clock of Telegram's flood limits, shared by the emulator and the outbox's pacer:
    real time plus whatever the pacer has waited, so a wait for the limits travels in time
    instead of sleeping, and both sides still agree on how much time has passed."""

    def __init__(self) -> None:
        self.travelled = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.travelled

    def monotonic(self) -> float:
        return self()

    async def sleep(self, seconds: float) -> None:
        self.travelled += max(seconds, 0.0)
        await asyncio.sleep(0)  # still let others run, as a real wait would


def texts(messages: list[BotMessage]) -> str:
    return "\n".join(m.body for m in messages)


def update_ids(done: object) -> list[int]:
    """The update ids a driver action produced (none when privacy mode kept it back)."""
    items: Iterable[object] = done if isinstance(done, list | tuple) else [done]
    return [uid for item in items if (uid := getattr(item, "update_id", None)) is not None]


class Harness:
    """Runs the bot against the emulator; `act` does something as a person and returns what
    the bot sent or edited because of it."""

    def __init__(
        self,
        emu: BotAPIEmulator,
        settings: Settings,
        clock: Clock | None,
        flood_clock: FloodClock | None = None,
        classify: Classifier | None = None,
    ) -> None:
        self.emu = emu
        self.settings = settings
        self.clock = clock
        self.flood_clock = flood_clock  # the emulator's too, when given
        self.classify = classify  # None: the app builds and warms the real one at each start
        self.app: App | None = None
        self._task: asyncio.Task[None] | None = None
        self._fetched_before: Counter[int] = Counter()  # hand-outs to earlier transports

    async def start(self, transport: str | None = None) -> App:
        if transport is not None:
            self.settings = self.settings.model_copy(update={"transport": transport})
        self.app = await build_app(self.settings, self.clock, classify=self.classify)
        if self.flood_clock is not None:
            self.app.timer = self.flood_clock
        await self.app.start_transport()
        transport_obj = self.app.transport
        assert transport_obj is not None
        self._fetched_before = Counter(self.emu.world.handed_out)
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

    # -- acting and waiting ---------------------------------------------------------------

    async def act(self, action: Awaitable[Any], quiet: float | None = None) -> list[BotMessage]:
        """Do something as a person, wait until the bot has handled it and its messages are
        out, return what it sent or edited meanwhile. (`quiet` is accepted from older
        callers and ignored: nothing waits for a quiet period any more.)"""
        before = len(self.emu.world.events)
        done = await action
        ids = update_ids(done)
        if ids:
            await self.settle(*ids)
        else:  # nothing reached the bot; messages already queued still go out
            await self.drain_outbox()
        return self.new_events(before)

    async def settle(self, *ids: int, quiet: float | None = None) -> None:
        """Until the bot has fetched and handled these updates (all so far without ids),
        including redeliveries, and the outbox has sent everything due."""
        if ids:
            for update_id in ids:
                await self.emu.wait_fetched(update_id, timeout=WAIT)
        else:
            await self.emu.wait_fetched(timeout=WAIT)
        await self.wait_handled(ids or list(self.emu.world.handed_out))
        await self.drain_outbox()

    async def wait_handled(self, ids: Iterable[int]) -> None:
        """Until the transport has handled each update fetched since it started."""
        transport = self.app.transport if self.app else None
        if transport is None:
            return
        for update_id in ids:
            # Fetched again while unconfirmed (the poller confirms only after the commit) or
            # delivered twice, an update is still handled once by this process.
            if self.emu.fetch_count(update_id) > self._fetched_before[update_id]:
                await transport.in_flight.wait_handled(update_id, 1, timeout=WAIT)

    async def drain_outbox(self) -> None:
        """Send what the outbox holds due now, here, until nothing is due and the outbox's
        own loop is not sending either: nothing in flight before the look at the queue, nothing
        in flight after it, and no attempt ended meanwhile (an attempt can queue a row, as a
        refused private message queues its hint to the group)."""
        outbox = self.app.outbox if self.app else None
        if outbox is None:
            return
        async with asyncio.timeout(WAIT):
            while True:
                in_flight, finished = outbox.sending, outbox.finished
                if await outbox.drain():
                    continue  # an edit may have waited for the card just sent
                if in_flight == 0 and outbox.sending == 0 and outbox.finished == finished:
                    return
                if outbox.sending:
                    await asyncio.sleep(0.005)  # a row the outbox loop claimed is on its way

    def new_events(self, since: int) -> list[BotMessage]:
        found = []
        for event in self.emu.world.events[since:]:
            if event.kind in ("message", "edit"):
                stored = self.emu.world.messages[(event.chat_id, event.message_id)]
                found.append(view_event(event, stored))
        return found

    async def rows(self, model: type[Row]) -> list[Row]:
        """Every stored row of ``model``, oldest first (tests read what the bot stored)."""
        assert self.app is not None
        async with self.app.uow_factory() as uow:
            found = await uow.session.scalars(select(model).order_by(model.id))  # type: ignore[attr-defined]
            return list(found.all())

    # -- people ---------------------------------------------------------------------------

    async def register(
        self, user: SimUser, name: str = "王女士", phone: str = "+8613812345678"
    ) -> list[BotMessage]:
        await self.act(user.start())
        await self.act(user.send_text(name))
        await self.act(user.send_contact(phone))
        await self.act_press_last(user, "3栋")
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


@contextlib.asynccontextmanager
async def running_harness(
    emu: BotAPIEmulator,
    settings: Settings,
    transport: str,
    clock: Clock | None = None,
    flood_clock: FloodClock | None = None,
    classify: Classifier | None = None,
) -> AsyncIterator[Harness]:
    """The bot on `transport`, pointed at `emu`, running until the block ends; pass the
    emulator's `flood_clock` so the outbox paces itself on the same clock."""
    configured = settings.model_copy(
        update={"telegram_api_base": emu.base_url, "transport": transport}
    )
    runner = Harness(emu, configured, clock, flood_clock, classify)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


class StaffedProperty:
    """A property with an engineering and an environment group and two technicians."""

    def __init__(self, h: Harness, emu: BotAPIEmulator) -> None:
        self.h, self.emu = h, emu
        self.admin = emu.user("Admin", language_code="zh-hans", user_id=ADMIN)
        self.li = emu.user("李师傅", language_code="zh-hans")
        self.zhang = emu.user("张师傅", language_code="zh-hans")
        self.eng = emu.group("工程部", members=[self.admin, self.li, self.zhang])
        self.env = emu.group("环境部", members=[self.admin])
        self.wang = emu.user("王", language_code="zh-hans")

    async def bind(self, group: SimGroup, team: str) -> list[BotMessage]:
        return await self.h.act(self.admin.send_text(f"/bind {team}", chat=group))

    async def invite_and_join(self, person: SimUser, team: str = "engineering") -> str:
        sent = await self.h.act(self.admin.send_text(f"/invite {team}"))  # privately
        match = CODE.search(texts(sent))
        assert match, texts(sent)
        joined = await self.h.act(person.send_text(f"/join {match.group(1)}"))
        assert "欢迎加入" in texts(joined)
        return match.group(1)

    async def setup(self) -> None:
        await self.bind(self.eng, "engineering")
        await self.bind(self.env, "environment")
        await self.invite_and_join(self.li)
        await self.invite_and_join(self.zhang)
        await self.h.register(self.wang)

    async def report(self, text: str = "卫生间天花板一直在滴水,楼上好像漏了") -> BotMessage:
        await self.h.act(self.wang.send_text(text))
        await self.h.act_press_last(self.wang, "✅ 确认提交")
        return self.card(self.eng)

    def card(self, group: SimGroup) -> BotMessage:
        for message in reversed(self.emu.bot_messages(group)):
            if {"接单", "完成", "返回"} & set(message.button_texts):  # a card, or its menu
                return message
        raise AssertionError(f"no live card in {group}")

    async def ticket(self) -> Ticket:
        assert self.h.app is not None
        async with self.h.app.uow_factory() as uow:
            ticket = (await uow.session.scalars(select(Ticket).order_by(Ticket.id.desc()))).first()
        assert ticket is not None
        return ticket
