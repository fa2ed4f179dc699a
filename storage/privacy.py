"""Queries for personal data: what a resident's export reads, what retention and /forgetme
blank. Like every repository, it never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import String, cast, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Correction,
    DialogState,
    FaqDraft,
    FaqGap,
    Notice,
    NoticeOptOut,
    NoticeRecipient,
    OutboxMessage,
    Rating,
    Resident,
    ReturnVisit,
    SurveyResponse,
    Ticket,
    TicketCard,
    TicketEvent,
    Visitor,
)

CLOSED_STATUSES = ("closed", "cancelled")
UNANSWERED_RATINGS = ("scheduled", "asked", "reminded")
# An approved draft is the property's own FAQ text; the others still carry the question
# copied from the resident's description.
UNAPPROVED_DRAFTS = ("writing", "pending", "rejected")
OPEN_DRAFTS = ("writing", "pending")


# OR-ed conditions per statement of the outbox search (SQLite's expression depth is 1,000)
CONDITIONS_PER_QUERY = 200


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

    async def open_faq_drafts(self, ticket_ids: Sequence[int]) -> Sequence[FaqDraft]:
        """FAQ drafts of their inquiries still being written or waiting for a manager."""
        query = (
            select(FaqDraft)
            .where(FaqDraft.ticket_id.in_(ticket_ids), FaqDraft.status.in_(OPEN_DRAFTS))
            .order_by(FaqDraft.id)
        )
        return (await self.session.scalars(query)).all()

    async def dialog_of(self, telegram_id: int) -> DialogState | None:
        """The conversation under way in their private chat (a registration half done)."""
        return await self.session.get(DialogState, (telegram_id, telegram_id))

    async def waiting_for(self, telegram_id: int) -> Sequence[OutboxMessage]:
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.chat_id == telegram_id, OutboxMessage.status == "pending")
            .order_by(OutboxMessage.id)
        )
        return (await self.session.scalars(query)).all()

    async def notices_opt_out(self, telegram_id: int) -> NoticeOptOut | None:
        return await self.session.get(NoticeOptOut, telegram_id)

    async def notices_received(self, telegram_id: int) -> Sequence[Notice]:
        query = (
            select(Notice)
            .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
            .where(NoticeRecipient.telegram_id == telegram_id)
            .order_by(Notice.id)
        )
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

    async def delete_unapproved_drafts(self, ticket_ids: Sequence[int]) -> list[int]:
        """Drafts of their inquiries not approved go (the writer's dialog then finds its
        draft gone); returns every draft id of those inquiries, for their messages."""
        ids = list(
            (
                await self.session.scalars(
                    select(FaqDraft.id).where(FaqDraft.ticket_id.in_(ticket_ids))
                )
            ).all()
        )
        await self.session.execute(
            delete(FaqDraft).where(
                FaqDraft.ticket_id.in_(ticket_ids), FaqDraft.status.in_(UNAPPROVED_DRAFTS)
            )
        )
        return ids

    async def drop_notices(self, telegram_id: int) -> None:
        """Their /notices choice and the list of announcements sent to them."""
        await self.session.execute(
            delete(NoticeOptOut).where(NoticeOptOut.telegram_id == telegram_id)
        )
        await self.session.execute(
            delete(NoticeRecipient).where(NoticeRecipient.telegram_id == telegram_id)
        )

    async def card_ids_of(self, ticket_ids: Sequence[int]) -> list[int]:
        query = select(TicketCard.id).where(TicketCard.ticket_id.in_(ticket_ids))
        return list((await self.session.scalars(query)).all())

    async def return_visit_ids_of(self, ticket_ids: Sequence[int]) -> list[int]:
        query = select(ReturnVisit.id).where(ReturnVisit.ticket_id.in_(ticket_ids))
        return list((await self.session.scalars(query)).all())

    async def outbox_about(
        self, keys: Sequence[str], prefixes: Sequence[str], marks: Sequence[str]
    ) -> Sequence[OutboxMessage]:
        """Outbox rows written for someone: by key (exactly, or its start), or whose payload
        mentions a mark (a ticket number, a phone). Marks are ASCII, so they read the same
        in either database's JSON; the caller checks each hit (a longer number matches).
        A whole scan, but only on a /forgetme."""
        payload = cast(OutboxMessage.payload, String)
        conditions = [
            OutboxMessage.dedupe_key.in_(keys),
            *(OutboxMessage.dedupe_key.startswith(p, autoescape=True) for p in prefixes),
            *(payload.contains(m, autoescape=True) for m in marks),
        ]
        found: dict[int, OutboxMessage] = {}
        # in chunks: SQLite refuses an expression deeper than 1,000 terms (a resident with
        # a hundred tickets has more prefixes than that)
        for start in range(0, len(conditions), CONDITIONS_PER_QUERY):
            chunk = conditions[start : start + CONDITIONS_PER_QUERY]
            for row in (await self.session.scalars(select(OutboxMessage).where(or_(*chunk)))).all():
                found[row.id] = row
        return [found[row_id] for row_id in sorted(found)]

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
