"""Staff work on ticket cards: `tk:<ticket id>:<action>[:<argument>]` buttons, and the
replies that finish a step (completion note, reassignment reason, note).

In groups the bot runs in privacy mode: it sees commands, button presses and replies
to its own messages, so every free-text step asks for a reply.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from bot.domain.vocabulary import CATEGORIES, TEAMS, URGENCIES, CardAction
from bot.handlers import faq_drafts, frontdesk
from bot.handlers.base import Ctx, in_rows
from bot.handlers.buttons import CARD, POOL, CardButton
from bot.handlers.cards import (
    alert_managers,
    card_buttons,
    card_text,
    group_translator,
    incident_of,
    notify_resident,
    post_cards,
    quoted,
    refresh_cards,
)
from bot.handlers.digests import TICKET_NUMBER
from bot.handlers.flow import Flow, FlowStep, Press, StepSpec
from bot.handlers.inputs import clean_text, parse_local_moment
from bot.handlers.presenters import category_label, local_time, team_label
from bot.i18n import Translator
from bot.messages import Button, Outgoing
from bot.services.cards import CardBook
from bot.services.dispatch import Conflict, Dispatch
from bot.services.frontdesk import FrontDesk
from bot.services.incidents import Incidents
from bot.services.lifecycle import IllegalTransition, Status, next_status
from bot.services.phones import display_phone
from bot.services.staff import Actor, NotAllowed, StaffService
from storage.models import Ticket

# a ticket number as the desk writes it in a prompt (YYYYMMDD-NNNN)
NUMBER_IN_TEXT = re.compile(r"(?<!\d)\d{8}-\d{4,6}(?!\d)")


class Step(FlowStep):
    """A card button that needs words next waits here for a reply to the bot."""

    __flow__ = "staff"
    COMPLETE = "complete"
    REASSIGN = "reassign"
    NOTE = "note"
    ETA = "eta"


Action = Callable[[Ctx, Dispatch, Actor, Ticket, str], Awaitable[None]]


async def on_callback(ctx: Ctx, press: Press) -> None:
    """A card button; the codec has already refused anything malformed."""
    action = ACTIONS[CardButton(press.action)]
    dispatch = Dispatch(ctx.desk)
    ticket = await ctx.desk.ticket(press.subject_id)
    if ticket is None:
        ctx.toast(ctx.t("common.unknown_button"))
        return
    actor = await dispatch.actor_for(ctx.inc.user_id, ticket, ctx.inc.user_name)
    if not actor.is_staff:  # card buttons are for staff, wherever the press comes from
        ctx.toast(ctx.t("staff.not_allowed"), alert=True)
        return
    await _guarded(ctx, ticket, action(ctx, dispatch, actor, ticket, press.argument))


async def _guarded(ctx: Ctx, ticket: Ticket, work: Awaitable[None]) -> None:
    """Refusals and lost races answer briefly and change nothing, not even the card: whoever
    changed the ticket already edited every live card (directly or by outbox), so an edit
    here would repeat theirs, and Telegram refuses it ("message is not modified")."""
    try:
        await work
    except NotAllowed as exc:
        _refuse(ctx, ctx.t(exc.reason))
    except (IllegalTransition, Conflict):
        if ticket.assignee_name and ticket.status == Status.ACCEPTED:
            _refuse(ctx, ctx.t("staff.taken", name=ticket.assignee_name))
        else:
            _refuse(ctx, ctx.t("staff.already", status=ctx.t(f"status.{ticket.status}")))


def _refuse(ctx: Ctx, text: str) -> None:
    """A press gets a toast; a reply that finished a step gets a message, and the step ends
    (the ticket moved on meanwhile), so later replies are not swallowed."""
    if ctx.inc.is_callback:
        ctx.toast(text, alert=True)
    else:
        ctx.finish()
        ctx.say(text)


# status changes ------------------------------------------------------------------------
async def _accept(ctx: Ctx, d: Dispatch, actor: Actor, ticket: Ticket, _: str) -> None:
    await d.accept(actor, ticket)
    ctx.toast(ctx.t("staff.accepted_toast"))
    await _show(ctx, ticket)
    await notify_resident(ctx.desk, ticket, "notify.accepted")
    await _fan_out(ctx, ticket, actor, "notify.accepted")


async def _start(ctx: Ctx, d: Dispatch, actor: Actor, ticket: Ticket, _: str) -> None:
    await d.start(actor, ticket)
    ctx.toast(ctx.t("staff.started_toast"))
    await _show(ctx, ticket)
    await notify_resident(ctx.desk, ticket, "notify.started")
    await _fan_out(ctx, ticket, actor, "notify.started")


async def _ask_complete(ctx: Ctx, d: Dispatch, actor: Actor, ticket: Ticket, _: str) -> None:
    d.authorize(actor, ticket, CardAction.COMPLETE)
    next_status("resolve", ticket.status)  # refuse early, before asking for a note
    ctx.toast()
    ctx.goto(Step.COMPLETE, ticket=ticket.id, photos=[])
    finish = CARD.encode(CardButton.FINISH_WITHOUT_NOTE, ticket.id)
    done = ((Button(ctx.t("staff.btn_finish_no_note"), finish),),)
    ctx.say(ctx.t("staff.ask_complete", name=actor.name, number=ticket.number), done)


async def _finish(ctx: Ctx, d: Dispatch, actor: Actor, ticket: Ticket, _: str) -> None:
    photos = _state_photos(ctx, ticket)
    await _complete(ctx, d, actor, ticket, "", photos)


async def _complete(
    ctx: Ctx, d: Dispatch, actor: Actor, ticket: Ticket, note: str, photos: list[str]
) -> None:
    await d.complete(actor, ticket, note, photos)
    if ctx.state.data.get("ticket") in (None, ticket.id):
        ctx.finish()  # a step open for another ticket stays open
    ctx.toast(ctx.t("staff.completed_toast"))
    await refresh_cards(ctx.desk, ticket)
    if await FrontDesk(ctx.desk).confirms_by_phone(ticket):
        await frontdesk.ask_phone_confirmation(ctx, ticket)  # nobody to tell in Telegram
    else:
        ctx.say(ctx.t("staff.completed", number=ticket.number))
        await notify_resident(
            ctx.desk,
            ticket,
            "notify.resolved",
            buttons_for="resolved",
            photos=tuple(photos),
            note=note or "-",
        )
    # Every other reporter of the incident follows, whoever confirms the lead (even by
    # phone): one notice each, each with solved / not solved.
    await _fan_out(ctx, ticket, actor, "notify.resolved", buttons_for="resolved", note=note or "-")


# reassignment --------------------------------------------------------------------------
async def _reassign_menu(ctx: Ctx, d: Dispatch, actor: Actor, ticket: Ticket, _: str) -> None:
    d.authorize(actor, ticket, CardAction.REASSIGN)
    ctx.toast()
    t = group_translator(ctx.desk)
    buttons = [
        Button(team_label(t, team), CARD.encode(CardButton.REASSIGN_TO, ticket.id, team))
        for team in TEAMS
        if team != ticket.team
    ]
    if ticket.status != Status.NEW:
        pool = CARD.encode(CardButton.REASSIGN_TO, ticket.id, POOL)
        buttons.append(Button(t("card.btn_pool"), pool))
    menu = (*in_rows(buttons, 3), _back_row(t, ticket))
    ctx.edit(card_text(t, ctx.desk, ticket, t("card.choose_team")), menu)


async def _reassign_target(
    ctx: Ctx, d: Dispatch, actor: Actor, ticket: Ticket, target: str
) -> None:
    d.authorize(actor, ticket, CardAction.REASSIGN)
    if target not in TEAMS and target != POOL:
        raise NotAllowed("common.unknown_button")
    next_status("reassign", ticket.status)
    ctx.toast()
    ctx.goto(Step.REASSIGN, ticket=ticket.id, team=target)
    where = ctx.t("card.btn_pool") if target == POOL else team_label(ctx.t, target)
    ctx.say(ctx.t("staff.ask_reason", name=actor.name, number=ticket.number, target=where))


async def _do_reassign(ctx: Ctx, d: Dispatch, actor: Actor, ticket: Ticket, reason: str) -> None:
    target = str(ctx.state.data.get("team", ""))
    old_team, had_assignee = ticket.team, ticket.assignee_name
    await d.reassign(actor, ticket, None if target == "pool" else target, reason)
    ctx.finish()
    await _reassign_members(ctx, d, actor, ticket, None if target == "pool" else target, reason)
    t = group_translator(ctx.desk)
    if ticket.team != old_team:
        moved = t("card.moved", team=team_label(t, ticket.team), reason=quoted(t, reason))
        await refresh_cards(ctx.desk, ticket, extra=moved, retire=True)
        await post_cards(
            ctx.desk,
            ticket,
            extra=t("card.moved_from", team=team_label(t, old_team), reason=quoted(t, reason)),
        )
        ctx.say(
            ctx.t("staff.reassigned", number=ticket.number, team=team_label(ctx.t, ticket.team))
        )
        await notify_resident(ctx.desk, ticket, "notify.reassigned")
        return
    await refresh_cards(ctx.desk, ticket, extra=t("card.requeued", reason=quoted(t, reason)))
    ctx.say(ctx.t("staff.requeued", number=ticket.number))
    if had_assignee:  # they were told who; now nobody has it
        await notify_resident(ctx.desk, ticket, "notify.requeued")


async def _reassign_members(
    ctx: Ctx, d: Dispatch, actor: Actor, lead: Ticket, team: str | None, reason: str
) -> None:
    """The incident's other reports go where its card went (another team, or the pool);
    each reporter hears it once, as the first one does."""
    for member in await Incidents(ctx.desk).members_of(lead):
        had_assignee = member.assignee_name
        try:
            await d.reassign(actor, member, team, reason)
        except (IllegalTransition, NotAllowed, Conflict):
            continue  # already where the lead is
        if team is not None:
            await notify_resident(ctx.desk, member, "notify.reassigned")
        elif had_assignee:
            await notify_resident(ctx.desk, member, "notify.requeued")


# contact, notes, corrections -----------------------------------------------------------
async def _contact(ctx: Ctx, d: Dispatch, actor: Actor, ticket: Ticket, _: str) -> None:
    """The full number goes to the presser's private chat only; the group never sees it."""
    phone = await d.contact(actor, ticket)
    t = group_translator(ctx.desk)
    # The one text with a full number: the presser's private chat, so nothing is masked.
    mine = Translator(ctx.desk.settings.locale)
    private = Outgoing(
        chat_id=actor.telegram_id,
        text=mine(
            "staff.contact_private",
            number=ticket.number,
            name=ticket.contact_name,
            phone=display_phone(phone) if phone else "-",
            address=ticket.address,
        ),
    )
    # A 403 (never started the bot) turns into a hint in the group, without the number.
    hint = Outgoing(
        chat_id=ctx.inc.chat_id,
        text=t("staff.start_private_chat", name=actor.name),
        thread_id=ctx.inc.thread_id,
    )
    key = f"contact:{ticket.id}:{actor.telegram_id}:{ctx.inc.update_id}"
    await ctx.desk.enqueue(key, private, fallback=hint)
    ctx.toast(ctx.t("staff.contact_sent"), alert=True)


async def _ask_note(ctx: Ctx, d: Dispatch, actor: Actor, ticket: Ticket, _: str) -> None:
    d.authorize(actor, ticket, CardAction.NOTE)
    ctx.toast()
    ctx.goto(Step.NOTE, ticket=ticket.id)
    ctx.say(ctx.t("staff.ask_note", name=actor.name, number=ticket.number))


async def _category_menu(ctx: Ctx, d: Dispatch, actor: Actor, ticket: Ticket, _: str) -> None:
    d.authorize(actor, ticket, CardAction.CATEGORY)
    ctx.toast()
    t = group_translator(ctx.desk)
    buttons = [
        Button(category_label(t, code), CARD.encode(CardButton.CATEGORY, ticket.id, code))
        for code in CATEGORIES
        if code != ticket.category
    ]
    menu = (*in_rows(buttons, 4), _back_row(t, ticket))
    ctx.edit(card_text(t, ctx.desk, ticket, t("card.choose_category")), menu)


async def _category(ctx: Ctx, d: Dispatch, actor: Actor, ticket: Ticket, code: str) -> None:
    await d.set_category(actor, ticket, code)
    ctx.toast(ctx.t("staff.corrected", value=category_label(ctx.t, ticket.category)))
    await _show(ctx, ticket)


async def _urgency_menu(ctx: Ctx, d: Dispatch, actor: Actor, ticket: Ticket, _: str) -> None:
    d.authorize(actor, ticket, CardAction.URGENCY)
    ctx.toast()
    t = group_translator(ctx.desk)
    buttons = [
        Button(t(f"urgency.{code}"), CARD.encode(CardButton.URGENCY, ticket.id, code))
        for code in URGENCIES
        if code != ticket.urgency
    ]
    menu = (tuple(buttons), _back_row(t, ticket))
    ctx.edit(card_text(t, ctx.desk, ticket, t("card.choose_urgency")), menu)


async def _urgency(ctx: Ctx, d: Dispatch, actor: Actor, ticket: Ticket, code: str) -> None:
    changed = await d.set_urgency(actor, ticket, code)
    ctx.toast(ctx.t("staff.corrected", value=ctx.t(f"urgency.{ticket.urgency}")))
    await _show(ctx, ticket)
    if changed and ticket.urgency == "emergency" and ticket.team != "managers":
        await alert_managers(ctx.desk, ticket)


async def _wait(ctx: Ctx, d: Dispatch, actor: Actor, ticket: Ticket, _: str) -> None:
    await d.wait(actor, ticket)
    ctx.toast(ctx.t("sla.waiting_toast"))
    await _show(ctx, ticket)
    await notify_resident(ctx.desk, ticket, "sla.resident_waiting")
    await _fan_out(ctx, ticket, actor, "sla.resident_waiting")


async def _ask_eta(ctx: Ctx, d: Dispatch, actor: Actor, ticket: Ticket, _: str) -> None:
    d.authorize(actor, ticket, CardAction.ESTIMATE)
    ctx.toast()
    ctx.goto(Step.ETA, ticket=ticket.id)
    ctx.say(ctx.t("sla.ask_eta", name=actor.name, number=ticket.number))


async def _eta(ctx: Ctx, d: Dispatch, actor: Actor, ticket: Ticket, text: str) -> None:
    moment = parse_local_moment(text, ctx.desk.now(), ctx.settings.tz)
    if moment is None:
        ctx.say(ctx.t("sla.invalid_eta"))
        return
    await d.set_estimate(actor, ticket, moment)
    ctx.finish()
    when = local_time(moment, ctx.settings.tz)
    ctx.say(ctx.t("sla.eta_saved", number=ticket.number, when=when))
    await notify_resident(ctx.desk, ticket, "sla.resident_estimate", estimate=when)
    incidents = Incidents(ctx.desk)
    for member in await incidents.members_of(ticket):
        member.estimate_at = ticket.estimate_at
        await notify_resident(ctx.desk, member, "sla.resident_estimate", estimate=when)


async def _fan_out(
    ctx: Ctx, lead: Ticket, actor: Actor, key: str, buttons_for: str | None = None, note: str = ""
) -> None:
    """The incident's other reporters follow the lead's move and hear of it once each
    (a resolved incident takes no more reports)."""
    for member in await Incidents(ctx.desk).followers(lead, actor):
        await notify_resident(ctx.desk, member, key, buttons_for=buttons_for, note=note)


async def _back(ctx: Ctx, d: Dispatch, actor: Actor, ticket: Ticket, _: str) -> None:
    ctx.toast()
    await _show(ctx, ticket)


ACTIONS: dict[CardButton, Action] = {
    CardButton.ACCEPT: _accept,
    CardButton.START: _start,
    CardButton.ASK_COMPLETE: _ask_complete,
    CardButton.FINISH_WITHOUT_NOTE: _finish,
    CardButton.REASSIGN_MENU: _reassign_menu,
    CardButton.REASSIGN_TO: _reassign_target,
    CardButton.CONTACT: _contact,
    CardButton.NOTE: _ask_note,
    CardButton.CATEGORY_MENU: _category_menu,
    CardButton.CATEGORY: _category,
    CardButton.URGENCY_MENU: _urgency_menu,
    CardButton.URGENCY: _urgency,
    CardButton.BACK: _back,
    CardButton.WAIT: _wait,
    CardButton.ESTIMATE: _ask_eta,
    CardButton.FAQ: faq_drafts.on_card_button,
}


# taking over ---------------------------------------------------------------------------
async def on_takeover(ctx: Ctx) -> None:
    """`/takeover <number>`: a lead (or manager) takes any open ticket of their team,
    e.g. one held by someone who is away; the resident is not told (same team, same times)."""
    match = TICKET_NUMBER.match(ctx.inc.command_args.strip())
    if match is None:
        ctx.say(ctx.t("staff.takeover_usage"))
        return
    if not await StaffService(ctx.desk).is_staff(ctx.inc.user_id):
        ctx.say(ctx.t("staff.takeover_not_allowed"))  # nor whether the ticket exists
        return
    number = f"{match.group(1)}-{int(match.group(2)):04d}"
    ticket = await ctx.desk.ticket_by_number(number)
    if ticket is None:
        ctx.say(ctx.t("lookup.not_found", number=number))
        return
    dispatch = Dispatch(ctx.desk)
    actor = await dispatch.actor_for(ctx.inc.user_id, ticket, ctx.inc.user_name)
    try:
        was_new = ticket.status == Status.NEW
        await dispatch.take_over(actor, ticket)
    except NotAllowed as exc:
        ctx.say(ctx.t(exc.reason))
        return
    except (IllegalTransition, Conflict):
        ctx.say(ctx.t("staff.already", status=ctx.t(f"status.{ticket.status}")))
        return
    t = group_translator(ctx.desk)
    await refresh_cards(ctx.desk, ticket, extra=t("card.taken_over", name=actor.name))
    ctx.say(ctx.t("staff.taken_over", number=ticket.number))
    if was_new:  # accepted just now: the resident hears who, as with the Accept button
        await notify_resident(ctx.desk, ticket, "notify.accepted")
    # An incident's reports change hands with it (the newly accepted ones hear who).
    for member in await Incidents(ctx.desk).members_of(ticket):
        member_was_new = member.status == Status.NEW
        try:
            await dispatch.take_over(actor, member)
        except (NotAllowed, IllegalTransition, Conflict):
            continue
        if member_was_new:
            await notify_resident(ctx.desk, member, "notify.accepted")


# replies -------------------------------------------------------------------------------
async def on_message(ctx: Ctx) -> None:
    """A staff member's message while a card step waits for it."""
    ticket_id = ctx.state.data.get("ticket")
    ticket = await ctx.desk.ticket(int(ticket_id)) if isinstance(ticket_id, int) else None
    if ticket is None:
        ctx.finish()
        return
    dispatch = Dispatch(ctx.desk)
    actor = await dispatch.actor_for(ctx.inc.user_id, ticket, ctx.inc.user_name)
    text = clean_text(ctx.inc.text)
    step = ctx.state.step
    if step == Step.COMPLETE:
        await _guarded(ctx, ticket, _complete_step(ctx, dispatch, actor, ticket, text))
    elif not text:
        ctx.say(ctx.t("staff.reply_with_text"))
    elif step == Step.REASSIGN:
        await _guarded(ctx, ticket, _do_reassign(ctx, dispatch, actor, ticket, text))
    elif step == Step.ETA:
        await _guarded(ctx, ticket, _eta(ctx, dispatch, actor, ticket, text))
    else:
        await _guarded(ctx, ticket, _note(ctx, dispatch, actor, ticket, text))


async def _complete_step(ctx: Ctx, d: Dispatch, actor: Actor, ticket: Ticket, text: str) -> None:
    photos = _state_photos(ctx, ticket)
    photos += [p for p in ctx.inc.photos if p not in photos]
    ctx.state.data["photos"] = photos
    if not text:  # photos first, the note finishes
        ctx.say(ctx.t("staff.photo_received", count=len(photos)))
        return
    await _complete(ctx, d, actor, ticket, text, photos)


async def _note(ctx: Ctx, d: Dispatch, actor: Actor, ticket: Ticket, text: str) -> None:
    await d.note(actor, ticket, text, ctx.inc.photos)
    if ctx.state.data.get("ticket") in (None, ticket.id):
        ctx.finish()  # a step open for another ticket stays open
    ctx.say(ctx.t("staff.note_saved", number=ticket.number))


async def reply_is_for_open_step(ctx: Ctx) -> bool:
    """True when the message replies to the card of the ticket whose step is open."""
    reply_to = ctx.inc.reply_to_message_id
    if reply_to is None or ctx.state.flow != FLOW.name:
        return False
    card = await CardBook(ctx.desk).by_message(ctx.inc.chat_id, reply_to)
    return card is not None and card.ticket_id == ctx.state.data.get("ticket")


async def reply_to_another_prompt(ctx: Ctx) -> bool:
    """A reply to the bot's prompt for another ticket than the step now open (a second
    button was pressed meanwhile): not filed on the open step's ticket. The person is told
    which prompt is still waiting. False when the reply is for the open step, or no step."""
    if ctx.state.flow != FLOW.name or not ctx.inc.reply_to_bot:
        return False
    named = set(NUMBER_IN_TEXT.findall(ctx.inc.reply_to_text or ""))
    ticket_id = ctx.state.data.get("ticket")
    ticket = await ctx.desk.ticket(int(ticket_id)) if isinstance(ticket_id, int) else None
    if not named or ticket is None or ticket.number in named:
        return False
    ctx.say(ctx.t("staff.prompt_closed", asked=min(named), number=ticket.number))
    return True


async def note_from_reply(ctx: Ctx) -> bool:
    """A reply to one of our cards is a note on its ticket; False when it is not a card."""
    reply_to = ctx.inc.reply_to_message_id
    card = await CardBook(ctx.desk).by_message(ctx.inc.chat_id, reply_to) if reply_to else None
    ticket = await ctx.desk.ticket(card.ticket_id) if card else None
    if ticket is None:
        return False
    text = clean_text(ctx.inc.text)
    if not text:
        ctx.say(ctx.t("staff.reply_with_text"))
        return True
    dispatch = Dispatch(ctx.desk)
    actor = await dispatch.actor_for(ctx.inc.user_id, ticket, ctx.inc.user_name)
    try:
        await _note(ctx, dispatch, actor, ticket, text)
    except NotAllowed as exc:
        ctx.say(ctx.t(exc.reason))
    except IllegalTransition:
        ctx.say(ctx.t("staff.already", status=ctx.t(f"status.{ticket.status}")))
    return True


# helpers -------------------------------------------------------------------------------
async def _show(ctx: Ctx, ticket: Ticket) -> None:
    """The pressed card shows the ticket as it is now; other live cards follow by outbox."""
    t = group_translator(ctx.desk)
    message_id = ctx.inc.message_id
    pressed = (
        await CardBook(ctx.desk).by_message(ctx.inc.chat_id, message_id) if message_id else None
    )
    if pressed is not None and pressed.ticket_id == ticket.id and pressed.active:
        view = await incident_of(ctx.desk, ticket)
        ctx.edit(card_text(t, ctx.desk, ticket, "", view), card_buttons(t, ticket, view))
    await refresh_cards(ctx.desk, ticket, skip=(ctx.inc.chat_id, message_id))


def _back_row(t: Translator, ticket: Ticket) -> tuple[Button, ...]:
    return (Button(t("card.btn_back"), CARD.encode(CardButton.BACK, ticket.id)),)


def _state_photos(ctx: Ctx, ticket: Ticket) -> list[str]:
    if ctx.state.flow != FLOW.name or ctx.state.data.get("ticket") != ticket.id:
        return []
    return [str(p) for p in ctx.state.data.get("photos", [])]


FLOW = Flow(
    Step,
    {step: StepSpec(on_message, takes_photos=True) for step in Step},
    chat="any",
    summary="a card button's follow-up where the card was pressed (team group or a private "
    "card): completion note, reason, note, time",
)
