"""SLA timers as data: which milestone of a ticket comes next, and what a sweep does when it
is due. After downtime a ticket whose several milestones passed gets one catch-up: every
due milestone is marked done, and only the most serious one is announced."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import EscalationConfig
from bot.services.lifecycle import Status
from storage.models import Ticket

REMIND = "remind"  # half the response time, nobody accepted: remind the team's group
RESPONSE_OVERDUE = "response_overdue"  # response deadline passed unaccepted: escalate
WARN_RESIDENT = "warn_resident"  # the resolution deadline will be missed: tell the resident
RESOLUTION_OVERDUE = "resolution_overdue"  # resolution deadline passed: escalate, repeat

SEVERITY = {REMIND: 0, WARN_RESIDENT: 1, RESPONSE_OVERDUE: 2, RESOLUTION_OVERDUE: 3}
RUNNING = frozenset({Status.NEW, Status.ACCEPTED, Status.IN_PROGRESS})


@dataclass(frozen=True)
class Milestone:
    kind: str
    at: datetime
    repeat: int = 0  # resolution escalations: 0 the first, 1.. the repeats


def milestones(ticket: Ticket, config: EscalationConfig) -> list[Milestone]:
    """What is still to come for this ticket, earliest first; nothing while paused or done."""
    if ticket.status not in RUNNING or ticket.incident_role == "member":
        return []  # a report riding on an incident: the incident's lead keeps the time
    pending: list[Milestone] = []
    if ticket.status == Status.NEW and ticket.sla_stage == "":
        half = ticket.created_at + (ticket.response_due_at - ticket.created_at) / 2
        pending.append(Milestone(REMIND, half))
    if ticket.status == Status.NEW and ticket.sla_stage in ("", REMIND):
        pending.append(Milestone(RESPONSE_OVERDUE, ticket.response_due_at))
    if ticket.resident_warned_at is None and ticket.resident_id is not None:
        lead = timedelta(minutes=config.resident_warning_minutes)
        pending.append(Milestone(WARN_RESIDENT, ticket.resolution_due_at - lead))
    if ticket.escalations <= config.max_repeats:
        repeat = timedelta(minutes=config.repeat_minutes) * ticket.escalations
        pending.append(
            Milestone(RESOLUTION_OVERDUE, ticket.resolution_due_at + repeat, ticket.escalations)
        )
    return sorted(pending, key=lambda m: m.at)


def next_check(ticket: Ticket, config: EscalationConfig) -> datetime | None:
    upcoming = milestones(ticket, config)
    return upcoming[0].at if upcoming else None


def reschedule(ticket: Ticket, config: EscalationConfig) -> None:
    ticket.next_sla_check_at = next_check(ticket, config)


@dataclass(frozen=True)
class Due:
    """What a sweep found due for one ticket: the one notice to send, and for whom."""

    staff: Milestone | None
    resident_warning: bool


def take_due(ticket: Ticket, now: datetime, config: EscalationConfig) -> Due:
    """Mark every milestone due by `now` as done; return what to announce (one per audience)."""
    due: list[Milestone] = []
    for _ in range(config.max_repeats + 4):  # each pass marks one milestone; bounded
        ready = [m for m in milestones(ticket, config) if m.at <= now]
        if not ready:
            break
        for milestone in ready:
            _mark_done(ticket, milestone, now, config)
        due += ready
    staff = [m for m in due if m.kind != WARN_RESIDENT]
    worst = max(staff, key=lambda m: (SEVERITY[m.kind], m.repeat)) if staff else None
    # A warning is only worth sending before the deadline it warns about.
    warn = any(m.kind == WARN_RESIDENT for m in due) and now < ticket.resolution_due_at
    reschedule(ticket, config)
    return Due(worst, warn)


def _mark_done(ticket: Ticket, m: Milestone, now: datetime, config: EscalationConfig) -> None:
    if m.kind == REMIND:
        ticket.sla_stage = REMIND
    elif m.kind == RESPONSE_OVERDUE:
        ticket.sla_stage = RESPONSE_OVERDUE
    elif m.kind == WARN_RESIDENT:
        ticket.resident_warned_at = now
    else:
        ticket.escalations = m.repeat + 1


def resume_after_pause(ticket: Ticket, now: datetime, config: EscalationConfig) -> None:
    """Waiting for the resident stopped the resolution clock: push the deadline by the pause."""
    if ticket.paused_at is not None:
        ticket.resolution_due_at += now - ticket.paused_at
        ticket.paused_at = None
    reschedule(ticket, config)
