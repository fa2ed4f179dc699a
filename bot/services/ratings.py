"""Ratings after a confirmed fix, and return visits (回访) after a low score or "not solved".

Ratings are timers as data: a row's `due_at` says when the sweep next looks at it
(ask, remind once, then close unrated). Nothing reaches a resident in quiet hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.policy import (
    opens_return_visit,
    quiet_until,
    rating_reminder_wait,
    rating_request_due,
    return_visit_due,
)
from bot.domain.vocabulary import RatingState, VisitStatus
from bot.services.desk import Desk, uow_of
from storage.models import Rating, Resident, ReturnVisit, SurveyResponse, Ticket

REASONS: tuple[str, ...] = ("slow", "not_fixed", "attitude", "dirty", "other")
COMMENT_LIMIT = 1000


class RatingRefused(Exception):
    """The rating is not the presser's, already answered or closed."""


class Ratings:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.uow = uow_of(desk)
        self.config = desk.settings.rating

    # scheduling ------------------------------------------------------------------------
    async def schedule(self, ticket: Ticket, resident: Resident) -> Rating | None:
        """After the resident confirms: ask for stars `delay_minutes` later (once per ticket)."""
        if await self.uow.ratings.for_ticket(ticket.id) is not None:
            return None
        rating = Rating(
            ticket_id=ticket.id,
            resident_telegram_id=resident.telegram_id,
            status=RatingState.SCHEDULED,
            due_at=rating_request_due(self.desk.now(), self.desk.settings),
        )
        return await self.uow.ratings.add(rating)

    def quiet_until(self, now: datetime) -> datetime | None:
        return quiet_until(now, self.desk.settings)

    def advance(self, rating: Rating, now: datetime) -> str | None:
        """Move a due rating one step; returns "ask", "remind", or None (closed or waiting)."""
        if rating.status == RatingState.REMINDED:
            rating.status = RatingState.EXPIRED  # closes unrated
            return None
        morning = self.quiet_until(now)
        if morning is not None:
            rating.due_at = morning
            return None
        wait = rating_reminder_wait(self.desk.settings)
        if rating.status == RatingState.SCHEDULED:
            rating.status, rating.asked_at, rating.due_at = RatingState.ASKED, now, now + wait
            return "ask"
        if rating.status == RatingState.ASKED:
            rating.status, rating.reminded_at = RatingState.REMINDED, now
            rating.due_at = now + wait
            return "remind"
        return None

    # answers ---------------------------------------------------------------------------
    async def answer(self, telegram_id: int, rating_id: int, stars: int) -> Rating:
        rating = await self._own(telegram_id, rating_id)
        if not 1 <= stars <= 5:
            raise RatingRefused("stars out of range")
        if not await self.uow.ratings.record_stars(rating.id, stars, self.desk.now()):
            raise RatingRefused("already answered or closed")
        await self.uow.session.refresh(rating)
        ticket = await self.uow.tickets.get(rating.ticket_id)
        if ticket is not None:
            await self.desk.record(
                ticket, "rated", actor_kind="resident", actor_id=telegram_id, new=str(stars)
            )
            if opens_return_visit(stars):
                await self.open_return_visit(ticket, "low_rating")
        return rating

    async def add_reason(self, telegram_id: int, rating_id: int, reason: str) -> Rating:
        rating = await self._own(telegram_id, rating_id)
        if reason not in REASONS or rating.stars is None:
            raise RatingRefused("unknown reason")
        if reason not in rating.reasons:
            rating.reasons = [*rating.reasons, reason]
        return rating

    async def add_comment(self, telegram_id: int, rating_id: int, text: str) -> Rating:
        rating = await self._own(telegram_id, rating_id)
        rating.comment = text[:COMMENT_LIMIT]
        return rating

    async def _own(self, telegram_id: int, rating_id: int) -> Rating:
        rating = await self.uow.ratings.get(rating_id)
        if rating is None or rating.resident_telegram_id != telegram_id:
            raise RatingRefused("not yours")
        return rating

    async def for_ticket(self, ticket_id: int) -> Rating | None:
        return await self.uow.ratings.for_ticket(ticket_id)

    # surveys ---------------------------------------------------------------------------
    async def answer_survey(self, period: str, telegram_id: int, stars: int) -> SurveyResponse:
        """Stars for the period's survey, once; RatingRefused when unknown or answered."""
        row = await self.uow.surveys.get(period, telegram_id)
        if row is None or row.stars is not None or not 1 <= stars <= 5:
            raise RatingRefused("no open survey")
        row.stars, row.answered_at = stars, self.desk.now()
        return row

    async def comment_survey(self, period: str, telegram_id: int, text: str) -> None:
        row = await self.uow.surveys.get(period, telegram_id)
        if row is not None:
            row.comment = text[:COMMENT_LIMIT]

    # return visits ---------------------------------------------------------------------
    async def visits_for(self, ticket_id: int) -> Sequence[ReturnVisit]:
        return await self.uow.visits.for_ticket(ticket_id)

    async def latest_visit(self, ticket_id: int) -> ReturnVisit | None:
        visits = await self.visits_for(ticket_id)
        return visits[-1] if visits else None

    async def visit(self, visit_id: int) -> ReturnVisit | None:
        return await self.uow.visits.get(visit_id)

    async def open_return_visit(self, ticket: Ticket, reason: str) -> ReturnVisit:
        now = self.desk.now()
        visit = ReturnVisit(
            ticket_id=ticket.id,
            reason=reason,
            status=VisitStatus.OPEN,
            created_at=now,
            due_at=return_visit_due(now, self.desk.settings),
        )
        await self.uow.visits.add(visit)
        await self.desk.record(ticket, "return_visit", actor_kind="system", new=reason)
        return visit

    async def record_visit(self, visit_id: int, actor_id: int, outcome: str) -> ReturnVisit:
        visit = await self.uow.visits.get(visit_id)
        if visit is None or visit.status != VisitStatus.OPEN:
            raise RatingRefused("no open return visit")
        now = self.desk.now()
        visit.status, visit.outcome = VisitStatus.DONE, outcome[:COMMENT_LIMIT]
        visit.recorded_by, visit.recorded_at = actor_id, now
        ticket = await self.uow.tickets.get(visit.ticket_id)
        if ticket is not None:
            await self.desk.record(
                ticket,
                "return_visit_done",
                actor_kind="staff",
                actor_id=actor_id,
                note=visit.outcome,
            )
        return visit
