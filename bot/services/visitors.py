"""Visitors (访客登记): residents announce them, guards mark them in and out, and a walk-in's
host is asked whether to let them in. Records are deleted after `visitors.keep_days`."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from bot.domain.policy import (
    host_answer_counts,
    may_guard_visitor,
    may_guard_visitors,
    visitor_purge_cutoff,
    visitor_window_refusal,
)
from bot.domain.vocabulary import VisitorKind, VisitorStatus
from bot.services.desk import Desk, address_of, uow_of
from bot.services.staff import Actor, NotAllowed, StaffService
from storage.models import Resident, Visitor

# Pass codes: no 0/O or 1/I/L, read out over a gate intercom without confusion.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6
NAME_LIMIT = 64
MAX_PEOPLE = 50
# Still "at the gate" for these statuses: a guard may mark them arrived.
WAITING = (VisitorStatus.EXPECTED, VisitorStatus.LET_IN, VisitorStatus.GUARD)


class VisitorRefused(Exception):
    """A polite refusal; `reason` is a locale key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Visitors:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.uow = uow_of(desk)
        self.config = desk.settings.visitors

    # who ------------------------------------------------------------------------------
    async def guard(
        self, telegram_id: int, name: str = "", property_id: int | None = None
    ) -> Actor:
        """The person as a guard of `property_id` (None: of their own property); roles in
        another compound do not count there."""
        actor = await StaffService(self.desk).actor(telegram_id, property_id, name)
        if not may_guard_visitors(actor):
            raise NotAllowed("visitor.not_guard")
        return actor

    async def is_guard(self, telegram_id: int) -> bool:
        try:
            await self.guard(telegram_id)
        except NotAllowed:
            return False
        return True

    # residents announce --------------------------------------------------------------
    def window_refusal(self, starts: datetime, ends: datetime) -> str | None:
        return visitor_window_refusal(self.desk.now(), starts, ends, self.config.max_days_ahead)

    async def announce(
        self,
        resident: Resident,
        name: str,
        people: int,
        plate: str,
        starts: datetime,
        ends: datetime,
    ) -> Visitor:
        refusal = self.window_refusal(starts, ends)
        if refusal is not None:
            raise VisitorRefused(refusal)
        if resident.property_id is None:
            raise VisitorRefused("visitor.not_registered")
        return await self._add(
            resident.property_id,
            kind=VisitorKind.EXPECTED,
            status=VisitorStatus.EXPECTED,
            host_resident_id=resident.id,
            host_address=address_of(resident),
            name=name[:NAME_LIMIT],
            people=max(1, min(people, MAX_PEOPLE)),
            plate=plate,
            starts_at=starts,
            ends_at=ends,
        )

    # guards ---------------------------------------------------------------------------
    async def walk_in(
        self, actor: Actor, property_id: int, name: str, address: str, chat_id: int
    ) -> tuple[Visitor, Resident | None]:
        """A visitor at the gate without notice: their host, if registered and reachable
        in Telegram, is asked; otherwise the guard decides."""
        host = await self._host_at(property_id, address)
        asking = host is not None and host.active
        now = self.desk.now()
        visitor = await self._add(
            property_id,
            kind=VisitorKind.WALK_IN,
            status=VisitorStatus.ASKING if asking else VisitorStatus.GUARD,
            host_resident_id=host.id if host else None,
            host_address=address[:128],
            name=name[:NAME_LIMIT],
            people=1,
            plate="",
            registered_by=actor.telegram_id,
            guard_chat_id=chat_id,
            answer_due_at=now + timedelta(minutes=self.config.host_answer_minutes)
            if asking
            else None,
        )
        return visitor, host if asking else None

    async def host_answer(self, resident: Resident, visitor_id: int, let_in: bool) -> Visitor:
        visitor = await self.uow.visitors.get(visitor_id)
        if visitor is None or visitor.host_resident_id != resident.id:
            raise VisitorRefused("common.unknown_button")
        if not host_answer_counts(self.desk.now(), visitor.answer_due_at):
            raise VisitorRefused("visitor.answer_late")
        new = VisitorStatus.LET_IN if let_in else VisitorStatus.REFUSED
        if not await self.uow.visitors.move(visitor.id, (VisitorStatus.ASKING,), {"status": new}):
            raise VisitorRefused("visitor.answered_already")
        await self.uow.visitors.refresh(visitor)
        return visitor

    async def arrive(self, actor: Actor, visitor: Visitor) -> Visitor:
        self._authorize(actor, visitor)
        if visitor.status in (VisitorStatus.ARRIVED, VisitorStatus.LEFT):
            raise VisitorRefused("visitor.already_arrived")
        if visitor.status == VisitorStatus.REFUSED:
            raise VisitorRefused("visitor.refused_by_host")
        values = {"status": VisitorStatus.ARRIVED, "arrived_at": self.desk.now()}
        if not await self.uow.visitors.move(visitor.id, (*WAITING, VisitorStatus.ASKING), values):
            raise VisitorRefused("visitor.already_arrived")
        await self.uow.visitors.refresh(visitor)
        return visitor

    async def leave(self, actor: Actor, visitor: Visitor) -> Visitor:
        self._authorize(actor, visitor)
        values = {"status": VisitorStatus.LEFT, "left_at": self.desk.now()}
        if not await self.uow.visitors.move(visitor.id, (VisitorStatus.ARRIVED,), values):
            raise VisitorRefused(
                "visitor.already_left"
                if visitor.status == VisitorStatus.LEFT
                else "visitor.not_arrived"
            )
        await self.uow.visitors.refresh(visitor)
        return visitor

    async def by_code(self, actor: Actor, code: str) -> Visitor | None:
        property_id = None if actor.settings_admin else actor.property_id
        return await self.uow.visitors.by_code(property_id, code.upper())

    async def get(self, visitor_id: int) -> Visitor | None:
        return await self.uow.visitors.get(visitor_id)

    async def host(self, visitor: Visitor) -> Resident | None:
        return await self.desk.resident_by_id(visitor.host_resident_id)

    # the scheduler and the digest -------------------------------------------------------
    async def unanswered(self, limit: int) -> list[int]:
        return await self.uow.visitors.unanswered(self.desk.now(), limit)

    async def answer_timed_out(self, visitor_id: int) -> Visitor | None:
        """The host's time to answer is over: the guard decides (`guard`). None when the
        host answered meanwhile, or another worker got there first."""
        visitor = await self.uow.visitors.get(visitor_id)
        if visitor is None or host_answer_counts(self.desk.now(), visitor.answer_due_at):
            return None
        values = {"status": VisitorStatus.GUARD}
        if not await self.uow.visitors.move(visitor.id, (VisitorStatus.ASKING,), values):
            return None
        await self.uow.visitors.refresh(visitor)
        return visitor

    async def purge(self) -> int:
        cutoff = visitor_purge_cutoff(self.desk.now(), self.config.keep_days)
        return await self.uow.visitors.purge(cutoff)

    async def counts(self, property_id: int, start: datetime, end: datetime) -> dict[str, int]:
        return await self.uow.visitors.counts(property_id, start, end)

    # internals ------------------------------------------------------------------------
    @staticmethod
    def _authorize(actor: Actor, visitor: Visitor) -> None:
        if not may_guard_visitor(actor, visitor.property_id):
            raise VisitorRefused("visitor.not_guard")

    async def _host_at(self, property_id: int, address: str) -> Resident | None:
        """The registered resident whose address is the one the visitor gave."""
        return await self.uow.residents.by_joined_address(property_id, "".join(address.split()))

    async def _add(self, property_id: int, **fields: object) -> Visitor:
        visitor = Visitor(
            property_id=property_id, code=await self._new_code(), created_at=self.desk.now()
        )
        for key, value in fields.items():
            setattr(visitor, key, value)
        return await self.uow.visitors.add(visitor)

    async def _new_code(self) -> str:
        while True:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            if not await self.uow.visitors.code_in_use(code):
                return code
