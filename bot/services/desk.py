"""Residents and tickets: the domain operations the handlers call, inside one unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from bot.clock import Clock
from bot.config import PlanConfig, Settings
from bot.domain.policy import team_for
from bot.domain.vocabulary import SendPriority
from bot.messages import Outgoing
from bot.services.lifecycle import Status
from bot.services.outbox import to_payload
from bot.services.sla import Deadlines, SlaPolicy, WorkingHours
from bot.services.timers import reschedule, working_hours
from storage.models import Building, Property, Resident, Ticket, TicketEvent
from storage.uow import UnitOfWork


@dataclass
class Draft:
    """A report being written: kept in dialog state until the resident confirms."""

    description: str = ""
    photos: list[str] = field(default_factory=list)
    category: str = "other"
    urgency: str = "normal"
    hazard: str | None = None
    confidence: float = 0.0
    matched: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Draft:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


# Mainland China's public emergency numbers; a property adds gas and its own duty line.
DEFAULT_HOTLINES: dict[str, str] = {"fire": "119", "medical": "120", "crime": "110"}


class Desk:
    """Services bound to one unit of work and one clock."""

    def __init__(self, uow: UnitOfWork, settings: Settings, clock: Clock) -> None:
        self._uow = uow
        self.settings = settings
        self.clock = clock
        self.sla = sla_policy(settings)
        # tickets opened in this unit of work -> cards numbered for them so far (none existed
        # before, so their next card needs no count)
        self.fresh_tickets: dict[int, int] = {}

    def now(self) -> datetime:
        return self.clock.now()

    # residents -------------------------------------------------------------------------
    async def resident(self, telegram_id: int) -> Resident | None:
        return await self._uow.residents.by_telegram_id(telegram_id)

    async def ensure_resident(self, telegram_id: int, locale: str) -> Resident:
        resident = await self._uow.residents.by_telegram_id(telegram_id)
        if resident is None:
            now = self.now()
            resident = Resident(
                telegram_id=telegram_id, locale=locale, created_at=now, updated_at=now
            )
            await self._uow.residents.add(resident)
        return resident

    async def save_registration(self, telegram_id: int, locale: str, **details: str) -> Resident:
        resident = await self.ensure_resident(telegram_id, locale)
        for name, value in details.items():
            setattr(resident, name, value)
        resident.registered = True
        resident.active = True
        resident.updated_at = self.now()
        await self._uow.session.flush()
        return resident

    async def set_locale(self, telegram_id: int, locale: str) -> None:
        resident = await self.ensure_resident(telegram_id, locale)
        resident.locale = locale
        resident.updated_at = self.now()

    async def mark_unreachable(self, telegram_id: int) -> bool:
        return await self._uow.residents.set_active(telegram_id, False, self.now()) > 0

    async def mark_reachable(self, telegram_id: int) -> None:
        """Someone wrote to us, so we can write to them (no write when nothing changes)."""
        resident = await self.resident(telegram_id)
        if resident is not None and not resident.active:
            resident.active, resident.updated_at = True, self.now()

    # properties ------------------------------------------------------------------------
    async def properties(self) -> Sequence[Property]:
        return await self._uow.properties.all()

    async def property_by_code(self, code: str) -> Property | None:
        return await self._uow.properties.by_code(code)

    async def buildings(self, property_id: int) -> Sequence[Building]:
        return await self._uow.properties.buildings(property_id)

    async def sync_properties(self) -> None:
        """Mirror the properties and buildings listed in settings into the database."""
        for config in self.settings.properties:
            prop = await self._uow.properties.by_code(config.code)
            if prop is None:
                prop = await self._uow.properties.add(Property(code=config.code, name=config.name))
            prop.name = config.name
            buildings = [
                Building(name=b.name, units=list(b.units), position=i)
                for i, b in enumerate(config.buildings)
            ]
            await self._uow.properties.replace_buildings(prop.id, buildings)

    async def hotlines(self, telegram_id: int) -> dict[str, str]:
        """Hotline numbers of the resident's property, over the national defaults."""
        resident = await self.resident(telegram_id)
        prop = (
            await self._uow.properties.get(resident.property_id)
            if resident and resident.property_id
            else None
        )
        config = self.settings.property_by_code(prop.code) if prop else None
        return {**DEFAULT_HOTLINES, **(config.hotlines if config else {})}

    # tickets ---------------------------------------------------------------------------
    def deadlines(self, category: str, urgency: str) -> Deadlines:
        return self.sla.deadlines(category, urgency, self.now())

    async def open_ticket(self, resident: Resident, draft: Draft) -> Ticket:
        if resident.property_id is None:
            raise ValueError("resident has no property")
        ticket = await self._new_ticket(
            resident.property_id,
            draft.category,
            draft.urgency,
            team_for(self.settings.routing, draft.category),
            resident_id=resident.id,
            hazard=draft.hazard,
            confidence=draft.confidence,
            matched=list(draft.matched),
            description=draft.description,
            photo_file_ids=list(draft.photos),
            address=address_of(resident),
            contact_name=resident.name,
            contact_phone=resident.phone,
        )
        await self.record(ticket, "created", actor_kind="resident", actor_id=resident.telegram_id)
        return ticket

    async def open_plan_ticket(self, property_id: int, plan: PlanConfig, fired: datetime) -> Ticket:
        """A run of a preventive maintenance or inspection plan: a ticket for its team."""
        ticket = await self._new_ticket(
            property_id, plan.category, plan.urgency, plan.team, description=plan.title
        )
        await self.record(ticket, "plan", actor_kind="system", new=plan.code)
        return ticket

    async def new_ticket(
        self, property_id: int, category: str, urgency: str, team: str, **fields: Any
    ) -> Ticket:
        """A numbered ticket with its deadlines and timers; `fields` fill in the rest."""
        return await self._new_ticket(property_id, category, urgency, team, **fields)

    async def _new_ticket(
        self, property_id: int, category: str, urgency: str, team: str, **fields: Any
    ) -> Ticket:
        now = self.now()
        day = now.astimezone(self.settings.tz).strftime("%Y%m%d")
        sequence = await self._uow.tickets.next_number(day)
        due = self.sla.deadlines(category, urgency, now)
        ticket = Ticket(
            number=f"{day}-{sequence:04d}",
            property_id=property_id,
            category=category,
            urgency=urgency,
            team=team,
            status=Status.NEW,
            created_at=now,
            updated_at=now,
            response_due_at=due.response_due,
            resolution_due_at=due.resolution_due,
            sla_stage="",
            escalations=0,
            **fields,
        )
        reschedule(ticket, self.settings.escalation, working_hours(self.settings))
        await self._uow.tickets.add(ticket)
        self.fresh_tickets[ticket.id] = 0
        return ticket

    async def ticket(self, ticket_id: int) -> Ticket | None:
        return await self._uow.tickets.get(ticket_id)

    async def ticket_by_number(self, number: str) -> Ticket | None:
        return await self._uow.tickets.by_number(number)

    async def property(self, property_id: int) -> Property | None:
        return await self._uow.properties.get(property_id)

    async def resident_by_id(self, resident_id: int | None) -> Resident | None:
        return await self._uow.residents.get(resident_id) if resident_id is not None else None

    async def enqueue(
        self,
        key: str,
        out: Outgoing,
        *,
        edit_card: int | None = None,
        reply_to_card: int | None = None,
        fallback: Outgoing | None = None,
        priority: SendPriority = SendPriority.CARD,
        notice_id: int | None = None,
    ) -> bool:
        """A message to send after this transaction commits (the outbox); False when a
        message with this key was already queued."""
        payload = to_payload(
            out, edit_card=edit_card, reply_to_card=reply_to_card, fallback=fallback
        )
        row = await self._uow.outbox.add(
            key, out.chat_id, payload, self.now(), int(priority), notice_id=notice_id
        )
        return row is not None

    async def enqueue_many(
        self,
        messages: Sequence[tuple[str, Outgoing]],
        *,
        priority: SendPriority,
        notice_id: int | None = None,
    ) -> None:
        """Many messages (key, message) queued in one statement; a key already queued is
        skipped."""
        rows = [(key, out.chat_id, to_payload(out)) for key, out in messages]
        await self._uow.outbox.add_many(rows, self.now(), int(priority), notice_id=notice_id)

    async def record(
        self,
        ticket: Ticket,
        kind: str,
        *,
        actor_kind: str,
        actor_id: int | None = None,
        old: str | None = None,
        new: str | None = None,
        note: str | None = None,
        photos: Sequence[str] = (),
    ) -> TicketEvent:
        event = TicketEvent(
            ticket_id=ticket.id,
            at=self.now(),
            actor_kind=actor_kind,
            actor_id=actor_id,
            kind=kind,
            old_value=old[:64] if old else old,
            new_value=new[:64] if new else new,
            note=note,
            photo_file_ids=list(photos) or None,
        )
        return await self._uow.tickets.add_event(event)

    async def tickets_of(self, resident: Resident, limit: int = 10) -> Sequence[Ticket]:
        return await self._uow.tickets.for_resident(resident.id, limit)

    async def ticket_for_resident(self, resident: Resident, ticket_id: int) -> Ticket | None:
        ticket = await self._uow.tickets.get(ticket_id)
        if ticket is None or ticket.resident_id != resident.id:
            return None
        return ticket

    async def timeline(self, ticket: Ticket) -> Sequence[TicketEvent]:
        return await self._uow.tickets.events(ticket.id)


def address_of(resident: Resident) -> str:
    return "".join(part for part in (resident.building, resident.unit, resident.room) if part)


def sla_policy(settings: Settings) -> SlaPolicy:
    overrides = {k: (v.response_minutes, v.resolution_minutes) for k, v in settings.sla.items()}
    hours = settings.business_hours
    working = None
    if hours.enabled:
        working = WorkingHours(
            start=time.fromisoformat(hours.start),
            end=time.fromisoformat(hours.end),
            weekdays=frozenset(hours.weekdays),
            tz=settings.tz,
        )
    return SlaPolicy(overrides, working)


def uow_of(desk: Desk) -> UnitOfWork:
    """The desk's unit of work, for the other services of this layer only.

    Handlers never touch it (a test holds them to that): they call services.
    """
    return desk._uow
