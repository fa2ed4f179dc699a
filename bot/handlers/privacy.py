"""A resident's own data: `/mydata` sends it as a file, `/forgetme` (confirmed with a
button) anonymises it. Private chats only; the work is in `bot.services.privacy`."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.handlers.base import Ctx, State, new_token
from bot.handlers.cards import (
    anonymise_cards,
    group_translator,
    left_incident,
    reply_to_cards,
)
from bot.handlers.flow import CallbackCodec, Flow, FlowStep, Press, StepSpec
from bot.handlers.my_tickets import event_words
from bot.handlers.presenters import category_label, status_label, team_label, urgency_label
from bot.messages import Button, Document
from bot.services.lifecycle import OPEN_STATUSES
from bot.services.outbox import from_payload
from bot.services.phones import display_phone
from bot.services.privacy import MyData, PersonalData
from storage.models import (
    DialogState,
    FaqDraft,
    FaqGap,
    Notice,
    OutboxMessage,
    Rating,
    Resident,
    Ticket,
    TicketEvent,
    Visitor,
)

JSON_MIME = "application/json"


class Step(FlowStep):
    __flow__ = "forget"
    CONFIRM = "confirm"


class ForgetButton(StrEnum):
    FORGET = "yes"
    KEEP = "no"


BUTTONS = CallbackCodec(
    "fg",
    ForgetButton,
    subject="token",
    summary="/forgetme: delete or keep; the subject is the question's token (an old one is stale)",
)


# /mydata -------------------------------------------------------------------------------------
async def on_mydata(ctx: Ctx) -> None:
    data = await PersonalData(ctx.desk).export(ctx.inc.user_id)
    if data is None:
        ctx.say(ctx.t("privacy.nothing_kept"))
        return
    day = ctx.desk.now().astimezone(ctx.settings.tz).strftime("%Y%m%d")
    content = json.dumps(export_document(ctx, data), ensure_ascii=False, indent=2)
    document = Document(f"propdesk-mydata-{day}.json", content.encode("utf-8"), JSON_MIME)
    if data.resident is None:
        ctx.say(ctx.t("privacy.mydata_caption_unregistered"), document=document)
        return
    caption = ctx.t(
        "privacy.mydata_caption",
        tickets=len(data.tickets),
        visitors=len(data.visitors),
        questions=len(data.faq_questions),
    )
    ctx.say(caption, document=document)


def export_document(ctx: Ctx, data: MyData) -> dict[str, Any]:
    """The export: field names in English for machines, labels in the resident's language."""
    return {
        "generated_at": _when(ctx, ctx.desk.now()),
        "profile": _profile(ctx, data.resident, data.property_name),
        "tickets": [
            _ticket(ctx, t, data.timelines.get(t.id, []), data.ratings.get(t.id))
            for t in data.tickets
        ],
        "surveys": [
            {
                "period": s.period,
                "stars": s.stars,
                "comment": s.comment,
                "answered_at": _when(ctx, s.answered_at),
            }
            for s in data.surveys
        ],
        "visitors": [_visitor(ctx, v) for v in data.visitors],
        "faq_questions": [_faq_question(ctx, gap) for gap in data.faq_questions],
        "faq_drafts": [_faq_draft(data, draft) for draft in data.faq_drafts],
        "notices": {
            "turned_off_at": _when(ctx, data.notices_off_since),
            "received": [_notice(ctx, notice) for notice in data.notices],
        },
        "conversation": _conversation(ctx, data.dialog),
        "messages_waiting": [_waiting(row) for row in data.waiting],
    }


def _profile(ctx: Ctx, resident: Resident | None, property_name: str) -> dict[str, Any] | None:
    if resident is None:
        return None  # not registered: what they typed so far is in "conversation"
    return {
        "name": resident.name,
        "phone": display_phone(resident.phone) if resident.phone else "",
        "property": property_name,
        "building": resident.building,
        "unit": resident.unit,
        "room": resident.room,
        "language": resident.locale,
        "registered_at": _when(ctx, resident.created_at),
    }


def _faq_draft(data: MyData, draft: FaqDraft) -> dict[str, Any]:
    """An FAQ entry staff are writing from their inquiry: its question is their words."""
    numbers = {ticket.id: ticket.number for ticket in data.tickets}
    return {
        "ticket": numbers.get(draft.ticket_id or 0, ""),
        "question": draft.question,
        "status": draft.status,  # writing, pending: as staff see it
    }


def _notice(ctx: Ctx, notice: Notice) -> dict[str, Any]:
    return {"sent_at": _when(ctx, notice.started_at or notice.send_at), "text": notice.text}


def _conversation(ctx: Ctx, dialog: DialogState | None) -> dict[str, Any] | None:
    """The dialog under way, as stored: a registration half done holds name, phone and the
    problem typed."""
    if dialog is None:
        return None
    return {
        "flow": dialog.flow,
        "step": dialog.step,
        "data": dialog.data,
        "updated_at": _when(ctx, dialog.updated_at),
    }


def _waiting(row: OutboxMessage) -> str:
    return from_payload(row.chat_id, row.payload).text


def _visitor(ctx: Ctx, visitor: Visitor) -> dict[str, Any]:
    t = ctx.t
    return {
        "kind": t(f"export.visitor_kind.{visitor.kind}"),
        "name": visitor.name,
        "people": visitor.people,
        "plate": visitor.plate,
        "address": visitor.host_address,
        "pass_code": visitor.code,
        "window_start": _when(ctx, visitor.starts_at),
        "window_end": _when(ctx, visitor.ends_at),
        "status": t(f"export.visitor_status.{visitor.status}"),
        "arrived_at": _when(ctx, visitor.arrived_at),
        "left_at": _when(ctx, visitor.left_at),
        "registered_at": _when(ctx, visitor.created_at),
    }


def _faq_question(ctx: Ctx, gap: FaqGap) -> dict[str, Any]:
    """A question the FAQ could not answer, or whose answer they asked staff about."""
    return {
        "asked_at": _when(ctx, gap.at),
        "question": gap.question,
        "outcome": ctx.t(f"faq.gap_{gap.kind}", entry=gap.entry_id or ""),
    }


def _ticket(
    ctx: Ctx, ticket: Ticket, events: list[TicketEvent], rating: Rating | None
) -> dict[str, Any]:
    t = ctx.t
    return {
        "number": ticket.number,
        "created_at": _when(ctx, ticket.created_at),
        "status": status_label(t, ticket.status),
        "category": category_label(t, ticket.category),
        "urgency": urgency_label(t, ticket.urgency),
        "team": team_label(t, ticket.team),
        "address": ticket.address,
        "contact_name": ticket.contact_name,
        "contact_phone": display_phone(ticket.contact_phone) if ticket.contact_phone else "",
        "description": ticket.description,
        "photos": len(ticket.photo_file_ids),
        "accepted_at": _when(ctx, ticket.accepted_at),
        "resolved_at": _when(ctx, ticket.resolved_at),
        "closed_at": _when(ctx, ticket.closed_at),
        # the same plain words as /my: internal staff notes stay internal
        "timeline": [
            {"at": _when(ctx, event.at), "what": event_words(ctx, event)} for event in events
        ],
        "rating": None
        if rating is None
        else {
            "stars": rating.stars,
            "reasons": [t(f"rating.reason_{reason}") for reason in rating.reasons],
            "comment": rating.comment,
            "answered_at": _when(ctx, rating.answered_at),
        },
    }


def _when(ctx: Ctx, moment: datetime | None) -> str | None:
    """Property-local time with its offset, e.g. 2026-11-28T14:00:00+08:00."""
    return None if moment is None else moment.astimezone(ctx.settings.tz).isoformat()


# /forgetme -----------------------------------------------------------------------------------
async def on_forgetme(ctx: Ctx) -> None:
    if ctx.state.due_at is not None:
        # "Is anyone in danger?" is waiting: silence pages the property, which a question
        # of ours in between would cancel.
        ctx.say(ctx.t("privacy.answer_first"))
        return
    if not await PersonalData(ctx.desk).holds_anything(ctx.inc.user_id):
        ctx.say(ctx.t("privacy.nothing_kept"))
        return
    previous = _previous(ctx.state)
    ctx.finish()  # the question stands alone; Keep brings back what was under way
    ctx.goto(Step.CONFIRM, token=new_token(), previous=previous)
    await ask_forget(ctx)


def _previous(state: State) -> dict[str, Any] | None:
    """The dialog under way (a report draft, a registration), kept until Delete."""
    if state.flow == FLOW.name:
        kept = state.data.get("previous")  # /forgetme again: the first question's
        return kept if isinstance(kept, dict) else None
    if not state.flow:
        return None
    return {"flow": state.flow, "step": state.step, "data": state.data}


def _restore(ctx: Ctx) -> None:
    previous = ctx.state.data.get("previous")
    ctx.finish()
    if isinstance(previous, dict):
        ctx.state = State(str(previous["flow"]), str(previous["step"]), dict(previous["data"]))


async def ask_forget(ctx: Ctx) -> None:
    token = str(ctx.state.data.get("token", ""))
    resident = await ctx.desk.resident(ctx.inc.user_id)
    tickets = await ctx.desk.tickets_of(resident, limit=1000) if resident else []
    open_count = sum(ticket.status in OPEN_STATUSES for ticket in tickets)
    buttons = (
        (
            Button(ctx.t("privacy.btn_forget"), BUTTONS.encode(ForgetButton.FORGET, token)),
            Button(ctx.t("privacy.btn_keep"), BUTTONS.encode(ForgetButton.KEEP, token)),
        ),
    )
    key = "privacy.confirm_with_open" if open_count else "privacy.confirm"
    if resident is None or not resident.registered:
        key = "privacy.confirm_unregistered"
    ctx.say(ctx.t(key, open=open_count), buttons)


async def on_callback(ctx: Ctx, press: Press) -> None:
    if ctx.state.flow != FLOW.name or ctx.state.data.get("token") != press.subject:
        ctx.toast(ctx.t("common.stale_button"))
        return
    ctx.toast()
    if press.action == ForgetButton.KEEP:
        _restore(ctx)
        ctx.edit(ctx.t("privacy.kept"))
        return
    ctx.finish()
    resident = await ctx.desk.resident(ctx.inc.user_id)
    registered = resident is not None and resident.registered
    group = group_translator(ctx.desk)
    forgotten = await PersonalData(ctx.desk).forget(ctx.inc.user_id, group("card.anonymised"))
    if forgotten is None:
        ctx.edit(ctx.t("privacy.nothing_kept"))
        return
    for ticket in forgotten.cancelled:
        # The team hears it under the card, as when a resident cancels one ticket.
        await reply_to_cards(
            ctx.desk, ticket, group("card.resident_withdrew", number=ticket.number), ()
        )
    for ticket in forgotten.cancelled:
        await left_incident(ctx.desk, ticket)
    for ticket in forgotten.anonymised:
        await anonymise_cards(ctx.desk, ticket)
    if not registered:
        ctx.edit(ctx.t("privacy.forgotten_unregistered"))
        return
    ctx.edit(
        ctx.t(
            "privacy.forgotten",
            tickets=len(forgotten.anonymised),
            cancelled=len(forgotten.cancelled),
            visitors=forgotten.visitors,
        )
    )


FLOW = Flow(
    Step,
    {Step.CONFIRM: StepSpec(None, ask_forget)},
    summary="/forgetme: a question with two buttons; yes anonymises, no keeps everything",
)
