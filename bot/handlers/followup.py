"""After a ticket is resolved: the resident says solved (closes it) or not solved
(reopens it to the same team, with the reason, on a fresh card)."""

from __future__ import annotations

from bot.handlers import reporting
from bot.handlers.base import Ctx
from bot.handlers.buttons import ResolvedButton
from bot.handlers.cards import group_translator, post_cards, quoted, refresh_cards
from bot.handlers.flow import Flow, FlowStep, Press, StepSpec
from bot.handlers.inputs import clean_text
from bot.handlers.notices import HandlerNotifier
from bot.handlers.presenters import status_label, team_label
from bot.services.dispatch import Conflict, Dispatch
from bot.services.incidents import Incidents
from bot.services.lifecycle import IllegalTransition, Status
from bot.services.ratings import Ratings
from bot.services.staff import NotAllowed
from storage.models import Resident, Ticket


class Step(FlowStep):
    __flow__ = "reopen"
    REASON = "reason"


async def on_callback(ctx: Ctx, press: Press) -> None:
    """Solved or not solved, under the "resolved" notice."""
    resident = await ctx.desk.resident(ctx.inc.user_id)
    ticket = None
    if resident is not None:
        ticket = await ctx.desk.ticket_for_resident(resident, press.subject_id)
    if resident is None or ticket is None:
        ctx.toast(ctx.t("common.unknown_button"))
        return
    if ticket.status != Status.RESOLVED:
        ctx.toast(ctx.t("my.not_open", status=status_label(ctx.t, ticket.status)), alert=True)
        return
    if press.action == ResolvedButton.SOLVED:
        await _solved(ctx, resident, ticket)
        return
    if reporting.has_open_draft(ctx):
        await reporting.remind_open_draft(ctx)
        return
    ctx.toast()
    ctx.goto(Step.REASON, ticket=ticket.id, number=ticket.number)
    ctx.say(ctx.t("notify.ask_reason", number=ticket.number))


async def _solved(ctx: Ctx, resident: Resident, ticket: Ticket) -> None:
    try:
        await Dispatch(ctx.desk).confirm(resident, ticket)
    except (IllegalTransition, Conflict, NotAllowed):
        ctx.toast(ctx.t("common.stale_button"))
        return
    ctx.toast()
    ctx.edit(ctx.t("notify.thanks_solved", number=ticket.number))
    await refresh_cards(ctx.desk, ticket, retire=True)


async def on_message(ctx: Ctx) -> None:
    """The reason it is not solved; the team gets a fresh card with it."""
    reason = clean_text(ctx.inc.text)
    if not reason:
        await prompt(ctx)
        return
    resident = await ctx.desk.resident(ctx.inc.user_id)
    ticket_id = ctx.state.data.get("ticket")
    ticket = (
        await ctx.desk.ticket_for_resident(resident, int(ticket_id))
        if resident and isinstance(ticket_id, int)
        else None
    )
    ctx.finish()
    if resident is None or ticket is None:
        return
    if ticket.status != Status.RESOLVED:
        ctx.say(ctx.t("my.not_open", status=status_label(ctx.t, ticket.status)))
        return
    try:
        await Dispatch(ctx.desk).reopen(resident, ticket, reason)
    except (IllegalTransition, Conflict, NotAllowed):
        ctx.say(ctx.t("my.not_open", status=status_label(ctx.t, ticket.status)))
        return
    # Not solved for this reporter: their ticket leaves the incident, on a card of its own.
    left = await Incidents(ctx.desk).split(ticket)
    t = group_translator(ctx.desk)
    extra = t("card.reopened", reason=quoted(t, reason))
    if left is not None and left.lead_ticket_id not in (None, ticket.id):
        lead = await ctx.desk.ticket(left.lead_ticket_id)
        if lead is not None:  # one report fewer on the incident's card
            await refresh_cards(ctx.desk, lead)
            extra += "\n" + t("incident.split_not_solved", number=lead.number)
    await refresh_cards(ctx.desk, ticket, extra=t("card.reopened_old"), retire=True)
    await post_cards(ctx.desk, ticket, extra=extra)
    visit = await Ratings(ctx.desk).latest_visit(ticket.id)
    if visit is not None:  # "not solved" opened a return visit for the service team
        await HandlerNotifier().return_visit(ctx.desk, visit, ticket)
    ctx.say(ctx.t("notify.reopened", number=ticket.number, team=team_label(ctx.t, ticket.team)))


async def prompt(ctx: Ctx) -> None:
    ctx.say(ctx.t("notify.ask_reason", number=str(ctx.state.data.get("number", ""))))


FLOW = Flow(
    Step,
    {Step.REASON: StepSpec(on_message, prompt, side_step=True)},
    summary="why a resolved ticket is not solved; it reopens to the same team with the reason",
)
