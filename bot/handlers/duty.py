"""Duty (值班) commands and the handover question.

`/duty` shows who is on duty now; `/duty <team> <who>...` (a lead) sets it, `/duty <team>
rota` goes back to the rota. `/onduty` and `/offduty` are a member's own. Going off duty
with open tickets, or removing a member who held some, asks per ticket with `ho:` buttons:
back to the pool, to a named colleague, or keep it. The rules live in bot/domain/policy.py;
bot/services/duty.py and bot/services/handover.py apply them.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from bot.domain.policy import duty_mark_until, held_by_someone
from bot.domain.vocabulary import TEAMS
from bot.handlers.base import Ctx, in_rows, shorten
from bot.handlers.cards import group_translator, post_private_card, refresh_cards
from bot.handlers.flow import CallbackCodec, Press
from bot.handlers.presenters import category_label, local_time, team_label
from bot.i18n import Translator
from bot.messages import Button, Keyboard
from bot.services.dispatch import Conflict, Dispatch
from bot.services.duty import DutyService
from bot.services.handover import Handover, TakenMeanwhile
from bot.services.lifecycle import IllegalTransition
from bot.services.staff import Actor, NotAllowed, StaffService
from storage.models import Property, StaffMember, Ticket

COLLEAGUE_BUTTONS = 6  # the handover question names at most this many colleagues
BACK_TO_ROTA = "rota"
NAME_ECHO = 64  # an unknown name is echoed at most this long


class HandoverButton(StrEnum):
    POOL = "pool"
    GIVE = "give"
    KEEP = "keep"
    # The removal question's own: they act only while the ticket waits in the pool, so an
    # old question never takes a ticket from whoever accepted it since.
    POOL_GIVE = "pgive"
    POOL_LEAVE = "left"


BUTTONS = CallbackCodec(
    "ho",
    HandoverButton,
    subject="id",
    arguments={HandoverButton.GIVE: "id", HandoverButton.POOL_GIVE: "id"},
    summary="the handover question: off duty (pool, a colleague's id, keep), removal (a "
    "colleague's id or leave it, while the ticket is still in the pool); subject: the ticket id",
)


# /duty ------------------------------------------------------------------------------------
async def on_duty_command(ctx: Ctx) -> None:
    """`/duty` (who is on duty now), `/duty <team> <id|@username|name>...`, `/duty <team> rota`."""
    args = ctx.inc.command_args.split()
    service = StaffService(ctx.desk)
    prop, actor = await _where_and_who(ctx)
    if prop is None or not actor.is_staff:
        ctx.say(ctx.t("duty.not_staff"))
        return
    team = args[0] if args and args[0] in TEAMS else await _group_team(ctx, service)
    names = args[1:] if args and args[0] in TEAMS else args
    if not names:
        await _show_roster(ctx, prop, team or None)
        return
    if team not in TEAMS:
        ctx.say(ctx.t("duty.usage", teams=", ".join(TEAMS)))
        return
    await _set(ctx, actor, prop, team, names)


async def _set(ctx: Ctx, actor: Actor, prop: Property, team: str, names: list[str]) -> None:
    duty = DutyService(ctx.desk)
    label = team_label(ctx.t, team)
    try:
        duty.check_may_set(actor, team)  # before names: nobody else learns who is a member
    except NotAllowed as exc:
        ctx.say(ctx.t(exc.reason))
        return
    if names == [BACK_TO_ROTA]:
        people: list[StaffMember] = []
    else:
        people = []
        for word in names:
            member = await duty.member_named(prop, team, word)
            if member is None:
                who = shorten(word, NAME_ECHO)
                ctx.say(ctx.t("duty.unknown_member", who=who, team=label, code=team))
                return
            people.append(member)
    try:
        if people:
            await duty.set_duty(actor, prop, team, people)
        else:
            await duty.back_to_rota(actor, prop, team)
    except NotAllowed as exc:
        ctx.say(ctx.t(exc.reason))
        return
    if not people:
        ctx.say(ctx.t("duty.back_to_rota", team=label))
        return
    until = local_time(duty_mark_until(ctx.desk.now()), ctx.settings.tz)
    ctx.say(ctx.t("duty.set", team=label, names=_names(ctx.t, people), until=until))


async def _show_roster(ctx: Ctx, prop: Property, team: str | None) -> None:
    duty = DutyService(ctx.desk)
    roster = await duty.roster(prop)
    if team is not None:
        roster = {team: roster[team]} if team in roster else {}
    if not roster:
        ctx.say(ctx.t("duty.nobody", property=prop.name))
        return
    lines = [ctx.t("duty.now_title", property=prop.name)]
    lines += [
        ctx.t("duty.now_line", team=team_label(ctx.t, code), names=_names(ctx.t, people))
        for code, people in roster.items()
    ]
    ctx.say("\n".join(lines))


# /onduty and /offduty ----------------------------------------------------------------------
async def on_onduty(ctx: Ctx) -> None:
    prop, actor = await _where_and_who(ctx)
    if prop is None or not actor.roles:
        ctx.say(ctx.t("duty.not_staff"))
        return
    teams = await DutyService(ctx.desk).go_on(actor, prop)
    until = local_time(duty_mark_until(ctx.desk.now()), ctx.settings.tz)
    ctx.say(ctx.t("duty.on", teams=_teams(ctx.t, teams), until=until))


async def on_offduty(ctx: Ctx) -> None:
    """Off duty; each open ticket the member holds gets a question (kept unless answered)."""
    prop, actor = await _where_and_who(ctx)
    if prop is None or not actor.roles:
        ctx.say(ctx.t("duty.not_staff"))
        return
    teams = await DutyService(ctx.desk).go_off(actor, prop)
    until = local_time(duty_mark_until(ctx.desk.now()), ctx.settings.tz)
    ctx.say(ctx.t("duty.off", teams=_teams(ctx.t, teams), until=until))
    handover = Handover(ctx.desk)
    held = await handover.held(prop.id, actor.telegram_id, teams)
    if not held:
        return
    ctx.say(ctx.t("duty.held_intro", count=len(held)))
    for ticket in held:
        colleagues = await handover.colleagues(ticket, but=[actor.telegram_id])
        buttons = question_buttons(ctx.t, ticket, colleagues, keep=True)
        ctx.say(_ticket_line(ctx.t, ticket), buttons)


async def ask_after_removal(ctx: Ctx, tickets: Sequence[Ticket], removed_id: int) -> None:
    """The remover is asked, per ticket sent back to the pool, whether a colleague takes it."""
    handover = Handover(ctx.desk)
    for ticket in tickets:
        colleagues = await handover.colleagues(ticket, but=[removed_id])
        if not colleagues:
            continue
        buttons = question_buttons(ctx.t, ticket, colleagues, keep=False)
        text = ctx.t("duty.removed_ask", number=ticket.number, team=team_label(ctx.t, ticket.team))
        ctx.say(text, buttons)


def question_buttons(
    t: Translator, ticket: Ticket, colleagues: Sequence[StaffMember], *, keep: bool
) -> Keyboard:
    """A button per colleague (on duty first), then pool and keep (off duty) or leave it in
    the pool (removal: the ticket is there already)."""
    give_action = HandoverButton.GIVE if keep else HandoverButton.POOL_GIVE
    give = [
        Button(
            t("duty.btn_give", name=m.name or str(m.telegram_id)),
            BUTTONS.encode(give_action, ticket.id, str(m.telegram_id)),
        )
        for m in colleagues[:COLLEAGUE_BUTTONS]
    ]
    if not keep:
        leave = Button(
            t("duty.btn_leave_in_pool"), BUTTONS.encode(HandoverButton.POOL_LEAVE, ticket.id)
        )
        return (*in_rows(give, 2), (leave,))
    last = (
        Button(t("duty.btn_pool"), BUTTONS.encode(HandoverButton.POOL, ticket.id)),
        Button(t("duty.btn_keep"), BUTTONS.encode(HandoverButton.KEEP, ticket.id)),
    )
    return (*in_rows(give, 2), last)


# the answers ------------------------------------------------------------------------------
async def on_callback(ctx: Ctx, press: Press) -> None:
    ticket = await ctx.desk.ticket(press.subject_id)
    if ticket is None:
        ctx.toast(ctx.t("common.unknown_button"))
        return
    actor = await Dispatch(ctx.desk).actor_for(ctx.inc.user_id, ticket, ctx.inc.user_name)
    handover = Handover(ctx.desk)
    try:
        if press.action == HandoverButton.GIVE:
            await _handed(ctx, actor, ticket, await handover.give(actor, ticket, press.argument_id))
        elif press.action == HandoverButton.POOL_GIVE:
            member = await handover.give_from_pool(actor, ticket, press.argument_id)
            await _handed(ctx, actor, ticket, member)
        elif press.action == HandoverButton.POOL_LEAVE:
            handover.check_still_in_pool(actor, ticket)
            ctx.toast()
            ctx.edit(ctx.t("duty.answered_left", number=ticket.number))
        elif press.action == HandoverButton.POOL:
            await _pool(ctx, handover, actor, ticket)
        else:
            handover.check(actor, ticket)
            ctx.toast()
            ctx.edit(ctx.t("duty.answered_keep", number=ticket.number))
    except NotAllowed as exc:
        ctx.toast(ctx.t(exc.reason), alert=True)
    except TakenMeanwhile as exc:
        _taken_meanwhile(ctx, exc.ticket)
    except (IllegalTransition, Conflict):
        ctx.toast(ctx.t("staff.already", status=ctx.t(f"status.{ticket.status}")), alert=True)


def _taken_meanwhile(ctx: Ctx, ticket: Ticket) -> None:
    """The removal question is over: the ticket left the pool; its buttons go."""
    if ticket.assignee_name and held_by_someone(ticket.status):
        text = ctx.t("duty.taken_meanwhile", number=ticket.number, name=ticket.assignee_name)
    else:
        text = ctx.t("staff.already", status=ctx.t(f"status.{ticket.status}"))
    ctx.toast(text, alert=True)
    ctx.edit(text)


async def _handed(ctx: Ctx, actor: Actor, ticket: Ticket, member: StaffMember) -> None:
    t = group_translator(ctx.desk)
    ctx.toast()
    name = member.name or str(member.telegram_id)
    ctx.edit(ctx.t("duty.answered_give", number=ticket.number, name=name))
    await refresh_cards(ctx.desk, ticket, extra=t("duty.card_handed", by=actor.name, name=name))
    # The colleague gets the card privately, with its buttons, to work from there.
    await post_private_card(ctx.desk, ticket, member, t("duty.handed_to_you", by=actor.name))


async def _pool(ctx: Ctx, handover: Handover, actor: Actor, ticket: Ticket) -> None:
    t = group_translator(ctx.desk)
    reason = t("duty.off_reason", name=actor.name)
    returned = await handover.back_to_pool(actor, ticket, reason)
    ctx.toast()
    if returned:
        await refresh_cards(ctx.desk, ticket, extra=t("card.requeued", reason=reason))
        ctx.edit(ctx.t("duty.answered_pool", number=ticket.number))
    else:
        ctx.edit(ctx.t("duty.answered_left", number=ticket.number))


# helpers ----------------------------------------------------------------------------------
async def _where_and_who(ctx: Ctx) -> tuple[Property | None, Actor]:
    """The property of the group's team, or of the person's first membership, or the first
    one; and the person as staff of that property."""
    service = StaffService(ctx.desk)
    prop: Property | None = None
    for team in await service.teams_of_chat(ctx.inc.chat_id):
        prop = await ctx.desk.property(team.property_id)
        break
    if prop is None:
        mine = await service.actor(ctx.inc.user_id, None, ctx.inc.user_name)
        if mine.property_id is not None:
            prop = await ctx.desk.property(mine.property_id)
    if prop is None:
        prop = await service.property_for(None)
    actor = await service.actor(ctx.inc.user_id, prop.id if prop else None, ctx.inc.user_name)
    return prop, actor


async def _group_team(ctx: Ctx, service: StaffService) -> str:
    if ctx.inc.is_private:
        return ""
    bound = await service.teams_of_chat(ctx.inc.chat_id)
    return bound[0].code if len(bound) == 1 else ""


def _ticket_line(t: Translator, ticket: Ticket) -> str:
    return t(
        "duty.ask_ticket",
        number=ticket.number,
        category=category_label(t, ticket.category),
        address=ticket.address,
        status=t(f"status.{ticket.status}"),
    )


def _names(t: Translator, people: Sequence[StaffMember]) -> str:
    return t("common.list_separator").join(p.name or str(p.telegram_id) for p in people)


def _teams(t: Translator, teams: Sequence[str]) -> str:
    return t("common.list_separator").join(team_label(t, code) for code in teams)
