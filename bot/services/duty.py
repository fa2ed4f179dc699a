"""Duty (值班): who of a team is on duty now, and the private calls to them.

The rota in settings (`[[duty]]`, weekly shifts) says who is scheduled; a lead's `/duty`
and a member's own `/onduty` / `/offduty` are marks that count for `DUTY_MARK_HOURS`
and win over the rota (`policy.on_duty`). A team with neither has nobody on duty, and
everything goes to its group as before. Each private call is recorded once per ticket,
person and kind, so a sweep repeated after a crash calls nobody twice and the managers'
digest can say how the night went.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import DutyRotaConfig, Settings, ShiftConfig
from bot.domain.policy import (
    calls_duty_for_card,
    calls_duty_for_sla,
    duty_mark_until,
    may_set_duty,
    on_duty,
    shift_covers,
    shift_meets,
)
from bot.domain.vocabulary import TEAMS, DutyCall
from bot.services.desk import Desk, uow_of
from bot.services.staff import Actor, NotAllowed
from storage.duty import DutyRepo
from storage.models import DutyCallRow, DutyMark, Property, StaffMember, Ticket
from storage.repositories import StaffRepo

# A period's roster looks at the rota this often: finer than any sensible shift.
ROSTER_STEP = timedelta(minutes=30)


@dataclass(frozen=True)
class DutyCallFigures:
    """One person's night in the digest: how many emergencies reached them privately,
    how many were accepted in time, and by them."""

    telegram_id: int
    name: str
    team: str
    emergencies: int
    accepted_in_time: int
    accepted_by_them: int
    resolved: int


class DutyService:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.uow = uow_of(desk)

    # who is on duty ----------------------------------------------------------------------
    def rota(self, prop: Property, team: str) -> DutyRotaConfig | None:
        return rota_of(self.desk.settings, prop, team)

    def scheduled(
        self, prop: Property, team: str, members: Sequence[StaffMember], now: datetime
    ) -> set[int]:
        """Who the rota puts on duty now, among the team's active members."""
        settings = self.desk.settings
        return self._rostered(prop, team, members, lambda s: shift_covers(s, now, settings))

    def scheduled_between(
        self,
        prop: Property,
        team: str,
        members: Sequence[StaffMember],
        start: datetime,
        end: datetime,
    ) -> set[int]:
        """Who the rota puts on duty at some moment of [start, end), among active members."""
        settings = self.desk.settings
        return self._rostered(prop, team, members, lambda s: shift_meets(s, start, end, settings))

    def _rostered(
        self,
        prop: Property,
        team: str,
        members: Sequence[StaffMember],
        counts: Callable[[ShiftConfig], bool],
    ) -> set[int]:
        rota = self.rota(prop, team)
        if rota is None:
            return set()
        wanted: set[int | str] = set()
        for shift in rota.shifts:
            if counts(shift):
                wanted |= set(shift.staff)
        return {m.telegram_id for m in members if _named(m, wanted)}

    async def on_duty(self, prop: Property, team: str) -> list[StaffMember]:
        """The team's members on duty now, in the order /staff lists them."""
        now = self.desk.now()
        members = await self.uow.staff.of_team(prop.id, team)
        marked: dict[int, bool] = {}
        for mark in await self.uow.duty.marks(prop.id, team, now):
            marked[mark.telegram_id] = mark.on_duty  # the later mark wins
        ids = on_duty(
            self.scheduled(prop, team, members, now),
            {who for who, on in marked.items() if on},
            {who for who, on in marked.items() if not on},
        )
        return [m for m in members if m.telegram_id in ids]

    async def roster(self, prop: Property) -> dict[str, list[StaffMember]]:
        """Every team's people on duty now (teams with nobody left out)."""
        roster = {team: await self.on_duty(prop, team) for team in TEAMS}
        return {team: people for team, people in roster.items() if people}

    # setting it by hand --------------------------------------------------------------------
    @staticmethod
    def check_may_set(actor: Actor, team: str) -> None:
        if team not in TEAMS:
            raise NotAllowed("staff.unknown_team")
        if not may_set_duty(actor, team):
            raise NotAllowed("staff.command_not_allowed")

    async def set_duty(
        self, actor: Actor, prop: Property, team: str, people: Sequence[StaffMember]
    ) -> None:
        """`/duty <team> <who>`: exactly these are on duty until the mark ends; whoever the
        rota schedules at any moment of it is marked off (a /duty at 17:50 replaces the
        18:00 night shift too, not only the day shift on now)."""
        self.check_may_set(actor, team)
        now = self.desk.now()
        await self.uow.duty.end_marks(prop.id, team, now)
        chosen = {p.telegram_id for p in people}
        members = await self.uow.staff.of_team(prop.id, team)
        replaced = self.scheduled_between(prop, team, members, now, duty_mark_until(now))
        for member in members:
            on = member.telegram_id in chosen
            if on or member.telegram_id in replaced:
                await self._mark(actor, prop, team, member.telegram_id, on, now)

    async def back_to_rota(self, actor: Actor, prop: Property, team: str) -> None:
        """`/duty <team> rota`: every mark of the team ends; the rota decides again."""
        self.check_may_set(actor, team)
        await self.uow.duty.end_marks(prop.id, team, self.desk.now())

    async def go_on(self, actor: Actor, prop: Property) -> list[str]:
        """`/onduty`: the actor is on duty in every team they belong to; the teams."""
        return await self._mark_self(actor, prop, True)

    async def go_off(self, actor: Actor, prop: Property) -> list[str]:
        """`/offduty`: the actor is off duty in every team they belong to; the teams."""
        return await self._mark_self(actor, prop, False)

    async def _mark_self(self, actor: Actor, prop: Property, on: bool) -> list[str]:
        teams = sorted(actor.roles)
        if not teams:
            raise NotAllowed("duty.not_staff")
        now = self.desk.now()
        for team in teams:
            await self.uow.duty.end_marks(prop.id, team, now, actor.telegram_id)
            await self._mark(actor, prop, team, actor.telegram_id, on, now)
        return teams

    async def _mark(
        self, actor: Actor, prop: Property, team: str, who: int, on: bool, now: datetime
    ) -> None:
        mark = DutyMark(
            property_id=prop.id,
            team=team,
            telegram_id=who,
            on_duty=on,
            set_by=actor.telegram_id,
            set_at=now,
            until=duty_mark_until(now),
        )
        await self.uow.duty.add_mark(mark)

    async def member_named(self, prop: Property, team: str, word: str) -> StaffMember | None:
        """A team member by Telegram id, @username or name (as /staff lists them)."""
        token: int | str = int(word) if word.lstrip("-").isdigit() else word
        for member in await self.uow.staff.of_team(prop.id, team):
            if _named(member, {token}):
                return member
        return None

    # calling the person on duty ----------------------------------------------------------
    async def to_call(self, ticket: Ticket, kind: DutyCall) -> list[StaffMember]:
        """Whom to call privately about a ticket now: its team's people on duty, when the
        policy says so (outside business hours), less anyone already called for this.
        Each one returned is recorded as called."""
        now, settings = self.desk.now(), self.desk.settings
        due = (
            calls_duty_for_card(ticket.urgency, now, settings)
            if kind == DutyCall.CARD
            else calls_duty_for_sla(now, settings)
        )
        prop = await self.desk.property(ticket.property_id) if due else None
        if prop is None:
            return []
        called = []
        for member in await self.on_duty(prop, ticket.team):
            if await self.uow.duty.called(ticket.id, member.telegram_id, kind):
                continue
            await self.uow.duty.add_call(
                DutyCallRow(
                    ticket_id=ticket.id,
                    property_id=ticket.property_id,
                    team=ticket.team,
                    telegram_id=member.telegram_id,
                    name=member.name[:64],
                    kind=kind,
                    at=now,
                )
            )
            called.append(member)
        return called

    async def called_about(self, ticket: Ticket) -> bool:
        """Whether anyone on duty was called privately about this ticket's card."""
        return any(c.kind == DutyCall.CARD for c in await self.uow.duty.calls_for(ticket.id))


def rota_of(settings: Settings, prop: Property, team: str) -> DutyRotaConfig | None:
    """The team's rota at this property; one without `property` is the first property's."""
    first = settings.properties[0].code
    for entry in settings.duty:
        if entry.team == team and (entry.property or first) == prop.code:
            return entry
    return None


async def duty_roster(
    session: AsyncSession, settings: Settings, prop: Property, start: datetime, end: datetime
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Who was on duty in a period, per team: whoever a rota shift put on duty at some moment
    of it, and whoever a /duty or /onduty put on duty for part of it (by the members' names
    now). Empty for a property with no rota and no marks."""
    staff, people = StaffRepo(session), {}
    marks = await DutyRepo(session).marks_between(prop.id, start, end)
    teams = {m.team for m in marks} | {
        r.team for r in settings.duty if rota_of(settings, prop, r.team) is r
    }
    for team in sorted(teams):
        members = await staff.of_team(prop.id, team)
        wanted: set[int | str] = {m.telegram_id for m in marks if m.team == team}
        rota = rota_of(settings, prop, team)
        moment = start
        while rota is not None and moment < end:
            for shift in rota.shifts:
                if shift_covers(shift, moment, settings):
                    wanted |= set(shift.staff)
            moment += ROSTER_STEP
        names = tuple(m.name or str(m.telegram_id) for m in members if _named(m, wanted))
        if names:
            people[team] = names
    return tuple(people.items())


def duty_figures(calls: Sequence[tuple[DutyCallRow, Ticket]]) -> list[DutyCallFigures]:
    """Per person on duty: the emergencies that reached them privately (calls of a period
    with their tickets) and how they went: accepted within the response time, accepted by
    them (the holder now), resolved."""
    tickets: dict[int, dict[int, Ticket]] = {}
    names: dict[int, tuple[str, str]] = {}
    for call, ticket in calls:
        if call.kind != DutyCall.CARD:
            continue
        tickets.setdefault(call.telegram_id, {})[ticket.id] = ticket
        names[call.telegram_id] = (call.name, call.team)
    figures = []
    for who, theirs in tickets.items():
        accepted = [t for t in theirs.values() if t.accepted_at is not None]
        figures.append(
            DutyCallFigures(
                telegram_id=who,
                name=names[who][0],
                team=names[who][1],
                emergencies=len(theirs),
                accepted_in_time=sum(
                    1 for t in accepted if t.accepted_at and t.accepted_at <= t.response_due_at
                ),
                accepted_by_them=sum(1 for t in accepted if t.assignee_id == who),
                resolved=sum(1 for t in theirs.values() if t.resolved_at is not None),
            )
        )
    return sorted(figures, key=lambda f: (f.team, f.name, f.telegram_id))


def _named(member: StaffMember, wanted: set[int | str]) -> bool:
    """Whether a rota or command names this member: by id, @username or name."""
    if member.telegram_id in wanted:
        return True
    words = {w.strip() for w in wanted if isinstance(w, str)}
    username = f"@{member.username}" if member.username else None
    return bool(words & {member.name, username} - {None, ""})
