"""Registration on first contact: property, name, phone, building, unit, room.

Each step has a prompt (also used to resume after a restart) and a handler for
what the person sends; anything else re-asks with an example and keeps the step.
"""

from __future__ import annotations

from enum import StrEnum

from bot.handlers.base import Ctx, in_rows
from bot.handlers.flow import CallbackCodec, Flow, FlowStep, Press, StepSpec
from bot.handlers.inputs import (
    clean_address,
    clean_name,
    clean_room,
    clean_text,
    is_number_not_name,
)
from bot.messages import Button, ReplyKeyboard
from bot.services.phones import display_phone, mask_phone, normalise_phone
from storage.models import Building


class Step(FlowStep):
    __flow__ = "reg"
    PROPERTY = "property"
    NAME = "name"
    PHONE = "phone"
    PHONE_CONFIRM = "phone_confirm"
    BUILDING = "building"
    UNIT = "unit"
    ROOM = "room"
    ADDRESS = "address"


class RegButton(StrEnum):
    PROPERTY = "p"
    BUILDING = "b"
    UNIT = "u"
    CONTACT_IS_MINE = "c"


BUTTONS = CallbackCodec(
    "rg",
    RegButton,
    arguments={
        RegButton.PROPERTY: "id",
        RegButton.BUILDING: "id",
        RegButton.UNIT: "id",
        RegButton.CONTACT_IS_MINE: ("y", "n"),
    },
    summary="registration choices: property id, building or unit position, contact yes/no",
)
# Which step each button answers; a press out of step is stale.
_BUTTON_STEP = {
    RegButton.PROPERTY: Step.PROPERTY,
    RegButton.BUILDING: Step.BUILDING,
    RegButton.UNIT: Step.UNIT,
    RegButton.CONTACT_IS_MINE: Step.PHONE_CONFIRM,
}


async def begin(ctx: Ctx, *, editing: bool = False) -> None:
    """Start registration; a report typed before registering waits in state.data."""
    ctx.state.data["editing"] = editing
    if not editing:
        prop = await ctx.desk.property_by_code(ctx.settings.properties[0].code)
        ctx.say(ctx.t("reg.welcome", property=prop.name if prop else ""))
    properties = await ctx.desk.properties()
    if len(properties) > 1:
        ctx.goto(Step.PROPERTY)
        await ask_property(ctx)
    else:
        ctx.goto(Step.NAME, property_id=properties[0].id)
        await ask_name(ctx)


# prompts -------------------------------------------------------------------------------
async def ask_property(ctx: Ctx) -> None:
    buttons = [
        Button(p.name, BUTTONS.encode(RegButton.PROPERTY, argument=str(p.id)))
        for p in await ctx.desk.properties()
    ]
    ctx.say(ctx.t("reg.ask_property"), in_rows(buttons, 2))


async def ask_name(ctx: Ctx) -> None:
    ctx.say(ctx.t("reg.ask_name"))


async def ask_phone(ctx: Ctx) -> None:
    keyboard = ReplyKeyboard(contact_button=ctx.t("reg.share_phone_button"))
    ctx.say(ctx.t("reg.ask_phone"), reply_keyboard=keyboard)


async def ask_phone_confirm(ctx: Ctx) -> None:
    phone = display_phone(ctx.state.data["pending_phone"])
    yes = BUTTONS.encode(RegButton.CONTACT_IS_MINE, argument="y")
    no = BUTTONS.encode(RegButton.CONTACT_IS_MINE, argument="n")
    buttons = ((Button(ctx.t("common.yes"), yes), Button(ctx.t("common.no"), no)),)
    ctx.say(ctx.t("reg.confirm_other_contact", phone=phone), buttons)


async def ask_building(ctx: Ctx) -> None:
    buildings = await _buildings(ctx)
    buttons = [
        Button(b.name, BUTTONS.encode(RegButton.BUILDING, argument=str(i)))
        for i, b in enumerate(buildings)
    ]
    ctx.say(ctx.t("reg.ask_building"), in_rows(buttons, 3), remove_keyboard=False)


async def ask_unit(ctx: Ctx) -> None:
    building = await _chosen_building(ctx)
    units = building.units if building else []
    buttons = [
        Button(str(u), BUTTONS.encode(RegButton.UNIT, argument=str(i))) for i, u in enumerate(units)
    ]
    ctx.say(ctx.t("reg.ask_unit", building=building.name if building else ""), in_rows(buttons, 3))


async def ask_room(ctx: Ctx) -> None:
    ctx.say(ctx.t("reg.ask_room"))


async def ask_address(ctx: Ctx) -> None:
    ctx.say(ctx.t("reg.ask_address"))


# messages ------------------------------------------------------------------------------


async def on_name(ctx: Ctx) -> None:
    name = clean_name(ctx.inc.text)
    if name is None:
        ctx.say(ctx.t("reg.invalid_name"))
        return
    if is_number_not_name(name):
        ctx.say(ctx.t("reg.name_is_number"))
        return
    ctx.goto(Step.PHONE, name=name)
    await ask_phone(ctx)


def keep_for_report(ctx: Ctx) -> None:
    """Photos (and their caption) sent during registration join the report waiting for it."""
    draft = ctx.state.data.get("draft") or {}
    photos = list(draft.get("photos") or [])
    photos += [p for p in ctx.inc.photos if p not in photos]
    description = str(draft.get("description") or "")
    caption = clean_text(ctx.inc.text)
    if caption:
        description = f"{description}\n{caption}" if description else caption
    ctx.state.data["draft"] = {**draft, "description": description, "photos": photos}


async def on_phone(ctx: Ctx) -> None:
    contact = ctx.inc.contact
    if contact is not None:
        phone = normalise_phone(
            contact.phone if contact.phone.startswith("+") else "+" + contact.phone
        )
        phone = phone or normalise_phone(contact.phone)
        if phone is None:
            ctx.say(ctx.t("reg.invalid_phone"))
            return
        # a phone-book contact not on Telegram (no user id) is no proof it is theirs either
        if contact.user_id != ctx.inc.user_id:
            ctx.goto(Step.PHONE_CONFIRM, pending_phone=phone)
            await ask_phone_confirm(ctx)
            return
        await _phone_accepted(ctx, phone)
        return
    phone = normalise_phone(clean_text(ctx.inc.text))
    if phone is None:
        ctx.say(ctx.t("reg.invalid_phone"))
        return
    await _phone_accepted(ctx, phone)


async def _phone_accepted(ctx: Ctx, phone: str) -> None:
    ctx.state.data["phone"] = phone
    ctx.state.data.pop("pending_phone", None)
    ctx.say(ctx.t("reg.phone_saved", phone=mask_phone(phone)), remove_keyboard=True)
    if await _buildings(ctx):
        ctx.goto(Step.BUILDING)
        await ask_building(ctx)
    else:
        ctx.goto(Step.ADDRESS)
        await ask_address(ctx)


async def on_building_text(ctx: Ctx) -> None:
    typed = clean_text(ctx.inc.text)
    buildings = await _buildings(ctx)
    index = next((i for i, b in enumerate(buildings) if _same(b.name, typed)), None)
    if index is None:
        example = buildings[0].name if buildings else ""
        ctx.say(ctx.t("reg.unknown_building", example=example))
        await ask_building(ctx)
        return
    await _building_chosen(ctx, index)


async def on_unit_text(ctx: Ctx) -> None:
    typed = clean_text(ctx.inc.text)
    building = await _chosen_building(ctx)
    units = [str(u) for u in (building.units if building else [])]
    index = next((i for i, u in enumerate(units) if _same(u, typed)), None)
    if index is None:
        ctx.say(ctx.t("reg.unknown_unit", example=units[0] if units else ""))
        await ask_unit(ctx)
        return
    await _unit_chosen(ctx, index)


async def on_room(ctx: Ctx) -> None:
    room = clean_room(ctx.inc.text)
    if room is None:
        ctx.say(ctx.t("reg.invalid_room"))
        return
    ctx.state.data["room"] = room
    await _complete(ctx)


async def on_address(ctx: Ctx) -> None:
    address = clean_address(ctx.inc.text)
    if address is None:
        ctx.say(ctx.t("reg.invalid_address"))
        return
    ctx.state.data.update(building="", unit="", room=address)
    await _complete(ctx)


# buttons -------------------------------------------------------------------------------
async def on_callback(ctx: Ctx, press: Press) -> None:
    """A choice from the step's buttons; anything out of step is stale."""
    if ctx.state.flow != FLOW.name or _BUTTON_STEP[RegButton(press.action)] != ctx.state.step:
        ctx.toast(ctx.t("common.stale_button"))
        return
    if press.action == RegButton.CONTACT_IS_MINE:
        await _on_contact_confirm(ctx, press.argument == "y")
        return
    ctx.toast()
    if press.action == RegButton.PROPERTY:
        await _property_chosen(ctx, press.argument_id)
    elif press.action == RegButton.BUILDING:
        await _building_chosen(ctx, press.argument_id)
    else:
        await _unit_chosen(ctx, press.argument_id)


async def _on_contact_confirm(ctx: Ctx, yes: bool) -> None:
    ctx.toast()
    if yes:
        await _phone_accepted(ctx, ctx.state.data["pending_phone"])
    else:
        ctx.goto(Step.PHONE)
        ctx.state.data.pop("pending_phone", None)
        await ask_phone(ctx)


async def _property_chosen(ctx: Ctx, property_id: int) -> None:
    if property_id not in {p.id for p in await ctx.desk.properties()}:
        ctx.say(ctx.t("common.stale_button"))
        return
    ctx.goto(Step.NAME, property_id=property_id)
    await ask_name(ctx)


async def _building_chosen(ctx: Ctx, index: int) -> None:
    buildings = await _buildings(ctx)
    if not 0 <= index < len(buildings):
        await ask_building(ctx)
        return
    building = buildings[index]
    ctx.state.data.update(building=building.name, unit="")
    if building.units:
        ctx.goto(Step.UNIT)
        await ask_unit(ctx)
    else:
        ctx.goto(Step.ROOM)
        await ask_room(ctx)


async def _unit_chosen(ctx: Ctx, index: int) -> None:
    building = await _chosen_building(ctx)
    units = building.units if building else []
    if not 0 <= index < len(units):
        await ask_unit(ctx)
        return
    ctx.goto(Step.ROOM, unit=str(units[index]))
    await ask_room(ctx)


# completion ----------------------------------------------------------------------------
async def _complete(ctx: Ctx) -> None:
    data = ctx.state.data
    resident = await ctx.desk.save_registration(
        ctx.inc.user_id,
        ctx.t.locale,
        property_id=data["property_id"],
        name=data["name"],
        phone=data["phone"],
        building=data.get("building", ""),
        unit=data.get("unit", ""),
        room=data["room"],
    )
    ctx.say(
        ctx.t(
            "reg.done",
            name=resident.name,
            phone=mask_phone(resident.phone),
            address=_address(data),
        ),
        remove_keyboard=True,
    )
    # A report typed before or during registration continues where it was.
    from bot.handlers import reporting

    pending = data.get("draft")
    ctx.finish()
    if pending:
        await reporting.resume_draft(ctx, pending)
    else:
        ctx.say(ctx.t("reg.next"))


def _address(data: dict[str, str]) -> str:
    return "".join(data.get(k, "") for k in ("building", "unit", "room"))


async def _buildings(ctx: Ctx) -> list[Building]:
    return list(await ctx.desk.buildings(ctx.state.data["property_id"]))


async def _chosen_building(ctx: Ctx) -> Building | None:
    name = ctx.state.data.get("building")
    return next((b for b in await _buildings(ctx) if b.name == name), None)


def _same(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


FLOW = Flow(
    Step,
    {
        Step.PROPERTY: StepSpec(None, ask_property),
        Step.NAME: StepSpec(on_name, ask_name),
        Step.PHONE: StepSpec(on_phone, ask_phone, takes_contact=True),
        Step.PHONE_CONFIRM: StepSpec(None, ask_phone_confirm),
        Step.BUILDING: StepSpec(on_building_text, ask_building),
        Step.UNIT: StepSpec(on_unit_text, ask_unit),
        Step.ROOM: StepSpec(on_room, ask_room),
        Step.ADDRESS: StepSpec(on_address, ask_address),
    },
    restart=begin,
    summary="first contact: property, name, phone, building, unit, room (or a typed address)",
)
