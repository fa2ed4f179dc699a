"""Ticket work: staff actions from cards and the resident's follow-ups.

Every status change goes through `lifecycle.next_status` and one conditional UPDATE
(`WHERE status = <what we saw>`), so a stale or concurrent action changes nothing.
Every change writes a ticket event (actor, old, new). Authorisation is checked here,
for every action, so no transport or handler can skip it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain.policy import may_act_on_ticket, may_take_over
from bot.domain.vocabulary import CATEGORIES, TEAMS, URGENCIES, CardAction
from bot.services.desk import Desk, uow_of
from bot.services.lifecycle import OPEN_STATUSES, IllegalTransition, Status, next_status
from bot.services.ratings import Ratings
from bot.services.staff import Actor, NotAllowed, StaffService
from bot.services.timers import (
    carried_pause,
    reschedule,
    resume_after_pause,
    working_hours,
)
from storage.models import Correction, Resident, Ticket, TicketEvent

NOTE_LIMIT = 2000
REOPENED_FROM = (Status.RESOLVED, Status.CLOSED)  # a status event from these to new


class Conflict(Exception):
    """Someone else changed the ticket first; `ticket` is reloaded and shows what they did."""

    def __init__(self, ticket: Ticket) -> None:
        super().__init__(f"ticket {ticket.id} changed concurrently")
        self.ticket = ticket


class Dispatch:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.uow = uow_of(desk)
        self.staff = StaffService(desk)

    async def actor_for(self, telegram_id: int, ticket: Ticket, name: str = "") -> Actor:
        return await self.staff.actor(telegram_id, ticket.property_id, name)

    @staticmethod
    def authorize(actor: Actor, ticket: Ticket, action: str) -> None:
        if not may_act_on_ticket(actor, ticket, action):
            raise NotAllowed("staff.not_allowed")

    # staff actions ---------------------------------------------------------------------
    async def accept(self, actor: Actor, ticket: Ticket) -> TicketEvent:
        self.authorize(actor, ticket, CardAction.ACCEPT)
        now = self.desk.now()
        event = await self._move(
            ticket,
            "accept",
            actor,
            assignee_id=actor.telegram_id,
            assignee_name=actor.name[:64],
            accepted_at=now,
        )
        await self._staff_event(ticket, actor, "assignee", None, actor.name)
        return event

    async def start(self, actor: Actor, ticket: Ticket) -> TicketEvent:
        self.authorize(actor, ticket, CardAction.START)
        return await self._move(ticket, "start", actor)

    async def complete(
        self, actor: Actor, ticket: Ticket, note: str, photos: Sequence[str] = ()
    ) -> TicketEvent:
        self.authorize(actor, ticket, CardAction.COMPLETE)
        return await self._move(
            ticket,
            "resolve",
            actor,
            note=note[:NOTE_LIMIT] or None,
            photos=photos,
            resolved_at=self.desk.now(),
        )

    async def reassign(
        self, actor: Actor, ticket: Ticket, team: str | None, reason: str
    ) -> TicketEvent:
        """To another team, or back to the pool of the same team (team None)."""
        self.authorize(actor, ticket, CardAction.REASSIGN)
        target = team or ticket.team
        if target not in TEAMS:
            raise NotAllowed("staff.unknown_team")
        if target == ticket.team and ticket.status == Status.NEW:
            raise IllegalTransition("reassign", ticket.status)  # already waiting in this pool
        old_team, old_assignee = ticket.team, ticket.assignee_name
        event = await self._move(
            ticket,
            "reassign",
            actor,
            note=reason[:NOTE_LIMIT],
            team=target,
            assignee_id=None,
            assignee_name=None,
            accepted_at=None,
        )
        if old_assignee:
            await self._staff_event(ticket, actor, "assignee", old_assignee, None)
        if target != old_team:
            await self._staff_event(ticket, actor, "team", old_team, target, reason)
        return event

    async def take_over(self, actor: Actor, ticket: Ticket) -> TicketEvent:
        """A lead takes a ticket of their team: a new one they accept; a held one changes
        hands and keeps its status and its promises (the holder may be gone)."""
        if not may_take_over(actor, ticket):
            raise NotAllowed("staff.takeover_not_allowed")
        if ticket.status == Status.NEW:
            return await self.accept(actor, ticket)
        _require_open(ticket, "take_over")
        if ticket.assignee_id == actor.telegram_id:
            raise IllegalTransition("take_over", ticket.status)
        old_name = ticket.assignee_name
        hands = {"assignee_id": actor.telegram_id, "assignee_name": actor.name[:64]}
        changed = await self.uow.tickets.transition(
            ticket.id, ticket.status, {**hands, "updated_at": self.desk.now()}
        )
        await self.uow.tickets.refresh(ticket)
        if not changed:
            raise Conflict(ticket)
        return await self._staff_event(ticket, actor, "assignee", old_name, actor.name)

    async def hand_to(
        self, actor: Actor, ticket: Ticket, telegram_id: int, name: str
    ) -> TicketEvent:
        """A handover to a named colleague of the ticket's team (checked by the caller): a
        ticket in the pool is accepted for them; a held one changes hands and keeps its
        status and its promises."""
        if ticket.assignee_id == telegram_id:
            raise IllegalTransition("hand_to", ticket.status)
        if ticket.status == Status.NEW:
            await self._move(
                ticket,
                "accept",
                actor,
                assignee_id=telegram_id,
                assignee_name=name[:64],
                accepted_at=self.desk.now(),
            )
            return await self._staff_event(ticket, actor, "assignee", None, name)
        _require_open(ticket, "hand_to")
        old_name = ticket.assignee_name
        hands = {"assignee_id": telegram_id, "assignee_name": name[:64]}
        changed = await self.uow.tickets.transition(
            ticket.id, ticket.status, {**hands, "updated_at": self.desk.now()}
        )
        await self.uow.tickets.refresh(ticket)
        if not changed:
            raise Conflict(ticket)
        return await self._staff_event(ticket, actor, "assignee", old_name, name)

    async def wait(self, actor: Actor, ticket: Ticket) -> TicketEvent:
        """Waiting for the resident (nobody home, parts to choose): the resolution clock stops."""
        self.authorize(actor, ticket, CardAction.WAIT)
        return await self._move(ticket, "wait", actor)

    async def set_estimate(self, actor: Actor, ticket: Ticket, at: datetime) -> TicketEvent:
        """A new estimate the resident is told, e.g. when a deadline will be missed."""
        self.authorize(actor, ticket, CardAction.ESTIMATE)
        _require_open(ticket, "estimate")
        ticket.estimate_at, ticket.updated_at = at, self.desk.now()
        tz = self.desk.settings.tz
        return await self._staff_event(
            ticket, actor, "estimate", None, at.astimezone(tz).strftime("%m-%d %H:%M")
        )

    async def contact(self, actor: Actor, ticket: Ticket) -> str:
        """The full number, for the presser's private chat only; the look-up is recorded."""
        self.authorize(actor, ticket, CardAction.CONTACT)
        await self._staff_event(ticket, actor, "contact", None, None)
        return ticket.contact_phone

    async def note(
        self, actor: Actor, ticket: Ticket, text: str, photos: Sequence[str] = ()
    ) -> TicketEvent:
        self.authorize(actor, ticket, CardAction.NOTE)
        _require_open(ticket, "note")
        return await self._staff_event(ticket, actor, "note", None, None, text[:NOTE_LIMIT], photos)

    async def set_category(self, actor: Actor, ticket: Ticket, category: str) -> bool:
        """Change the category; the classifier's mistake is kept as a correction."""
        self.authorize(actor, ticket, CardAction.CATEGORY)
        _require_open(ticket, "category")
        if category not in CATEGORIES:
            raise NotAllowed("staff.not_allowed")
        if category == ticket.category:
            return False
        old = ticket.category
        ticket.category, ticket.updated_at = category, self.desk.now()
        await self._correction(ticket, actor, "category", old, category)
        await self._staff_event(ticket, actor, "category", old, category)
        return True

    async def set_urgency(self, actor: Actor, ticket: Ticket, urgency: str) -> bool:
        """Change the urgency; the deadlines follow it, counted from the report."""
        self.authorize(actor, ticket, CardAction.URGENCY)
        _require_open(ticket, "urgency")
        if urgency not in URGENCIES:
            raise NotAllowed("staff.not_allowed")
        if urgency == ticket.urgency:
            return False
        old = ticket.urgency
        start = await self._promised_since(ticket)
        was = self.desk.sla.deadlines(ticket.category, old, start)
        due = self.desk.sla.deadlines(ticket.category, urgency, start)
        # Time spent waiting for the resident already pushed the old deadline; keep it.
        hours = working_hours(self.desk.settings)
        resolution = carried_pause(ticket, was.resolution_due, urgency, due.resolution_due, hours)
        ticket.urgency, ticket.updated_at = urgency, self.desk.now()
        _new_deadlines(ticket, due.response_due, resolution)
        reschedule(ticket, self.desk.settings.escalation, working_hours(self.desk.settings))
        await self._correction(ticket, actor, "urgency", old, urgency)
        await self._staff_event(ticket, actor, "urgency", old, urgency)
        return True

    # the resident's side ---------------------------------------------------------------
    async def cancel(self, resident: Resident, ticket: Ticket) -> TicketEvent:
        _own(resident, ticket)
        return await self._move(ticket, "cancel", resident, closed_at=self.desk.now())

    async def confirm(self, resident: Resident, ticket: Ticket) -> TicketEvent:
        _own(resident, ticket)
        event = await self._move(ticket, "confirm", resident, closed_at=self.desk.now())
        await Ratings(self.desk).schedule(ticket, resident)
        return event

    async def reopen(self, resident: Resident, ticket: Ticket, reason: str) -> TicketEvent:
        """Not solved: back to the same team's pool with a fresh response deadline."""
        _own(resident, ticket)
        return await self._reopen(ticket, resident, reason)

    async def add_info(
        self, resident: Resident, ticket: Ticket, text: str, photos: Sequence[str] = ()
    ) -> TicketEvent:
        _own(resident, ticket)
        _require_open(ticket, "info")
        if ticket.status == Status.WAITING:
            await self._move(ticket, "start", resident)  # the resident answered: clock runs
        if photos:
            ticket.photo_file_ids = [*ticket.photo_file_ids, *photos]
        ticket.updated_at = self.desk.now()
        return await self.desk.record(
            ticket,
            "info",
            actor_kind="resident",
            actor_id=resident.telegram_id,
            note=text[:NOTE_LIMIT] or None,
            photos=photos,
        )

    # a caller without Telegram, through staff on the phone -----------------------------
    async def close_for_caller(self, actor: Actor, ticket: Ticket) -> TicketEvent:
        """The caller told staff the fix works: closed as their own "solved" would close it."""
        return await self._move(
            ticket, "confirm", actor, event_kind="confirmed_by_phone", closed_at=self.desk.now()
        )

    async def reopen_for_caller(self, actor: Actor, ticket: Ticket, reason: str) -> TicketEvent:
        """The caller told staff it is not fixed: back to the team's pool, as `reopen`."""
        return await self._reopen(ticket, actor, reason)

    async def _reopen(self, ticket: Ticket, who: Actor | Resident, reason: str) -> TicketEvent:
        now = self.desk.now()
        due = self.desk.sla.deadlines(ticket.category, ticket.urgency, now)
        event = await self._move(
            ticket,
            "reopen",
            who,
            note=reason[:NOTE_LIMIT],
            assignee_id=None,
            assignee_name=None,
            accepted_at=None,
            resolved_at=None,
            closed_at=None,
            response_due_at=due.response_due,
            resolution_due_at=due.resolution_due,
            sla_stage="",
            escalations=0,
            resident_warned_at=None,
        )
        # Fresh promises, fresh timers; and the service team calls the resident back (回访).
        reschedule(ticket, self.desk.settings.escalation, working_hours(self.desk.settings))
        await Ratings(self.desk).open_return_visit(ticket, "not_solved")
        return event

    async def follow(
        self, ticket: Ticket, action: str, who: Actor | None, **values: Any
    ) -> TicketEvent:
        """A report of an incident follows its lead's move (accepted, started, resolved):
        the same transition table and timeline, without asking for a second press."""
        return await self._move(ticket, action, who, **values)

    # internals -------------------------------------------------------------------------
    async def _promised_since(self, ticket: Ticket) -> datetime:
        """When the current deadlines started: the report, or the latest reopen (which set
        fresh deadlines from its own time)."""
        reopens = [
            e.at
            for e in await self.desk.timeline(ticket)
            if e.kind == "status" and e.new_value == Status.NEW and e.old_value in REOPENED_FROM
        ]
        return max(reopens, default=ticket.created_at)

    async def auto_close(self, ticket: Ticket) -> TicketEvent:
        """A fix the resident neither confirmed nor disputed in time closes by itself."""
        return await self._move(
            ticket, "close", None, event_kind="auto_closed", closed_at=self.desk.now()
        )

    async def _move(
        self,
        ticket: Ticket,
        action: str,
        who: Actor | Resident | None,
        *,
        note: str | None = None,
        photos: Sequence[str] = (),
        event_kind: str = "status",
        **values: Any,
    ) -> TicketEvent:
        """The one path of every status change: the transition table, a conditional UPDATE,
        the clocks, and the event in the timeline (`who` None is the system)."""
        old = ticket.status
        new = next_status(action, old)
        changed = await self.uow.tickets.transition(
            ticket.id, old, {"status": new, "updated_at": self.desk.now(), **values}
        )
        await self.uow.tickets.refresh(ticket)
        if not changed:
            raise Conflict(ticket)
        self._follow_clock(ticket, old, new)
        kind, actor_id = _actor_of(who)
        return await self.desk.record(
            ticket,
            event_kind,
            actor_kind=kind,
            actor_id=actor_id,
            old=old,
            new=new,
            note=note,
            photos=photos,
        )

    def _follow_clock(self, ticket: Ticket, old: str, new: str) -> None:
        """Waiting pauses the resolution clock; leaving it pushes the deadline by the pause."""
        now, config = self.desk.now(), self.desk.settings.escalation
        if new == Status.WAITING:
            ticket.paused_at = now
        elif old == Status.WAITING:
            resume_after_pause(ticket, now, config, working_hours(self.desk.settings))
        reschedule(ticket, config, working_hours(self.desk.settings))

    async def _staff_event(
        self,
        ticket: Ticket,
        actor: Actor,
        kind: str,
        old: str | None,
        new: str | None,
        note: str | None = None,
        photos: Sequence[str] = (),
    ) -> TicketEvent:
        return await self.desk.record(
            ticket,
            kind,
            actor_kind="staff",
            actor_id=actor.telegram_id,
            old=old,
            new=new,
            note=note,
            photos=photos,
        )

    async def _correction(
        self, ticket: Ticket, actor: Actor, field: str, old: str, new: str
    ) -> None:
        await self.uow.corrections.add(
            Correction(
                ticket_id=ticket.id,
                field=field,
                text=ticket.description,
                old_value=old,
                new_value=new,
                actor_id=actor.telegram_id,
                at=self.desk.now(),
            )
        )


def _new_deadlines(ticket: Ticket, response_due: datetime, resolution_due: datetime) -> None:
    """Set new promises and forget the milestones done for the old ones (the outbox keys
    name the deadline, so the new ones' reminders and escalations are new messages)."""
    if response_due != ticket.response_due_at:
        ticket.sla_stage = ""
    if resolution_due != ticket.resolution_due_at:
        ticket.escalations, ticket.resident_warned_at = 0, None
    ticket.response_due_at, ticket.resolution_due_at = response_due, resolution_due


def _own(resident: Resident, ticket: Ticket) -> None:
    if ticket.resident_id != resident.id:
        raise NotAllowed("common.unknown_button")


def _require_open(ticket: Ticket, action: str) -> None:
    if ticket.status not in OPEN_STATUSES:
        raise IllegalTransition(action, ticket.status)


def _actor_of(who: Actor | Resident | None) -> tuple[str, int | None]:
    if who is None:
        return "system", None
    if isinstance(who, Actor):
        return "staff", who.telegram_id
    return "resident", who.telegram_id
