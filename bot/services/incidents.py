"""Incidents: many reports of one problem at one place (停水 in 3栋) grouped under one.

The first report about a shared service (water, power, lift...) opens an incident and is
its *lead*: its card is the incident's one card. A later report at the same property and
building, of the same category and hazard, within `incidents.window_minutes`, whose words
are alike (`bot.nlp.incidents.score`), joins as a *member* when the match is confident
(no card, no timers of its own: the lead keeps the SLA for all), or waits as *suggested*
on a card of its own with [merge] / [not the same] for staff. Staff moves on the lead
(accept, start, wait, complete, estimate) are followed by every member, so each reporter
hears each step once. A member leaves by "not solved", "mine is something else" or
cancelling; a lead that is cancelled hands the card to the next member.

A planned incident comes from an announcement: during its window a report about the same
service in that building is answered with the notice and does not become a ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.vocabulary import CardAction, NoticeStatus
from bot.nlp import get_classifier
from bot.nlp.incidents import ReportWords, report_words, score, topic_of
from bot.services.desk import Desk, Draft, uow_of
from bot.services.dispatch import Dispatch
from bot.services.lifecycle import OPEN_STATUSES, IllegalTransition, Status, next_status
from bot.services.staff import Actor
from bot.services.timers import reschedule, working_hours
from storage.models import Incident, Notice, Resident, Ticket

LEAD, MEMBER, SUGGESTED = "lead", "member", "suggested"
# The notices whose planned work answers reports: going out or gone out, or still waiting
# for its time (the work is planned all the same); never one cancelled or stopped.
ANSWERING_NOTICES = frozenset({NoticeStatus.SCHEDULED, NoticeStatus.SENDING, NoticeStatus.DONE})
# How a member reaches its lead's status: the actions in order, each taken if legal.
_PATH: dict[str, tuple[str, ...]] = {
    Status.ACCEPTED: ("accept",),
    Status.IN_PROGRESS: ("accept", "start"),
    Status.WAITING: ("accept", "wait"),
    Status.RESOLVED: ("accept", "resolve"),
}


class IncidentRefused(Exception):
    """A merge or split that cannot be done (already done, incident closed); `reason` is
    the locale key of the polite answer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Placement:
    """Where a new report went: alone (no shared service), lead (opened an incident),
    member (joined one), suggested (staff to decide)."""

    role: str
    incident: Incident | None = None
    lead: Ticket | None = None


@dataclass(frozen=True)
class IncidentView:
    """What a card or a resident is told about an incident."""

    incident: Incident
    lead: Ticket | None
    households: int


class Incidents:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.uow = uow_of(desk)
        self.config = desk.settings.incidents

    # reports ---------------------------------------------------------------------------
    @staticmethod
    def topic(text: str) -> str:
        """The shared service a text is about ("" for none)."""
        return topic_of(text)

    @staticmethod
    def words(text: str) -> ReportWords:
        return report_words(text, get_classifier().tokens(text))

    async def planned_for(self, resident: Resident, draft: Draft) -> tuple[Notice, Incident] | None:
        """The announcement of planned work under way at the resident's building that the
        report is about (same service), or None. A cancelled or stopped notice answers
        nothing (cancel and stop close its incident; this guards older rows too)."""
        if not self.config.enabled or resident.property_id is None:
            return None
        topic = topic_of(draft.description)
        if not topic:
            return None
        now = self.desk.now()
        for incident in await self.uow.incidents.open_at(
            resident.property_id, resident.building, now, now
        ):
            if incident.planned and incident.topic == topic and incident.notice_id is not None:
                notice = await self.uow.notices.get(incident.notice_id)
                if notice is not None and notice.status in ANSWERING_NOTICES:
                    return notice, incident
        return None

    async def place(self, ticket: Ticket, resident: Resident) -> Placement:
        """Put a just-opened ticket where it belongs (see the module's docstring)."""
        if not self.config.enabled or ticket.urgency == "emergency" or not resident.building:
            # Emergencies keep their own alarm path; without a building there is no place.
            return Placement("")
        words = self.words(ticket.description)
        if not words.topic:
            return Placement("")
        now = self.desk.now()
        since = now - timedelta(minutes=self.config.window_minutes)
        best: tuple[float, Incident] | None = None
        for incident in await self.uow.incidents.open_at(
            ticket.property_id, resident.building, since, now
        ):
            if incident.planned or not _compatible(incident, ticket):
                continue
            alike = score(ReportWords(incident.topic, frozenset(incident.words)), words)
            if best is None or alike > best[0]:
                best = (alike, incident)
        if best is not None and best[0] >= self.config.join_score:
            lead = await self._join(ticket, best[1], None)
            return Placement(MEMBER, best[1], lead)
        if best is not None and best[0] >= self.config.suggest_score:
            ticket.incident_id, ticket.incident_role = best[1].id, SUGGESTED
            return Placement(SUGGESTED, best[1], await self._lead(best[1]))
        incident = await self._open(ticket, resident.building, words)
        return Placement(LEAD, incident, ticket)

    async def _open(self, ticket: Ticket, building: str, words: ReportWords) -> Incident:
        now = self.desk.now()
        incident = await self.uow.incidents.add(
            Incident(
                property_id=ticket.property_id,
                building=building,
                category=ticket.category,
                hazard=ticket.hazard,
                topic=words.topic,
                words=sorted(words.words),
                status="open",
                planned=False,
                lead_ticket_id=ticket.id,
                opened_at=now,
                last_report_at=now,
            )
        )
        ticket.incident_id, ticket.incident_role = incident.id, LEAD
        await self.desk.record(ticket, "incident", actor_kind="system", new=LEAD)
        return incident

    async def _join(self, ticket: Ticket, incident: Incident, actor: Actor | None) -> Ticket | None:
        """The ticket rides on the incident from now on, at its lead's status."""
        ticket.incident_id, ticket.incident_role = incident.id, MEMBER
        incident.last_report_at = self.desk.now()
        lead = await self._lead(incident)
        if lead is not None:
            ticket.team = lead.team
            await self.follow(lead, ticket, actor)
        reschedule(
            ticket, self.desk.settings.escalation, working_hours(self.desk.settings)
        )  # a member has no timers
        kind = "system" if actor is None else "staff"
        await self.desk.record(
            ticket, "incident", actor_kind=kind, actor_id=actor.telegram_id if actor else None,
            new=MEMBER, note=lead.number if lead else None,
        )  # fmt: skip
        return lead

    # staff on a suggested card ---------------------------------------------------------
    async def merge(self, ticket: Ticket, actor: Actor) -> Ticket | None:
        """[合并到 …]: the suggested report joins; pressed twice or too late, refused."""
        _authorize(actor, ticket)
        incident = await self._incident(ticket)
        if ticket.incident_role != SUGGESTED or incident is None:
            raise IncidentRefused("incident.merge_already")
        if incident.status != "open" or ticket.status not in OPEN_STATUSES:
            ticket.incident_id, ticket.incident_role = None, ""
            raise IncidentRefused("incident.merge_closed")
        return await self._join(ticket, incident, actor)

    async def keep_apart(self, ticket: Ticket, actor: Actor) -> None:
        """[不是同一件事]: the report stays a ticket of its own."""
        _authorize(actor, ticket)
        if ticket.incident_role != SUGGESTED:
            raise IncidentRefused("incident.merge_already")
        ticket.incident_id, ticket.incident_role = None, ""
        await self.desk.record(
            ticket, "incident", actor_kind="staff", actor_id=actor.telegram_id, new="apart"
        )

    # leaving ---------------------------------------------------------------------------
    async def split(self, ticket: Ticket, who: str = "resident") -> Incident | None:
        """A member (or the lead) leaves its incident: a ticket of its own again, with its
        own timers. Returns the incident it left (None: it was in none)."""
        incident = await self._incident(ticket)
        if incident is None or ticket.incident_role not in (LEAD, MEMBER):
            return None
        was_lead = ticket.incident_role == LEAD
        ticket.incident_id, ticket.incident_role = None, ""
        reschedule(ticket, self.desk.settings.escalation, working_hours(self.desk.settings))
        await self.desk.record(ticket, "incident", actor_kind=who, new="split")
        if was_lead:
            await self._promote(incident)
        return incident

    async def after_cancel(self, ticket: Ticket) -> Ticket | None:
        """The resident cancelled a report of an incident. A member simply stops counting;
        a cancelled lead hands the incident to its next open member, returned (its card
        is to be posted)."""
        incident = await self._incident(ticket)
        if incident is None or ticket.incident_role != LEAD:
            return None
        ticket.incident_role = ""
        return await self._promote(incident)

    async def _promote(self, incident: Incident) -> Ticket | None:
        members = [m for m in await self.uow.incidents.members(incident.id) if _open(m)]
        if not members:
            incident.lead_ticket_id = None
            await self.uow.incidents.close(incident.id, self.desk.now())
            return None
        lead = members[0]
        lead.incident_role = LEAD
        incident.lead_ticket_id = lead.id
        reschedule(lead, self.desk.settings.escalation, working_hours(self.desk.settings))
        await self.desk.record(lead, "incident", actor_kind="system", new=LEAD)
        return lead

    # the lead's moves ------------------------------------------------------------------
    async def followers(self, lead: Ticket, actor: Actor | None) -> list[Ticket]:
        """Every open member brought to the lead's status (and estimate); returns those
        whose status changed, to be told once each. A resolved lead closes the incident:
        later reports start a new one."""
        incident = await self._incident(lead)
        if incident is None or lead.incident_role != LEAD:
            return []
        moved = []
        for member in await self.uow.incidents.members(incident.id):
            if not _open(member):
                continue
            before = member.status
            member.estimate_at = lead.estimate_at
            await self.follow(lead, member, actor)
            if member.status != before:
                moved.append(member)
        if lead.status == Status.RESOLVED:
            await self.uow.incidents.close(incident.id, self.desk.now())
        return moved

    async def members_of(self, lead: Ticket) -> list[Ticket]:
        if lead.incident_id is None or lead.incident_role != LEAD:
            return []
        return [m for m in await self.uow.incidents.members(lead.incident_id) if _open(m)]

    async def follow(self, lead: Ticket, member: Ticket, actor: Actor | None) -> None:
        dispatch = Dispatch(self.desk)
        for action in _PATH.get(lead.status, ()):
            if member.status == lead.status:
                break
            try:
                next_status(action, member.status)
            except IllegalTransition:
                continue
            values: dict[str, object] = {}
            if action == "accept":
                values = {
                    "assignee_id": lead.assignee_id,
                    "assignee_name": lead.assignee_name,
                    "accepted_at": self.desk.now(),
                }
            elif action == "resolve":
                values = {"resolved_at": self.desk.now()}
            await dispatch.follow(member, action, actor, **values)

    # what people are told --------------------------------------------------------------
    async def view(self, ticket: Ticket) -> IncidentView | None:
        incident = await self._incident(ticket)
        if incident is None or ticket.incident_role not in (LEAD, MEMBER, SUGGESTED):
            return None
        households = await self.uow.incidents.households(incident.id)
        return IncidentView(incident, await self._lead(incident), households)

    async def _incident(self, ticket: Ticket) -> Incident | None:
        if ticket.incident_id is None:
            return None
        return await self.uow.incidents.get(ticket.incident_id)

    async def _lead(self, incident: Incident) -> Ticket | None:
        if incident.lead_ticket_id is None:
            return None
        return await self.uow.tickets.get(incident.lead_ticket_id)

    # the building's notice ---------------------------------------------------------------
    async def announcement(self, incident: Incident) -> Notice | None:
        """The notice the incident's building already got (one per incident), or None."""
        if incident.notice_id is None:
            return None
        return await self.uow.notices.get(incident.notice_id)

    async def record_announcement(self, incident: Incident, notice: Notice) -> bool:
        """`notice` becomes the building's one notice about the incident. False when another
        was recorded first (a double tap, the same preview pressed in two groups): `notice`,
        not started yet, is then dropped unsent."""
        recorded = await self.uow.incidents.record_notice(incident.id, notice.id)
        if not recorded:
            await self.uow.session.delete(notice)
        await self.uow.session.refresh(incident)
        return recorded

    # planned work ----------------------------------------------------------------------
    async def open_planned(self, notice: Notice, starts: datetime, ends: datetime) -> Incident:
        """An announcement of planned work at one building: its window is an incident."""
        if notice.property_id is None:
            raise IncidentRefused("incident.planned_needs_building")
        now = self.desk.now()
        return await self.uow.incidents.add(
            Incident(
                property_id=notice.property_id,
                building=notice.audience_value,
                category="repair",
                hazard=None,
                topic=topic_of(notice.text),
                words=sorted(self.words(notice.text).words),
                status="open",
                planned=True,
                notice_id=notice.id,
                opened_at=now,
                last_report_at=now,
                starts_at=starts,
                ends_at=ends,
            )
        )


def _authorize(actor: Actor, ticket: Ticket) -> None:
    """Merge and keep apart are the card's to decide, for those who may accept the report:
    its team and its property's managers (NotAllowed otherwise, as for the card's buttons)."""
    Dispatch.authorize(actor, ticket, CardAction.ACCEPT)


def _compatible(incident: Incident, ticket: Ticket) -> bool:
    return incident.category == ticket.category and incident.hazard == ticket.hazard


def _open(ticket: Ticket) -> bool:
    return ticket.status in OPEN_STATUSES
