"""Queries for personal data: what a resident's export reads, what retention and /forgetme
blank. Like every repository, it never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Correction,
    DialogState,
    FaqGap,
    OutboxMessage,
    Rating,
    Resident,
    ReturnVisit,
    SurveyResponse,
    Ticket,
    TicketEvent,
    Visitor,
)

CLOSED_STATUSES = ("closed", "cancelled")
UNANSWERED_RATINGS = ("scheduled", "asked", "reminded")


class PersonalDataRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # reading -----------------------------------------------------------------------------
    async def tickets_of(self, resident_id: int) -> Sequence[Ticket]:
        query = select(Ticket).where(Ticket.resident_id == resident_id).order_by(Ticket.id)
        return (await self.session.scalars(query)).all()

    async def events_of(self, ticket_ids: Sequence[int]) -> Sequence[TicketEvent]:
        query = (
            select(TicketEvent)
            .where(TicketEvent.ticket_id.in_(ticket_ids))
            .order_by(TicketEvent.ticket_id, TicketEvent.at, TicketEvent.id)
        )
        return (await self.session.scalars(query)).all()

    async def ratings_of(self, ticket_ids: Sequence[int]) -> Sequence[Rating]:
        query = select(Rating).where(Rating.ticket_id.in_(ticket_ids)).order_by(Rating.id)
        return (await self.session.scalars(query)).all()

    async def surveys_of(self, telegram_id: int) -> Sequence[SurveyResponse]:
        query = (
            select(SurveyResponse)
            .where(SurveyResponse.resident_telegram_id == telegram_id)
            .order_by(SurveyResponse.id)
        )
        return (await self.session.scalars(query)).all()

    async def visitors_of(self, resident_id: int) -> Sequence[Visitor]:
        """Visits the resident announced, and walk-ins who asked for them."""
        query = select(Visitor).where(Visitor.host_resident_id == resident_id).order_by(Visitor.id)
        return (await self.session.scalars(query)).all()

    async def faq_questions_of(self, telegram_id: int) -> Sequence[FaqGap]:
        """Questions they asked that the FAQ did not answer, or whose answer they rejected."""
        query = select(FaqGap).where(FaqGap.telegram_id == telegram_id).order_by(FaqGap.id)
        return (await self.session.scalars(query)).all()

    # retention ---------------------------------------------------------------------------
    async def closed_unredacted(self, closed_before: datetime, limit: int) -> list[int]:
        """Closed or cancelled tickets past the retention period whose texts are still kept
        (`ix_tickets_redacted_closed`: the sweep reads what is due, not what is stored)."""
        query = (
            select(Ticket.id)
            .where(
                Ticket.redacted_at.is_(None),
                Ticket.closed_at < closed_before,
                Ticket.status.in_(CLOSED_STATUSES),
            )
            .order_by(Ticket.closed_at, Ticket.id)
            .limit(limit)
        )
        return list((await self.session.scalars(query)).all())

    async def blank_ticket_texts(self, ticket_ids: Sequence[int]) -> None:
        """Notes, additions and photos in the timeline, and the description copied into
        classifier corrections; kinds, times and values stay for the figures."""
        await self.session.execute(
            update(TicketEvent)
            .where(TicketEvent.ticket_id.in_(ticket_ids))
            .values(note=None, photo_file_ids=None)
        )
        await self.session.execute(
            update(Correction).where(Correction.ticket_id.in_(ticket_ids)).values(text="")
        )

    # forgetting a resident ---------------------------------------------------------------
    async def detach_resident(self, telegram_id: int, ticket_ids: Sequence[int]) -> None:
        """Nothing kept points back at the person: their ids leave the timeline, ratings
        and survey answers, whose stars and times stay."""
        await self.session.execute(
            update(TicketEvent)
            .where(TicketEvent.ticket_id.in_(ticket_ids), TicketEvent.actor_kind == "resident")
            .values(actor_id=None)
        )
        await self.session.execute(
            update(Rating)
            .where(Rating.ticket_id.in_(ticket_ids), Rating.status.in_(UNANSWERED_RATINGS))
            .values(status="expired")
        )
        await self.session.execute(
            update(Rating)
            .where(Rating.ticket_id.in_(ticket_ids))
            .values(comment=None, resident_telegram_id=0)
        )
        await self.session.execute(
            update(ReturnVisit).where(ReturnVisit.ticket_id.in_(ticket_ids)).values(outcome=None)
        )
        # One answer per period and person is unique: each keeps a negative id of its own.
        await self.session.execute(
            update(SurveyResponse)
            .where(SurveyResponse.resident_telegram_id == telegram_id)
            .values(comment=None, resident_telegram_id=-SurveyResponse.id)
        )

    async def anonymise_visitors(self, resident_id: int) -> int:
        """Their visitors lose name, plate, the address visited, the pass code and the link
        to the resident; kind, status, people and times stay for the digest's counts."""
        result = await self.session.execute(
            update(Visitor)
            .where(Visitor.host_resident_id == resident_id)
            .values(name="", plate="", host_address="", code="", host_resident_id=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def blank_faq_questions(self, telegram_id: int) -> None:
        """The questions they asked leave the FAQ gaps (which keep their count and time)."""
        await self.session.execute(
            update(FaqGap)
            .where(FaqGap.telegram_id == telegram_id)
            .values(question="", telegram_id=None)
        )

    async def drop_private_chat(self, telegram_id: int) -> None:
        """Their dialog state goes; messages to them are not sent and keep no text."""
        await self.session.execute(
            delete(DialogState).where(
                DialogState.chat_id == telegram_id, DialogState.user_id == telegram_id
            )
        )
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.chat_id == telegram_id, OutboxMessage.status == "pending")
            .values(status="failed", error="recipient asked to be forgotten")
        )
        await self.session.execute(
            update(OutboxMessage).where(OutboxMessage.chat_id == telegram_id).values(payload={})
        )

    async def delete_resident(self, resident: Resident) -> None:
        await self.session.execute(
            update(Ticket).where(Ticket.resident_id == resident.id).values(resident_id=None)
        )
        await self.session.delete(resident)
        await self.session.flush()
