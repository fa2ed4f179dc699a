"""Ratings (`rt:<rating>:<stars>`, reasons `rr:<rating>:<reason>`), survey answers
(`sv:<period>:<stars>`), an optional comment after either, and the service team's
return-visit outcome (`rv:<visit>` in the group, then a reply with the outcome)."""

from __future__ import annotations

import contextlib
import re
from dataclasses import replace

from bot.domain.policy import may_record_visit, opens_return_visit
from bot.domain.vocabulary import VisitStatus
from bot.handlers import reporting
from bot.handlers.base import Ctx
from bot.handlers.inputs import clean_text, parse_id
from bot.handlers.notices import HandlerNotifier, reason_buttons
from bot.messages import Button
from bot.services.ratings import REASONS, RatingRefused, Ratings
from bot.services.staff import StaffService

FLOW = "feedback"
VISIT_FLOW = "visit"
_PERIOD = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# ratings -------------------------------------------------------------------------------
async def on_rating(ctx: Ctx, parts: list[str]) -> None:
    rating_id = parse_id(parts[0]) if len(parts) == 2 else None
    if rating_id is None or parts[1] not in ("1", "2", "3", "4", "5"):
        ctx.toast(ctx.t("common.unknown_button"))
        return
    ratings = Ratings(ctx.desk)
    try:
        rating = await ratings.answer(ctx.inc.user_id, rating_id, int(parts[1]))
    except RatingRefused:
        ctx.toast(ctx.t("rating.already"))
        return
    ctx.toast(ctx.t("rating.thanks_toast"))
    stars = rating.stars or 0
    ctx.goto(FLOW, "comment", kind="rating", id=rating.id)
    if opens_return_visit(stars):
        ctx.edit(ctx.t("rating.low", stars="⭐" * stars), reason_buttons(ctx.t, rating.id))
        await _announce_visit(ctx, rating.ticket_id)
    else:
        ctx.edit(ctx.t("rating.thanks", stars="⭐" * stars), _skip(ctx))


async def on_reason(ctx: Ctx, parts: list[str]) -> None:
    rating_id = parse_id(parts[0]) if len(parts) == 2 else None
    if rating_id is None or parts[1] not in (*REASONS, "skip"):
        ctx.toast(ctx.t("common.unknown_button"))
        return
    if parts[1] == "skip":
        ctx.toast()
        if ctx.state.flow == FLOW:
            ctx.finish()
        ctx.edit(ctx.t("rating.done"))
        return
    try:
        await Ratings(ctx.desk).add_reason(ctx.inc.user_id, rating_id, parts[1])
    except RatingRefused:
        ctx.toast(ctx.t("common.stale_button"))
        return
    ctx.toast(ctx.t(f"rating.reason_{parts[1]}"))


async def _announce_visit(ctx: Ctx, ticket_id: int) -> None:
    ticket = await ctx.desk.ticket(ticket_id)
    visits = await ctx.desk.uow.visits.for_ticket(ticket_id)
    if ticket is not None and visits:
        await HandlerNotifier().return_visit(ctx.desk, visits[-1], ticket)


def _skip(ctx: Ctx) -> tuple[tuple[Button, ...], ...]:
    data = f"rr:{ctx.state.data.get('id', 0)}:skip"
    return ((Button(ctx.t("rating.btn_skip"), data),),)


# surveys -------------------------------------------------------------------------------
async def on_survey(ctx: Ctx, parts: list[str]) -> None:
    if len(parts) != 2 or not _PERIOD.match(parts[0]) or parts[1] not in ("1", "2", "3", "4", "5"):
        ctx.toast(ctx.t("common.unknown_button"))
        return
    row = await ctx.desk.uow.surveys.get(parts[0], ctx.inc.user_id)
    if row is None or row.stars is not None:
        ctx.toast(ctx.t("rating.already"))
        return
    row.stars, row.answered_at = int(parts[1]), ctx.desk.now()
    ctx.toast(ctx.t("rating.thanks_toast"))
    ctx.goto(FLOW, "comment", kind="survey", period=parts[0])
    ctx.edit(ctx.t("survey.thanks", stars="⭐" * row.stars), _skip(ctx))


# comments ------------------------------------------------------------------------------
async def on_message(ctx: Ctx) -> None:
    """The optional comment. A new problem typed here is not lost: a button turns it into one."""
    text = clean_text(ctx.inc.text)
    if not text:
        ctx.say(ctx.t("rating.comment_text_only"))
        return
    data = dict(ctx.state.data)
    if data.get("kind") == "rating":
        with contextlib.suppress(RatingRefused):
            await Ratings(ctx.desk).add_comment(ctx.inc.user_id, int(data["id"]), text)
    else:
        row = await ctx.desk.uow.surveys.get(str(data.get("period")), ctx.inc.user_id)
        if row is not None:
            row.comment = text[:1000]
    ctx.finish()
    ctx.state.data["last_comment"] = text
    ctx.goto("feedback_done", "")
    ctx.say(ctx.t("rating.comment_saved"), ((Button(ctx.t("rating.btn_new_problem"), "fb:new"),),))


async def on_comment_was_report(ctx: Ctx, parts: list[str]) -> None:
    """`fb:new`: the comment was really a new problem; open a report with it."""
    text = ctx.state.data.get("last_comment") if ctx.state.flow == "feedback_done" else None
    resident = await ctx.desk.resident(ctx.inc.user_id)
    if not text or resident is None or parts != ["new"]:
        ctx.toast(ctx.t("common.stale_button"))
        return
    ctx.toast()
    ctx.finish()
    ctx.inc = replace(ctx.inc, text=str(text), callback_id=None, callback_data=None)
    await reporting.start(ctx, resident)


# return visits -------------------------------------------------------------------------
async def on_visit(ctx: Ctx, parts: list[str]) -> None:
    """A lead, manager or admin of the service team records the outcome of a return visit."""
    if not ctx.inc.is_group_chat:
        ctx.toast(ctx.t("common.unknown_button"))  # outcomes are recorded in the service group
        return
    visit_id = parse_id(parts[0]) if len(parts) == 1 else None
    visit = await ctx.desk.uow.visits.get(visit_id) if visit_id is not None else None
    ticket = await ctx.desk.ticket(visit.ticket_id) if visit else None
    if visit is None or ticket is None or len(parts) != 1:
        ctx.toast(ctx.t("common.unknown_button"))
        return
    actor = await StaffService(ctx.desk).actor(ctx.inc.user_id, ticket.property_id)
    if not may_record_visit(actor):
        ctx.toast(ctx.t("staff.not_allowed"), alert=True)
        return
    if visit.status != VisitStatus.OPEN:
        ctx.toast(ctx.t("visit.already"), alert=True)
        return
    ctx.toast()
    ctx.goto(VISIT_FLOW, "outcome", visit=visit.id)
    ctx.say(ctx.t("visit.ask_outcome", number=ticket.number, name=ctx.inc.user_name))


async def on_visit_outcome(ctx: Ctx) -> None:
    text = clean_text(ctx.inc.text)
    if not text:
        ctx.say(ctx.t("staff.reply_with_text"))
        return
    try:
        visit = await Ratings(ctx.desk).record_visit(
            int(ctx.state.data["visit"]), ctx.inc.user_id, text
        )
    except RatingRefused:
        ctx.finish()
        ctx.say(ctx.t("visit.already"))
        return
    ticket = await ctx.desk.ticket(visit.ticket_id)
    ctx.finish()
    ctx.say(ctx.t("visit.recorded", number=ticket.number if ticket else ""))
