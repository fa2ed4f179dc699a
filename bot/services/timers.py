"""SLA timers as data: which milestone of a ticket comes next, and what a sweep does when it
is due. After downtime a ticket whose several milestones passed gets one catch-up: every
due milestone is marked done, and only the most serious one is announced.

With `[business_hours] enabled` a non-emergency ticket's clock counts working time only
(`hours`, from `working_hours(settings)`): the half-time reminder falls half the working
response time in, and a pause pushes the deadline by the working time it lasted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bot.config import EscalationConfig, Settings
from bot.domain.policy import counts_business_hours_only
from bot.services.lifecycle import Status
from bot.services.sla import WorkingHours
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


def working_hours(settings: Settings) -> WorkingHours | None:
    """The hours non-emergency SLA clocks count; None when they run on the wall clock."""
    hours = settings.business_hours
    if not hours.enabled:
        return None
    start, end = time.fromisoformat(hours.start), time.fromisoformat(hours.end)
    return WorkingHours(start, end, frozenset(hours.weekdays), settings.tz)


def working_time(hours: WorkingHours, start: datetime, end: datetime) -> timedelta:
    """How much of the span from `start` to `end` lies inside the working hours."""
    first, last = start.astimezone(hours.tz), end.astimezone(hours.tz)
    total, day = timedelta(), first.date()
    while day <= last.date():
        if day.weekday() in hours.weekdays:
            opening = datetime.combine(day, hours.start, hours.tz)
            closing = datetime.combine(day, hours.end, hours.tz)
            total += max(min(closing, last) - max(opening, first), timedelta())
        day += timedelta(days=1)
    return total


def _counted(ticket: Ticket, hours: WorkingHours | None) -> WorkingHours | None:
    """The hours this ticket's clock counts: emergencies always run on the wall clock."""
    if hours is None or not counts_business_hours_only(ticket.urgency, True):
        return None
    return hours


def _minutes(span: timedelta) -> int:
    # WorkingHours counts whole minutes; SLA times are whole minutes, a pause rounds to one
    return round(span / timedelta(minutes=1))


def _half_time(ticket: Ticket, hours: WorkingHours | None) -> datetime:
    """Halfway to the response deadline, in the time the ticket's clock counts: a report on
    Friday evening is reminded of on Monday morning, not at 02:00 on Sunday."""
    start, due = ticket.created_at, ticket.response_due_at
    if hours is None:
        return start + (due - start) / 2
    return hours.add(start, _minutes(working_time(hours, start, due) / 2))


def milestones(
    ticket: Ticket, config: EscalationConfig, hours: WorkingHours | None = None
) -> list[Milestone]:
    """What is still to come for this ticket, earliest first; nothing while paused or done."""
    if ticket.status not in RUNNING or ticket.incident_role == "member":
        return []  # a report riding on an incident: the incident's lead keeps the time
    pending: list[Milestone] = []
    if ticket.status == Status.NEW and ticket.sla_stage == "":
        pending.append(Milestone(REMIND, _half_time(ticket, _counted(ticket, hours))))
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


def next_check(
    ticket: Ticket, config: EscalationConfig, hours: WorkingHours | None = None
) -> datetime | None:
    upcoming = milestones(ticket, config, hours)
    return upcoming[0].at if upcoming else None


def reschedule(ticket: Ticket, config: EscalationConfig, hours: WorkingHours | None = None) -> None:
    ticket.next_sla_check_at = next_check(ticket, config, hours)


@dataclass(frozen=True)
class Due:
    """What a sweep found due for one ticket: the one notice to send, and for whom."""

    staff: Milestone | None
    resident_warning: bool


def take_due(
    ticket: Ticket, now: datetime, config: EscalationConfig, hours: WorkingHours | None = None
) -> Due:
    """Mark every milestone due by `now` as done; return what to announce (one per audience)."""
    due: list[Milestone] = []
    for _ in range(config.max_repeats + 4):  # each pass marks one milestone; bounded
        ready = [m for m in milestones(ticket, config, hours) if m.at <= now]
        if not ready:
            break
        for milestone in ready:
            _mark_done(ticket, milestone, now, config)
        due += ready
    staff = [m for m in due if m.kind != WARN_RESIDENT]
    worst = max(staff, key=lambda m: (SEVERITY[m.kind], m.repeat)) if staff else None
    # A warning is only worth sending before the deadline it warns about.
    warn = any(m.kind == WARN_RESIDENT for m in due) and now < ticket.resolution_due_at
    reschedule(ticket, config, hours)
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


def resume_after_pause(
    ticket: Ticket, now: datetime, config: EscalationConfig, hours: WorkingHours | None = None
) -> None:
    """Waiting for the resident stopped the resolution clock: push the deadline by the pause,
    counted in the time the ticket's clock counts (a weekend pause moves it by none)."""
    if ticket.paused_at is not None:
        ticket.resolution_due_at = _pushed(ticket, ticket.paused_at, now, _counted(ticket, hours))
        ticket.paused_at = None
    reschedule(ticket, config, hours)


def carried_pause(
    ticket: Ticket,
    was_due: datetime,
    new_urgency: str,
    new_due: datetime,
    hours: WorkingHours | None,
) -> datetime:
    """`new_due` (the new urgency's resolution deadline) pushed by the time the ticket already
    waited for the resident, which pushed `was_due` to its current deadline: measured in the
    time the old urgency's clock counts, added in the time the new one's counts (ten working
    minutes paused on a Friday evening are ten minutes on an emergency, not a weekend)."""
    pushed = ticket.resolution_due_at
    if pushed <= was_due:
        return new_due
    old_hours = _counted(ticket, hours)
    waited = working_time(old_hours, was_due, pushed) if old_hours else pushed - was_due
    minutes = _minutes(waited)
    new_hours = (
        hours if hours is not None and counts_business_hours_only(new_urgency, True) else None
    )
    if new_hours is None:
        return new_due + timedelta(minutes=minutes)
    return new_hours.add(new_due, minutes) if minutes else new_due


def _pushed(
    ticket: Ticket, paused: datetime, now: datetime, hours: WorkingHours | None
) -> datetime:
    due = ticket.resolution_due_at
    if hours is None:
        return due + (now - paused)
    minutes = _minutes(working_time(hours, paused, now))
    # Nothing counted: leave the deadline be (adding 0 would move one at closing time on).
    return hours.add(due, minutes) if minutes else due
