"""The application with a recording sender behind the real outbox sender, people in group
chats, and the dispatch scenes: a property with bound groups and staff, a reported leak,
an accepted and a completed ticket."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

from sqlalchemy import select

from bot.app import App
from bot.messages import CallbackAnswer, Outgoing, RecipientBlocked, Sent
from bot.services.outbox import OutboxSender
from bot.services.pacing import Pacer
from storage.models import StaffMember, Ticket, TicketCard, TicketEvent
from tests.support.apps import ADMIN
from tests.support.people import GroupPerson, register

ENG_GROUP = -1001001
ENV_GROUP = -1001002
MGR_GROUP = -1001009
SEC_GROUP = -1001003
SERVICE_GROUP = -1001005

LI, ZHANG, ZHAO_LEAD, MANAGER, STRANGER, WANG = 2001, 2002, 2003, 2009, 3001, 1001

__all__ = [
    "ADMIN",
    "ENG_GROUP",
    "ENV_GROUP",
    "LI",
    "MANAGER",
    "MGR_GROUP",
    "SEC_GROUP",
    "SERVICE_GROUP",
    "STRANGER",
    "WANG",
    "ZHANG",
    "ZHAO_LEAD",
    "FakeSender",
    "GroupPerson",
    "World",
    "accepted",
    "complete",
    "confirmed",
    "report",
    "staffed",
]


class FakeSender:
    """Records what the outbox sends; chats in `blocked` answer 403 like Telegram."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []
        self.blocked: set[int] = set()
        self._ids = itertools.count(7000)

    async def send(self, out: Outgoing) -> Sent:
        if out.chat_id in self.blocked:
            raise RecipientBlocked("Forbidden: bot can't initiate conversation with a user")
        self.sent.append(out)
        return Sent(out.edit_message_id or next(self._ids))

    async def answer(self, answer: CallbackAnswer) -> None:
        return None

    def to(self, chat_id: int) -> list[Outgoing]:
        return [o for o in self.sent if o.chat_id == chat_id]

    def text_to(self, chat_id: int) -> str:
        return "\n".join(o.text for o in self.to(chat_id))


class TravelTimer:
    """Monotonic seconds that move only when someone waits: waits cost no real time."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@dataclass
class World:
    app: App
    sender: FakeSender = field(default_factory=FakeSender)

    timer: TravelTimer = field(default_factory=lambda: TravelTimer())

    @property
    def outbox(self) -> OutboxSender:
        """A sender of its own each time (as a second worker would be), on time that travels
        through the flood limits' waits."""
        pacer = Pacer(timer=self.timer)
        return OutboxSender(self.app.uow_factory, self.sender, self.app.clock, pacer=pacer)

    async def flush(self) -> None:
        """Drain the outbox until nothing is due (edits may wait for their card)."""
        for _ in range(10):
            if await self.outbox.drain() == 0:
                return

    def person(self, user_id: int, chat_id: int, name: str) -> GroupPerson:
        return GroupPerson(self.app.dialog, user_id, chat_id, name)

    async def bind(self, team: str, chat_id: int) -> None:
        admin = self.person(ADMIN, chat_id, "Admin")
        await admin.say(f"/bind {team}")
        assert "已绑定" in admin.texts(), admin.texts()

    async def add_member(self, telegram_id: int, team: str, role: str, name: str) -> None:
        async with self.app.uow_factory() as uow:
            [prop] = await uow.properties.all()
            now = self.app.clock.now()
            member = StaffMember(
                property_id=prop.id,
                team=team,
                telegram_id=telegram_id,
                name=name,
                role=role,
                created_at=now,
                updated_at=now,
            )
            await uow.staff.add(member)
            await uow.commit()

    async def tickets(self) -> list[Ticket]:
        async with self.app.uow_factory() as uow:
            return list((await uow.session.scalars(select(Ticket).order_by(Ticket.id))).all())

    async def ticket(self, ticket_id: int) -> Ticket:
        async with self.app.uow_factory() as uow:
            ticket = await uow.tickets.get(ticket_id)
            assert ticket is not None
            return ticket

    async def cards(self, ticket_id: int, active_only: bool = False) -> list[TicketCard]:
        async with self.app.uow_factory() as uow:
            return list(await uow.cards.for_ticket(ticket_id, active_only=active_only))

    async def card_message(self, ticket_id: int, chat_id: int) -> int:
        live = [c for c in await self.cards(ticket_id, True) if c.chat_id == chat_id]
        assert live and live[-1].message_id is not None, "card not sent"
        return live[-1].message_id

    async def events(self, ticket_id: int) -> list[TicketEvent]:
        async with self.app.uow_factory() as uow:
            return list(await uow.tickets.events(ticket_id))


async def staffed(world: World) -> None:
    await world.bind("engineering", ENG_GROUP)
    await world.bind("environment", ENV_GROUP)
    await world.bind("managers", MGR_GROUP)
    await world.add_member(LI, "engineering", "staff", "李师傅")
    await world.add_member(ZHANG, "engineering", "staff", "张师傅")
    await world.add_member(ZHAO_LEAD, "engineering", "lead", "赵组长")
    await world.add_member(MANAGER, "managers", "manager", "周经理")


async def report(world: World, text: str = "卫生间天花板一直在滴水") -> tuple[GroupPerson, int]:
    """Wang reports a leak (repair, high) and the card reaches engineering."""
    wang = world.person(WANG, WANG, "王女士")
    if (await world.tickets()) == [] and not getattr(world, "_registered", False):
        await register(world.app)
        world._registered = True  # type: ignore[attr-defined]
    await wang.say(text)
    if "煤气" not in text:
        await wang.press(wang.button("确认"))
    await world.flush()
    return wang, (await world.tickets())[-1].id


async def accepted(world: World) -> tuple[GroupPerson, GroupPerson, int]:
    wang, ticket_id = await report(world)
    li = world.person(LI, ENG_GROUP, "李师傅")
    await li.press(f"tk:{ticket_id}:acc", await world.card_message(ticket_id, ENG_GROUP))
    await world.flush()
    return wang, li, ticket_id


async def complete(world: World, li: GroupPerson, ticket_id: int) -> None:
    message_id = await world.card_message(ticket_id, ENG_GROUP)
    await li.press(f"tk:{ticket_id}:st", message_id)
    await li.press(f"tk:{ticket_id}:done", message_id)
    assert "处理说明" in li.texts()
    await li.reply(None, to=1, photos=("after-photo",))
    assert "照片" in li.texts()
    await li.reply("已更换楼上的排水管", to=1)
    await world.flush()


async def confirmed(world: World) -> tuple[int, int]:
    """The leak fixed and confirmed by Wang; returns the ticket's and its rating's ids."""
    await staffed(world)
    wang, li, ticket_id = await accepted(world)
    await complete(world, li, ticket_id)
    await wang.press(f"rs:{ticket_id}:ok")
    await world.flush()
    async with world.app.uow_factory() as uow:
        rating = await uow.ratings.for_ticket(ticket_id)
    assert rating is not None
    return ticket_id, rating.id
