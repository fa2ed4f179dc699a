"""What periodic work tells people, rendered from locale files and queued to the outbox.

Implements `bot.services.notify.Notifier`; the app hands it to the scheduler's sweeps.
Dedupe keys name the ticket, the milestone and the deadline it belongs to, so a sweep
repeated after a crash queues nothing twice, while the new deadlines of a reopen or an
urgency change get their own reminders and escalations.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain.policy import reminder_priority
from bot.domain.vocabulary import DutyCall, SendPriority
from bot.handlers.announcements import queue_notice, report_notice
from bot.handlers.buttons import RATING, REASON, SURVEY, VISIT, ReasonButton, Stars, VisitButton
from bot.handlers.cards import (
    group_translator,
    notify_resident,
    post_cards,
    post_private_card,
    refresh_cards,
    reply_to_private_card,
)
from bot.handlers.digests import DigestNotices
from bot.handlers.flow import CallbackCodec
from bot.handlers.presenters import local_time, team_label
from bot.handlers.reporting import page_unanswered
from bot.handlers.visitors import tell_guard_no_answer
from bot.i18n import Translator
from bot.messages import Button, Keyboard, Outgoing
from bot.services.desk import Desk
from bot.services.duty import DutyService
from bot.services.notices import NoticeCounts
from bot.services.ratings import REASONS
from bot.services.staff import StaffService
from storage.models import Notice, Rating, Resident, ReturnVisit, Ticket, Visitor

STARS = "⭐"


class HandlerNotifier(DigestNotices):
    async def notice_due(self, desk: Desk, notice: Notice, residents: Sequence[Resident]) -> None:
        await queue_notice(desk, notice, residents)

    async def notice_report(self, desk: Desk, notice: Notice, counts: NoticeCounts) -> None:
        await report_notice(desk, notice, counts)

    async def sla_reminder(self, desk: Desk, ticket: Ticket) -> None:
        t = group_translator(desk)
        text = t(
            "sla.remind",
            number=ticket.number,
            due=local_time(ticket.response_due_at, desk.settings.tz),
        )
        await _to_team(
            desk,
            ticket,
            ticket.team,
            f"sla:{ticket.id}:remind:{_deadline_key(ticket.response_due_at)}",
            text,
            priority=reminder_priority(ticket.urgency),
        )
        await refresh_cards(desk, ticket)
        await _call_duty(desk, ticket, DutyCall.REMIND, text)

    async def sla_escalation(self, desk: Desk, ticket: Ticket, kind: str, repeat: int) -> None:
        await refresh_cards(desk, ticket)  # the card shows overdue
        due = _deadline_of(ticket, kind)
        key = f"sla:{ticket.id}:{kind}:{repeat}:{_deadline_key(due)}"
        t = group_translator(desk)
        text = _escalation_text(t, desk, ticket, kind, repeat)
        priority = reminder_priority(ticket.urgency)
        await _to_team(desk, ticket, "managers", f"{key}:managers", text, priority=priority)
        contacts = await StaffService(desk).escalation_contacts(ticket.property_id, ticket.team)
        for telegram_id in sorted({c.telegram_id for c in contacts}):
            dm = Outgoing(chat_id=telegram_id, text=text)
            await desk.enqueue(f"{key}:dm:{telegram_id}", dm, priority=priority)
        await _call_duty(desk, ticket, DutyCall.ESCALATE, text)

    async def resident_delay(self, desk: Desk, ticket: Ticket) -> None:
        tz = desk.settings.tz
        if ticket.estimate_at is not None and ticket.estimate_at > ticket.resolution_due_at:
            estimate = local_time(ticket.estimate_at, tz)
            await notify_resident(desk, ticket, "sla.resident_delay_estimate", estimate=estimate)
        else:
            await notify_resident(desk, ticket, "sla.resident_delay")

    async def rating_request(
        self, desk: Desk, rating: Rating, ticket: Ticket, reminder: bool
    ) -> None:
        resident = await desk.resident(rating.resident_telegram_id)
        if resident is None or not resident.active:
            return
        t = Translator(resident.locale)
        key = "rating.reminder" if reminder else "rating.ask"
        out = Outgoing(
            chat_id=resident.telegram_id,
            text=t(key, number=ticket.number),
            buttons=star_buttons(RATING, rating.id),
        )
        key = f"rate:{rating.id}:{'remind' if reminder else 'ask'}"
        await desk.enqueue(key, out, priority=SendPriority.BULK)

    async def return_visit(self, desk: Desk, visit: ReturnVisit, ticket: Ticket) -> None:
        t = group_translator(desk)
        text = t(
            "visit.card",
            number=ticket.number,
            reason=t(f"visit.reason_{visit.reason}"),
            address=ticket.address,
            name=ticket.contact_name,
            due=local_time(visit.due_at, desk.settings.tz),
        )
        buttons = ((Button(t("visit.btn_record"), VISIT.encode(VisitButton.RECORD, visit.id)),),)
        await _to_team(desk, ticket, "service", f"visit:{visit.id}", text, buttons)

    async def survey(self, desk: Desk, resident_telegram_id: int, period: str) -> None:
        resident = await desk.resident(resident_telegram_id)
        if resident is None:
            return
        t = Translator(resident.locale)
        prop = await desk.property(resident.property_id) if resident.property_id else None
        out = Outgoing(
            chat_id=resident_telegram_id,
            text=t("survey.ask", property=prop.name if prop else ""),
            buttons=star_buttons(SURVEY, period),
        )
        await desk.enqueue(
            f"survey:{period}:{resident_telegram_id}", out, priority=SendPriority.BULK
        )

    async def auto_closed(self, desk: Desk, ticket: Ticket) -> None:
        await refresh_cards(desk, ticket, retire=True)

    async def visitor_no_answer(self, desk: Desk, visitor: Visitor) -> None:
        await tell_guard_no_answer(desk, visitor)

    async def danger_unanswered(self, desk: Desk, user_id: int, data: dict[str, Any]) -> bool:
        return await page_unanswered(desk, user_id, data) is not None

    async def plan_ticket(self, desk: Desk, ticket: Ticket) -> None:
        await post_cards(desk, ticket)


def star_buttons(codec: CallbackCodec, subject: object) -> Keyboard:
    return (tuple(Button(STARS * int(n), codec.encode(n, subject)) for n in Stars),)


def reason_buttons(t: Translator, rating_id: int) -> Keyboard:
    buttons = [
        Button(t(f"rating.reason_{r}"), REASON.encode(ReasonButton(r), rating_id)) for r in REASONS
    ]
    return (tuple(buttons[:3]), tuple(buttons[3:]))


def _deadline_of(ticket: Ticket, kind: str) -> datetime:
    return ticket.response_due_at if kind == "response_overdue" else ticket.resolution_due_at


def _deadline_key(due: datetime) -> int:
    """The deadline as a key part: outbox keys are never pruned, so a key without it would
    make a reopened ticket's second round of milestones look already sent."""
    return int(due.timestamp())


def _escalation_text(t: Translator, desk: Desk, ticket: Ticket, kind: str, repeat: int) -> str:
    tz = desk.settings.tz
    due = _deadline_of(ticket, kind)
    return t(
        f"sla.{kind}",
        number=ticket.number,
        team=team_label(t, ticket.team),
        address=ticket.address,
        due=local_time(due, tz),
        assignee=ticket.assignee_name or t("sla.nobody"),
        repeat=repeat + 1,
    )


async def _call_duty(desk: Desk, ticket: Ticket, kind: DutyCall, text: str) -> None:
    """Outside business hours the team's person on duty gets the card privately, with the
    reminder on it, so its buttons work from there (once per ticket, person and kind)."""
    for member in await DutyService(desk).to_call(ticket, kind):
        if not await reply_to_private_card(desk, ticket, member.telegram_id, text):
            await post_private_card(desk, ticket, member, text)


async def _to_team(
    desk: Desk,
    ticket: Ticket,
    team: str,
    key: str,
    text: str,
    buttons: Keyboard = (),
    priority: SendPriority = SendPriority.CARD,
) -> None:
    bound = await StaffService(desk).team_chat(ticket.property_id, team)
    if bound is None or bound.chat_id is None:
        return
    out = Outgoing(chat_id=bound.chat_id, text=text, buttons=buttons, thread_id=bound.thread_id)
    await desk.enqueue(key, out, priority=priority)
