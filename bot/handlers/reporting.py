"""Reporting: free text or a photo opens a draft; the resident confirms, changes the
category, adds photos or cancels. Emergencies skip the questions and get safety advice."""

from __future__ import annotations

from typing import Any

from bot.domain.policy import (
    duty_line,
    hotline_for,
    opens_as_emergency,
    safety_advice_key,
)
from bot.domain.vocabulary import CATEGORIES, Urgency
from bot.handlers import registration
from bot.handlers.base import Ctx, in_rows, new_token, shorten
from bot.handlers.cards import post_cards
from bot.handlers.inputs import clean_text
from bot.handlers.presenters import (
    category_label,
    duration,
    team_label,
    urgency_label,
)
from bot.messages import Button, Keyboard
from bot.services.desk import Draft, address_of
from bot.services.phones import mask_phone
from storage.models import Resident, Ticket

FLOW = "report"
# The whole description is stored; echoes stay far below Telegram's 4096 characters.
ECHO_LIMIT = 600
DESCRIPTION_LIMIT = 20_000


async def start(ctx: Ctx, resident: Resident) -> None:
    """Any text or photo from a registered resident outside a flow starts a report."""
    text = clean_text(ctx.inc.text)
    draft = Draft(description=text[:DESCRIPTION_LIMIT], photos=list(ctx.inc.photos))
    await _open_draft(ctx, resident, draft)


async def resume_draft(ctx: Ctx, draft_data: dict[str, Any]) -> None:
    """Continue a draft that waited for registration or for edited details."""
    resident = await ctx.desk.resident(ctx.inc.user_id)
    if resident is not None:
        await _open_draft(ctx, resident, Draft.from_dict(draft_data))


async def _open_draft(ctx: Ctx, resident: Resident, draft: Draft) -> None:
    ctx.goto(FLOW, "", draft=draft.to_dict(), draft_id=new_token(), chosen=False)
    if not draft.description:
        ctx.goto(FLOW, "describe")
        await prompt(ctx)
        return
    _classify(ctx, draft)
    await _after_classification(ctx, resident, draft)


async def prompt(ctx: Ctx) -> None:
    step = ctx.state.step
    if step == "describe":
        ctx.say(ctx.t("report.ask_description"))
    elif step == "category":
        await _ask_category(ctx)
    elif step == "photos":
        ctx.say(ctx.t("report.ask_photos"), _done_button(ctx))
    else:
        await _show_draft(ctx)


# messages ------------------------------------------------------------------------------
async def on_message(ctx: Ctx) -> None:
    draft = _draft(ctx)
    text = clean_text(ctx.inc.text)
    if ctx.inc.photos:
        draft.photos.extend(p for p in ctx.inc.photos if p not in draft.photos)
    if text:
        joined = f"{draft.description}\n{text}" if draft.description else text
        draft.description = joined[:DESCRIPTION_LIMIT]
    _store(ctx, draft)
    step = ctx.state.step
    if step == "describe":
        if not text:
            ctx.say(ctx.t("report.photo_added", count=len(draft.photos)))
            return
        _classify(ctx, draft)
        resident = await ctx.desk.resident(ctx.inc.user_id)
        if resident is not None:
            await _after_classification(ctx, resident, draft)
        return
    if ctx.inc.photos and not text:
        ctx.say(ctx.t("report.photo_added", count=len(draft.photos)), _done_button(ctx))
        if step != "photos":
            ctx.goto(FLOW, "photos")
        return
    if not ctx.state.data.get("chosen"):
        _classify(ctx, draft)
    ctx.goto(FLOW, "confirm")
    await _show_draft(ctx)


# buttons -------------------------------------------------------------------------------
async def on_callback(ctx: Ctx, parts: list[str]) -> None:
    """`rp:<draft id>:<action>[:<category>]`; a button of another draft is stale."""
    if len(parts) < 2 or ctx.state.flow != FLOW or parts[0] != ctx.state.data.get("draft_id"):
        ctx.toast(ctx.t("common.stale_button"))
        return
    action, rest = parts[1], parts[2:]
    handlers = {
        "ok": _confirm,
        "cat": _ask_category_edit,
        "pho": _ask_photos,
        "done": _photos_done,
        "edit": _edit_details,
        "x": _cancel,
        "sos": _mark_emergency,
    }
    if action == "c" and len(rest) == 1 and rest[0] in CATEGORIES:
        await _category_chosen(ctx, rest[0])
        return
    handler = handlers.get(action)
    if handler is None or rest:
        ctx.toast(ctx.t("common.unknown_button"))
        return
    await handler(ctx)


async def _confirm(ctx: Ctx) -> None:
    resident = await ctx.desk.resident(ctx.inc.user_id)
    draft = _draft(ctx)
    if resident is None or not resident.registered or not draft.description:
        ctx.toast(ctx.t("common.stale_button"))
        return
    ctx.toast(ctx.t("report.submitted_toast"))
    ticket = await ctx.desk.open_ticket(resident, draft)
    await post_cards(ctx.desk, ticket)
    ctx.edit(_draft_text(ctx, resident, draft))
    ctx.finish()
    ctx.say(_submitted_text(ctx, ticket))


async def _ask_category_edit(ctx: Ctx) -> None:
    ctx.toast()
    ctx.goto(FLOW, "category")
    ctx.edit(ctx.t("report.choose_category"), _category_buttons(ctx))


async def _category_chosen(ctx: Ctx, category: str) -> None:
    ctx.toast()
    draft = _draft(ctx)
    draft.category = category
    if draft.urgency == Urgency.EMERGENCY:
        draft.urgency = Urgency.HIGH  # a category picked by hand: the alarm was not the point
    _store(ctx, draft)
    ctx.goto(FLOW, "confirm", chosen=True)
    resident = await ctx.desk.resident(ctx.inc.user_id)
    if resident is not None:
        ctx.edit(_draft_text(ctx, resident, draft), _draft_buttons(ctx))


async def _ask_photos(ctx: Ctx) -> None:
    ctx.toast()
    ctx.goto(FLOW, "photos")
    ctx.say(ctx.t("report.ask_photos"), _done_button(ctx))


async def _photos_done(ctx: Ctx) -> None:
    ctx.toast()
    ctx.goto(FLOW, "confirm")
    await _show_draft(ctx)


async def _edit_details(ctx: Ctx) -> None:
    ctx.toast()
    draft = ctx.state.data.get("draft")
    await registration.begin(ctx, editing=True)
    ctx.state.data["draft"] = draft


async def _cancel(ctx: Ctx) -> None:
    ctx.toast()
    ctx.finish()
    ctx.edit(ctx.t("report.cancelled"))


# drafts --------------------------------------------------------------------------------
def _classify(ctx: Ctx, draft: Draft) -> None:
    result = ctx.classify(draft.description)
    draft.category, draft.urgency, draft.hazard = result.category, result.urgency, result.hazard
    draft.confidence = float(result.confidence)
    draft.matched = list(result.matched)
    _store(ctx, draft)


async def _after_classification(ctx: Ctx, resident: Resident, draft: Draft) -> None:
    if opens_as_emergency(draft.urgency, resident_pressed_alarm=False):
        await _open_emergency(ctx, resident, draft)
        return
    if draft.category == "other":
        ctx.goto(FLOW, "category")
        ctx.say(ctx.t("report.unsure_category"), _category_buttons(ctx))
        return
    ctx.goto(FLOW, "confirm")
    await _show_draft(ctx)


async def _open_emergency(
    ctx: Ctx, resident: Resident, draft: Draft, marked_by_resident: bool = False
) -> None:
    ctx.say(ctx.t(safety_advice_key(draft.hazard)) + "\n" + await _hotline_line(ctx, draft.hazard))
    ticket = await ctx.desk.open_ticket(resident, draft)
    if marked_by_resident:
        await ctx.desk.record(
            ticket, "marked_emergency", actor_kind="resident", actor_id=resident.telegram_id
        )
    await post_cards(ctx.desk, ticket)  # the team's group and the managers' group
    ctx.finish()
    ctx.say(
        ctx.t(
            "report.emergency_submitted",
            number=ticket.number,
            team=team_label(ctx.t, ticket.team),
            minutes=duration(ctx.t, ctx.desk.sla.minutes(ticket.category, ticket.urgency)[0]),
        )
    )


async def _mark_emergency(ctx: Ctx) -> None:
    """The resident knows better than the keywords: open it now as an emergency."""
    resident = await ctx.desk.resident(ctx.inc.user_id)
    draft = _draft(ctx)
    if resident is None or not resident.registered or not draft.description:
        ctx.toast(ctx.t("common.stale_button"))
        return
    ctx.toast()
    ctx.edit(_draft_text(ctx, resident, draft))
    if opens_as_emergency(draft.urgency, resident_pressed_alarm=True):
        draft.urgency = Urgency.EMERGENCY
    await _open_emergency(ctx, resident, draft, marked_by_resident=True)


async def _hotline_line(ctx: Ctx, hazard: str | None) -> str:
    prop_hotlines = await ctx.desk.hotlines(ctx.inc.user_id)
    number = hotline_for(prop_hotlines, hazard) if hazard else None
    duty = duty_line(prop_hotlines)
    lines = [ctx.t("safety.call", number=number)] if number else []
    if duty:
        lines.append(ctx.t("safety.duty", number=duty))
    return "\n".join(lines)


async def _show_draft(ctx: Ctx) -> None:
    resident = await ctx.desk.resident(ctx.inc.user_id)
    if resident is None:
        return
    ctx.say(_draft_text(ctx, resident, _draft(ctx)), _draft_buttons(ctx))


def _draft_text(ctx: Ctx, resident: Resident, draft: Draft) -> str:
    t = ctx.t
    separator = t("report.keyword_separator")
    matched = separator.join(draft.matched[:6]) if draft.matched else t("report.no_keywords")
    description = shorten(draft.description, ECHO_LIMIT)
    lines = [
        t(
            "report.classified",
            category=category_label(t, draft.category),
            urgency=urgency_label(t, draft.urgency),
            keywords=matched,
        ),
        t("report.description", text=description),
    ]
    if len(draft.description) > ECHO_LIMIT:
        lines.append(t("report.shortened", count=len(draft.description)))
    if draft.photos:
        lines.append(t("report.photos", count=len(draft.photos)))
    lines.append(
        t(
            "report.contact",
            name=resident.name,
            phone=mask_phone(resident.phone),
            address=address_of(resident),
        )
    )
    return "\n".join(lines)


def _draft_buttons(ctx: Ctx) -> Keyboard:
    d = ctx.state.data["draft_id"]
    t = ctx.t
    return (
        (
            Button(t("report.btn_confirm"), f"rp:{d}:ok"),
            Button(t("report.btn_category"), f"rp:{d}:cat"),
        ),
        (
            Button(t("report.btn_photos"), f"rp:{d}:pho"),
            Button(t("report.btn_edit"), f"rp:{d}:edit"),
        ),
        (
            Button(t("report.btn_emergency"), f"rp:{d}:sos"),
            Button(t("report.btn_cancel"), f"rp:{d}:x"),
        ),
    )


def _done_button(ctx: Ctx) -> Keyboard:
    d = ctx.state.data["draft_id"]
    return ((Button(ctx.t("report.btn_photos_done"), f"rp:{d}:done"),),)


async def _ask_category(ctx: Ctx) -> None:
    ctx.say(ctx.t("report.choose_category"), _category_buttons(ctx))


def _category_buttons(ctx: Ctx) -> Keyboard:
    d = ctx.state.data["draft_id"]
    buttons = [
        Button(category_label(ctx.t, code), f"rp:{d}:c:{code}")
        for code in CATEGORIES
        if code != "other"
    ]
    return (*in_rows(buttons, 4), (Button(ctx.t("report.btn_cancel"), f"rp:{d}:x"),))


def _submitted_text(ctx: Ctx, ticket: Ticket) -> str:
    response = ctx.desk.sla.minutes(ticket.category, ticket.urgency)[0]
    return ctx.t(
        "report.submitted",
        number=ticket.number,
        team=team_label(ctx.t, ticket.team),
        minutes=duration(ctx.t, response),
    )


def _draft(ctx: Ctx) -> Draft:
    return Draft.from_dict(ctx.state.data.get("draft") or {})


def _store(ctx: Ctx, draft: Draft) -> None:
    ctx.state.data["draft"] = draft.to_dict()
