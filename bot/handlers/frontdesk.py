"""The front desk (前台接待) in a staff member's private chat.

`/new` registers a request for a resident who phoned, walked in or wrote: the channel, the
caller (found by phone or by address; an unknown caller is recorded with name, phone and
address), the description (classified; the category and urgency may be corrected), photos.
`/report` files a common-area problem found on patrol (巡查发现): a place and a description.
Both file ordinary tickets that say how they arrived and who registered them.

For a caller without Telegram, completing the ticket asks staff to confirm by phone: the
`pc:<ticket id>` buttons record "solved" or "not solved" and the stars given on the phone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum

from bot.domain.policy import opens_as_emergency, safety_advice_key
from bot.domain.vocabulary import CATEGORIES, DESK_CHANNELS, URGENCIES, Channel
from bot.handlers.base import Ctx, in_rows, new_token, shorten
from bot.handlers.cards import group_translator, notify_resident, post_cards, refresh_cards
from bot.handlers.flow import CallbackCodec, Flow, FlowStep, Press, StepSpec
from bot.handlers.inputs import clean_address, clean_name, clean_room, clean_text
from bot.handlers.presenters import (
    category_label,
    channel_label,
    duration,
    local_time,
    team_label,
    urgency_label,
)
from bot.i18n import Translator
from bot.messages import Button, Keyboard
from bot.services.desk import Draft, address_of
from bot.services.dispatch import Conflict
from bot.services.frontdesk import Caller, FrontDesk
from bot.services.lifecycle import IllegalTransition, Status
from bot.services.phones import mask_phone, normalise_phone
from bot.services.staff import Actor, NotAllowed
from storage.models import Building, Resident, Ticket

DESCRIPTION_LIMIT = 20_000
ECHO_LIMIT = 600


class Step(FlowStep):
    __flow__ = "desk"
    CHANNEL = "channel"
    PHONE = "phone"
    MATCH = "match"
    NAME = "name"
    BUILDING = "building"
    UNIT = "unit"
    ROOM = "room"
    DESCRIBE = "describe"
    CONFIRM = "confirm"


class DeskButton(StrEnum):
    CHANNEL = "ch"
    BY_ADDRESS = "adr"
    PICK = "pick"
    NEW_CALLER = "new"
    BUILDING = "b"
    UNIT = "u"
    FILE = "ok"
    FILE_ANYWAY = "dup"
    CATEGORY_MENU = "cat"
    CATEGORY = "c"
    URGENCY_MENU = "urg"
    URGENCY = "g"
    CANCEL = "x"


BUTTONS = CallbackCodec(
    "fd",
    DeskButton,
    subject="token",
    arguments={
        DeskButton.CHANNEL: DESK_CHANNELS,
        DeskButton.PICK: "id",
        DeskButton.BUILDING: "id",
        DeskButton.UNIT: "id",
        DeskButton.CATEGORY: CATEGORIES,
        DeskButton.URGENCY: URGENCIES,
    },
    summary="a front-desk registration (/new, /report); the subject is the session's token",
)


class PhoneButton(StrEnum):
    SOLVED = "ok"
    NOT_SOLVED = "no"
    STARS = "s"


PHONE_BUTTONS = CallbackCodec(
    "pc",
    PhoneButton,
    subject="id",
    arguments={PhoneButton.STARS: ("1", "2", "3", "4", "5")},
    summary="a caller without Telegram, confirmed by phone: solved, not solved, stars given",
)

# Which step each button answers; a press out of step is stale.
_BUTTON_STEP: dict[DeskButton, tuple[Step, ...]] = {
    DeskButton.CHANNEL: (Step.CHANNEL,),
    DeskButton.BY_ADDRESS: (Step.PHONE,),
    DeskButton.PICK: (Step.MATCH,),
    DeskButton.NEW_CALLER: (Step.MATCH,),
    DeskButton.BUILDING: (Step.BUILDING,),
    DeskButton.UNIT: (Step.UNIT,),
    DeskButton.FILE: (Step.CONFIRM,),
    DeskButton.FILE_ANYWAY: (Step.CONFIRM,),
    DeskButton.CATEGORY_MENU: (Step.CONFIRM,),
    DeskButton.CATEGORY: (Step.CONFIRM,),
    DeskButton.URGENCY_MENU: (Step.CONFIRM,),
    DeskButton.URGENCY: (Step.CONFIRM,),
    DeskButton.CANCEL: tuple(Step),
}


# starting ------------------------------------------------------------------------------
async def on_new(ctx: Ctx) -> None:
    """`/new`: a request taken by phone, at the counter, by email or otherwise."""
    service = FrontDesk(ctx.desk)
    try:
        actor = await service.registrar(ctx.inc.user_id, ctx.inc.user_name)
    except NotAllowed as refused:
        ctx.say(ctx.t(refused.reason))
        return
    property_id = await service.property_id(actor)
    ctx.finish()
    ctx.goto(Step.CHANNEL, fd=new_token(), property_id=property_id, caller={}, draft={})
    await ask_channel(ctx)


async def on_report(ctx: Ctx) -> None:
    """`/report`: a common-area problem found on patrol; the place, then the description."""
    service = FrontDesk(ctx.desk)
    try:
        actor = await service.patroller(ctx.inc.user_id, ctx.inc.user_name)
    except NotAllowed as refused:
        ctx.say(ctx.t(refused.reason))
        return
    property_id = await service.property_id(actor)
    ctx.finish()
    ctx.goto(
        Step.BUILDING,
        fd=new_token(),
        property_id=property_id,
        channel=Channel.PATROL,
        caller={},
        draft={},
    )
    await ask_building(ctx)


async def on_group_report(ctx: Ctx) -> None:
    """`/report <place and problem>` in a team's group: filed at once, with the building
    named in the text as the place (or "common area"); the card takes corrections."""
    service = FrontDesk(ctx.desk)
    try:
        actor = await service.patroller(ctx.inc.user_id, ctx.inc.user_name)
    except NotAllowed as refused:
        ctx.say(ctx.t(refused.reason))
        return
    text = clean_text(ctx.inc.command_args)[:DESCRIPTION_LIMIT]
    if not text:
        ctx.say(ctx.t("desk.group_report_usage"))
        return
    property_id = await service.property_id(actor)
    if property_id is None:
        return
    buildings = await ctx.desk.buildings(property_id)
    place = next((b.name for b in buildings if b.name in text), ctx.t("desk.common_area"))
    draft = Draft(description=text)
    _classify(ctx, draft)
    ticket = await service.report_finding(actor, property_id, place, draft)
    await post_cards(ctx.desk, ticket)
    ctx.say(
        ctx.t(
            "desk.filed",
            number=ticket.number,
            team=team_label(ctx.t, ticket.team),
            minutes=duration(ctx.t, ctx.desk.sla.minutes(ticket.category, ticket.urgency)[0]),
        )
    )


async def restart(ctx: Ctx) -> None:
    ctx.say(ctx.t("desk.start_again"))


# prompts -------------------------------------------------------------------------------
async def ask_channel(ctx: Ctx) -> None:
    buttons = [
        Button(channel_label(ctx.t, code), _encode(ctx, DeskButton.CHANNEL, code))
        for code in DESK_CHANNELS
    ]
    ctx.say(ctx.t("desk.ask_channel"), (*in_rows(buttons, 2), _cancel_row(ctx)))


async def ask_phone(ctx: Ctx) -> None:
    rows: list[tuple[Button, ...]] = []
    if not _caller(ctx).address:
        rows.append((Button(ctx.t("desk.btn_by_address"), _encode(ctx, DeskButton.BY_ADDRESS)),))
    ctx.say(ctx.t("desk.ask_phone"), (*rows, _cancel_row(ctx)))


async def ask_name(ctx: Ctx) -> None:
    ctx.say(ctx.t("desk.ask_name"), (_cancel_row(ctx),))


async def ask_building(ctx: Ctx) -> None:
    buildings = await _buildings(ctx)
    buttons = [
        Button(b.name, _encode(ctx, DeskButton.BUILDING, str(i))) for i, b in enumerate(buildings)
    ]
    key = "desk.ask_place" if _patrol(ctx) else "desk.ask_building"
    if not buildings:
        key = "desk.ask_place_typed" if _patrol(ctx) else "desk.ask_address_typed"
    ctx.say(ctx.t(key), (*in_rows(buttons, 3), _cancel_row(ctx)))


async def ask_unit(ctx: Ctx) -> None:
    building = await _chosen_building(ctx)
    units = list(building.units) if building else []
    buttons = [Button(str(u), _encode(ctx, DeskButton.UNIT, str(i))) for i, u in enumerate(units)]
    name = building.name if building else ""
    ctx.say(ctx.t("desk.ask_unit", building=name), (*in_rows(buttons, 3), _cancel_row(ctx)))


async def ask_room(ctx: Ctx) -> None:
    ctx.say(ctx.t("desk.ask_room"), (_cancel_row(ctx),))


async def ask_description(ctx: Ctx) -> None:
    key = "desk.ask_finding" if _patrol(ctx) else "desk.ask_description"
    ctx.say(ctx.t(key, who=_who(ctx)), (_cancel_row(ctx),))


async def show_matches(ctx: Ctx) -> None:
    ids = [int(i) for i in ctx.state.data.get("matches", [])]
    service = FrontDesk(ctx.desk)
    residents = [r for i in ids if (r := await service.resident(i)) is not None]
    caller = _caller(ctx)
    lines = [ctx.t("desk.matches")]
    buttons: list[tuple[Button, ...]] = []
    for resident in residents:
        label = ctx.t(
            "desk.match_line",
            name=resident.name,
            phone=mask_phone(resident.phone),
            address=address_of(resident),
        )
        lines.append("• " + label)
        buttons.append((Button(_plain(label), _encode(ctx, DeskButton.PICK, str(resident.id))),))
    if caller.address and any(address_of(r) != caller.address for r in residents):
        lines.append(ctx.t("desk.match_other_address", address=caller.address))
    new_label = ctx.t("desk.btn_new_caller")
    buttons.append((Button(new_label, _encode(ctx, DeskButton.NEW_CALLER)),))
    ctx.say("\n".join(lines), (*buttons, _cancel_row(ctx)))


async def show_draft(ctx: Ctx) -> None:
    ctx.say(_draft_text(ctx), _draft_buttons(ctx))


# messages ------------------------------------------------------------------------------
async def on_phone(ctx: Ctx) -> None:
    phone = normalise_phone(clean_text(ctx.inc.text)[:40])
    if phone is None:
        ctx.say(ctx.t("desk.invalid_phone"))
        await ask_phone(ctx)
        return
    caller = _caller(ctx)
    caller.phone = phone
    _store_caller(ctx, caller)
    if caller.resident_id is None and not ctx.state.data.get("phone_looked_up"):
        ctx.state.data["phone_looked_up"] = True
        found = await FrontDesk(ctx.desk).residents_by_phone(_property_id(ctx), phone)
        if found:
            ctx.goto(Step.MATCH, matches=[r.id for r in found])
            await show_matches(ctx)
            return
    await _advance(ctx)


async def on_name(ctx: Ctx) -> None:
    name = clean_name(ctx.inc.text)
    if name is None:
        ctx.say(ctx.t("reg.invalid_name"))
        return
    caller = _caller(ctx)
    caller.name = name
    _store_caller(ctx, caller)
    await _advance(ctx)


async def on_building_text(ctx: Ctx) -> None:
    """A place typed instead of a button: the whole address (or patrol location) as typed."""
    typed = clean_address(ctx.inc.text)
    if typed is None:
        ctx.say(ctx.t("reg.invalid_address"))
        return
    caller = _caller(ctx)
    caller.typed_address, caller.building, caller.unit, caller.room = typed, "", "", ""
    _store_caller(ctx, caller)
    await _address_known(ctx)


async def on_unit_text(ctx: Ctx) -> None:
    ctx.say(ctx.t("common.use_buttons"))
    await ask_unit(ctx)


async def on_room(ctx: Ctx) -> None:
    room = clean_room(ctx.inc.text)
    if room is None:
        ctx.say(ctx.t("reg.invalid_room"))
        return
    caller = _caller(ctx)
    caller.room = room
    _store_caller(ctx, caller)
    await _address_known(ctx)


async def on_description(ctx: Ctx) -> None:
    draft = _draft(ctx)
    text = clean_text(ctx.inc.text)
    draft.photos.extend(p for p in ctx.inc.photos if p not in draft.photos)
    if text:
        joined = f"{draft.description}\n{text}" if draft.description else text
        draft.description = joined[:DESCRIPTION_LIMIT]
    if not text:
        _store_draft(ctx, draft)
        ctx.say(ctx.t("report.photo_added", count=len(draft.photos)))
        return
    if not ctx.state.data.get("chosen"):
        _classify(ctx, draft)
    _store_draft(ctx, draft)
    if ctx.state.step == Step.DESCRIBE and opens_as_emergency(
        draft.urgency, resident_pressed_alarm=False
    ):
        await _file_emergency(ctx, draft)
        return
    ctx.goto(Step.CONFIRM)
    await show_draft(ctx)


# buttons -------------------------------------------------------------------------------
async def on_callback(ctx: Ctx, press: Press) -> None:
    action = DeskButton(press.action)
    steps = _BUTTON_STEP[action]
    if (
        ctx.state.flow != Step.flow_name()
        or press.subject != ctx.state.data.get("fd")
        or ctx.state.step not in {s.value for s in steps}
    ):
        ctx.toast(ctx.t("common.stale_button"))
        return
    ctx.toast()
    await _ON_BUTTON[action](ctx, press.argument)


async def _channel(ctx: Ctx, channel: str) -> None:
    ctx.state.data["channel"] = channel
    ctx.edit(ctx.t("desk.channel_chosen", channel=channel_label(ctx.t, channel)))
    ctx.goto(Step.PHONE)
    await ask_phone(ctx)


async def _by_address(ctx: Ctx, _: str) -> None:
    ctx.goto(Step.BUILDING)
    await ask_building(ctx)


async def _pick(ctx: Ctx, resident_id: str) -> None:
    ids = [int(i) for i in ctx.state.data.get("matches", [])]
    resident = await FrontDesk(ctx.desk).resident(int(resident_id))
    if resident is None or resident.id not in ids:
        ctx.say(ctx.t("common.stale_button"))
        return
    _store_caller(ctx, Caller.of(resident))
    ctx.edit(ctx.t("desk.caller_chosen", who=_who(ctx)))
    await _advance(ctx)


async def _new_caller(ctx: Ctx, _: str) -> None:
    caller = _caller(ctx)
    caller.resident_id = None
    _store_caller(ctx, caller)
    ctx.edit(ctx.t("desk.caller_new"))
    await _advance(ctx)


async def _building(ctx: Ctx, index: str) -> None:
    buildings = await _buildings(ctx)
    if int(index) >= len(buildings):
        ctx.say(ctx.t("common.stale_button"))
        return
    building = buildings[int(index)]
    caller = _caller(ctx)
    caller.building, caller.unit, caller.room, caller.typed_address = building.name, "", "", ""
    _store_caller(ctx, caller)
    if _patrol(ctx):
        await _address_known(ctx)
    elif building.units:
        ctx.goto(Step.UNIT)
        await ask_unit(ctx)
    else:
        ctx.goto(Step.ROOM)
        await ask_room(ctx)


async def _unit(ctx: Ctx, index: str) -> None:
    building = await _chosen_building(ctx)
    units = list(building.units) if building else []
    if int(index) >= len(units):
        ctx.say(ctx.t("common.stale_button"))
        return
    caller = _caller(ctx)
    caller.unit = str(units[int(index)])
    _store_caller(ctx, caller)
    ctx.goto(Step.ROOM)
    await ask_room(ctx)


async def _file(ctx: Ctx, _: str) -> None:
    draft = _draft(ctx)
    if not draft.description:
        ctx.say(ctx.t("common.stale_button"))
        return
    if not _patrol(ctx) and not ctx.state.data.get("duplicate_ok"):
        earlier = await FrontDesk(ctx.desk).recent_open(_property_id(ctx), _caller(ctx))
        if earlier:
            await _show_duplicates(ctx, earlier)
            return
    await _file_now(ctx, draft)


async def _file_anyway(ctx: Ctx, _: str) -> None:
    ctx.state.data["duplicate_ok"] = True
    if ctx.state.data.get("emergency"):  # held back as a second report of one emergency
        await _file_emergency_now(ctx, _draft(ctx))
        return
    await _file(ctx, "")


async def _category_menu(ctx: Ctx, _: str) -> None:
    buttons = [
        Button(category_label(ctx.t, code), _encode(ctx, DeskButton.CATEGORY, code))
        for code in CATEGORIES
    ]
    ctx.edit(ctx.t("report.choose_category"), (*in_rows(buttons, 3), _cancel_row(ctx)))


async def _category(ctx: Ctx, category: str) -> None:
    await _correct(ctx, category=category)


async def _urgency_menu(ctx: Ctx, _: str) -> None:
    buttons = [
        Button(urgency_label(ctx.t, code), _encode(ctx, DeskButton.URGENCY, code))
        for code in URGENCIES
    ]
    ctx.edit(ctx.t("card.choose_urgency"), (*in_rows(buttons, 4), _cancel_row(ctx)))


async def _urgency(ctx: Ctx, urgency: str) -> None:
    await _correct(ctx, urgency=urgency)


async def _correct(ctx: Ctx, **fields: str) -> None:
    """Staff corrected the classifier's category or urgency before filing."""
    draft = _draft(ctx)
    for name, value in fields.items():
        setattr(draft, name, value)
    _store_draft(ctx, draft)
    ctx.state.data["chosen"] = True
    ctx.edit(_draft_text(ctx), _draft_buttons(ctx))


async def _cancel(ctx: Ctx, _: str) -> None:
    ctx.finish()
    ctx.edit(ctx.t("desk.cancelled"))


_ON_BUTTON: dict[DeskButton, Callable[[Ctx, str], Awaitable[None]]] = {
    DeskButton.CHANNEL: _channel,
    DeskButton.BY_ADDRESS: _by_address,
    DeskButton.PICK: _pick,
    DeskButton.NEW_CALLER: _new_caller,
    DeskButton.BUILDING: _building,
    DeskButton.UNIT: _unit,
    DeskButton.FILE: _file,
    DeskButton.FILE_ANYWAY: _file_anyway,
    DeskButton.CATEGORY_MENU: _category_menu,
    DeskButton.CATEGORY: _category,
    DeskButton.URGENCY_MENU: _urgency_menu,
    DeskButton.URGENCY: _urgency,
    DeskButton.CANCEL: _cancel,
}


# moving on -----------------------------------------------------------------------------
async def _advance(ctx: Ctx) -> None:
    """Ask for whatever the caller's record still lacks, then for the description."""
    caller = _caller(ctx)
    if caller.resident_id is None:
        if not caller.name:
            ctx.goto(Step.NAME)
            await ask_name(ctx)
            return
        if not caller.address:
            ctx.goto(Step.BUILDING)
            await ask_building(ctx)
            return
        if not caller.phone:
            ctx.goto(Step.PHONE)
            await ask_phone(ctx)
            return
    ctx.goto(Step.DESCRIBE)
    await ask_description(ctx)


async def _address_known(ctx: Ctx) -> None:
    if _patrol(ctx):
        ctx.goto(Step.DESCRIBE)
        await ask_description(ctx)
        return
    caller = _caller(ctx)
    if caller.resident_id is None and not ctx.state.data.get("address_looked_up"):
        ctx.state.data["address_looked_up"] = True
        found = await FrontDesk(ctx.desk).residents_at(_property_id(ctx), caller)
        if found:
            ctx.goto(Step.MATCH, matches=[r.id for r in found])
            await show_matches(ctx)
            return
    await _advance(ctx)


async def _show_duplicates(
    ctx: Ctx, earlier: Sequence[Ticket], title: str = "desk.duplicate"
) -> None:
    lines = [ctx.t(title)]
    for ticket in earlier:
        lines.append(
            ctx.t(
                "desk.duplicate_line",
                number=ticket.number,
                category=category_label(ctx.t, ticket.category),
                when=local_time(ticket.created_at, ctx.settings.tz),
                by=ticket.registered_by_name or ticket.contact_name,
                text=shorten(ticket.description, 60),
            )
        )
    buttons = (
        (
            Button(ctx.t("desk.btn_file_anyway"), _encode(ctx, DeskButton.FILE_ANYWAY)),
            Button(ctx.t("report.btn_cancel"), _encode(ctx, DeskButton.CANCEL)),
        ),
    )
    ctx.edit("\n".join(lines), buttons)


async def _file_now(ctx: Ctx, draft: Draft) -> Ticket | None:
    service = FrontDesk(ctx.desk)
    try:
        actor = await (
            service.patroller(ctx.inc.user_id, ctx.inc.user_name)
            if _patrol(ctx)
            else service.registrar(ctx.inc.user_id, ctx.inc.user_name)
        )
    except NotAllowed as refused:  # removed from the team meanwhile
        ctx.finish()
        ctx.say(ctx.t(refused.reason))
        return None
    caller = _caller(ctx)
    if _patrol(ctx):
        ticket = await service.report_finding(actor, _property_id(ctx), caller.address, draft)
    else:
        channel = str(ctx.state.data.get("channel", Channel.OTHER))
        ticket = await service.register(actor, _property_id(ctx), channel, caller, draft)
    await post_cards(ctx.desk, ticket)
    resident = await ctx.desk.resident_by_id(ticket.resident_id)
    if resident is not None:
        await notify_resident(
            ctx.desk,
            ticket,
            "desk.registered_for_you",
            channel=channel_label_for(resident.locale, ticket.channel),
        )
    filed_draft = _draft_text(ctx, draft)  # before the dialog state is cleared
    ctx.finish()
    if ctx.inc.is_callback:
        ctx.edit(filed_draft)
    ctx.say(_filed_text(ctx, ticket, resident))
    return ticket


async def _file_emergency(ctx: Ctx, draft: Draft) -> None:
    """An emergency skips the questions, as a resident's does: advice first, then the ticket."""
    hotlines = await FrontDesk(ctx.desk).hotlines(_property_id(ctx))
    advice = ctx.t(safety_advice_key(draft.hazard))
    number = hotlines.get(draft.hazard or "", "")
    ctx.say(advice + ("\n" + ctx.t("safety.call", number=number) if number else ""))
    # Checked only after the advice, and only against an emergency already filed: the
    # first report of an emergency is never held up, a second clerk's is not filed blind.
    earlier = await FrontDesk(ctx.desk).same_emergency(_property_id(ctx), _caller(ctx), draft)
    if earlier:
        ctx.goto(Step.CONFIRM, emergency=True)
        await _show_duplicates(ctx, earlier, "desk.duplicate_emergency")
        return
    await _file_emergency_now(ctx, draft)


async def _file_emergency_now(ctx: Ctx, draft: Draft) -> None:
    ticket = await _file_now(ctx, draft)
    if ticket is not None:
        ctx.say(ctx.t("desk.emergency_filed", number=ticket.number))


def _filed_text(ctx: Ctx, ticket: Ticket, resident: Resident | None) -> str:
    response = ctx.desk.sla.minutes(ticket.category, ticket.urgency)[0]
    lines = [
        ctx.t(
            "desk.filed",
            number=ticket.number,
            team=team_label(ctx.t, ticket.team),
            minutes=duration(ctx.t, response),
        )
    ]
    if ticket.channel != Channel.PATROL:
        key = "desk.filed_notified" if resident is not None else "desk.filed_by_phone"
        lines.append(ctx.t(key))
    return "\n".join(lines)


# completion for callers without Telegram -----------------------------------------------
async def ask_phone_confirmation(ctx: Ctx, ticket: Ticket) -> None:
    """After completion: staff call the resident, then press what they said."""
    t = group_translator(ctx.desk) if not ctx.inc.is_private else ctx.t
    buttons = (
        (
            Button(t("desk.btn_phone_solved"), PHONE_BUTTONS.encode(PhoneButton.SOLVED, ticket.id)),
            Button(
                t("desk.btn_phone_not_solved"),
                PHONE_BUTTONS.encode(PhoneButton.NOT_SOLVED, ticket.id),
            ),
        ),
    )
    key = "desk.confirm_patrol" if ticket.channel == Channel.PATROL else "desk.confirm_by_phone"
    text = t(
        key,
        number=ticket.number,
        name=ticket.contact_name,
        phone=mask_phone(ticket.contact_phone) if ticket.contact_phone else "-",
    )
    ctx.say(text, buttons)


async def on_phone_confirmation(ctx: Ctx, press: Press) -> None:
    ticket = await ctx.desk.ticket(press.subject_id)
    if ticket is None:
        ctx.toast(ctx.t("common.unknown_button"))
        return
    service = FrontDesk(ctx.desk)
    try:
        actor = await service.phone_actor(ctx.inc.user_id, ticket, ctx.inc.user_name)
        if press.action == PhoneButton.STARS and ticket.channel != Channel.PATROL:
            await service.rate_by_phone(actor, ticket, int(press.argument))
            ctx.toast()
            ctx.edit(ctx.t("desk.rated", number=ticket.number, stars="⭐" * int(press.argument)))
            return
        if ticket.status != Status.RESOLVED:
            raise IllegalTransition(str(press.action), ticket.status)
        if press.action == PhoneButton.SOLVED:
            await _phone_solved(ctx, service, actor, ticket)
        else:
            await _phone_not_solved(ctx, service, actor, ticket)
    except NotAllowed as refused:
        ctx.toast(ctx.t(refused.reason), alert=True)
    except (IllegalTransition, Conflict):
        ctx.toast(ctx.t("staff.already", status=ctx.t(f"status.{ticket.status}")), alert=True)


async def _phone_solved(ctx: Ctx, service: FrontDesk, actor: Actor, ticket: Ticket) -> None:
    await service.confirmed_by_phone(actor, ticket)
    ctx.toast()
    await refresh_cards(ctx.desk, ticket, retire=True)
    if ticket.channel == Channel.PATROL:  # nobody to rate a common-area fix
        ctx.edit(ctx.t("desk.patrol_closed", number=ticket.number))
        return
    stars = tuple(
        Button("⭐" * n, PHONE_BUTTONS.encode(PhoneButton.STARS, ticket.id, str(n)))
        for n in range(1, 6)
    )
    ctx.edit(ctx.t("desk.ask_stars", number=ticket.number), (stars,))


async def _phone_not_solved(ctx: Ctx, service: FrontDesk, actor: Actor, ticket: Ticket) -> None:
    reason = ctx.t("desk.not_solved_reason")
    await service.not_solved_by_phone(actor, ticket, reason)
    ctx.toast()
    t = group_translator(ctx.desk)
    await refresh_cards(ctx.desk, ticket, extra=t("card.reopened_old"), retire=True)
    await post_cards(ctx.desk, ticket, extra=t("card.reopened", reason=reason))
    ctx.edit(ctx.t("desk.reopened", number=ticket.number))


# drafts and helpers --------------------------------------------------------------------
def _classify(ctx: Ctx, draft: Draft) -> None:
    result = ctx.classify(draft.description)
    draft.category, draft.urgency, draft.hazard = result.category, result.urgency, result.hazard
    draft.confidence = float(result.confidence)
    draft.matched = list(result.matched)


def _draft_text(ctx: Ctx, draft: Draft | None = None) -> str:
    t = ctx.t
    draft = draft or _draft(ctx)
    lines = [
        t(
            "desk.draft",
            channel=channel_label(t, _channel_code(ctx)),
            who=_who(ctx),
            category=category_label(t, draft.category),
            urgency=urgency_label(t, draft.urgency),
        ),
        t("report.description", text=shorten(draft.description, ECHO_LIMIT)),
    ]
    if draft.photos:
        lines.append(t("report.photos", count=len(draft.photos)))
    return "\n".join(lines)


def _draft_buttons(ctx: Ctx) -> Keyboard:
    t = ctx.t
    return (
        (Button(t("desk.btn_file"), _encode(ctx, DeskButton.FILE)),),
        (
            Button(t("card.btn_category"), _encode(ctx, DeskButton.CATEGORY_MENU)),
            Button(t("card.btn_urgency"), _encode(ctx, DeskButton.URGENCY_MENU)),
        ),
        _cancel_row(ctx),
    )


def _who(ctx: Ctx) -> str:
    """The caller (or the patrol's place) in one plain line, the phone masked."""
    caller = _caller(ctx)
    if _patrol(ctx):
        return caller.address
    phone = mask_phone(caller.phone) if caller.phone else ""
    return " ".join(part for part in (caller.name, phone, caller.address) if part)


def _cancel_row(ctx: Ctx) -> tuple[Button, ...]:
    return (Button(ctx.t("report.btn_cancel"), _encode(ctx, DeskButton.CANCEL)),)


def _encode(ctx: Ctx, action: DeskButton, argument: str = "") -> str:
    return BUTTONS.encode(action, ctx.state.data.get("fd", ""), argument)


def _plain(label: str) -> str:
    """Button labels are plain text: the translator's HTML escapes undone."""
    return label.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _patrol(ctx: Ctx) -> bool:
    return ctx.state.data.get("channel") == Channel.PATROL


def _channel_code(ctx: Ctx) -> str:
    return str(ctx.state.data.get("channel", Channel.OTHER))


def _property_id(ctx: Ctx) -> int:
    return int(ctx.state.data["property_id"])


async def _buildings(ctx: Ctx) -> list[Building]:
    return list(await ctx.desk.buildings(_property_id(ctx)))


async def _chosen_building(ctx: Ctx) -> Building | None:
    name = _caller(ctx).building
    return next((b for b in await _buildings(ctx) if b.name == name), None)


def _caller(ctx: Ctx) -> Caller:
    return Caller.from_dict(ctx.state.data.get("caller"))


def _store_caller(ctx: Ctx, caller: Caller) -> None:
    ctx.state.data["caller"] = caller.to_dict()


def _draft(ctx: Ctx) -> Draft:
    return Draft.from_dict(ctx.state.data.get("draft") or {})


def _store_draft(ctx: Ctx, draft: Draft) -> None:
    ctx.state.data["draft"] = draft.to_dict()


def channel_label_for(locale: str, code: str) -> str:
    return channel_label(Translator(locale), code)


FLOW = Flow(
    Step,
    {
        Step.CHANNEL: StepSpec(None, ask_channel),
        Step.PHONE: StepSpec(on_phone, ask_phone),
        Step.MATCH: StepSpec(None, show_matches),
        Step.NAME: StepSpec(on_name, ask_name),
        Step.BUILDING: StepSpec(on_building_text, ask_building),
        Step.UNIT: StepSpec(on_unit_text, ask_unit),
        Step.ROOM: StepSpec(on_room, ask_room),
        Step.DESCRIBE: StepSpec(on_description, ask_description, takes_photos=True),
        Step.CONFIRM: StepSpec(on_description, show_draft, takes_photos=True),
    },
    restart=restart,
    summary="staff register a request (/new: channel, caller, description) or a patrol finding",
)
