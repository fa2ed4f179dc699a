"""Registration on first contact: property, name, phone, building, unit, room.

Each step has a prompt (also used to resume after a restart) and a handler for
what the person sends; anything else re-asks with an example and keeps the step.
"""

from __future__ import annotations

from bot.handlers.base import Ctx, in_rows
from bot.handlers.inputs import clean_address, clean_name, clean_room, clean_text, parse_id
from bot.messages import Button, ReplyKeyboard
from bot.services.phones import display_phone, mask_phone, normalise_phone
from storage.models import Building

FLOW = "reg"


async def begin(ctx: Ctx, *, editing: bool = False) -> None:
    """Start registration; a report typed before registering waits in state.data."""
    ctx.goto(FLOW, "", editing=editing)
    if not editing:
        prop = await ctx.desk.property_by_code(ctx.settings.properties[0].code)
        ctx.say(ctx.t("reg.welcome", property=prop.name if prop else ""))
    properties = await ctx.desk.properties()
    if len(properties) > 1:
        ctx.goto(FLOW, "property")
    else:
        ctx.goto(FLOW, "name", property_id=properties[0].id)
    await PROMPTS[ctx.state.step](ctx)


# prompts -------------------------------------------------------------------------------
async def ask_property(ctx: Ctx) -> None:
    buttons = [Button(p.name, f"rg:p:{p.id}") for p in await ctx.desk.properties()]
    ctx.say(ctx.t("reg.ask_property"), in_rows(buttons, 2))


async def ask_name(ctx: Ctx) -> None:
    ctx.say(ctx.t("reg.ask_name"))


async def ask_phone(ctx: Ctx) -> None:
    keyboard = ReplyKeyboard(contact_button=ctx.t("reg.share_phone_button"))
    ctx.say(ctx.t("reg.ask_phone"), reply_keyboard=keyboard)


async def ask_phone_confirm(ctx: Ctx) -> None:
    phone = display_phone(ctx.state.data["pending_phone"])
    buttons = ((Button(ctx.t("common.yes"), "rg:c:y"), Button(ctx.t("common.no"), "rg:c:n")),)
    ctx.say(ctx.t("reg.confirm_other_contact", phone=phone), buttons)


async def ask_building(ctx: Ctx) -> None:
    buildings = await _buildings(ctx)
    buttons = [Button(b.name, f"rg:b:{i}") for i, b in enumerate(buildings)]
    ctx.say(ctx.t("reg.ask_building"), in_rows(buttons, 3), remove_keyboard=False)


async def ask_unit(ctx: Ctx) -> None:
    building = await _chosen_building(ctx)
    units = building.units if building else []
    buttons = [Button(str(u), f"rg:u:{i}") for i, u in enumerate(units)]
    ctx.say(ctx.t("reg.ask_unit", building=building.name if building else ""), in_rows(buttons, 3))


async def ask_room(ctx: Ctx) -> None:
    ctx.say(ctx.t("reg.ask_room"))


async def ask_address(ctx: Ctx) -> None:
    ctx.say(ctx.t("reg.ask_address"))


PROMPTS = {
    "property": ask_property,
    "name": ask_name,
    "phone": ask_phone,
    "phone_confirm": ask_phone_confirm,
    "building": ask_building,
    "unit": ask_unit,
    "room": ask_room,
    "address": ask_address,
}


async def prompt(ctx: Ctx) -> None:
    await PROMPTS[ctx.state.step](ctx)


# messages ------------------------------------------------------------------------------
async def on_message(ctx: Ctx) -> None:
    handler = {
        "name": on_name,
        "phone": on_phone,
        "building": on_building_text,
        "unit": on_unit_text,
        "room": on_room,
        "address": on_address,
    }.get(ctx.state.step)
    if handler is None:
        ctx.say(ctx.t("common.use_buttons"))
        await prompt(ctx)
        return
    await handler(ctx)


async def on_name(ctx: Ctx) -> None:
    name = clean_name(ctx.inc.text)
    if name is None:
        ctx.say(ctx.t("reg.invalid_name"))
        return
    ctx.goto(FLOW, "phone", name=name)
    await ask_phone(ctx)


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
        if contact.user_id is not None and contact.user_id != ctx.inc.user_id:
            ctx.goto(FLOW, "phone_confirm", pending_phone=phone)
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
        ctx.goto(FLOW, "building")
        await ask_building(ctx)
    else:
        ctx.goto(FLOW, "address")
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
async def on_callback(ctx: Ctx, parts: list[str]) -> None:
    """`rg:p:<id>`, `rg:b:<i>`, `rg:u:<i>`, `rg:c:y|n`; anything out of step is stale."""
    expected = {"p": "property", "b": "building", "u": "unit", "c": "phone_confirm"}
    if len(parts) != 2 or ctx.state.flow != FLOW or expected.get(parts[0]) != ctx.state.step:
        ctx.toast(ctx.t("common.stale_button"))
        return
    kind, value = parts
    if kind == "c":
        await _on_contact_confirm(ctx, value == "y")
        return
    index = parse_id(value)
    if index is None:
        ctx.toast(ctx.t("common.stale_button"))
        return
    ctx.toast()
    if kind == "p":
        await _property_chosen(ctx, index)
    elif kind == "b":
        await _building_chosen(ctx, index)
    else:
        await _unit_chosen(ctx, index)


async def _on_contact_confirm(ctx: Ctx, yes: bool) -> None:
    ctx.toast()
    if yes:
        await _phone_accepted(ctx, ctx.state.data["pending_phone"])
    else:
        ctx.goto(FLOW, "phone")
        ctx.state.data.pop("pending_phone", None)
        await ask_phone(ctx)


async def _property_chosen(ctx: Ctx, property_id: int) -> None:
    if property_id not in {p.id for p in await ctx.desk.properties()}:
        ctx.say(ctx.t("common.stale_button"))
        return
    ctx.goto(FLOW, "name", property_id=property_id)
    await ask_name(ctx)


async def _building_chosen(ctx: Ctx, index: int) -> None:
    buildings = await _buildings(ctx)
    if not 0 <= index < len(buildings):
        await ask_building(ctx)
        return
    building = buildings[index]
    ctx.state.data.update(building=building.name, unit="")
    if building.units:
        ctx.goto(FLOW, "unit")
        await ask_unit(ctx)
    else:
        ctx.goto(FLOW, "room")
        await ask_room(ctx)


async def _unit_chosen(ctx: Ctx, index: int) -> None:
    building = await _chosen_building(ctx)
    units = building.units if building else []
    if not 0 <= index < len(units):
        await ask_unit(ctx)
        return
    ctx.goto(FLOW, "room", unit=str(units[index]))
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
