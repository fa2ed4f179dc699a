"""Ratings (`rt:<rating>:<stars>`, reasons `rr:<rating>:<reason>`), survey answers
(`sv:<period>:<stars>`), an optional comment after either, and the service team's
return-visit outcome (`rv:<visit>` in the group, then a reply with the outcome)."""

from __future__ import annotations

import contextlib
from dataclasses import replace

from bot.domain.policy import may_record_visit, opens_return_visit
from bot.domain.vocabulary import VisitStatus
from bot.handlers import reporting
from bot.handlers.base import Ctx
from bot.handlers.buttons import FEEDBACK, REASON, FeedbackButton, ReasonButton
from bot.handlers.flow import Flow, FlowStep, Press, StepSpec
from bot.handlers.inputs import clean_text
from bot.handlers.notices import HandlerNotifier, reason_buttons
from bot.messages import Button
from bot.services.ratings import RatingRefused, Ratings
from bot.services.staff import StaffService


class Step(FlowStep):
    __flow__ = "feedback"
    COMMENT = "comment"


class DoneStep(FlowStep):
    """After a comment: it stays at hand for a minute in case it was really a new problem."""

    __flow__ = "feedback_done"
    OFFERED = "offered"  # stored as "" before steps had names


class VisitStep(FlowStep):
    __flow__ = "visit"
    OUTCOME = "outcome"


# ratings -------------------------------------------------------------------------------
async def on_rating(ctx: Ctx, press: Press) -> None:
    ratings = Ratings(ctx.desk)
    try:
        rating = await ratings.answer(ctx.inc.user_id, press.subject_id, int(press.action))
    except RatingRefused:
        ctx.toast(ctx.t("rating.already"))
        return
    ctx.toast(ctx.t("rating.thanks_toast"))
    stars = rating.stars or 0
    if not reporting.has_open_draft(ctx):  # a report being written keeps the next words
        ctx.goto(Step.COMMENT, kind="rating", id=rating.id)
    if opens_return_visit(stars):
        ctx.edit(ctx.t("rating.low", stars="⭐" * stars), reason_buttons(ctx.t, rating.id))
        await _announce_visit(ctx, rating.ticket_id)
    else:
        ctx.edit(ctx.t("rating.thanks", stars="⭐" * stars), _skip(ctx))


async def on_reason(ctx: Ctx, press: Press) -> None:
    rating_id = press.subject_id
    if press.action == ReasonButton.SKIP:
        ctx.toast()
        if ctx.state.flow == FLOW.name:
            ctx.finish()
        ctx.edit(ctx.t("rating.done"))
        return
    try:
        await Ratings(ctx.desk).add_reason(ctx.inc.user_id, rating_id, str(press.action))
    except RatingRefused:
        ctx.toast(ctx.t("common.stale_button"))
        return
    ctx.toast(ctx.t(f"rating.reason_{press.action}"))


async def _announce_visit(ctx: Ctx, ticket_id: int) -> None:
    ticket = await ctx.desk.ticket(ticket_id)
    visit = await Ratings(ctx.desk).latest_visit(ticket_id)
    if ticket is not None and visit is not None:
        await HandlerNotifier().return_visit(ctx.desk, visit, ticket)


def _skip(ctx: Ctx) -> tuple[tuple[Button, ...], ...]:
    data = REASON.encode(ReasonButton.SKIP, ctx.state.data.get("id", 0))
    return ((Button(ctx.t("rating.btn_skip"), data),),)


# surveys -------------------------------------------------------------------------------
async def on_survey(ctx: Ctx, press: Press) -> None:
    period = press.subject
    try:
        row = await Ratings(ctx.desk).answer_survey(period, ctx.inc.user_id, int(press.action))
    except RatingRefused:
        ctx.toast(ctx.t("rating.already"))
        return
    ctx.toast(ctx.t("rating.thanks_toast"))
    if not reporting.has_open_draft(ctx):
        ctx.goto(Step.COMMENT, kind="survey", period=period)
    ctx.edit(ctx.t("survey.thanks", stars="⭐" * (row.stars or 0)), _skip(ctx))


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
        await Ratings(ctx.desk).comment_survey(str(data.get("period")), ctx.inc.user_id, text)
    ctx.finish()
    ctx.state.data["last_comment"] = text
    ctx.goto(DoneStep.OFFERED)
    new = FEEDBACK.encode(FeedbackButton.NEW_PROBLEM)
    ctx.say(ctx.t("rating.comment_saved"), ((Button(ctx.t("rating.btn_new_problem"), new),),))


async def on_comment_was_report(ctx: Ctx, press: Press) -> None:
    """The comment was really a new problem; open a report with it."""
    text = ctx.state.data.get("last_comment") if ctx.state.flow == DONE_FLOW.name else None
    resident = await ctx.desk.resident(ctx.inc.user_id)
    if not text or resident is None:
        ctx.toast(ctx.t("common.stale_button"))
        return
    ctx.toast()
    ctx.finish()
    ctx.inc = replace(ctx.inc, text=str(text), callback_id=None, callback_data=None)
    await reporting.start(ctx, resident)


# return visits -------------------------------------------------------------------------
async def on_visit(ctx: Ctx, press: Press) -> None:
    """A lead, manager or admin of the service team records the outcome of a return visit."""
    if not ctx.inc.is_group_chat:
        ctx.toast(ctx.t("common.unknown_button"))  # outcomes are recorded in the service group
        return
    visit = await Ratings(ctx.desk).visit(press.subject_id)
    ticket = await ctx.desk.ticket(visit.ticket_id) if visit else None
    if visit is None or ticket is None:
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
    ctx.goto(VisitStep.OUTCOME, visit=visit.id)
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


FLOW = Flow(
    Step,
    {Step.COMMENT: StepSpec(on_message, side_step=True)},
    summary="the optional comment after stars (a rating or a survey)",
)
DONE_FLOW = Flow(
    DoneStep,
    {DoneStep.OFFERED: StepSpec(free_text=True)},
    moved={"": DoneStep.OFFERED},
    summary="a comment was saved; its button can still turn it into a report",
)
VISIT_FLOW = Flow(
    VisitStep,
    {VisitStep.OUTCOME: StepSpec(on_visit_outcome)},
    chat="group",
    summary="a return visit's outcome, as a reply in the service group",
)
