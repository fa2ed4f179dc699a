"""`/my`: the resident's tickets, newest first, with details and timeline per ticket."""

from __future__ import annotations

from bot.handlers.base import Ctx, shorten
from bot.handlers.presenters import category_label, local_time, status_label, urgency_label
from bot.messages import Button
from storage.models import Ticket, TicketEvent

LIST_LIMIT = 10
DETAIL_LIMIT = 1500


async def show_list(ctx: Ctx) -> None:
    resident = await ctx.desk.resident(ctx.inc.user_id)
    tickets = await ctx.desk.tickets_of(resident, LIST_LIMIT) if resident else []
    if not tickets:
        ctx.say(ctx.t("my.empty"))
        return
    lines = [ctx.t("my.title", count=len(tickets))]
    lines += [_line(ctx, ticket) for ticket in tickets]
    buttons = tuple(
        (Button(ctx.t("my.details_button", number=t.number), f"my:{t.id}"),) for t in tickets
    )
    ctx.say("\n".join(lines), buttons)


async def on_callback(ctx: Ctx, parts: list[str]) -> None:
    """`my:<ticket id>`: details of one of the presser's own tickets."""
    resident = await ctx.desk.resident(ctx.inc.user_id)
    ticket = None
    if resident and len(parts) == 1 and parts[0].isdigit():
        ticket = await ctx.desk.ticket_for_resident(resident, int(parts[0]))
    if ticket is None:
        ctx.toast(ctx.t("common.unknown_button"))
        return
    ctx.toast()
    events = await ctx.desk.timeline(ticket)
    ctx.say(_details(ctx, ticket, list(events)))


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
    lines += [_event_line(ctx, event) for event in events]
    return "\n".join(lines)


def _event_line(ctx: Ctx, event: TicketEvent) -> str:
    when = local_time(event.at, ctx.settings.tz)
    key = f"event.{event.kind}"
    return ctx.t(
        "my.event", when=when, what=ctx.t(key, old=event.old_value or "", new=event.new_value or "")
    )
