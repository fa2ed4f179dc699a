"""Staff commands: /bind and /unbind a group to a team, /invite and /join, /staff, /remove.

The rules (who may bind, invite or remove whom) live in bot/services/staff.py;
these handlers parse arguments and say what happened.
"""

from __future__ import annotations

import re

from bot.domain.vocabulary import TEAMS
from bot.handlers.base import Ctx
from bot.handlers.cards import group_translator, refresh_cards, retire_private_cards
from bot.handlers.duty import ask_after_removal
from bot.handlers.presenters import team_label
from bot.messages import Outgoing
from bot.services.handover import Handover
from bot.services.staff import INVITE_DAYS, ROLES, Actor, NotAllowed, StaffService
from storage.models import Property

# An invite code, also accepted as a deep link: /start inv-XXXXXXXX.
INVITE_CODE = re.compile(r"^(?:inv[-_])?([2-9A-HJ-NP-Z]{8})$", re.IGNORECASE)

_TELEGRAM_ID = re.compile(r"-?[0-9]{1,15}")


async def _actor(ctx: Ctx, service: StaffService, prop: Property | None) -> Actor:
    return await service.actor(ctx.inc.user_id, prop.id if prop else None, ctx.inc.user_name)


def _args(ctx: Ctx) -> list[str]:
    return ctx.inc.command_args.split()


async def on_bind(ctx: Ctx) -> None:
    """`/bind <team> [property]` in the group (or forum topic) that should get its cards."""
    if ctx.inc.is_private:
        ctx.say(ctx.t("staff.bind_in_group"))
        return
    args = _args(ctx)
    service = StaffService(ctx.desk)
    prop = await service.property_for(args[1] if len(args) > 1 else None)
    if not args or args[0] not in TEAMS or prop is None:
        ctx.say(ctx.t("staff.bind_usage", teams=", ".join(TEAMS)))
        return
    try:
        binding = await service.bind(
            await _actor(ctx, service, prop), prop, args[0], ctx.inc.chat_id, ctx.inc.thread_id
        )
    except NotAllowed as exc:
        ctx.say(ctx.t(exc.reason))
        return
    key = "staff.bound_topic" if binding.thread_id else "staff.bound"
    ctx.say(ctx.t(key, team=team_label(ctx.t, binding.team), property=binding.property_name))


async def on_unbind(ctx: Ctx) -> None:
    """`/unbind [team]`: this group stops receiving that team's cards (or every team's)."""
    if ctx.inc.is_private:
        ctx.say(ctx.t("staff.bind_in_group"))
        return
    args = _args(ctx)
    service = StaffService(ctx.desk)
    team = args[0] if args else None
    try:
        actor = await _actor(ctx, service, await _chat_property(ctx, service))
        unbound = await service.unbind(actor, ctx.inc.chat_id, team)
    except NotAllowed as exc:
        ctx.say(ctx.t(exc.reason))
        return
    if not unbound:
        ctx.say(ctx.t("staff.nothing_bound"))
        return
    names = ctx.t("common.list_separator").join(team_label(ctx.t, code) for code in unbound)
    ctx.say(ctx.t("staff.unbound", teams=names))


async def on_invite(ctx: Ctx) -> None:
    """`/invite <team> [staff|lead|manager|admin] [property]`: a one-time code."""
    args = _args(ctx)
    service = StaffService(ctx.desk)
    team = args[0] if args else await _group_team(ctx, service)
    role = args[1] if len(args) > 1 else "staff"
    prop = await service.property_for(args[2] if len(args) > 2 else None)
    if team not in TEAMS or role not in ROLES or prop is None:
        ctx.say(ctx.t("staff.invite_usage", teams=", ".join(TEAMS), roles=", ".join(ROLES)))
        return
    try:
        invite = await service.invite(await _actor(ctx, service, prop), prop, team, role)
    except NotAllowed as exc:
        ctx.say(ctx.t(exc.reason))
        return
    text = ctx.t(
        "staff.invite_created",
        code=invite.code,
        team=team_label(ctx.t, team),
        role=ctx.t(f"role.{role}"),
        days=INVITE_DAYS,
    )
    if ctx.inc.is_private:
        ctx.say(text)
        return
    # A one-time code shown in a group could be redeemed by anyone there: send it privately.
    hint = Outgoing(chat_id=ctx.inc.chat_id, text=ctx.t("staff.invite_needs_private_chat"))
    private = Outgoing(chat_id=ctx.inc.user_id, text=text)
    await ctx.desk.enqueue(f"invite:{invite.code}", private, fallback=hint)
    ctx.say(ctx.t("staff.invite_sent_privately"))


async def on_join(ctx: Ctx) -> None:
    """`/join <code>` (or `/start inv-<code>`) in a private chat with the bot."""
    if not ctx.inc.is_private:
        return  # a code typed in a group would be burnt in front of everyone
    match = INVITE_CODE.match(ctx.inc.command_args.strip())
    if match is None:
        ctx.say(ctx.t("staff.join_usage"))
        return
    member = await StaffService(ctx.desk).join(
        match.group(1), ctx.inc.user_id, ctx.inc.user_name, ctx.inc.username
    )
    if member is None:
        ctx.say(ctx.t("staff.invite_invalid"))
        return
    ctx.finish()
    ctx.say(
        ctx.t(
            "staff.joined",
            team=team_label(ctx.t, member.team),
            role=ctx.t(f"role.{member.role}"),
        )
    )


def is_invite_start(ctx: Ctx) -> bool:
    return ctx.inc.command == "start" and bool(INVITE_CODE.match(ctx.inc.command_args.strip()))


async def on_staff(ctx: Ctx) -> None:
    """`/staff [team]`: the team's members, for its lead, managers and admins."""
    args = _args(ctx)
    service = StaffService(ctx.desk)
    team = args[0] if args else await _group_team(ctx, service)
    prop = await service.property_for(args[1] if len(args) > 1 else None)
    if team not in TEAMS or prop is None:
        ctx.say(ctx.t("staff.staff_usage", teams=", ".join(TEAMS)))
        return
    try:
        members = await service.members(await _actor(ctx, service, prop), prop, team)
    except NotAllowed as exc:
        ctx.say(ctx.t(exc.reason))
        return
    lines = [ctx.t("staff.list_title", team=team_label(ctx.t, team), count=len(members))]
    lines += [
        ctx.t(
            "staff.list_line",
            name=m.name or "-",
            username=f"@{m.username}" if m.username else "",
            role=ctx.t(f"role.{m.role}"),
            id=m.telegram_id,
        )
        for m in members
    ]
    ctx.say("\n".join(lines))


async def on_remove(ctx: Ctx) -> None:
    """`/remove <telegram id> [team]`: the ids are listed by /staff. What the member held
    in those teams goes back to the pool; the cards say so, the residents are not told
    (nothing they were promised changes)."""
    args = _args(ctx)
    if not args or not _TELEGRAM_ID.fullmatch(args[0]) or (len(args) > 1 and args[1] not in TEAMS):
        ctx.say(ctx.t("staff.remove_usage"))
        return
    service = StaffService(ctx.desk)
    prop = await _chat_property(ctx, service)
    if prop is None:
        return
    t = group_translator(ctx.desk)
    try:
        actor = await _actor(ctx, service, prop)
        removal = await Handover(ctx.desk).remove(
            actor,
            prop,
            int(args[0]),
            args[1] if len(args) > 1 else None,
            lambda name: t("staff.left_team", name=name),
        )
    except NotAllowed as exc:
        ctx.say(ctx.t(exc.reason))
        return
    if not removal.members:
        ctx.say(ctx.t("staff.remove_nobody"))
        return
    if not (await service.actor(int(args[0]), prop.id)).is_staff:
        # in no team of this property any more: the cards in their private chat go quiet
        await retire_private_cards(ctx.desk, int(args[0]), prop.id)
    name = removal.members[0].name or args[0]
    teams = ctx.t("common.list_separator").join(team_label(ctx.t, m.team) for m in removal.members)
    ctx.say(ctx.t("staff.removed", name=name, teams=teams))
    for ticket in removal.returned:
        reason = t("staff.left_team", name=name)
        await refresh_cards(ctx.desk, ticket, extra=t("card.requeued", reason=reason))
    if removal.returned:
        numbers = ctx.t("common.list_separator").join(tk.number for tk in removal.returned)
        ctx.say(ctx.t("staff.removed_returned", numbers=numbers))
        # Back in the pool unless the remover names a colleague for a ticket.
        await ask_after_removal(ctx, removal.returned, int(args[0]))


async def _chat_property(ctx: Ctx, service: StaffService) -> Property | None:
    """The property whose teams this group serves; in private, the first property."""
    for team in await service.teams_of_chat(ctx.inc.chat_id):
        return await ctx.desk.property(team.property_id)
    return await service.property_for(None)


async def _group_team(ctx: Ctx, service: StaffService) -> str:
    """In a bound group the team argument may be left out."""
    if ctx.inc.is_private:
        return ""
    bound = await service.teams_of_chat(ctx.inc.chat_id)
    return bound[0].code if len(bound) == 1 else ""
