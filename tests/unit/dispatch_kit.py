"""Helpers for dispatch tests: a fake Sender behind the real outbox sender, people in
group chats, and a seeded property with bound groups and staff."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

from sqlalchemy import select

from bot.app import App
from bot.dialog import DialogEngine
from bot.messages import CallbackAnswer, Incoming, Outgoing, RecipientBlocked, Sent
from bot.services.outbox import OutboxSender
from storage.models import StaffMember, Ticket, TicketCard, TicketEvent
from tests.unit.sim import Person

ADMIN = 900001  # listed in settings.admin_ids by tests/conftest.py
ENG_GROUP = -1001001
ENV_GROUP = -1001002
MGR_GROUP = -1001009
SEC_GROUP = -1001003
SERVICE_GROUP = -1001005


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


class GroupPerson(Person):
    """Someone acting in a group chat (or, with chat_id = user_id, privately)."""

    def __init__(self, dialog: DialogEngine, user_id: int, chat_id: int, name: str) -> None:
        super().__init__(dialog, user_id)
        self.chat_id = chat_id
        self.name = name

    def _base(self) -> Incoming:
        base = super()._base()
        private = self.chat_id == self.user_id
        return replace(
            base,
            chat_id=self.chat_id,
            chat_type="private" if private else "supergroup",
            user_name=self.name,
        )

    async def reply(
        self, text: str | None, to: int, photos: tuple[str, ...] = ()
    ) -> list[Outgoing]:
        incoming = replace(self._base(), text=text, photos=photos, reply_to_message_id=to)
        return await self.send(incoming)

    def last_toast(self) -> str:
        return self.answers[-1].text if self.answers else ""


@dataclass
class World:
    app: App
    sender: FakeSender = field(default_factory=FakeSender)

    @property
    def outbox(self) -> OutboxSender:
        return OutboxSender(self.app.uow_factory, self.sender, self.app.clock)

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
