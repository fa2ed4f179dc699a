"""A resident's own data: `/mydata` sends it as a file, `/forgetme` (confirmed with a
button) anonymises it. Private chats only; the work is in `bot.services.privacy`."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.handlers.base import Ctx, new_token
from bot.handlers.cards import anonymise_cards, group_translator, reply_to_cards
from bot.handlers.flow import CallbackCodec, Flow, FlowStep, Press, StepSpec
from bot.handlers.my_tickets import event_words
from bot.handlers.presenters import category_label, status_label, team_label, urgency_label
from bot.messages import Button, Document
from bot.services.lifecycle import OPEN_STATUSES
from bot.services.phones import display_phone
from bot.services.privacy import MyData, PersonalData
from storage.models import FaqGap, Rating, Ticket, TicketEvent, Visitor

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
    caption = ctx.t(
        "privacy.mydata_caption",
        tickets=len(data.tickets),
        visitors=len(data.visitors),
        questions=len(data.faq_questions),
    )
    ctx.say(caption, document=document)


def export_document(ctx: Ctx, data: MyData) -> dict[str, Any]:
    """The export: field names in English for machines, labels in the resident's language."""
    resident = data.resident
    return {
        "generated_at": _when(ctx, ctx.desk.now()),
        "profile": {
            "name": resident.name,
            "phone": display_phone(resident.phone) if resident.phone else "",
            "property": data.property_name,
            "building": resident.building,
            "unit": resident.unit,
            "room": resident.room,
            "language": resident.locale,
            "registered_at": _when(ctx, resident.created_at),
        },
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
    }


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
    resident = await ctx.desk.resident(ctx.inc.user_id)
    if resident is None or not resident.registered:
        ctx.say(ctx.t("privacy.nothing_kept"))
        return
    ctx.finish()  # whatever was half done gives way to the question
    ctx.goto(Step.CONFIRM, token=new_token())
    await ask_forget(ctx)


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
    ctx.say(ctx.t(key, open=open_count), buttons)


async def on_callback(ctx: Ctx, press: Press) -> None:
    if ctx.state.flow != FLOW.name or ctx.state.data.get("token") != press.subject:
        ctx.toast(ctx.t("common.stale_button"))
        return
    ctx.toast()
    ctx.finish()
    if press.action == ForgetButton.KEEP:
        ctx.edit(ctx.t("privacy.kept"))
        return
    forgotten = await PersonalData(ctx.desk).forget(ctx.inc.user_id)
    if forgotten is None:
        ctx.edit(ctx.t("privacy.nothing_kept"))
        return
    group = group_translator(ctx.desk)
    for ticket in forgotten.cancelled:
        # The team hears it under the card, as when a resident cancels one ticket.
        await reply_to_cards(
            ctx.desk, ticket, group("card.resident_withdrew", number=ticket.number), ()
        )
    for ticket in forgotten.anonymised:
        await anonymise_cards(ctx.desk, ticket)
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
