"""Personal data: a resident's own data (/mydata), forgetting a resident (/forgetme), and
the retention of closed tickets' descriptions and photos.

Forgetting keeps the figures: tickets stay with their numbers, categories, teams, times
and stars, so digests and performance figures do not change; what could identify the
person (name, phone, address, descriptions, photos, comments, their Telegram id) goes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.domain.policy import retention_cutoff
from bot.services.desk import Desk, uow_of
from bot.services.dispatch import Dispatch
from bot.services.lifecycle import OPEN_STATUSES
from storage.models import (
    FaqGap,
    Rating,
    Resident,
    SurveyResponse,
    Ticket,
    TicketEvent,
    Visitor,
)

REDACTED_BY_RETENTION = "redacted"
ANONYMISED = "anonymised"


@dataclass
class MyData:
    """Everything kept about one resident, for their export."""

    resident: Resident
    property_name: str
    tickets: Sequence[Ticket]
    timelines: dict[int, list[TicketEvent]]
    ratings: dict[int, Rating]
    surveys: Sequence[SurveyResponse]
    visitors: Sequence[Visitor] = ()
    faq_questions: Sequence[FaqGap] = ()


@dataclass
class Forgotten:
    """What /forgetme did: open tickets withdrawn (their cards need retiring), and counts."""

    cancelled: list[Ticket] = field(default_factory=list)
    anonymised: list[Ticket] = field(default_factory=list)
    visitors: int = 0


class PersonalData:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.uow = uow_of(desk)

    # /mydata -------------------------------------------------------------------------------
    async def export(self, telegram_id: int) -> MyData | None:
        resident = await self.desk.resident(telegram_id)
        if resident is None or not resident.registered:
            return None
        tickets = await self.uow.privacy.tickets_of(resident.id)
        ids = [ticket.id for ticket in tickets]
        timelines: dict[int, list[TicketEvent]] = defaultdict(list)
        for event in await self.uow.privacy.events_of(ids) if ids else ():
            timelines[event.ticket_id].append(event)
        ratings = {r.ticket_id: r for r in await self.uow.privacy.ratings_of(ids)} if ids else {}
        prop = await self.desk.property(resident.property_id) if resident.property_id else None
        return MyData(
            resident=resident,
            property_name=prop.name if prop else "",
            tickets=tickets,
            timelines=dict(timelines),
            ratings=ratings,
            surveys=await self.uow.privacy.surveys_of(telegram_id),
            visitors=await self.uow.privacy.visitors_of(resident.id),
            faq_questions=await self.uow.privacy.faq_questions_of(telegram_id),
        )

    # /forgetme -----------------------------------------------------------------------------
    async def forget(self, telegram_id: int) -> Forgotten | None:
        """Withdraw open tickets, anonymise every ticket, drop the profile. The person can
        register afresh afterwards: they are a newcomer then."""
        resident = await self.desk.resident(telegram_id)
        if resident is None:
            return None
        done = Forgotten()
        tickets = list(await self.uow.privacy.tickets_of(resident.id))
        dispatch = Dispatch(self.desk)
        for ticket in tickets:
            if ticket.status in OPEN_STATUSES:
                await dispatch.cancel(resident, ticket)
                done.cancelled.append(ticket)
        ids = [ticket.id for ticket in tickets]
        for ticket in tickets:
            self._anonymise(ticket)
            await self.desk.record(ticket, ANONYMISED, actor_kind="system")
            done.anonymised.append(ticket)
        if ids:
            await self.uow.privacy.blank_ticket_texts(ids)
        await self.uow.privacy.detach_resident(telegram_id, ids)
        done.visitors = await self.uow.privacy.anonymise_visitors(resident.id)
        await self.uow.privacy.blank_faq_questions(telegram_id)
        await self.uow.privacy.drop_private_chat(telegram_id)
        await self.uow.privacy.delete_resident(resident)
        return done

    def _anonymise(self, ticket: Ticket) -> None:
        ticket.contact_name = ""
        ticket.contact_phone = ""
        ticket.address = ""
        self._blank(ticket)

    def _blank(self, ticket: Ticket) -> None:
        ticket.description = ""
        ticket.photo_file_ids = []
        ticket.redacted_at = self.desk.now()
        ticket.updated_at = self.desk.now()

    # retention -----------------------------------------------------------------------------
    async def due_for_retention(self, limit: int) -> list[int]:
        cutoff = retention_cutoff(self.desk.now(), self.desk.settings.retention.closed_ticket_days)
        if cutoff is None:
            return []
        return await self.uow.privacy.closed_unredacted(cutoff, limit)

    async def apply_retention(self, ticket_id: int) -> bool:
        """Blank one closed ticket's description and photos (its timeline's too), recorded
        in its timeline; False when it is no longer due (reopened, or done meanwhile)."""
        ticket = await self.uow.tickets.locked(ticket_id)
        cutoff = retention_cutoff(self.desk.now(), self.desk.settings.retention.closed_ticket_days)
        if (
            ticket is None
            or cutoff is None
            or ticket.redacted_at is not None
            or ticket.closed_at is None
            or ticket.closed_at >= cutoff
            or ticket.status in OPEN_STATUSES
        ):
            return False
        self._blank(ticket)
        await self.uow.privacy.blank_ticket_texts([ticket.id])
        await self.desk.record(ticket, REDACTED_BY_RETENTION, actor_kind="system")
        return True
