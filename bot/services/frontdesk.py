"""The front desk (前台接待): requests staff register for residents who phone, walk in or
write, and common-area problems staff find on patrol. Such a ticket is an ordinary ticket
(same routing, SLA, cards, digests and ratings) that also says how it arrived and who
registered it; a caller without Telegram is a name, a phone and an address on the ticket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.domain.policy import (
    DUPLICATE_CALLER_WINDOW,
    confirms_by_phone,
    may_confirm_by_phone,
    may_register_requests,
    may_report_finding,
    opens_return_visit,
    team_for,
)
from bot.domain.vocabulary import CHANNELS, Channel, RatingState, Urgency
from bot.services.desk import DEFAULT_HOTLINES, Desk, Draft, address_of, uow_of
from bot.services.dispatch import Dispatch
from bot.services.ratings import Ratings
from bot.services.staff import Actor, NotAllowed, StaffService
from storage.models import Rating, Resident, Ticket

NAME_LIMIT = 64
ADDRESS_LIMIT = 128


@dataclass
class Caller:
    """Who a staff-registered request is for, as the staff member has it so far."""

    resident_id: int | None = None
    name: str = ""
    phone: str = ""
    building: str = ""
    unit: str = ""
    room: str = ""
    typed_address: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> str:
        if self.typed_address:
            return self.typed_address
        return "".join(part for part in (self.building, self.unit, self.room) if part)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Caller:
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)

    @classmethod
    def of(cls, resident: Resident) -> Caller:
        return cls(
            resident_id=resident.id,
            name=resident.name,
            phone=resident.phone,
            building=resident.building,
            unit=resident.unit,
            room=resident.room,
        )


class FrontDesk:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.uow = uow_of(desk)
        self.staff = StaffService(desk)

    # who ------------------------------------------------------------------------------
    async def registrar(self, telegram_id: int, name: str = "") -> Actor:
        """The staff member at the desk, or NotAllowed."""
        actor = await self.staff.actor(telegram_id, None, name)
        if not may_register_requests(actor) or not await self._has_property(actor):
            raise NotAllowed("desk.not_allowed")
        return actor

    async def patroller(self, telegram_id: int, name: str = "") -> Actor:
        actor = await self.staff.actor(telegram_id, None, name)
        if not may_report_finding(actor) or not await self._has_property(actor):
            raise NotAllowed("desk.not_allowed")
        return actor

    async def _has_property(self, actor: Actor) -> bool:
        return await self.property_id(actor) is not None

    async def property_id(self, actor: Actor) -> int | None:
        """The actor's property; an admin of the settings works in the first one."""
        if actor.property_id is not None:
            return actor.property_id
        prop = await self.staff.property_for(None)
        return prop.id if prop is not None else None

    async def hotlines(self, property_id: int) -> dict[str, str]:
        """The property's hotlines over the national ones (advice for a caller's emergency)."""
        prop = await self.desk.property(property_id)
        config = self.desk.settings.property_by_code(prop.code) if prop else None
        return {**DEFAULT_HOTLINES, **(config.hotlines if config else {})}

    # finding the caller ----------------------------------------------------------------
    async def residents_by_phone(self, property_id: int, phone: str) -> Sequence[Resident]:
        return await self.uow.residents.by_phone(property_id, phone)

    async def residents_at(self, property_id: int, caller: Caller) -> Sequence[Resident]:
        if caller.typed_address or not caller.building:
            return ()
        return await self.uow.residents.at_address(
            property_id, caller.building, caller.unit, caller.room
        )

    async def resident(self, resident_id: int) -> Resident | None:
        return await self.uow.residents.get(resident_id)

    async def recent_open(self, property_id: int, caller: Caller) -> Sequence[Ticket]:
        """Open tickets of the same caller registered lately (two staff, one call)."""
        since = self.desk.now() - DUPLICATE_CALLER_WINDOW
        return await self.uow.tickets.open_for_caller(
            property_id, caller.resident_id, caller.phone, since
        )

    async def same_emergency(self, property_id: int, caller: Caller, draft: Draft) -> list[Ticket]:
        """The caller's open emergency tickets of the draft's kind (its hazard, or its
        category when it names none), registered lately: two staff taking one alarm."""
        return [
            t
            for t in await self.recent_open(property_id, caller)
            if t.urgency == Urgency.EMERGENCY
            and (t.hazard == draft.hazard if draft.hazard else t.category == draft.category)
        ]

    # filing ----------------------------------------------------------------------------
    async def register(
        self, actor: Actor, property_id: int, channel: str, caller: Caller, draft: Draft
    ) -> Ticket:
        """A request taken by phone, at the counter, by email or otherwise."""
        if channel not in CHANNELS or channel == Channel.TELEGRAM:
            raise NotAllowed("common.unknown_button")
        resident = await self.resident(caller.resident_id) if caller.resident_id else None
        if resident is not None and resident.property_id != property_id:
            resident = None  # a stale choice: record the caller as typed
        return await self._file(
            actor,
            property_id,
            channel,
            draft,
            resident_id=resident.id if resident else None,
            address=(address_of(resident) if resident else caller.address)[:ADDRESS_LIMIT],
            contact_name=(resident.name if resident else caller.name)[:NAME_LIMIT],
            contact_phone=resident.phone if resident else caller.phone,
        )

    async def report_finding(
        self, actor: Actor, property_id: int, location: str, draft: Draft
    ) -> Ticket:
        """A common-area problem staff found (巡查发现): no resident, the place as address."""
        return await self._file(
            actor,
            property_id,
            Channel.PATROL,
            draft,
            resident_id=None,
            address=location[:ADDRESS_LIMIT],
            contact_name=actor.name[:NAME_LIMIT],
            contact_phone="",
        )

    async def _file(
        self, actor: Actor, property_id: int, channel: str, draft: Draft, **who: Any
    ) -> Ticket:
        ticket = await self.desk.new_ticket(
            property_id,
            draft.category,
            draft.urgency,
            team_for(self.desk.settings.routing, draft.category),
            hazard=draft.hazard,
            confidence=draft.confidence,
            matched=list(draft.matched),
            description=draft.description,
            photo_file_ids=list(draft.photos),
            channel=channel,
            registered_by=actor.telegram_id,
            registered_by_name=actor.name[:NAME_LIMIT],
            **who,
        )
        await self.desk.record(
            ticket,
            "registered",
            actor_kind="staff",
            actor_id=actor.telegram_id,
            new=channel,
            note=actor.name[:NAME_LIMIT],
        )
        return ticket

    # after the fix, for callers without Telegram ---------------------------------------
    async def confirms_by_phone(self, ticket: Ticket) -> bool:
        resident = await self.desk.resident_by_id(ticket.resident_id)
        if resident is None:
            return confirms_by_phone(None, False)
        return confirms_by_phone(resident.telegram_id, resident.active)

    async def phone_actor(self, telegram_id: int, ticket: Ticket, name: str = "") -> Actor:
        actor = await self.staff.actor(telegram_id, ticket.property_id, name)
        if not may_confirm_by_phone(actor, ticket) or not await self.confirms_by_phone(ticket):
            raise NotAllowed("staff.not_allowed")
        return actor

    async def confirmed_by_phone(self, actor: Actor, ticket: Ticket) -> None:
        """The caller said it is fixed: the ticket closes as a resident's confirmation does."""
        await Dispatch(self.desk).close_for_caller(actor, ticket)

    async def not_solved_by_phone(self, actor: Actor, ticket: Ticket, reason: str) -> None:
        await Dispatch(self.desk).reopen_for_caller(actor, ticket, reason)

    async def rate_by_phone(self, actor: Actor, ticket: Ticket, stars: int) -> Rating:
        """Stars the caller gave on the phone, recorded once, as the resident's would be."""
        if not 1 <= stars <= 5:
            raise NotAllowed("common.unknown_button")
        if await self.uow.ratings.for_ticket(ticket.id) is not None:
            raise NotAllowed("desk.already_rated")
        now = self.desk.now()
        rating = Rating(
            ticket_id=ticket.id,
            resident_telegram_id=0,  # nobody in Telegram, as for a forgotten resident
            status=RatingState.ANSWERED,
            due_at=now,
            stars=stars,
            answered_at=now,
        )
        await self.uow.ratings.add(rating)
        await self.desk.record(
            ticket,
            "rated_by_phone",
            actor_kind="staff",
            actor_id=actor.telegram_id,
            new=str(stars),
            note=actor.name[:NAME_LIMIT],
        )
        if opens_return_visit(stars):
            await Ratings(self.desk).open_return_visit(ticket, "low_rating")
        return rating
