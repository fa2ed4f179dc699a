"""Personal data: a resident's own data (/mydata), forgetting a resident (/forgetme), and
the retention of closed tickets' descriptions and photos.

Forgetting keeps the figures: tickets stay with their numbers, categories, teams, times
and stars, so digests and performance figures do not change; what could identify the
person (name, phone, address, descriptions, photos, comments, their Telegram id) goes.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.policy import retention_cutoff
from bot.services.desk import Desk, uow_of
from bot.services.dispatch import Dispatch
from bot.services.lifecycle import OPEN_STATUSES
from bot.services.outbox import CARD_KEY_PREFIX
from bot.services.phones import display_phone
from storage.models import (
    DialogState,
    FaqDraft,
    FaqGap,
    Notice,
    OutboxMessage,
    Rating,
    Resident,
    SurveyResponse,
    Ticket,
    TicketEvent,
    Visitor,
)

REDACTED_BY_RETENTION = "redacted"
ANONYMISED = "anonymised"
FORGOTTEN_ERROR = "about a person who asked to be forgotten"
# Shorter phones (an extension) would match unrelated messages.
PHONE_MARK_MIN = 7


@dataclass
class MyData:
    """Everything kept about one resident, for their export."""

    resident: Resident | None  # None: not registered (a registration half done)
    property_name: str = ""
    tickets: Sequence[Ticket] = ()
    timelines: dict[int, list[TicketEvent]] = field(default_factory=dict)
    ratings: dict[int, Rating] = field(default_factory=dict)
    surveys: Sequence[SurveyResponse] = ()
    visitors: Sequence[Visitor] = ()
    faq_questions: Sequence[FaqGap] = ()
    faq_drafts: Sequence[FaqDraft] = ()
    dialog: DialogState | None = None
    waiting: Sequence[OutboxMessage] = ()
    notices_off_since: datetime | None = None
    notices: Sequence[Notice] = ()


@dataclass
class Forgotten:
    """What /forgetme did: open tickets withdrawn (their cards need retiring), and counts."""

    cancelled: list[Ticket] = field(default_factory=list)
    anonymised: list[Ticket] = field(default_factory=list)
    visitors: int = 0


class PersonalData:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.uow = uow_of(desk)

    # /mydata -------------------------------------------------------------------------------
    async def export(self, telegram_id: int) -> MyData | None:
        """None when nothing at all is kept about them."""
        resident = await self.desk.resident(telegram_id)
        data = await self._unregistered(telegram_id)
        if resident is None or not resident.registered:
            held = data.dialog or data.notices_off_since or data.notices
            return data if held or resident is not None else None
        tickets = await self.uow.privacy.tickets_of(resident.id)
        ids = [ticket.id for ticket in tickets]
        timelines: dict[int, list[TicketEvent]] = defaultdict(list)
        for event in await self.uow.privacy.events_of(ids) if ids else ():
            timelines[event.ticket_id].append(event)
        ratings = {r.ticket_id: r for r in await self.uow.privacy.ratings_of(ids)} if ids else {}
        prop = await self.desk.property(resident.property_id) if resident.property_id else None
        data.resident = resident
        data.property_name = prop.name if prop else ""
        data.tickets, data.timelines, data.ratings = tickets, dict(timelines), ratings
        data.surveys = await self.uow.privacy.surveys_of(telegram_id)
        data.visitors = await self.uow.privacy.visitors_of(resident.id)
        data.faq_questions = await self.uow.privacy.faq_questions_of(telegram_id)
        data.faq_drafts = await self.uow.privacy.open_faq_drafts(ids) if ids else ()
        return data

    async def _unregistered(self, telegram_id: int) -> MyData:
        """What is kept even before registering: the conversation under way (name, phone,
        the problem typed), messages waiting for them, their /notices choice."""
        opt_out = await self.uow.privacy.notices_opt_out(telegram_id)
        return MyData(
            resident=None,
            dialog=await self.uow.privacy.dialog_of(telegram_id),
            waiting=await self.uow.privacy.waiting_for(telegram_id),
            notices_off_since=opt_out.at if opt_out else None,
            notices=await self.uow.privacy.notices_received(telegram_id),
        )

    async def holds_anything(self, telegram_id: int) -> bool:
        return await self.export(telegram_id) is not None

    # /forgetme -----------------------------------------------------------------------------
    async def forget(self, telegram_id: int, placeholder: str) -> Forgotten | None:
        """Withdraw open tickets, anonymise every ticket, drop the profile, and blank every
        copy in the outbox (`placeholder` stands in for a card still waiting to be sent).
        The person can register afresh afterwards: they are a newcomer then."""
        if not await self.holds_anything(telegram_id):
            return None
        resident = await self.desk.resident(telegram_id)
        if resident is None:
            await self._drop_chat(telegram_id)
            return Forgotten()
        done = Forgotten()
        tickets = list(await self.uow.privacy.tickets_of(resident.id))
        dispatch = Dispatch(self.desk)
        for ticket in tickets:
            if ticket.status in OPEN_STATUSES:
                await dispatch.cancel(resident, ticket)
                done.cancelled.append(ticket)
        ids = [ticket.id for ticket in tickets]
        for ticket in tickets:
            self._anonymise(ticket)
            await self.desk.record(ticket, ANONYMISED, actor_kind="system")
            done.anonymised.append(ticket)
        if ids:
            await self.uow.privacy.blank_ticket_texts(ids)
        await self.uow.privacy.detach_resident(telegram_id, ids)
        visitor_ids = [v.id for v in await self.uow.privacy.visitors_of(resident.id)]
        done.visitors = await self.uow.privacy.anonymise_visitors(resident.id)
        await self.uow.privacy.blank_faq_questions(telegram_id)
        draft_ids = await self.uow.privacy.delete_unapproved_drafts(ids) if ids else []
        marks = [t.number for t in tickets] + _phone_marks(resident.phone)
        keys, prefixes = await self._outbox_keys(ids, draft_ids, visitor_ids)
        for row in await self.uow.privacy.outbox_about(keys, prefixes, marks):
            _scrub(row, marks, keys, prefixes, placeholder)
        await self._drop_chat(telegram_id)
        await self.uow.privacy.delete_resident(resident)
        return done

    async def _drop_chat(self, telegram_id: int) -> None:
        await self.uow.privacy.drop_private_chat(telegram_id)
        await self.uow.privacy.drop_notices(telegram_id)

    async def _outbox_keys(
        self, ticket_ids: list[int], draft_ids: list[int], visitor_ids: list[int]
    ) -> tuple[list[str], list[str]]:
        """The outbox keys written for their tickets, cards, FAQ drafts, return visits,
        ratings and visitors (bot/handlers: cards, staff_cards, notices, faq_drafts...):
        exact keys, and key prefixes."""
        privacy = self.uow.privacy
        cards = await privacy.card_ids_of(ticket_ids) if ticket_ids else []
        visits = await privacy.return_visit_ids_of(ticket_ids) if ticket_ids else []
        ratings = [r.id for r in await privacy.ratings_of(ticket_ids)] if ticket_ids else []
        keys = [f"danger:{t}" for t in ticket_ids] + [f"visit:{v}" for v in visits]
        prefixes = [
            f"{kind}:{t}:"
            for t in ticket_ids
            for kind in ("card", "res", "contact", "sla", "incident")
        ]
        prefixes += [f"{kind}:{c}:" for c in cards for kind in ("edit", "re", "anon")]
        prefixes += [f"faqdraft:{d}:" for d in draft_ids]
        prefixes += [f"rate:{r}:" for r in ratings]
        prefixes += [f"visitor:{v}:" for v in visitor_ids]
        return keys, prefixes

    def _anonymise(self, ticket: Ticket) -> None:
        ticket.contact_name = ""
        ticket.contact_phone = ""
        ticket.address = ""
        self._blank(ticket)

    def _blank(self, ticket: Ticket) -> None:
        ticket.description = ""
        ticket.photo_file_ids = []
        ticket.redacted_at = self.desk.now()
        ticket.updated_at = self.desk.now()

    # retention -----------------------------------------------------------------------------
    async def due_for_retention(self, limit: int) -> list[int]:
        cutoff = retention_cutoff(self.desk.now(), self.desk.settings.retention.closed_ticket_days)
        if cutoff is None:
            return []
        return await self.uow.privacy.closed_unredacted(cutoff, limit)

    async def apply_retention(self, ticket_id: int) -> bool:
        """Blank one closed ticket's description and photos (its timeline's too), recorded
        in its timeline; False when it is no longer due (reopened, or done meanwhile)."""
        ticket = await self.uow.tickets.locked(ticket_id)
        cutoff = retention_cutoff(self.desk.now(), self.desk.settings.retention.closed_ticket_days)
        if (
            ticket is None
            or cutoff is None
            or ticket.redacted_at is not None
            or ticket.closed_at is None
            or ticket.closed_at >= cutoff
            or ticket.status in OPEN_STATUSES
        ):
            return False
        self._blank(ticket)
        await self.uow.privacy.blank_ticket_texts([ticket.id])
        await self.desk.record(ticket, REDACTED_BY_RETENTION, actor_kind="system")
        return True


def _phone_marks(phone: str) -> list[str]:
    digits = re.sub(r"\D", "", display_phone(phone)) if phone else ""
    return [digits] if len(digits) >= PHONE_MARK_MIN else []


def _scrub(
    row: OutboxMessage,
    marks: Sequence[str],
    keys: Sequence[str],
    prefixes: Sequence[str],
    placeholder: str,
) -> None:
    """One outbox row written for the forgotten person loses its text. A card still waiting
    is sent with the placeholder (its message id is what later edits, the anonymised one
    included, need); anything else still waiting is not sent."""
    key = row.dedupe_key
    if key not in keys and not key.startswith(tuple(prefixes)) and not _mentions(row, marks):
        return  # a longer ticket number or phone that only starts like theirs
    if row.status != "pending":
        row.payload = {}
    elif key.startswith(CARD_KEY_PREFIX) and not key.endswith(":photos"):
        row.payload = _placeholder_card(row.payload, placeholder)
    else:
        row.status, row.error, row.payload = "failed", FORGOTTEN_ERROR, {}


def _mentions(row: OutboxMessage, marks: Sequence[str]) -> bool:
    text = json.dumps(row.payload)
    return any(re.search(rf"(?<!\d){re.escape(mark)}(?!\d)", text) for mark in marks)


def _placeholder_card(payload: dict[str, Any], placeholder: str) -> dict[str, Any]:
    """Where and how the card goes stays (chat, topic); what it says and its buttons go."""
    keep = {k: v for k, v in payload.items() if k in ("thread_id", "reply_to_message_id")}
    return {**keep, "text": placeholder, "buttons": [], "photos": []}
