"""Which step function handles an event: commands first, then buttons, then the current step."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.domain.policy import opens_as_emergency
from bot.handlers import (
    announcements,
    buttons,
    common,
    digests,
    duty,
    faq_drafts,
    feedback,
    flows,
    followup,
    frontdesk,
    incidents,
    my_tickets,
    privacy,
    registration,
    reporting,
    staff_admin,
    staff_cards,
    visitors,
)
from bot.handlers.base import Ctx
from bot.handlers.flow import CallbackCodec, Press
from bot.handlers.inputs import clean_text
from bot.services.staff import StaffService

CallbackHandler = Callable[[Ctx, Press], Awaitable[None]]
# A side step (a rating's comment, more information for a ticket) left this long is over.
SIDE_STEP_LAPSE = timedelta(hours=24)

COMMANDS: dict[str, Callable[[Ctx], Awaitable[None]]] = {
    "start": common.on_start,
    "help": common.on_help,
    "cancel": common.on_cancel,
    "lang": common.on_lang,
    "my": my_tickets.show_list,
    "mydata": privacy.on_mydata,
    "forgetme": privacy.on_forgetme,
    "join": staff_admin.on_join,
    "invite": staff_admin.on_invite,
    "staff": staff_admin.on_staff,
    "remove": staff_admin.on_remove,
    "takeover": staff_cards.on_takeover,
    "duty": duty.on_duty_command,
    "onduty": duty.on_onduty,
    "offduty": duty.on_offduty,
    "bind": staff_admin.on_bind,
    "unbind": staff_admin.on_unbind,
    "stats": digests.on_stats,
    "export": digests.on_export,
    "ticket": digests.on_ticket,
    "new": frontdesk.on_new,
    "report": frontdesk.on_report,
    "visitor": visitors.on_visitor,
    "notice": announcements.on_notice,
    "notices": announcements.on_notices,
    "faqdrafts": faq_drafts.on_faqdrafts,
}
# In groups only staff commands exist; anything else may be meant for another bot.
GROUP_COMMANDS: dict[str, Callable[[Ctx], Awaitable[None]]] = {
    "bind": staff_admin.on_bind,
    "unbind": staff_admin.on_unbind,
    "invite": staff_admin.on_invite,
    "staff": staff_admin.on_staff,
    "remove": staff_admin.on_remove,
    "takeover": staff_cards.on_takeover,
    "duty": duty.on_duty_command,
    "onduty": duty.on_onduty,
    "offduty": duty.on_offduty,
    "stats": digests.on_stats,
    "export": digests.on_export,
    "ticket": digests.on_ticket,
    "report": frontdesk.on_group_report,
    "visitor": visitors.on_group_visitor,
    "faqdrafts": faq_drafts.on_faqdrafts,
}

# Each button family's codec and the handler of its presses.
CALLBACKS: dict[str, tuple[CallbackCodec, CallbackHandler]] = {
    codec.prefix: (codec, handler)
    for codec, handler in (
        (registration.BUTTONS, registration.on_callback),
        (reporting.BUTTONS, reporting.on_callback),
        (my_tickets.BUTTONS, my_tickets.on_callback),
        (buttons.LANGUAGE, common.on_lang_chosen),
        (buttons.CARD, staff_cards.on_callback),
        (buttons.RESOLVED, followup.on_callback),
        (buttons.RATING, feedback.on_rating),
        (buttons.REASON, feedback.on_reason),
        (buttons.SURVEY, feedback.on_survey),
        (buttons.FEEDBACK, feedback.on_comment_was_report),
        (buttons.VISIT, feedback.on_visit),
        (privacy.BUTTONS, privacy.on_callback),
        (duty.BUTTONS, duty.on_callback),
        (frontdesk.BUTTONS, frontdesk.on_callback),
        (frontdesk.PHONE_BUTTONS, frontdesk.on_phone_confirmation),
        (visitors.FORM, visitors.on_form_button),
        (visitors.GATE, visitors.on_gate_button),
        (visitors.HOST, visitors.on_host_button),
        (announcements.BUTTONS, announcements.on_callback),
        (announcements.MANAGE, announcements.on_manage),
        (faq_drafts.FORM, faq_drafts.on_form_button),
        (faq_drafts.REVIEW, faq_drafts.on_review_button),
        (buttons.INCIDENT, incidents.on_callback),
    )
}


async def route(ctx: Ctx) -> None:
    if await flows.recover_unknown_step(ctx) and ctx.inc.command is None:
        return  # the event was spent on starting over; a command still runs
    if not ctx.inc.is_private:
        await route_group(ctx)
        return
    if staff_admin.is_invite_start(ctx):
        await staff_admin.on_join(ctx)
    elif ctx.inc.is_callback:
        await _route_callback(ctx)
    elif ctx.inc.command is not None:
        await COMMANDS.get(ctx.inc.command, common.on_unknown_command)(ctx)
    else:
        await _route_message(ctx)


async def route_group(ctx: Ctx) -> None:
    """Groups are staff rooms: buttons, staff commands and replies to the bot's messages.

    People who are not staff are ignored, except that a button press is always answered
    (with a refusal), or their client keeps spinning.
    """
    inc = ctx.inc
    if inc.chat_type == "channel":
        return
    if not await StaffService(ctx.desk).is_staff(inc.user_id):
        if inc.is_callback:
            ctx.toast(ctx.t("staff.not_allowed"), alert=True)
        return
    if inc.is_callback:
        await _route_callback(ctx)
    elif inc.command is not None:
        await _group_command(ctx)
    elif inc.unsupported is None:
        await _group_message(ctx)


async def _group_command(ctx: Ctx) -> None:
    if ctx.inc.command == "cancel" and ctx.state.flow:
        ctx.finish()
        ctx.say(ctx.t("staff.step_cancelled"))
        return
    handler = GROUP_COMMANDS.get(ctx.inc.command or "")
    if handler is not None:
        await handler(ctx)


async def _group_message(ctx: Ctx) -> None:
    # A reply to another ticket's card is a note on that ticket, whatever step is open.
    if not await staff_cards.reply_is_for_open_step(ctx) and await staff_cards.note_from_reply(ctx):
        return
    if await staff_cards.reply_to_another_prompt(ctx):
        return
    flow = flows.FLOWS.get(ctx.state.flow)
    spec = flow.spec(ctx.state.step) if flow is not None and flow.chat != "private" else None
    if spec is not None and spec.on_text is not None:
        await spec.on_text(ctx)


async def _route_callback(ctx: Ctx) -> None:
    data = ctx.inc.callback_data or ""
    codec, handler = CALLBACKS.get(data.partition(":")[0], (None, None))
    press = codec.decode(data) if codec is not None else None
    if press is None or handler is None:
        ctx.toast(ctx.t("common.unknown_button"))  # forged, malformed or retired
        return
    await handler(ctx, press)
    ctx.toast()  # every press is answered, or the client spins


async def _route_message(ctx: Ctx) -> None:
    inc = ctx.inc
    has_text = bool(clean_text(inc.text))
    if inc.unsupported is not None:
        await common.on_unsupported(ctx)
        return
    if not has_text and not inc.photos and inc.contact is None:
        await common.on_empty(ctx)
        return
    flow = flows.FLOWS.get(ctx.state.flow)
    spec = flow.spec(ctx.state.step) if flow is not None and flow.chat != "group" else None
    if spec is None or spec.free_text:
        await _outside_flow(ctx)
        return
    if inc.contact is not None and not spec.takes_contact:
        await common.on_unsupported(ctx)
        return
    if inc.photos and not spec.takes_photos:
        await _photos_out_of_place(ctx)
        return
    if spec.on_text is None:
        ctx.say(ctx.t("common.use_buttons"))  # the step's buttons are the only answer
        await flows.prompt(ctx)
        return
    if spec.side_step and _lapsed(ctx):
        ctx.finish()  # days later, the message is a new one, not that step's answer
        await _outside_flow(ctx)
        return
    if spec.side_step and has_text and await _reported_as_emergency(ctx):
        return
    await spec.on_text(ctx)


def _lapsed(ctx: Ctx) -> bool:
    since = ctx.state.since
    return since is not None and ctx.desk.now() - since > SIDE_STEP_LAPSE


async def _photos_out_of_place(ctx: Ctx) -> None:
    """Photos where the step asks for words (a caption is no answer to "your name?"):
    during registration they join the report that waits for it, caption and all;
    elsewhere the person is told, and asked again."""
    if ctx.state.flow == registration.FLOW.name:
        registration.keep_for_report(ctx)
        ctx.say(ctx.t("reg.photo_kept"))
    else:
        ctx.say(ctx.t("common.photo_not_here"))
    await flows.prompt(ctx)


async def _reported_as_emergency(ctx: Ctx) -> bool:
    """An emergency typed where a comment or a detail was asked for is not filed as that
    answer: the step is left and the text reported (advice, page or the danger question)."""
    result = ctx.classify(clean_text(ctx.inc.text))
    if not opens_as_emergency(result.urgency, resident_pressed_alarm=False):
        return False
    resident = await ctx.desk.resident(ctx.inc.user_id)
    if resident is None or not resident.registered:
        return False
    ctx.finish()
    await reporting.start(ctx, resident)
    return True


async def _outside_flow(ctx: Ctx) -> None:
    resident = await ctx.desk.resident(ctx.inc.user_id)
    if resident is None or not resident.registered:
        # What a newcomer typed first is kept and becomes the report after registration.
        await registration.begin(ctx)
        if ctx.inc.contact is None:
            text = clean_text(ctx.inc.text)
            ctx.state.data["draft"] = {"description": text, "photos": list(ctx.inc.photos)}
        return
    if ctx.inc.contact is not None:
        ctx.say(ctx.t("common.contact_outside_flow"))
        return
    await reporting.start(ctx, resident)
