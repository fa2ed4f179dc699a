"""Every "who, when, where" rule of the desk, one function each (docs/taxonomy.md).

Services and handlers ask these functions; none of them decides such a rule itself.
The four questions a newcomer asks first:

- who may press Accept (or any card button)?  `may_act_on_ticket`
- when is the resident asked for a rating?    `rating_request_due`, then `quiet_until`
- what makes a new ticket an emergency?       `opens_as_emergency`
- who else hears of an emergency?             `card_teams` (the managers' group too)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Protocol

from bot.domain.vocabulary import (
    CardAction,
    Category,
    Hazard,
    HotlineKind,
    Role,
    SendPriority,
    Team,
    TicketStatus,
    Urgency,
)

if TYPE_CHECKING:
    from bot.config import Settings

# --- routing -------------------------------------------------------------------------------

DEFAULT_ROUTING: dict[str, str] = {
    "repair": Team.ENGINEERING,
    "cleaning": Team.ENVIRONMENT,
    "security": Team.SECURITY,
    "parking": Team.SECURITY,
    "billing": Team.FINANCE,
    "complaint": Team.SERVICE,
    "inquiry": Team.SERVICE,
    "suggestion": Team.SERVICE,
    "other": Team.SERVICE,
}


def team_for(routing: Mapping[str, str], category: str) -> str:
    """The team a new ticket goes to: the settings' routing table, the front desk otherwise."""
    return routing.get(category, Team.SERVICE)


def alerts_managers(urgency: str) -> bool:
    """Every emergency also alerts the duty manager (the managers' group)."""
    return urgency == Urgency.EMERGENCY


def card_teams(team: str, urgency: str) -> tuple[str, ...]:
    """The groups a new ticket's card is posted to: its team, and managers for emergencies."""
    if alerts_managers(urgency) and team != Team.MANAGERS:
        return (team, Team.MANAGERS)
    return (team,)


def opens_as_emergency(classified_urgency: str, resident_pressed_alarm: bool) -> bool:
    """The classifier's verdict, or the resident's 🚨 button that overrules it.

    An emergency is filed at once: safety advice and hotline first, no confirmation step.
    """
    return resident_pressed_alarm or classified_urgency == Urgency.EMERGENCY


def new_card_priority(urgency: str) -> SendPriority:
    """An emergency's card (and the escalations that chase it) leaves before anything else;
    edits and replies under a card keep the card priority, so they never overtake it."""
    return SendPriority.URGENT if urgency == Urgency.EMERGENCY else SendPriority.CARD


def reminder_priority(urgency: str) -> SendPriority:
    """Reminders and escalations wait behind new cards, unless they chase an emergency."""
    return SendPriority.URGENT if urgency == Urgency.EMERGENCY else SendPriority.ROUTINE


# --- safety --------------------------------------------------------------------------------

# Which hotline answers which hazard; the property's duty line is added separately.
HAZARD_HOTLINE: dict[str, str] = {
    Hazard.GAS: HotlineKind.GAS,
    Hazard.FIRE: HotlineKind.FIRE,
    Hazard.WATER: HotlineKind.PROPERTY,
    Hazard.ELECTRIC: HotlineKind.PROPERTY,
    Hazard.LIFT: HotlineKind.LIFT,
    Hazard.MEDICAL: HotlineKind.MEDICAL,
    Hazard.CRIME: HotlineKind.CRIME,
    Hazard.STRUCTURE: HotlineKind.PROPERTY,
}


def hotline_for(hotlines: Mapping[str, str], hazard: str) -> str | None:
    """The number to call for a hazard; the duty line when the hazard's own is not set."""
    kind = HAZARD_HOTLINE.get(hazard)
    if kind is None:
        return None
    return hotlines.get(kind) or (hotlines.get("property") if kind != "property" else None)


def duty_line(hotlines: Mapping[str, str]) -> str | None:
    return hotlines.get(HotlineKind.PROPERTY)


def safety_advice_key(hazard: str | None) -> str:
    """The locale key of the advice shown before anything else in an emergency."""
    return f"safety.{hazard}" if hazard in set(Hazard) else "safety.other"


# --- SLA -----------------------------------------------------------------------------------

# (response, resolution) minutes by urgency; settings override by urgency or category.urgency.
DEFAULT_SLA_MINUTES: dict[str, tuple[int, int]] = {
    Urgency.EMERGENCY: (5, 2 * 60),
    Urgency.HIGH: (30, 8 * 60),
    Urgency.NORMAL: (2 * 60, 48 * 60),
    Urgency.LOW: (24 * 60, 5 * 24 * 60),
}


def counts_business_hours_only(urgency: str, business_hours_enabled: bool) -> bool:
    """Emergencies always run on the wall clock; others may count only opening hours."""
    return business_hours_enabled and urgency != Urgency.EMERGENCY


# --- duty (值班) ------------------------------------------------------------------------------

# A /duty, /onduty or /offduty lasts this long unless changed again (a long shift).
DUTY_MARK_HOURS = 12


class ShiftLike(Protocol):
    @property
    def start_time(self) -> time: ...
    @property
    def end_time(self) -> time: ...
    @property
    def weekdays(self) -> list[int]: ...


def _within(start: time, end: time, moment: time) -> bool:
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end  # past midnight


def in_business_hours(now: datetime, settings: Settings) -> bool:
    """Whether `now` is inside the property's opening hours (`[business_hours]`, whether or
    not SLA clocks count them): outside them a team's person on duty is called first."""
    hours = settings.business_hours
    local = now.astimezone(settings.tz)
    return local.weekday() in hours.weekdays and _within(
        hours.start_time, hours.end_time, local.time()
    )


def shift_covers(shift: ShiftLike, now: datetime, settings: Settings) -> bool:
    """A weekly shift covers `now`; a night shift (end before start) belongs to the weekday
    it started on, so Sunday's night shift covers Monday 02:00."""
    local = now.astimezone(settings.tz)
    start, end, moment = shift.start_time, shift.end_time, local.time()
    if not _within(start, end, moment):
        return False
    started_yesterday = start > end and moment < end
    day = (local.weekday() - 1) % 7 if started_yesterday else local.weekday()
    return day in shift.weekdays


def shift_meets(shift: ShiftLike, start: datetime, end: datetime, settings: Settings) -> bool:
    """A weekly shift covers some moment of [start, end): it is on at `start`, or it begins
    on one of its weekdays before `end` (a /duty set at 17:50 for 12 hours meets the night
    shift that begins at 18:00, whose people it replaces too)."""
    if shift_covers(shift, start, settings):
        return True
    if shift.start_time == shift.end_time:
        return False  # covers nothing (`_within`)
    tz = settings.tz
    day = start.astimezone(tz).date()
    while (begins := datetime.combine(day, shift.start_time, tz)) < end:
        if begins > start and day.weekday() in shift.weekdays:
            return True
        day += timedelta(days=1)
    return False


def on_duty(scheduled: set[int], marked_on: set[int], marked_off: set[int]) -> set[int]:
    """Who is on duty: the rota's shift now, plus anyone a lead or they themselves put on
    duty (/duty, /onduty), less anyone who went off duty (/offduty)."""
    return (scheduled | marked_on) - marked_off


def duty_mark_until(now: datetime) -> datetime:
    """When a /duty, /onduty or /offduty stops counting, unless changed before."""
    return now + timedelta(hours=DUTY_MARK_HOURS)


def calls_duty_for_card(urgency: str, now: datetime, settings: Settings) -> bool:
    """An emergency outside business hours also goes to the person on duty, privately."""
    return urgency == Urgency.EMERGENCY and not in_business_hours(now, settings)


def calls_duty_for_sla(now: datetime, settings: Settings) -> bool:
    """SLA reminders and escalations outside business hours also reach the person on duty."""
    return not in_business_hours(now, settings)


def may_set_duty(actor: Actor, team: str) -> bool:
    """`/duty <team> <who>`: the team's leads, managers and admins."""
    return actor.leads(team)


def may_hand_over(actor: Actor, ticket: TicketLike) -> bool:
    """A handover question (pool, colleague, keep) is answered by the ticket's holder or a
    lead of its team (who removed the holder, or covers for them)."""
    if not _same_property(actor, ticket):
        return False
    return ticket.assignee_id == actor.telegram_id or actor.leads(ticket.team)


def may_take_handover(member_team: str, member_active: bool, ticket: TicketLike) -> bool:
    """A ticket is handed only to an active member of its own team."""
    return member_active and member_team == ticket.team


# --- timing --------------------------------------------------------------------------------


def rating_request_due(confirmed_at: datetime, settings: Settings) -> datetime:
    """Stars are asked `rating.delay_minutes` after the resident confirms the fix."""
    return confirmed_at + timedelta(minutes=settings.rating.delay_minutes)


def rating_reminder_wait(settings: Settings) -> timedelta:
    """How long an unanswered request waits for its one reminder, and then for closing."""
    return timedelta(hours=settings.rating.reminder_hours)


def quiet_until(now: datetime, settings: Settings) -> datetime | None:
    """The end of the quiet hours `now` falls in (nothing reaches residents then), or None."""
    quiet = settings.quiet_hours
    tz = settings.tz
    local = now.astimezone(tz)
    if not quiet.contains(local.time()):
        return None
    end = datetime.combine(local.date(), quiet.end_time, tz)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(now.tzinfo)


LOW_STARS = 2


def opens_return_visit(stars: int) -> bool:
    """1-2 stars (or 没解决) open a return visit (回访) for the service team."""
    return stars <= LOW_STARS


def return_visit_due(opened_at: datetime, settings: Settings) -> datetime:
    """A low rating or 没解决 opens a return visit due this long after."""
    return opened_at + timedelta(hours=settings.rating.return_visit_hours)


# --- permissions ---------------------------------------------------------------------------

INVITE_DAYS = 7


class TicketLike(Protocol):
    @property
    def property_id(self) -> int: ...
    @property
    def team(self) -> str: ...
    @property
    def assignee_id(self) -> int | None: ...


@dataclass(frozen=True)
class Actor:
    """A person as staff: their roles per team within one property."""

    telegram_id: int
    name: str
    property_id: int | None
    roles: dict[str, str] = field(default_factory=dict)  # team -> role
    settings_admin: bool = False

    @property
    def is_admin(self) -> bool:
        return self.settings_admin or Role.ADMIN in self.roles.values()

    @property
    def is_manager(self) -> bool:
        return self.is_admin or Role.MANAGER in self.roles.values() or Team.MANAGERS in self.roles

    @property
    def is_staff(self) -> bool:
        return bool(self.roles) or self.settings_admin

    def role_in(self, team: str) -> str | None:
        return self.roles.get(team)

    def leads(self, team: str) -> bool:
        return self.is_manager or self.roles.get(team) == Role.LEAD


_RANK: dict[str, int] = {role: i for i, role in enumerate(Role)}

# Card actions by who may take them, for staff and leads of the ticket's team.
_ANY_MEMBER = frozenset({CardAction.ACCEPT, CardAction.CATEGORY, CardAction.URGENCY})
_ASSIGNEE_OR_POOL = frozenset({CardAction.REASSIGN, CardAction.CONTACT, CardAction.NOTE})
# Working on a ticket (start, pause for the resident, promise a time, finish) is the assignee's.
_ASSIGNEE_ONLY = frozenset(
    {CardAction.START, CardAction.WAIT, CardAction.ESTIMATE, CardAction.COMPLETE}
)


def _same_property(actor: Actor, ticket: TicketLike) -> bool:
    return actor.settings_admin or actor.property_id == ticket.property_id


def may_act_on_ticket(actor: Actor, ticket: TicketLike, action: str) -> bool:
    """Card buttons: managers and admins anything of their property; staff their team's
    tickets (any member accepts or corrects; the assignee works; a lead covers for them)."""
    if action not in set(CardAction) or not _same_property(actor, ticket):
        return False
    if actor.is_manager:
        return True
    role = actor.role_in(ticket.team)
    if role is None:
        return False
    mine = ticket.assignee_id == actor.telegram_id
    if action in _ANY_MEMBER:
        return True
    if action in _ASSIGNEE_OR_POOL:
        return ticket.assignee_id is None or mine or role == Role.LEAD
    if action in _ASSIGNEE_ONLY:
        return mine or (role == Role.LEAD and ticket.assignee_id is not None)
    return False


def held_by_someone(status: str) -> bool:
    """Statuses in which a ticket is someone's (accepted, being worked on, waiting for the
    resident): what goes back to the team's pool when that person leaves the team."""
    return status in (TicketStatus.ACCEPTED, TicketStatus.IN_PROGRESS, TicketStatus.WAITING)


def waits_in_pool(status: str, assignee_id: int | None) -> bool:
    """A ticket in its team's pool: new, nobody holds it. The question asked after /remove
    (should a colleague take the returned ticket?) acts only then: once someone accepted
    it, it is theirs, and an old answer must not take it from them."""
    return status == TicketStatus.NEW and assignee_id is None


def may_take_over(actor: Actor, ticket: TicketLike) -> bool:
    """A lead (or a manager) takes over any open ticket of their team, held or not."""
    return _same_property(actor, ticket) and actor.leads(ticket.team)


def may_look_up_ticket(actor: Actor, ticket: TicketLike) -> bool:
    """`/ticket N`: the ticket's own team and managers of its property."""
    if not _same_property(actor, ticket):
        return False
    return actor.is_manager or actor.role_in(ticket.team) is not None


def ticket_readable_in_group(group_teams: set[str], ticket_team: str) -> bool:
    """In a group, only the ticket's team group or the managers' group may read it."""
    return bool(group_teams & {ticket_team, Team.MANAGERS})


def may_read_stats(actor: Actor) -> bool:
    """`/stats` and digests on request: managers and admins."""
    return actor.is_manager


def may_export(actor: Actor) -> bool:
    """`/export`: a spreadsheet of every ticket of a period, for managers and admins."""
    return actor.is_manager


def may_read_performance(actor: Actor) -> bool:
    """`/stats staff`: managers and admins (every team), and team leads (their own)."""
    return actor.is_manager or Role.LEAD in actor.roles.values()


def performance_teams(actor: Actor) -> tuple[str, ...] | None:
    """The teams whose performance `actor` may read: None for every team (managers)."""
    if actor.is_manager:
        return None
    return tuple(sorted(team for team, role in actor.roles.items() if role == Role.LEAD))


# Hot spots (`/stats hotspots`): what recurs within the last HOTSPOT_DAYS days.
HOTSPOT_DAYS = 30
HOTSPOT_SAME_PLACE = 3  # the same building and unit, the same category, this many tickets
HOTSPOT_SAME_RESIDENT = 3  # the same resident, the same category, this many tickets
HOTSPOT_REOPENS = 2  # a ticket reopened this many times ("more than once")


def hotspot_window(now: datetime) -> tuple[datetime, datetime]:
    """The span hot spots look at: the last HOTSPOT_DAYS days up to now."""
    return now - timedelta(days=HOTSPOT_DAYS), now


# SLA misses compared week over week: the last seven days up to now against the seven before.
HOTSPOT_WEEK = timedelta(days=7)
HOTSPOT_SLA_MISSES = 2  # misses in the latest week before a growth is worth a line


def hotspot_weeks(now: datetime) -> tuple[tuple[datetime, datetime], tuple[datetime, datetime]]:
    """The latest week up to `now` and the week before it, as `[start, end)` spans."""
    start = now - HOTSPOT_WEEK
    return (start, now), (start - HOTSPOT_WEEK, start)


def sla_misses_grew(this_week: int, last_week: int) -> bool:
    """A category's SLA misses grew week over week: more than the week before, and at least
    HOTSPOT_SLA_MISSES (a single late ticket after a clean week is no trend yet)."""
    return this_week > last_week and this_week >= HOTSPOT_SLA_MISSES


def export_masks_phones(full_phones_allowed: bool, chat_type: str | None = None) -> bool:
    """Exports mask residents' phone numbers unless the settings allow full numbers, and
    always when sent to a group chat (`phones_masked_in`); `chat_type` None is the terminal."""
    if chat_type is not None and phones_masked_in(chat_type):
        return True
    return not full_phones_allowed


def may_bind(actor: Actor) -> bool:
    """`/bind` and `/unbind` a group to a team: admins."""
    return actor.is_admin


def may_list_team(actor: Actor, team: str) -> bool:
    """`/staff <team>`: the team's leads, managers and admins."""
    return actor.leads(team)


def may_invite(actor: Actor, team: str, role: str) -> bool:
    """Admins invite anyone; managers up to lead; leads only staff into their own team."""
    if actor.is_admin:
        return True
    if actor.is_manager:
        return _RANK[role] <= _RANK[Role.LEAD]
    return actor.role_in(team) == Role.LEAD and role == Role.STAFF


def may_remove(actor: Actor, member_id: int, member_team: str, member_role: str) -> bool:
    """`/remove`: like inviting, and nobody removes themselves by accident."""
    if actor.telegram_id == member_id:
        return False
    if actor.is_admin:
        return True
    if actor.is_manager:
        return _RANK[member_role] <= _RANK[Role.LEAD]
    return actor.role_in(member_team) == Role.LEAD and member_role == Role.STAFF


def may_remove_anyone(actor: Actor) -> bool:
    """Only someone who could remove somebody is told whether a member exists."""
    return actor.is_manager or Role.LEAD in actor.roles.values()


def may_record_visit(actor: Actor) -> bool:
    """A return visit's outcome: a service lead, a manager or an admin."""
    return actor.leads(Team.SERVICE)


def is_known_role(role: str) -> bool:
    return role in set(Role)


def is_known_team(team: str) -> bool:
    return team in set(Team)


# --- personal data -------------------------------------------------------------------------


def phones_masked_in(chat_type: str) -> bool:
    """A resident's full phone never appears in a group chat: every phone number in any
    text shown there (description, name, address, note, comment) is masked (138****5678)."""
    return chat_type != "private"


def may_see_full_phone(actor: Actor, ticket: TicketLike, chat_type: str) -> bool:
    """A full number only in a private chat, to whoever may press the card's Contact button."""
    return chat_type == "private" and may_act_on_ticket(actor, ticket, CardAction.CONTACT)


def retention_cutoff(now: datetime, keep_days: int | None) -> datetime | None:
    """Closed tickets older than this lose their descriptions and photos; None keeps them."""
    return None if keep_days is None else now - timedelta(days=keep_days)


# --- front desk ----------------------------------------------------------------------------

# Two registrations of one caller within this window are probably the same call.
DUPLICATE_CALLER_WINDOW = timedelta(hours=2)


def may_register_requests(actor: Actor) -> bool:
    """`/new` (代客登记): the service team (the front desk), and leads, managers and admins
    of any team, who also take calls."""
    return (
        actor.is_manager
        or actor.role_in(Team.SERVICE) is not None
        or Role.LEAD in actor.roles.values()
    )


def may_report_finding(actor: Actor) -> bool:
    """`/report` (巡查发现): every staff member may report a common-area problem."""
    return actor.is_staff


def may_confirm_by_phone(actor: Actor, ticket: TicketLike) -> bool:
    """Recording what a caller without Telegram said about a fix: whoever may work on the
    ticket's card, and the service team that registered the call."""
    if not _same_property(actor, ticket):
        return False
    return may_act_on_ticket(actor, ticket, CardAction.ACCEPT) or may_register_requests(actor)


def is_possible_duplicate(registered_at: datetime, now: datetime) -> bool:
    """An open ticket of the same caller registered this recently is shown before filing."""
    return now - registered_at <= DUPLICATE_CALLER_WINDOW


def confirms_by_phone(resident_telegram_id: int | None, resident_active: bool) -> bool:
    """A caller without a Telegram account (or who blocked the bot) hears nothing from us:
    staff confirm the fix with them by phone and record the answer and the stars."""
    return resident_telegram_id is None or not resident_active


# --- visitors ------------------------------------------------------------------------------


def visitor_window_refusal(
    now: datetime, starts: datetime, ends: datetime, max_days_ahead: int
) -> str | None:
    """Why a pre-registered visit's window is refused (a locale key), or None when fine:
    it must end after it starts, not be over already, and end within `max_days_ahead`."""
    if ends <= starts:
        return "visitor.window_backwards"
    if ends <= now:
        return "visitor.window_past"
    if ends > now + timedelta(days=max_days_ahead):
        return "visitor.window_too_far"
    return None


def may_guard_visitors(actor: Actor) -> bool:
    """Marking arrivals and departures and registering walk-ins: the security team,
    managers and admins."""
    return actor.is_manager or actor.role_in(Team.SECURITY) is not None


def may_guard_visitor(actor: Actor, visitor_property_id: int) -> bool:
    """One visitor's arrival and departure: a guard (manager, admin) of the visitor's own
    property; a guard of another compound neither sees the visitor nor tells the host."""
    same_property = actor.settings_admin or actor.property_id == visitor_property_id
    return same_property and may_guard_visitors(actor)


def host_answer_counts(now: datetime, answer_due_at: datetime | None) -> bool:
    """A host's answer to a walk-in counts until the guard's wait is over."""
    return answer_due_at is not None and now <= answer_due_at


def visitor_purge_cutoff(now: datetime, keep_days: int) -> datetime:
    """Visitor records registered before this are deleted."""
    return now - timedelta(days=keep_days)


# --- FAQ drafts ----------------------------------------------------------------------------


def offers_faq_draft(category: str, status: str) -> bool:
    """The card of a resolved or closed inquiry offers [Add to FAQ]."""
    return category == Category.INQUIRY and status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)


def may_draft_faq(actor: Actor, ticket: TicketLike) -> bool:
    """Writing an FAQ entry from an inquiry: the ticket's own team (who answered it), and
    managers of its property."""
    if not _same_property(actor, ticket):
        return False
    return actor.is_manager or actor.role_in(ticket.team) is not None


def may_review_faq(actor: Actor) -> bool:
    """Approving or rejecting FAQ drafts (`/faqdrafts`): managers and admins."""
    return actor.is_manager


# --- announcements -------------------------------------------------------------------------

NOTICE_TEXT_LIMIT = 3500  # Telegram's 4096, less the heading and the escaping's growth
NOTICE_CAPTION_LIMIT = 900  # Telegram's 1024 for a photo's caption, less the heading
NOTICE_AHEAD_LIMIT = timedelta(days=30)  # a scheduled announcement is at most this far ahead
NOTICE_HISTORY = 10  # how many announcements /notices lists


def may_send_notice(actor: Actor) -> bool:
    """Managers and the service team's lead speak to residents at large."""
    return actor.is_manager or actor.role_in(Team.SERVICE) == Role.LEAD


def may_send_safety_notice(actor: Actor) -> bool:
    """A safety notice reaches residents who turned notices off: managers only."""
    return actor.is_manager


def may_address_all_properties(actor: Actor) -> bool:
    """Every property at once is the administrators' call; others speak to their own."""
    return actor.is_admin


def may_manage_notice(actor: Actor, author_id: int, property_id: int | None) -> bool:
    """Cancel or stop: the author, or a manager of the property (an admin for all)."""
    if actor.telegram_id == author_id or actor.is_admin:
        return True
    return actor.is_manager and property_id is not None and property_id == actor.property_id


def notice_reaches(safety: bool, opted_out: bool) -> bool:
    """Ordinary notices respect `/notices off`; safety notices reach everyone."""
    return safety or not opted_out


def notice_priority(safety: bool) -> SendPriority:
    """Announcements wait behind replies and cards; a safety notice goes first."""
    return SendPriority.URGENT if safety else SendPriority.BULK


def notice_text_limit(with_photo: bool) -> int:
    return NOTICE_CAPTION_LIMIT if with_photo else NOTICE_TEXT_LIMIT


def notice_time_ok(now: datetime, send_at: datetime) -> bool:
    """A scheduled time is in the future and not absurdly far."""
    return now < send_at <= now + NOTICE_AHEAD_LIMIT
