"""Visitors (访客登记).

A resident announces a visitor with `/visitor` in the private chat: name, number of people,
car plate (optional), the date and time window. The security team's group gets a visitor
card with a pass code; a guard presses Arrived / Left, or sends `/visitor <code>`; the
resident is told when the visitor arrives. A guard registers a walk-in with
`/visitor <name> <host address>` (in the security group or privately); a registered host is
asked [Let in] [I don't know them] and the guard sees the answer.
"""

from __future__ import annotations

import re
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.vocabulary import VisitorStatus
from bot.handlers import reporting
from bot.handlers.base import Ctx, new_token
from bot.handlers.cards import group_translator
from bot.handlers.flow import CallbackCodec, Flow, FlowStep, Press, StepSpec
from bot.handlers.inputs import clean_address, clean_name, clean_text, parse_local_window
from bot.handlers.presenters import local_time
from bot.i18n import Translator
from bot.messages import Button, Keyboard, Outgoing
from bot.services.desk import Desk
from bot.services.plates import normalise_plate
from bot.services.staff import Actor, NotAllowed, StaffService
from bot.services.visitors import CODE_LENGTH, MAX_PEOPLE, VisitorRefused, Visitors
from storage.models import Resident, Visitor

PASS_CODE = re.compile(rf"^[0-9A-Za-z]{{{CODE_LENGTH}}}$")
# A headcount in ASCII digits; full-width ones (a Chinese keyboard's) are read as those, as
# phones and plates are. Other digits ("²", "٣") are asked again, not passed to int().
HEADCOUNT = re.compile(r"[0-9]{1,3}")
FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


class Step(FlowStep):
    __flow__ = "visitor"
    NAME = "name"
    PEOPLE = "people"
    PLATE = "plate"
    WINDOW = "window"


class FormButton(StrEnum):
    PEOPLE = "n"
    NO_CAR = "nocar"
    CANCEL = "x"


FORM = CallbackCodec(
    "vr",
    FormButton,
    subject="token",
    arguments={FormButton.PEOPLE: ("1", "2", "3", "4", "5")},
    summary="a resident announcing a visitor: number of people, no car, cancel",
)


class GateButton(StrEnum):
    ARRIVED = "in"
    LEFT = "out"


GATE = CallbackCodec(
    "vg",
    GateButton,
    subject="id",
    summary="a visitor card in the security group: arrived, left",
)


class HostButton(StrEnum):
    LET_IN = "y"
    REFUSE = "n"


HOST = CallbackCodec(
    "vh",
    HostButton,
    subject="id",
    summary="a walk-in visitor's host: let them in, or I don't know them",
)


# the resident announces ----------------------------------------------------------------
async def on_visitor(ctx: Ctx) -> None:
    """`/visitor`: guards register arrivals and walk-ins; residents announce visitors."""
    if await Visitors(ctx.desk).is_guard(ctx.inc.user_id):
        await _guard_command(ctx)
        return
    resident = await ctx.desk.resident(ctx.inc.user_id)
    if resident is None or not resident.registered:
        ctx.say(ctx.t("visitor.not_registered"))
        return
    if reporting.has_open_draft(ctx):
        await reporting.remind_open_draft(ctx)
        return
    ctx.finish()
    ctx.goto(Step.NAME, vr=new_token(), visit={})
    await ask_name(ctx)


async def on_group_visitor(ctx: Ctx) -> None:
    """`/visitor …` in a group: only guards are heard."""
    if await Visitors(ctx.desk).is_guard(ctx.inc.user_id):
        await _guard_command(ctx)
    else:
        ctx.say(ctx.t("visitor.not_guard"))


async def ask_name(ctx: Ctx) -> None:
    ctx.say(ctx.t("visitor.ask_name"), (_cancel_row(ctx),))


async def ask_people(ctx: Ctx) -> None:
    buttons = [Button(n, _form(ctx, FormButton.PEOPLE, n)) for n in ("1", "2", "3", "4", "5")]
    ctx.say(ctx.t("visitor.ask_people"), (tuple(buttons), _cancel_row(ctx)))


async def ask_plate(ctx: Ctx) -> None:
    no_car = (Button(ctx.t("visitor.btn_no_car"), _form(ctx, FormButton.NO_CAR)),)
    ctx.say(ctx.t("visitor.ask_plate"), (no_car, _cancel_row(ctx)))


async def ask_window(ctx: Ctx) -> None:
    ctx.say(
        ctx.t("visitor.ask_window", days=ctx.settings.visitors.max_days_ahead),
        (_cancel_row(ctx),),
    )


async def on_name(ctx: Ctx) -> None:
    name = clean_name(ctx.inc.text)
    if name is None:
        ctx.say(ctx.t("visitor.invalid_name"))
        return
    ctx.state.data["visit"]["name"] = name
    ctx.goto(Step.PEOPLE)
    await ask_people(ctx)


async def on_people(ctx: Ctx) -> None:
    people = headcount(ctx.inc.text)
    if people is None:
        ctx.say(ctx.t("visitor.invalid_people", most=MAX_PEOPLE))
        return
    await _people_chosen(ctx, people)


def headcount(text: str | None) -> int | None:
    """The number of people typed, 1 to MAX_PEOPLE; None for anything else."""
    digits = clean_text(text).translate(FULL_WIDTH_DIGITS)
    if HEADCOUNT.fullmatch(digits) is None:
        return None
    people = int(digits)
    return people if 1 <= people <= MAX_PEOPLE else None


async def on_plate(ctx: Ctx) -> None:
    plate = normalise_plate(clean_text(ctx.inc.text)[:20])
    if plate is None:
        ctx.say(ctx.t("visitor.invalid_plate"))
        return
    ctx.state.data["visit"]["plate"] = plate
    ctx.goto(Step.WINDOW)
    await ask_window(ctx)


async def on_window(ctx: Ctx) -> None:
    window = parse_local_window(ctx.inc.text or "", ctx.desk.now(), ctx.settings.tz)
    if window is None:
        ctx.say(ctx.t("visitor.invalid_window"))
        return
    visitors = Visitors(ctx.desk)
    refusal = visitors.window_refusal(*window)
    if refusal is not None:
        ctx.say(ctx.t(refusal, days=ctx.settings.visitors.max_days_ahead))
        return
    resident = await ctx.desk.resident(ctx.inc.user_id)
    if resident is None:
        ctx.finish()
        return
    form = ctx.state.data["visit"]
    try:
        visitor = await visitors.announce(
            resident, form["name"], int(form["people"]), form.get("plate", ""), *window
        )
    except VisitorRefused as refused:
        ctx.say(ctx.t(refused.reason, days=ctx.settings.visitors.max_days_ahead))
        return
    ctx.finish()
    ctx.say(ctx.t("visitor.announced", **_fields(ctx.t, ctx.settings.tz, visitor)))
    await _post_card(ctx, visitor)


async def on_form_button(ctx: Ctx, press: Press) -> None:
    if ctx.state.flow != Step.flow_name() or press.subject != ctx.state.data.get("vr"):
        ctx.toast(ctx.t("common.stale_button"))
        return
    ctx.toast()
    if press.action == FormButton.CANCEL:
        ctx.finish()
        ctx.edit(ctx.t("visitor.cancelled"))
    elif press.action == FormButton.PEOPLE and ctx.state.step == Step.PEOPLE:
        await _people_chosen(ctx, int(press.argument))
    elif press.action == FormButton.NO_CAR and ctx.state.step == Step.PLATE:
        ctx.state.data["visit"]["plate"] = ""
        ctx.goto(Step.WINDOW)
        await ask_window(ctx)
    else:
        ctx.say(ctx.t("common.stale_button"))


async def _people_chosen(ctx: Ctx, people: int) -> None:
    ctx.state.data["visit"]["people"] = people
    ctx.goto(Step.PLATE)
    await ask_plate(ctx)


# guards -------------------------------------------------------------------------------
async def _guard_command(ctx: Ctx) -> None:
    args = clean_text(ctx.inc.command_args)
    visitors = Visitors(ctx.desk)
    actor = await visitors.guard(ctx.inc.user_id, ctx.inc.user_name)
    if PASS_CODE.match(args):
        await _arrive_by_code(ctx, visitors, actor, args)
        return
    name, _, address = args.partition(" ")
    clean = clean_name(name)
    where = clean_address(address)
    if clean is None or where is None:
        ctx.say(ctx.t("visitor.guard_usage"))
        return
    await _walk_in(ctx, visitors, actor, clean, where)


async def _arrive_by_code(ctx: Ctx, visitors: Visitors, actor: Actor, code: str) -> None:
    visitor = await visitors.by_code(actor, code)
    if visitor is None:
        ctx.say(ctx.t("visitor.unknown_code"))
        return
    try:
        await visitors.arrive(actor, visitor)
    except VisitorRefused as refused:
        ctx.say(ctx.t(refused.reason, **_fields(ctx.t, ctx.settings.tz, visitor)))
        return
    ctx.say(
        ctx.t("visitor.arrived", **_fields(ctx.t, ctx.settings.tz, visitor)),
        _gate_buttons(ctx, visitor),
    )
    await _tell_host(ctx, visitor, "visitor.host_arrived")


async def _walk_in(ctx: Ctx, visitors: Visitors, actor: Actor, name: str, address: str) -> None:
    property_id = actor.property_id
    if property_id is None:
        prop = await StaffService(ctx.desk).property_for(None)
        property_id = prop.id if prop else None
    if property_id is None:
        return
    visitor, host = await visitors.walk_in(actor, property_id, name, address, ctx.inc.chat_id)
    fields = _fields(ctx.t, ctx.settings.tz, visitor)
    if host is None:
        ctx.say(ctx.t("visitor.walk_in_no_host", **fields), _gate_buttons(ctx, visitor))
        return
    minutes = ctx.settings.visitors.host_answer_minutes
    ctx.say(ctx.t("visitor.walk_in_asked", minutes=minutes, **fields), _gate_buttons(ctx, visitor))
    t = Translator(host.locale)
    buttons = (
        (
            Button(t("visitor.btn_let_in"), HOST.encode(HostButton.LET_IN, visitor.id)),
            Button(t("visitor.btn_refuse"), HOST.encode(HostButton.REFUSE, visitor.id)),
        ),
    )
    ask = Outgoing(
        chat_id=host.telegram_id,
        text=t("visitor.host_asked", minutes=minutes, **_fields(t, ctx.settings.tz, visitor)),
        buttons=buttons,
    )
    await ctx.desk.enqueue(f"visitor:{visitor.id}:ask", ask)


async def on_gate_button(ctx: Ctx, press: Press) -> None:
    visitors = Visitors(ctx.desk)
    visitor = await visitors.get(press.subject_id)
    try:
        # a guard of the visitor's own property: another compound's guard is no guard here
        where = visitor.property_id if visitor is not None else None
        actor = await visitors.guard(ctx.inc.user_id, ctx.inc.user_name, where)
    except NotAllowed as refused:
        ctx.toast(ctx.t(refused.reason), alert=True)
        return
    if visitor is None:
        ctx.toast(ctx.t("visitor.gone"), alert=True)
        return
    t = _reader(ctx)
    try:
        if press.action == GateButton.ARRIVED:
            await visitors.arrive(actor, visitor)
            await _tell_host(ctx, visitor, "visitor.host_arrived")
        else:
            await visitors.leave(actor, visitor)
    except VisitorRefused as refused:
        ctx.toast(ctx.t(refused.reason, **_fields(ctx.t, ctx.settings.tz, visitor)), alert=True)
        return
    ctx.toast()
    ctx.edit(_card_text(t, ctx, visitor), _gate_buttons(ctx, visitor))


async def on_host_button(ctx: Ctx, press: Press) -> None:
    resident = await ctx.desk.resident(ctx.inc.user_id)
    if resident is None:
        ctx.toast(ctx.t("common.unknown_button"))
        return
    let_in = press.action == HostButton.LET_IN
    try:
        visitor = await Visitors(ctx.desk).host_answer(resident, press.subject_id, let_in)
    except VisitorRefused as refused:
        ctx.toast(ctx.t(refused.reason), alert=True)
        return
    ctx.toast()
    fields = _fields(ctx.t, ctx.settings.tz, visitor)
    ctx.edit(ctx.t("visitor.host_let_in" if let_in else "visitor.host_refused", **fields))
    if visitor.guard_chat_id is not None:
        g = group_translator(ctx.desk)
        key = "visitor.guard_let_in" if let_in else "visitor.guard_refused"
        told = Outgoing(
            chat_id=visitor.guard_chat_id, text=g(key, **_fields(g, ctx.settings.tz, visitor))
        )
        await ctx.desk.enqueue(f"visitor:{visitor.id}:answer", told)


# the scheduler ------------------------------------------------------------------------
async def tell_guard_no_answer(desk: Desk, visitor: Visitor) -> None:
    """The host did not answer in time: the guard who registered the walk-in decides, under
    the same gate buttons (arrived) as before."""
    if visitor.guard_chat_id is None:
        return
    t = group_translator(desk)
    told = Outgoing(
        chat_id=visitor.guard_chat_id,
        text=t(
            "visitor.guard_no_answer",
            minutes=desk.settings.visitors.host_answer_minutes,
            **_fields(t, desk.settings.tz, visitor),
        ),
        buttons=gate_keyboard(t, visitor),
    )
    await desk.enqueue(f"visitor:{visitor.id}:no-answer", told)


# cards and notices ---------------------------------------------------------------------
async def _post_card(ctx: Ctx, visitor: Visitor) -> None:
    bound = await StaffService(ctx.desk).team_chat(visitor.property_id, "security")
    if bound is None or bound.chat_id is None:
        return
    t = group_translator(ctx.desk)
    card = Outgoing(
        chat_id=bound.chat_id,
        text=_card_text(t, ctx, visitor),
        buttons=_gate_buttons(ctx, visitor, t),
        thread_id=bound.thread_id,
    )
    await ctx.desk.enqueue(f"visitor:{visitor.id}:card", card)


async def _tell_host(ctx: Ctx, visitor: Visitor, key: str) -> None:
    host: Resident | None = await Visitors(ctx.desk).host(visitor)
    if host is None or not host.active:
        return
    t = Translator(host.locale)
    out = Outgoing(chat_id=host.telegram_id, text=t(key, **_fields(t, ctx.settings.tz, visitor)))
    await ctx.desk.enqueue(f"visitor:{visitor.id}:{key}", out)


def _card_text(t: Translator, ctx: Ctx, visitor: Visitor) -> str:
    lines = [t("visitor.card", **_fields(t, ctx.settings.tz, visitor))]
    lines.append(t(f"visitor.status_{visitor.status}", **_fields(t, ctx.settings.tz, visitor)))
    return "\n".join(lines)


def _gate_buttons(ctx: Ctx, visitor: Visitor, t: Translator | None = None) -> Keyboard:
    return gate_keyboard(t or _reader(ctx), visitor)


def gate_keyboard(t: Translator, visitor: Visitor) -> Keyboard:
    if visitor.status == VisitorStatus.LEFT or visitor.status == VisitorStatus.REFUSED:
        return ()
    if visitor.status == VisitorStatus.ARRIVED:
        return ((Button(t("visitor.btn_left"), GATE.encode(GateButton.LEFT, visitor.id)),),)
    return ((Button(t("visitor.btn_arrived"), GATE.encode(GateButton.ARRIVED, visitor.id)),),)


def _fields(t: Translator, tz: ZoneInfo, visitor: Visitor) -> dict[str, object]:
    window = ""
    if visitor.starts_at is not None and visitor.ends_at is not None:
        window = t(
            "visitor.window",
            start=local_time(visitor.starts_at, tz),
            end=local_time(visitor.ends_at, tz)[-5:],
        )
    return {
        "name": visitor.name,
        "people": visitor.people,
        "plate": visitor.plate or t("visitor.no_plate"),
        "address": visitor.host_address,
        "code": visitor.code,
        "window": window,
        "time": local_time(visitor.arrived_at, tz) if visitor.arrived_at else "",
    }


def _reader(ctx: Ctx) -> Translator:
    return ctx.t if ctx.inc.is_private else group_translator(ctx.desk)


def _form(ctx: Ctx, action: FormButton, argument: str = "") -> str:
    return FORM.encode(action, ctx.state.data.get("vr", ""), argument)


def _cancel_row(ctx: Ctx) -> tuple[Button, ...]:
    return (Button(ctx.t("report.btn_cancel"), _form(ctx, FormButton.CANCEL)),)


FLOW = Flow(
    Step,
    {
        Step.NAME: StepSpec(on_name, ask_name, side_step=True),
        Step.PEOPLE: StepSpec(on_people, ask_people, side_step=True),
        Step.PLATE: StepSpec(on_plate, ask_plate, side_step=True),
        Step.WINDOW: StepSpec(on_window, ask_window, side_step=True),
    },
    summary="a resident announces a visitor: name, people, car plate, date and time window",
)
