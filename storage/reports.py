"""Service figures as SQL aggregates (never by loading tickets into Python).

Durations use a small construct compiled per dialect; percentiles use the nearest-rank
method with window functions, which SQLite and PostgreSQL both have.

Every query reads one property's period, not its history: besides the figure's own
condition each carries a *reach*, a superset of the rows it can count whose every part an
index serves (storage/models.py), so a digest costs the same at 100,000 tickets as at
1,000,000. The reach never changes a figure; it only tells the planner where to look.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Row,
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

from storage.incidents import MEMBER_ROLE
from storage.models import (
    Property,
    Rating,
    Resident,
    ReturnVisit,
    StaffMember,
    SurveyResponse,
    Ticket,
    TicketEvent,
    Visitor,
)


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

    def holds(self, column: Any) -> ColumnElement[bool]:
        """`column` falls in the window: `[start, end)`."""
        return and_(column >= self.start, column < self.end)

    def of_property(self, column: Any = Ticket.property_id) -> list[ColumnElement[bool]]:
        """`column` names the window's property; nothing when the window spans them all."""
        return [] if self.property_id is None else [column == self.property_id]


def reported_in(w: Window) -> list[ColumnElement[bool]]:
    """Tickets reported in the window, of its property: `ix_tickets_property_created`."""
    return [w.holds(Ticket.created_at), *w.of_property()]


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
        w.holds(Ticket.created_at),
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

    async def counts(self, w: Window) -> Counts:
        created = w.holds(Ticket.created_at)
        resolved = w.holds(Ticket.resolved_at)
        open_at_end = open_at(w.end)
        # An incident is one promise kept or missed, however many reported it: its members
        # count as reports (new, resolved) but not in the SLA figures, which its lead carries.
        once = Ticket.incident_role != MEMBER_ROLE
        # Met: resolved in the window within both its response and resolution deadlines.
        met = and_(
            once,
            resolved,
            Ticket.resolved_at <= Ticket.resolution_due_at,
            Ticket.accepted_at.is_not(None),
            Ticket.accepted_at <= Ticket.response_due_at,
        )
        # Due: its outcome was decided in the window: resolved in it, or its resolution
        # deadline passed in it while still unresolved at the window's end.
        missed_unresolved = and_(open_at_end, w.holds(Ticket.resolution_due_at))
        cancelled = and_(
            Ticket.status == CANCELLED, or_(Ticket.closed_at.is_(None), Ticket.closed_at < w.end)
        )
        query = select(
            _count(created),
            _count(resolved),
            _count(open_at_end),
            _count(and_(once, overdue_at(w.end))),
            _count(and_(created, Ticket.resolved_at.is_not(None), Ticket.resolved_at < w.end)),
            _count(met),
            _count(and_(once, or_(resolved, missed_unresolved))),
            _count(and_(created, cancelled)),
        ).where(reach(w), *w.of_property())
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
            .where(w.holds(happened), *w.of_property(), Ticket.incident_role != MEMBER_ROLE)
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
            .where(*reported_in(w))
            .group_by(col)
            .order_by(func.count().desc(), col)
        )
        return [(str(k), int(n)) for k, n in (await self.session.execute(query)).all()]

    async def by_two_columns(
        self, w: Window, first: str, second: str
    ) -> list[tuple[str, str, int]]:
        """Tickets reported in the window per pair of values: two breakdowns in one read."""
        a, b = getattr(Ticket, first), getattr(Ticket, second)
        query = select(a, b, func.count()).where(*reported_in(w)).group_by(a, b)
        rows = (await self.session.execute(query)).all()
        return [(str(x), str(y), int(n)) for x, y, n in rows]

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
            .where(open_at(w.end, reported=reported), reach_open_at(w.end), *w.of_property())
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
            w.holds(Rating.answered_at),
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
            w.holds(SurveyResponse.answered_at),
            *w.of_property(SurveyResponse.property_id),
        )
        count, average = (await self.session.execute(query)).one()
        return SurveyFigures(int(count or 0), None if average is None else float(average))


# --- exports ---------------------------------------------------------------------------------
EXPORT_BATCH = 1000
# A reopen as Dispatch records it: a status event from resolved or closed back to new
# (served by ix_ticket_events_kind_at: kind, then the period).
REOPENED_FROM = ("resolved", "closed")


def _is_reopen() -> ColumnElement[bool]:
    return and_(
        TicketEvent.kind == "status",
        TicketEvent.new_value == "new",
        TicketEvent.old_value.in_(REOPENED_FROM),
    )


class ExportRepo:
    """Rows for the managers' spreadsheet, streamed in batches so that a period of any size
    is written without holding it in memory. Every query is bounded by the tickets reported
    in the window (and the property, when given), which `ix_tickets_property_created` serves."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _stream(self, query: Any) -> AsyncIterator[Row[Any]]:
        result = await self.session.stream(query.execution_options(yield_per=EXPORT_BATCH))
        async for row in result:
            yield row

    def tickets(self, w: Window) -> AsyncIterator[Row[Any]]:
        reopened = (
            select(func.count(TicketEvent.id))
            .where(TicketEvent.ticket_id == Ticket.id, _is_reopen())
            .correlate(Ticket)
            .scalar_subquery()
        )
        query = (
            select(
                Ticket.number,
                Property.code,
                Ticket.created_at,
                Ticket.accepted_at,
                Ticket.resolved_at,
                Ticket.closed_at,
                Ticket.category,
                Ticket.urgency,
                Ticket.hazard,
                Ticket.channel,
                Ticket.registered_by_name,
                Ticket.address,
                Ticket.contact_name,
                Ticket.contact_phone,
                Ticket.team,
                Ticket.assignee_name,
                Ticket.status,
                Ticket.response_due_at,
                Ticket.resolution_due_at,
                Rating.stars,
                reopened.label("reopened"),
                Ticket.description,
            )
            .join(Property, Property.id == Ticket.property_id)
            .outerjoin(Rating, Rating.ticket_id == Ticket.id)
            .where(*reported_in(w))
            .order_by(Ticket.created_at, Ticket.id)
        )
        return self._stream(query)

    def events(self, w: Window) -> AsyncIterator[Row[Any]]:
        query = (
            select(
                Ticket.number,
                TicketEvent.at,
                TicketEvent.actor_kind,
                TicketEvent.kind,
                TicketEvent.old_value,
                TicketEvent.new_value,
                TicketEvent.note,
            )
            .join(Ticket, Ticket.id == TicketEvent.ticket_id)
            .where(*reported_in(w))
            .order_by(Ticket.created_at, Ticket.id, TicketEvent.at, TicketEvent.id)
        )
        return self._stream(query)

    async def ratings(self, w: Window) -> AsyncIterator[Row[Any]]:
        # The ratings of the window's tickets have ticket ids between the window's lowest and
        # highest: with that range the unique index on `ratings.ticket_id` bounds the read,
        # where a join alone may be planned as a hash join over every rating ever given.
        # `id + 0`: min() and max() of the bare key would be planned as a walk along the
        # primary key from either end, filtering every ticket until one of the window's.
        key = Ticket.id + 0
        ids = select(func.min(key), func.max(key)).where(*reported_in(w))
        lowest, highest = (await self.session.execute(ids)).one()
        if lowest is None:
            return
        query = (
            select(
                Ticket.number,
                Rating.status,
                Rating.stars,
                Rating.reasons,
                Rating.comment,
                Rating.asked_at,
                Rating.answered_at,
                ReturnVisit.status,
                ReturnVisit.outcome,
                ReturnVisit.recorded_at,
            )
            .join(Ticket, Ticket.id == Rating.ticket_id)
            .outerjoin(ReturnVisit, ReturnVisit.ticket_id == Rating.ticket_id)
            .where(*reported_in(w), Rating.ticket_id.between(lowest, highest))
            .order_by(Ticket.created_at, Ticket.id, ReturnVisit.id)
        )
        async for row in self._stream(query):
            yield row

    def surveys(self, w: Window) -> AsyncIterator[Row[Any]]:
        """Survey answers given in the window (surveys belong to no ticket)."""
        query = (
            select(
                SurveyResponse.period,
                Property.code,
                SurveyResponse.sent_at,
                SurveyResponse.stars,
                SurveyResponse.comment,
                SurveyResponse.answered_at,
            )
            .outerjoin(Property, Property.id == SurveyResponse.property_id)
            .where(w.holds(SurveyResponse.sent_at), *w.of_property(SurveyResponse.property_id))
            .order_by(SurveyResponse.sent_at, SurveyResponse.id)
        )
        return self._stream(query)

    def visitors(self, w: Window) -> AsyncIterator[Row[Any]]:
        """Visitors registered in the window (records older than the keeping period are gone)."""
        query = (
            select(
                Property.code,
                Visitor.kind,
                Visitor.status,
                Visitor.name,
                Visitor.people,
                Visitor.plate,
                Visitor.host_address,
                Visitor.starts_at,
                Visitor.ends_at,
                Visitor.arrived_at,
                Visitor.left_at,
                Visitor.created_at,
            )
            .join(Property, Property.id == Visitor.property_id)
            .where(Visitor.created_at >= w.start, Visitor.created_at < w.end)
            .order_by(Visitor.created_at, Visitor.id)
        )
        if w.property_id is not None:
            query = query.where(Visitor.property_id == w.property_id)
        return self._stream(query)


# --- performance per staff member and per team -------------------------------------------------
@dataclass
class GroupFigures:
    """One staff member's (key: Telegram id) or one team's (key: team code) figures."""

    key: str
    name: str = ""
    accepted: int = 0
    resolved: int = 0
    sla_met: int = 0
    sla_due: int = 0
    response_median: float | None = None
    response_p90: float | None = None
    resolution_median: float | None = None
    resolution_p90: float | None = None
    rating_count: int = 0
    rating_average: float | None = None
    low_ratings: int = 0
    reopened: int = 0
    visits_done: int = 0

    @property
    def sla_share(self) -> float | None:
        return self.sla_met / self.sla_due if self.sla_due else None


class PerformanceRepo:
    """The digest's figures grouped by the ticket's team or its assignee (the staff member
    holding it now). Every query is bounded by the property and by the period on an indexed
    time column (accepted, resolved, resolution deadline, rating answered, event time)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def figures(
        self, w: Window, by: str, teams: Sequence[str] | None = None
    ) -> list[GroupFigures]:
        """`by` is "team" or "staff"; `teams` limits to those teams (a lead's own)."""
        key = Ticket.team if by == "team" else Ticket.assignee_id
        scope: list[ColumnElement[bool]] = [key.is_not(None), *w.of_property()]
        if teams is not None:
            scope.append(Ticket.team.in_(list(teams)))
        groups: dict[str, GroupFigures] = {}

        def group(value: Any) -> GroupFigures:
            return groups.setdefault(str(value), GroupFigures(str(value)))

        await self._counts(w, key, scope, group)
        for kind in ("response", "resolution"):
            await self._percentiles(w, key, scope, kind, group)
        await self._ratings(w, key, scope, group)
        await self._reopened(w, key, scope, group)
        await self._visits(w, key, scope, group)
        if by == "staff":
            await self._names(w, scope, groups)
        return sorted(groups.values(), key=lambda g: (-g.resolved, -g.accepted, g.key))

    async def _counts(self, w: Window, key: Any, scope: list[Any], group: Any) -> None:
        accepted = w.holds(Ticket.accepted_at)
        resolved = w.holds(Ticket.resolved_at)
        due_in = w.holds(Ticket.resolution_due_at)
        met = and_(
            resolved,
            Ticket.resolved_at <= Ticket.resolution_due_at,
            Ticket.accepted_at.is_not(None),
            Ticket.accepted_at <= Ticket.response_due_at,
        )
        query = (
            select(
                key,
                _count(accepted),
                _count(resolved),
                _count(met),
                _count(or_(resolved, and_(open_at(w.end), due_in))),
            )
            .where(*scope, or_(accepted, resolved, due_in))
            .group_by(key)
        )
        for value, n_accepted, n_resolved, n_met, n_due in await self.session.execute(query):
            g = group(value)
            g.accepted, g.resolved = int(n_accepted or 0), int(n_resolved or 0)
            g.sla_met, g.sla_due = int(n_met or 0), int(n_due or 0)

    async def _percentiles(
        self, w: Window, key: Any, scope: list[Any], kind: str, group: Any
    ) -> None:
        happened = Ticket.accepted_at if kind == "response" else Ticket.resolved_at
        seconds = seconds_between(happened, Ticket.created_at).label("s")
        inner = (
            select(
                key.label("k"),
                seconds,
                func.row_number().over(partition_by=key, order_by=seconds).label("rn"),
                func.count().over(partition_by=key).label("n"),
            )
            .where(*scope, w.holds(happened))
            .subquery()
        )
        for rank_name, percent in (("median", 50), ("p90", 90)):
            rank = (inner.c.n * percent + 99) // 100  # ⌈p·n⌉, as the digest
            query = select(inner.c.k, inner.c.s).where(inner.c.rn == rank)
            for value, s in await self.session.execute(query):
                setattr(group(value), f"{kind}_{rank_name}", None if s is None else float(s))

    async def _ratings(self, w: Window, key: Any, scope: list[Any], group: Any) -> None:
        query = (
            select(key, func.count(Rating.id), func.avg(Rating.stars), _count(Rating.stars <= 2))
            .join(Ticket, Ticket.id == Rating.ticket_id)
            .where(
                *scope,
                Rating.stars.is_not(None),
                w.holds(Rating.answered_at),
            )
            .group_by(key)
        )
        for value, count, average, low in await self.session.execute(query):
            g = group(value)
            g.rating_count, g.low_ratings = int(count or 0), int(low or 0)
            g.rating_average = None if average is None else float(average)

    async def _reopened(self, w: Window, key: Any, scope: list[Any], group: Any) -> None:
        query = (
            select(key, func.count(func.distinct(Ticket.id)))
            .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
            .where(
                *scope,
                _is_reopen(),
                w.holds(TicketEvent.at),
            )
            .group_by(key)
        )
        for value, n in await self.session.execute(query):
            group(value).reopened = int(n or 0)

    async def _visits(self, w: Window, key: Any, scope: list[Any], group: Any) -> None:
        query = (
            select(key, func.count(ReturnVisit.id))
            .join(Ticket, Ticket.id == ReturnVisit.ticket_id)
            .where(*scope, w.holds(ReturnVisit.recorded_at))
            .group_by(key)
        )
        for value, n in await self.session.execute(query):
            group(value).visits_done = int(n or 0)

    async def _names(self, w: Window, scope: list[Any], groups: dict[str, GroupFigures]) -> None:
        """Staff members' names from the staff list (one row per team they belong to)."""
        if not groups:
            return
        query = select(StaffMember.telegram_id, func.max(StaffMember.name)).where(
            StaffMember.telegram_id.in_([int(k) for k in groups])
        )
        query = query.where(*w.of_property(StaffMember.property_id))
        for value, name in await self.session.execute(query.group_by(StaffMember.telegram_id)):
            groups[str(value)].name = name or ""


# --- hot spots ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Recurrence:
    """A group of tickets that recur: its key (building, unit or resident; category) and the
    tickets' numbers in the order reported."""

    place: str
    category: str
    numbers: tuple[str, ...]


@dataclass(frozen=True)
class Reopened:
    number: str
    times: int


class HotspotRepo:
    """What recurs within a window; each query is bounded by the property and the window."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _recurring(
        self, w: Window, keys: Sequence[Any], place: Any, minimum: int, *where: Any
    ) -> list[Recurrence]:
        inner = (
            select(
                Ticket.number,
                Ticket.category,
                Ticket.created_at,
                place.label("place"),
                *(k.label(f"k{i}") for i, k in enumerate(keys)),
                func.count().over(partition_by=[*keys, Ticket.category]).label("n"),
            )
            .join(Resident, Resident.id == Ticket.resident_id)
            .where(*reported_in(w), *where)
            .subquery()
        )
        group = [inner.c[f"k{i}"] for i in range(len(keys))]
        query = (
            select(inner.c.number, inner.c.category, inner.c.place, *group)
            .where(inner.c.n >= minimum)
            .order_by(*group, inner.c.category, inner.c.created_at, inner.c.number)
        )
        found: dict[tuple[Any, ...], tuple[str, str, list[str]]] = {}
        for number, category, where, *key in await self.session.execute(query):
            entry = found.setdefault((*key, category), (str(where), str(category), []))
            entry[2].append(str(number))
        return [Recurrence(p, c, tuple(numbers)) for p, c, numbers in found.values()]

    async def same_place(self, w: Window, minimum: int) -> list[Recurrence]:
        """The same building and unit with the same category `minimum` times or more."""
        keys = (Resident.building, Resident.unit)
        place = Resident.building + Resident.unit
        return await self._recurring(w, keys, place, minimum, Resident.building != "")

    async def same_resident(self, w: Window, minimum: int) -> list[Recurrence]:
        """The same resident with the same category `minimum` times or more; the place shown
        is the resident's address (their name stays out of group chats)."""
        place = Resident.building + Resident.unit + Resident.room
        return await self._recurring(w, (Resident.id,), place, minimum)

    async def reopened(self, w: Window, minimum: int) -> list[Reopened]:
        """Tickets reopened `minimum` times or more within the window."""
        times = func.count(TicketEvent.id)
        query = (
            select(Ticket.number, times)
            .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
            .where(
                _is_reopen(),
                w.holds(TicketEvent.at),
                *w.of_property(),
            )
            .group_by(Ticket.number)
            .having(times >= minimum)
            .order_by(times.desc(), Ticket.number)
        )
        return [Reopened(str(n), int(t)) for n, t in await self.session.execute(query)]

    async def sla_misses(self, w: Window) -> list[tuple[str, str]]:
        """(category, number) of the tickets whose SLA was missed in the window, in the order
        reported: due in it as the digest counts (resolved in it, or its resolution deadline
        passed in it while unresolved at its end) and not met."""
        resolved = w.holds(Ticket.resolved_at)
        late = or_(
            Ticket.resolved_at > Ticket.resolution_due_at,
            Ticket.accepted_at.is_(None),
            Ticket.accepted_at > Ticket.response_due_at,
        )
        missed = or_(and_(resolved, late), and_(open_at(w.end), w.holds(Ticket.resolution_due_at)))
        query = (
            select(Ticket.category, Ticket.number)
            # the reach: two index-served time ranges of the property
            .where(or_(resolved, w.holds(Ticket.resolution_due_at)), *w.of_property(), missed)
            .order_by(Ticket.category, Ticket.created_at, Ticket.id)
        )
        return [(str(c), str(n)) for c, n in await self.session.execute(query)]
