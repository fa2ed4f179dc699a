"""`/my`: the resident's tickets, newest first, with details and timeline per ticket;
an open ticket can get more text or photos, or be cancelled."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum

from bot.handlers import reporting
from bot.handlers.base import Ctx, shorten
from bot.handlers.cards import (
    REPLY_QUOTE_LIMIT,
    group_translator,
    left_incident,
    quoted,
    refresh_cards,
    reply_to_cards,
)
from bot.handlers.flow import CallbackCodec, Flow, FlowStep, Press, StepSpec
from bot.handlers.inputs import clean_text
from bot.handlers.presenters import (
    category_label,
    channel_label,
    local_time,
    status_label,
    team_label,
    urgency_label,
)
from bot.i18n import has_key
from bot.messages import Button, Keyboard
from bot.services.dispatch import Conflict, Dispatch
from bot.services.lifecycle import OPEN_STATUSES, IllegalTransition
from bot.services.staff import NotAllowed
from storage.models import Resident, Ticket, TicketEvent

LIST_LIMIT = 10
DETAIL_LIMIT = 1500
EVENT_NOTE_LIMIT = 200


class Step(FlowStep):
    __flow__ = "addinfo"
    ADDING = "adding"  # stored as "" before steps had names


class MyButton(StrEnum):
    DETAILS = "details"  # sent without an action: `my:<ticket>`
    ADD_INFO = "add"
    END_INFO = "end"
    ASK_CANCEL = "x"
    CANCEL = "xy"
    KEEP = "keep"


BUTTONS = CallbackCodec(
    "my",
    MyButton,
    subject="id",
    default=MyButton.DETAILS,
    summary="the resident's own tickets: details, add text or photos, cancel (asked twice)",
)


async def show_list(ctx: Ctx) -> None:
    resident = await ctx.desk.resident(ctx.inc.user_id)
    tickets = await ctx.desk.tickets_of(resident, LIST_LIMIT) if resident else []
    if not tickets:
        ctx.say(ctx.t("my.empty"))
        return
    lines = [ctx.t("my.title", count=len(tickets))]
    lines += [_line(ctx, ticket) for ticket in tickets]
    buttons = tuple(
        (
            Button(
                ctx.t("my.details_button", number=t.number), BUTTONS.encode(MyButton.DETAILS, t.id)
            ),
        )
        for t in tickets
    )
    ctx.say("\n".join(lines), buttons)


async def on_callback(ctx: Ctx, press: Press) -> None:
    """A button on one of the presser's own tickets."""
    resident = await ctx.desk.resident(ctx.inc.user_id)
    ticket = None
    if resident is not None:
        ticket = await ctx.desk.ticket_for_resident(resident, press.subject_id)
    handler = ACTIONS[MyButton(press.action)]
    if resident is None or ticket is None:
        ctx.toast(ctx.t("common.unknown_button"))
        return
    try:
        await handler(ctx, resident, ticket)
    except (IllegalTransition, Conflict, NotAllowed):
        ctx.toast(ctx.t("my.not_open", status=status_label(ctx.t, ticket.status)), alert=True)


async def _details_of(ctx: Ctx, resident: Resident, ticket: Ticket) -> None:
    ctx.toast()
    events = await ctx.desk.timeline(ticket)
    ctx.say(_details(ctx, ticket, list(events)), _detail_buttons(ctx, ticket))


async def _ask_info(ctx: Ctx, resident: Resident, ticket: Ticket) -> None:
    if ticket.status not in OPEN_STATUSES:
        raise IllegalTransition("info", ticket.status)
    if reporting.has_open_draft(ctx):
        await reporting.remind_open_draft(ctx)
        return
    ctx.toast()
    ctx.goto(Step.ADDING, ticket=ticket.id, number=ticket.number)
    ctx.say(ctx.t("my.ask_info", number=ticket.number), _end_button(ctx, ticket))


async def _end_info(ctx: Ctx, resident: Resident, ticket: Ticket) -> None:
    ctx.toast()
    if ctx.state.flow == FLOW.name:
        ctx.finish()
    ctx.edit(ctx.t("my.info_done", number=ticket.number))


async def _ask_cancel(ctx: Ctx, resident: Resident, ticket: Ticket) -> None:
    if ticket.status not in OPEN_STATUSES:
        raise IllegalTransition("cancel", ticket.status)
    ctx.toast()
    buttons = (
        (
            Button(ctx.t("my.btn_cancel_yes"), BUTTONS.encode(MyButton.CANCEL, ticket.id)),
            Button(ctx.t("my.btn_cancel_no"), BUTTONS.encode(MyButton.KEEP, ticket.id)),
        ),
    )
    ctx.say(ctx.t("my.confirm_cancel", number=ticket.number), buttons)


async def _cancel(ctx: Ctx, resident: Resident, ticket: Ticket) -> None:
    await Dispatch(ctx.desk).cancel(resident, ticket)
    ctx.toast()
    ctx.edit(ctx.t("my.cancelled", number=ticket.number))
    t = group_translator(ctx.desk)
    # Tell the group under the card first; retiring the cards ends their replies.
    await reply_to_cards(ctx.desk, ticket, t("card.resident_cancelled", number=ticket.number), ())
    await refresh_cards(ctx.desk, ticket, retire=True)
    await left_incident(ctx.desk, ticket)


async def _keep(ctx: Ctx, resident: Resident, ticket: Ticket) -> None:
    ctx.toast()
    ctx.edit(ctx.t("my.kept", number=ticket.number))


ACTIONS: dict[MyButton, Callable[[Ctx, Resident, Ticket], Awaitable[None]]] = {
    MyButton.DETAILS: _details_of,
    MyButton.ADD_INFO: _ask_info,
    MyButton.END_INFO: _end_info,
    MyButton.ASK_CANCEL: _ask_cancel,
    MyButton.CANCEL: _cancel,
    MyButton.KEEP: _keep,
}


async def on_info_message(ctx: Ctx) -> None:
    """While adding to a ticket, each text or photo goes to the card as a reply."""
    resident = await ctx.desk.resident(ctx.inc.user_id)
    ticket_id = ctx.state.data.get("ticket")
    ticket = (
        await ctx.desk.ticket_for_resident(resident, int(ticket_id))
        if resident and isinstance(ticket_id, int)
        else None
    )
    if resident is None or ticket is None:
        ctx.finish()
        return
    text = clean_text(ctx.inc.text)
    try:
        await Dispatch(ctx.desk).add_info(resident, ticket, text, ctx.inc.photos)
    except IllegalTransition:
        ctx.finish()
        ctx.say(ctx.t("my.not_open", status=status_label(ctx.t, ticket.status)))
        # the ticket closed meanwhile: what was typed is most likely a new problem, and a
        # draft (which the resident may cancel) keeps it rather than dropping it
        await reporting.start(ctx, resident)
        return
    t = group_translator(ctx.desk)
    body = t(
        "card.resident_added",
        number=ticket.number,
        text=quoted(t, text, REPLY_QUOTE_LIMIT) if text else "📷",
    )
    await reply_to_cards(ctx.desk, ticket, body, ctx.inc.photos)
    ctx.say(ctx.t("my.info_added", number=ticket.number), _end_button(ctx, ticket))


async def prompt_info(ctx: Ctx) -> None:
    number = str(ctx.state.data.get("number", ""))
    ticket_id = ctx.state.data.get("ticket")
    buttons: Keyboard = (
        ((Button(ctx.t("my.btn_info_done"), BUTTONS.encode(MyButton.END_INFO, ticket_id)),),)
        if ticket_id
        else ()
    )
    ctx.say(ctx.t("my.ask_info", number=number), buttons)


def _end_button(ctx: Ctx, ticket: Ticket) -> Keyboard:
    return ((Button(ctx.t("my.btn_info_done"), BUTTONS.encode(MyButton.END_INFO, ticket.id)),),)


def _detail_buttons(ctx: Ctx, ticket: Ticket) -> Keyboard:
    if ticket.status not in OPEN_STATUSES:
        return ()
    return (
        (
            Button(ctx.t("my.btn_add_info"), BUTTONS.encode(MyButton.ADD_INFO, ticket.id)),
            Button(ctx.t("my.btn_cancel_ticket"), BUTTONS.encode(MyButton.ASK_CANCEL, ticket.id)),
        ),
    )


def _line(ctx: Ctx, ticket: Ticket) -> str:
    return ctx.t(
        "my.line",
        number=ticket.number,
        category=category_label(ctx.t, ticket.category),
        status=status_label(ctx.t, ticket.status),
        text=shorten(ticket.description.replace("\n", " "), 24),
    )


def _details(ctx: Ctx, ticket: Ticket, events: list[TicketEvent]) -> str:
    t = ctx.t
    lines = [
        t(
            "my.detail_head",
            number=ticket.number,
            category=category_label(t, ticket.category),
            urgency=urgency_label(t, ticket.urgency),
            status=status_label(t, ticket.status),
        ),
        t("my.detail_address", address=ticket.address),
        t("my.detail_description", text=shorten(ticket.description, DETAIL_LIMIT)),
    ]
    if ticket.photo_file_ids:
        lines.append(t("report.photos", count=len(ticket.photo_file_ids)))
    lines.append(t("my.timeline"))
    lines += [_event_line(ctx, event) for event in events[-20:]]
    return "\n".join(lines)


def _event_line(ctx: Ctx, event: TicketEvent) -> str:
    when = local_time(event.at, ctx.settings.tz)
    return ctx.t("my.event", when=when, what=event_words(ctx, event))


def event_words(ctx: Ctx, event: TicketEvent) -> str:
    """An audit event in plain words; codes become labels, internal notes stay internal."""
    t = ctx.t
    new, old = event.new_value or "", event.old_value or ""
    note = shorten(event.note or "", EVENT_NOTE_LIMIT)
    if event.kind == "status":
        if new == "new" and old in ("resolved", "closed"):
            return t("event.reopened", note=note)
        text = t("event.status", new=status_label(t, new))
        return text + t("event.with_note", note=note) if new == "resolved" and note else text
    labels = {
        "assignee": lambda: t("event.assignee", new=new) if new else t("event.unassigned"),
        "team": lambda: t("event.team", new=team_label(t, new)),
        "category": lambda: t("event.category", new=category_label(t, new)),
        "urgency": lambda: t("event.urgency", new=urgency_label(t, new)),
        "info": lambda: t("event.info", note=note or "📷"),
        "registered": lambda: t("event.registered", channel=channel_label(t, new), name=note),
    }
    if event.kind in labels:
        return labels[event.kind]()
    key = f"event.{event.kind}"
    return t(key, new=new, old=old, note=note) if has_key(t.locale, key) else t("event.other")


FLOW = Flow(
    Step,
    {Step.ADDING: StepSpec(on_info_message, prompt_info, takes_photos=True, side_step=True)},
    moved={"": Step.ADDING},
    summary="more text or photos for an open ticket, each sent under its card",
)
