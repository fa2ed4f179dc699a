"""Service figures as SQL aggregates (never by loading tickets into Python).

Durations use a small construct compiled per dialect; percentiles use the nearest-rank
method with window functions, which SQLite and PostgreSQL both have.

Every query reads one property's period, not its history: besides the figure's own
condition each carries a *reach*, a superset of the rows it can count whose every part an
index serves (storage/models.py), so a digest costs the same at 100,000 tickets as at
1,000,000. The reach never changes a figure; it only tells the planner where to look.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    String,
    and_,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import FunctionElement

from storage.models import Rating, ReturnVisit, SurveyResponse, Ticket


class seconds_between(FunctionElement[float]):
    """`later - earlier` in seconds, on SQLite and PostgreSQL."""

    type = Float()
    inherit_cache = True


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"((julianday({compiler.process(later, **kw)}) - "
        f"julianday({compiler.process(earlier, **kw)})) * 86400.0)"
    )


@compiles(seconds_between, "postgresql")
def _seconds_pg(element: Any, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"EXTRACT(EPOCH FROM ({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)}))"
    )


# A literal, not a bound parameter: a prepared statement's generic plan can use the partial
# indexes only when the planner sees the very value their predicates name.
CANCELLED = literal_column("'cancelled'", String)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    property_id: int | None = None


@dataclass(frozen=True)
class Counts:
    new: int
    resolved: int
    open_at_end: int
    overdue_at_end: int
    resolved_of_new: int
    sla_met: int
    sla_due: int
    cancelled_of_new: int = 0


class unindexed(FunctionElement[Any]):
    """The column itself, marked so that SQLite picks no index for the comparison (its
    documented unary `+`); other databases see the bare column."""

    inherit_cache = True

    def __init__(self, column: Any) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(unindexed)
def _unindexed(element: Any, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(next(iter(element.clauses)), **kw))


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return "+" + str(compiler.process(next(iter(element.clauses)), **kw))


def open_at(end: datetime, *, reported: Any = Ticket.created_at) -> ColumnElement[bool]:
    """Reported before `end`, not resolved by then, and not cancelled by then.

    A cancel sets `closed_at`, so a ticket cancelled after `end` still counts as open at `end`.
    `reported` is `created_at`, possibly wrapped in `unindexed`.
    """
    return and_(
        reported < end,
        or_(Ticket.resolved_at.is_(None), Ticket.resolved_at >= end),
        or_(
            Ticket.status != CANCELLED,
            and_(Ticket.closed_at.is_not(None), Ticket.closed_at >= end),
        ),
    )


def reach_open_at(end: datetime) -> ColumnElement[bool]:
    """Every ticket open at `end` is in one of three index-served parts: resolved after
    `end`, the unresolved backlog (a partial index), or cancelled after `end` (another)."""
    return or_(
        Ticket.resolved_at >= end,
        and_(Ticket.resolved_at.is_(None), Ticket.status != CANCELLED, Ticket.created_at < end),
        and_(Ticket.status == CANCELLED, Ticket.closed_at >= end),
    )


def reach(w: Window) -> ColumnElement[bool]:
    """The rows any figure of `w` can count. Reported in the window covers new, cancelled and
    resolved-of-new; resolved since the start covers resolved, met, and open tickets that
    were resolved after the end; the backlog and late cancellations cover the rest of open."""
    return or_(
        and_(Ticket.created_at >= w.start, Ticket.created_at < w.end),
        Ticket.resolved_at >= w.start,
        and_(Ticket.resolved_at.is_(None), Ticket.status != CANCELLED, Ticket.created_at < w.end),
        and_(Ticket.status == CANCELLED, Ticket.closed_at >= w.end),
    )


def overdue_at(end: datetime) -> ColumnElement[bool]:
    """Open at `end` and past a deadline then: resolution, or response while not accepted."""
    unaccepted = or_(Ticket.accepted_at.is_(None), Ticket.accepted_at >= end)
    return and_(
        open_at(end),
        or_(Ticket.resolution_due_at < end, and_(unaccepted, Ticket.response_due_at < end)),
    )


class ReportRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _scope(self, window: Window) -> list[ColumnElement[bool]]:
        if window.property_id is None:
            return []
        return [Ticket.property_id == window.property_id]

    async def counts(self, w: Window) -> Counts:
        created = and_(Ticket.created_at >= w.start, Ticket.created_at < w.end)
        resolved = and_(Ticket.resolved_at >= w.start, Ticket.resolved_at < w.end)
        open_at_end = open_at(w.end)
        # Met: resolved in the window within both its response and resolution deadlines.
        met = and_(
            resolved,
            Ticket.resolved_at <= Ticket.resolution_due_at,
            Ticket.accepted_at.is_not(None),
            Ticket.accepted_at <= Ticket.response_due_at,
        )
        # Due: its outcome was decided in the window: resolved in it, or its resolution
        # deadline passed in it while still unresolved at the window's end.
        missed_unresolved = and_(
            open_at_end, Ticket.resolution_due_at >= w.start, Ticket.resolution_due_at < w.end
        )
        cancelled = and_(
            Ticket.status == CANCELLED, or_(Ticket.closed_at.is_(None), Ticket.closed_at < w.end)
        )
        query = select(
            _count(created),
            _count(resolved),
            _count(open_at_end),
            _count(overdue_at(w.end)),
            _count(and_(created, Ticket.resolved_at.is_not(None), Ticket.resolved_at < w.end)),
            _count(met),
            _count(or_(resolved, missed_unresolved)),
            _count(and_(created, cancelled)),
        ).where(reach(w), *self._scope(w))
        row = (await self.session.execute(query)).one()
        return Counts(*(int(v or 0) for v in row))

    async def percentiles(
        self, w: Window, kind: str, ranks: Sequence[float] = (0.5, 0.9)
    ) -> list[float | None]:
        """Nearest-rank percentiles of response (created→accepted) or resolution time, in s."""
        if kind == "response":
            end_col, happened = Ticket.accepted_at, Ticket.accepted_at
        else:
            end_col, happened = Ticket.resolved_at, Ticket.resolved_at
        seconds = seconds_between(end_col, Ticket.created_at).label("s")
        inner = (
            select(
                seconds,
                func.row_number().over(order_by=seconds).label("rn"),
                func.count().over().label("n"),
            )
            .where(happened >= w.start, happened < w.end, *self._scope(w))
            .subquery()
        )
        # One pass: the rows at every wanted rank come back together.
        percents = [round(p * 100) for p in ranks]
        query = select(inner.c.rn, inner.c.n, inner.c.s).where(
            or_(*(inner.c.rn == _nearest_rank(inner.c.n, percent) for percent in percents))
        )
        rows = (await self.session.execute(query)).all()
        if not rows:
            return [None] * len(percents)
        by_rank = {int(rn): float(s) for rn, _, s in rows}
        n = int(rows[0].n)
        return [by_rank.get(_nearest_rank(n, percent)) for percent in percents]

    async def by_column(self, w: Window, column: str) -> list[tuple[str, int]]:
        col = getattr(Ticket, column)
        query = (
            select(col, func.count())
            .where(Ticket.created_at >= w.start, Ticket.created_at < w.end, *self._scope(w))
            .group_by(col)
            .order_by(func.count().desc(), col)
        )
        return [(str(k), int(n)) for k, n in (await self.session.execute(query)).all()]

    async def oldest_open(self, w: Window, limit: int = 3) -> list[Ticket]:
        """The tickets open at the window's end that were reported first."""
        # OFFSET 0 keeps the candidates a subquery of their own, planned for all its rows:
        # with the ORDER BY and LIMIT beside it, the planner may instead walk the property's
        # tickets in reporting order from the very first, hoping to meet three open ones soon.
        # "Reported before the end" reaches back to the first ticket: SQLite must not walk
        # that range, but the three parts of the reach instead.
        reported = unindexed(Ticket.created_at)
        candidates = (
            select(Ticket)
            .where(open_at(w.end, reported=reported), reach_open_at(w.end), *self._scope(w))
            .offset(0)
            .subquery()
        )
        ticket = aliased(Ticket, candidates)
        query = select(ticket).order_by(ticket.created_at, ticket.id).limit(limit)
        return list((await self.session.scalars(query)).all())


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _nearest_rank(n: Any, percent: int) -> Any:
    """⌈percent·n / 100⌉ in integer arithmetic (SQLite may lack CEIL); SQL or Python alike."""
    return (n * percent + 99) // 100


@dataclass(frozen=True)
class RatingFigures:
    count: int
    average: float | None
    low: int  # 1-2 stars
    low_with_visit: int  # of the low ones: a return visit was opened
    low_visit_done: int  # of the low ones: a return visit has its outcome recorded


@dataclass(frozen=True)
class SurveyFigures:
    count: int
    average: float | None


LOW_STARS = 2


class FeedbackRepo:
    """Ratings, return visits and survey answers given within a window."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def ratings(self, w: Window) -> RatingFigures:
        low = Rating.stars <= LOW_STARS
        visit = exists().where(ReturnVisit.ticket_id == Rating.ticket_id)
        done = exists().where(
            ReturnVisit.ticket_id == Rating.ticket_id, ReturnVisit.recorded_at.is_not(None)
        )
        query = select(
            func.count(Rating.id),
            func.avg(Rating.stars),
            _count(low),
            _count(and_(low, visit)),
            _count(and_(low, done)),
        ).where(
            Rating.stars.is_not(None),
            Rating.answered_at >= w.start,
            Rating.answered_at < w.end,
        )
        if w.property_id is not None:
            # A scalar subquery, not a join: one key lookup per rating of the window, where a
            # join may be planned as a walk over every ticket (a merge or a hash join).
            of_ticket = select(Ticket.property_id).where(Ticket.id == Rating.ticket_id)
            query = query.where(of_ticket.scalar_subquery() == w.property_id)
        count, average, *rest = (await self.session.execute(query)).one()
        return RatingFigures(
            int(count or 0),
            None if average is None else float(average),
            *(int(v or 0) for v in rest),
        )

    async def survey(self, w: Window) -> SurveyFigures:
        query = select(func.count(SurveyResponse.id), func.avg(SurveyResponse.stars)).where(
            SurveyResponse.stars.is_not(None),
            SurveyResponse.answered_at >= w.start,
            SurveyResponse.answered_at < w.end,
        )
        if w.property_id is not None:
            query = query.where(SurveyResponse.property_id == w.property_id)
        count, average = (await self.session.execute(query)).one()
        return SurveyFigures(int(count or 0), None if average is None else float(average))
