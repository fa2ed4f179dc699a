"""Handover: what happens to the tickets someone holds when they leave a team or go off
duty.

Removing a member returns every ticket they hold in the teams they leave to that team's
pool, through the dispatch's one transition path (`Dispatch.reassign`), so each return
is a status event in the ticket's timeline; the remover is then asked, per ticket, whether
a named colleague should have it instead. Going off duty asks the holder the same for each
open ticket: back to the pool, to a colleague, or keep it (the default). Deadlines and
promised times stay as they were: the resident is not told, since nothing they were
promised changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.domain.policy import held_by_someone, may_hand_over, may_take_handover, waits_in_pool
from bot.services.desk import Desk, uow_of
from bot.services.dispatch import Conflict, Dispatch
from bot.services.duty import DutyService
from bot.services.lifecycle import OPEN_STATUSES, IllegalTransition
from bot.services.staff import Actor, NotAllowed, StaffService
from storage.models import Property, StaffMember, Ticket


class TakenMeanwhile(Exception):
    """The removal question answered after the returned ticket left the pool (someone
    accepted it, it was finished or moved): nothing changes; `ticket` says where it is."""

    def __init__(self, ticket: Ticket) -> None:
        super().__init__(ticket.number)
        self.ticket = ticket


@dataclass(frozen=True)
class Removal:
    members: Sequence[StaffMember]  # the memberships ended
    returned: Sequence[Ticket]  # the tickets back in their team's pool


class Handover:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.uow = uow_of(desk)
        self.staff = StaffService(desk)
        self.dispatch = Dispatch(desk)

    async def held(self, property_id: int, telegram_id: int, teams: Sequence[str]) -> list[Ticket]:
        """The open tickets someone holds in some teams of a property, oldest first."""
        tickets = await self.uow.tickets.held_by(
            property_id, telegram_id, teams, sorted(OPEN_STATUSES)
        )
        return [t for t in tickets if held_by_someone(t.status)]

    async def remove(
        self,
        actor: Actor,
        prop: Property,
        telegram_id: int,
        team: str | None,
        reason_for: Callable[[str], str],
    ) -> Removal:
        """End someone's memberships and return what they held there to the pool;
        `reason_for(name)` is the note each return records."""
        members = await self.staff.remove(actor, prop, telegram_id, team)
        teams = sorted({m.team for m in members})
        reason = reason_for(members[0].name or str(telegram_id)) if members else ""
        tickets = await self.held(prop.id, telegram_id, teams) if teams else []
        returned = [t for t in tickets if await self.to_pool(actor, t, reason)]
        return Removal(members, returned)

    async def to_pool(self, actor: Actor, ticket: Ticket, reason: str) -> bool:
        """False when the ticket finished or moved on meanwhile."""
        try:
            await self.dispatch.reassign(actor, ticket, None, reason)
        except (IllegalTransition, Conflict):
            return False
        return True

    # answers to the handover question -----------------------------------------------------
    def check(self, actor: Actor, ticket: Ticket) -> None:
        """Only the holder, or a lead of the ticket's team, answers for a ticket."""
        if not may_hand_over(actor, ticket):
            raise NotAllowed("duty.not_yours")

    async def colleagues(self, ticket: Ticket, but: Sequence[int]) -> list[StaffMember]:
        """Who of the ticket's team could take it, people on duty first."""
        prop = await self.desk.property(ticket.property_id)
        members = await self.uow.staff.of_team(ticket.property_id, ticket.team)
        duty = await DutyService(self.desk).on_duty(prop, ticket.team) if prop else []
        on_duty = {m.telegram_id for m in duty}
        free = [m for m in members if m.telegram_id not in but]
        return sorted(free, key=lambda m: (m.telegram_id not in on_duty, m.id))

    async def give(self, actor: Actor, ticket: Ticket, telegram_id: int) -> StaffMember:
        """To a named colleague of the ticket's team; they hold it from now on."""
        self.check(actor, ticket)
        member = await self.uow.staff.member(ticket.property_id, ticket.team, telegram_id)
        if member is None or not may_take_handover(member.team, member.active, ticket):
            raise NotAllowed("duty.no_colleague")
        await self.dispatch.hand_to(actor, ticket, member.telegram_id, member.name)
        return member

    # answers to the removal question (the ticket went back to the pool) -----------------
    def check_still_in_pool(self, actor: Actor, ticket: Ticket) -> None:
        """The remover's question holds only while the ticket waits in the pool."""
        self.check(actor, ticket)
        if not waits_in_pool(ticket.status, ticket.assignee_id):
            raise TakenMeanwhile(ticket)

    async def give_from_pool(self, actor: Actor, ticket: Ticket, telegram_id: int) -> StaffMember:
        """A colleague takes a ticket /remove sent back to the pool; refused (TakenMeanwhile)
        once someone accepted it since, even at the same moment (the accept is conditional
        on the ticket still being new)."""
        self.check_still_in_pool(actor, ticket)
        try:
            return await self.give(actor, ticket, telegram_id)
        except Conflict as exc:
            raise TakenMeanwhile(ticket) from exc

    async def back_to_pool(self, actor: Actor, ticket: Ticket, reason: str) -> bool:
        """The holder's answer "back to the pool"; False when it already is there."""
        self.check(actor, ticket)
        if not held_by_someone(ticket.status):
            return False
        return await self.to_pool(actor, ticket, reason)
