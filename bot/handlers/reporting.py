"""Reporting: free text or a photo opens a draft; the resident confirms, changes the
category, adds photos or cancels. A sure emergency skips every question and gets safety advice;
an unsure one (the classifier's model alone, or a typo) gets the advice and one question,
"is anyone in danger right now?": yes or silence pages, no keeps it an ordinary report."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from enum import StrEnum
from functools import cache
from typing import Any

from bot.domain.policy import (
    duty_line,
    hotline_for,
    opens_as_emergency,
    safety_advice_key,
)
from bot.domain.vocabulary import CATEGORIES, Category, SendPriority, Urgency
from bot.handlers import incidents, registration
from bot.handlers.base import Classification, Ctx, in_rows, new_token, shorten
from bot.handlers.cards import post_cards, refresh_cards
from bot.handlers.flow import CallbackCodec, Flow, FlowStep, Press, StepSpec
from bot.handlers.inputs import clean_text
from bot.handlers.presenters import (
    category_label,
    duration,
    team_label,
    urgency_label,
)
from bot.i18n import LOCALES, Translator, translate
from bot.messages import Button, Keyboard, Outgoing
from bot.nlp.faq import FaqEntry
from bot.services.desk import Desk, Draft, address_of
from bot.services.duty import DutyService
from bot.services.faq import Faq
from bot.services.incidents import MEMBER, Incidents
from bot.services.phones import mask_phone
from storage.models import Resident, Ticket


class Step(FlowStep):
    __flow__ = "report"
    DESCRIBE = "describe"
    CONFIRM = "confirm"
    CATEGORY = "category"
    PHOTOS = "photos"
    FAQ = "faq"  # an inquiry answered from the property's FAQ: helped, or ask staff
    DANGER = "danger"  # an unsure emergency: "is anyone in danger right now?"


class DraftButton(StrEnum):
    CONFIRM = "ok"
    CATEGORY_MENU = "cat"
    CATEGORY = "c"
    ADD_PHOTOS = "pho"
    PHOTOS_DONE = "done"
    EDIT_DETAILS = "edit"
    CANCEL = "x"
    EMERGENCY = "sos"
    FAQ_HELPED = "faq"
    FAQ_ASK_STAFF = "staff"
    DANGER_YES = "yes"
    DANGER_NO = "no"


BUTTONS = CallbackCodec(
    "rp",
    DraftButton,
    subject="token",
    arguments={DraftButton.CATEGORY: CATEGORIES},
    summary="the draft's buttons; the subject is the draft's token, so an old draft's are stale",
)
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
    ctx.state.data.update(draft=draft.to_dict(), draft_id=new_token(), chosen=False)
    if not draft.description:
        ctx.goto(Step.DESCRIBE)
        await ask_description(ctx)
        return
    _classify(ctx, draft)
    await _after_classification(ctx, resident, draft)


async def ask_description(ctx: Ctx) -> None:
    ctx.say(ctx.t("report.ask_description"))


async def ask_photos(ctx: Ctx) -> None:
    ctx.say(ctx.t("report.ask_photos"), _done_button(ctx))


def has_open_draft(ctx: Ctx) -> bool:
    """A report the resident is still writing: something typed or sent, not yet submitted."""
    if ctx.state.flow != FLOW.name:
        return False
    draft = ctx.state.data.get("draft") or {}
    return bool(draft.get("description") or draft.get("photos"))


async def remind_open_draft(ctx: Ctx) -> None:
    """A button or command that would start something else while a report is open: the
    draft is not dropped; the resident is told, and shown where it stands."""
    ctx.toast(ctx.t("report.draft_waiting"), alert=True)
    if not ctx.inc.is_callback:
        ctx.say(ctx.t("report.draft_waiting"))
    spec = FLOW.spec(ctx.state.step)
    if spec is not None and spec.prompt is not None:
        await spec.prompt(ctx)


async def restart(ctx: Ctx) -> None:
    """Back to the start of a report, keeping what the draft already holds."""
    resident = await ctx.desk.resident(ctx.inc.user_id)
    draft = ctx.state.data.get("draft")
    ctx.finish()
    if resident is not None and resident.registered:
        await _open_draft(ctx, resident, Draft.from_dict(draft or {}))


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
    if step == Step.DANGER:
        await _danger_typed(ctx, text)
        return
    if step == Step.DESCRIBE:
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
        if step != Step.PHOTOS:
            ctx.goto(Step.PHOTOS)
        return
    result = ctx.classify(draft.description)
    if _alarms(ctx, result):
        # Words added to an open draft that make it an emergency are not left waiting for
        # Submit: the advice now, and the page (or the danger question) as for a new report.
        _apply(ctx, draft, result)
        resident = await ctx.desk.resident(ctx.inc.user_id)
        if resident is not None:
            await _after_classification(ctx, resident, draft)
        return
    if not ctx.state.data.get("chosen"):
        _apply(ctx, draft, result)
    ctx.goto(Step.CONFIRM)
    await _show_draft(ctx)


def _alarms(ctx: Ctx, result: Classification) -> bool:
    """The draft now reads as an emergency, save an unsure one the resident already said
    puts nobody in danger (asking again would only nag)."""
    if not opens_as_emergency(result.urgency, resident_pressed_alarm=False):
        return False
    sure = bool(getattr(result, "sure", True))
    return sure or not ctx.state.data.get("danger_declined")


# buttons -------------------------------------------------------------------------------
async def on_callback(ctx: Ctx, press: Press) -> None:
    """A button of the open draft; a button of another draft is stale."""
    if ctx.state.flow != FLOW.name or press.subject != ctx.state.data.get("draft_id"):
        # The danger question of a report already sent (answered, or paged when no answer
        # came) says so; any other old button is just stale.
        danger = press.action in (DraftButton.DANGER_YES, DraftButton.DANGER_NO)
        ctx.toast(ctx.t("report.danger_closed" if danger else "common.stale_button"))
        return
    if press.action == DraftButton.CATEGORY:
        await _category_chosen(ctx, press.argument)
        return
    await _ON_BUTTON[DraftButton(press.action)](ctx)


async def _confirm(ctx: Ctx) -> None:
    resident = await ctx.desk.resident(ctx.inc.user_id)
    draft = _draft(ctx)
    if resident is None or not resident.registered or not draft.description:
        ctx.toast(ctx.t("common.stale_button"))
        return
    ctx.toast(ctx.t("report.submitted_toast"))
    group = Incidents(ctx.desk)
    planned = await group.planned_for(resident, draft)
    if planned is not None:  # announced work under way: the notice is the answer
        ctx.edit(_draft_text(ctx, resident, draft))
        ctx.finish()
        ctx.say(incidents.planned_text(ctx, *planned))
        return
    ticket = await ctx.desk.open_ticket(resident, draft)
    placed = await group.place(ticket, resident)
    ctx.edit(_draft_text(ctx, resident, draft))
    ctx.finish()
    if placed.role == MEMBER:  # a known incident: its one card counts one more report
        if placed.lead is not None:
            await refresh_cards(ctx.desk, placed.lead)
        await incidents.tell_known(ctx, ticket, placed.lead)
        return
    await post_cards(ctx.desk, ticket)
    ctx.say(_submitted_text(ctx, ticket))


async def _ask_category_edit(ctx: Ctx) -> None:
    ctx.toast()
    ctx.goto(Step.CATEGORY)
    ctx.edit(ctx.t("report.choose_category"), _category_buttons(ctx))


async def _category_chosen(ctx: Ctx, category: str) -> None:
    ctx.toast()
    draft = _draft(ctx)
    draft.category = category
    if draft.urgency == Urgency.EMERGENCY:
        draft.urgency = Urgency.HIGH  # a category picked by hand: the alarm was not the point
    _store(ctx, draft)
    ctx.goto(Step.CONFIRM, chosen=True)
    resident = await ctx.desk.resident(ctx.inc.user_id)
    if resident is not None:
        ctx.edit(_draft_text(ctx, resident, draft), _draft_buttons(ctx))


async def _ask_photos(ctx: Ctx) -> None:
    ctx.toast()
    ctx.goto(Step.PHOTOS)
    await ask_photos(ctx)


async def _photos_done(ctx: Ctx) -> None:
    ctx.toast()
    ctx.goto(Step.CONFIRM)
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
    _apply(ctx, draft, ctx.classify(draft.description))


def _apply(ctx: Ctx, draft: Draft, result: Classification) -> None:
    draft.category, draft.urgency, draft.hazard = result.category, result.urgency, result.hazard
    draft.confidence = float(result.confidence)
    draft.matched = list(result.matched)
    # An unsure emergency keeps what its urgency would be were there no danger (a
    # classifier that does not say is sure, as every classifier was before issue 15).
    sure = bool(getattr(result, "sure", True))
    calm = None if sure else getattr(result, "calm_urgency", None)
    if not sure and ctx.state.data.get("danger_declined"):
        # the resident said nobody is in danger: more words on the same thin evidence keep
        # the urgency that answer gave it
        draft.urgency, draft.hazard, sure, calm = str(calm or Urgency.HIGH), None, True, None
    ctx.state.data["unsure"] = not sure
    ctx.state.data["calm_urgency"] = calm
    _store(ctx, draft)


async def _after_classification(ctx: Ctx, resident: Resident, draft: Draft) -> None:
    if opens_as_emergency(draft.urgency, resident_pressed_alarm=False):
        if ctx.state.data.get("unsure"):
            await _ask_danger(ctx, draft)
            return
        await _open_emergency(ctx, resident, draft)
        return
    await _after_calm(ctx, resident, draft)


async def _after_calm(ctx: Ctx, resident: Resident, draft: Draft) -> None:
    """A draft that is no emergency: answered from the FAQ, a category to pick, or shown."""
    if draft.category == Category.INQUIRY and await _answered_from_faq(ctx, resident, draft):
        return
    if _only_a_pleasantry(draft):  # "谢谢" after a repair is no report to categorise
        ctx.finish()
        ctx.say(ctx.t("report.pleasantry"))
        return
    if draft.category == "other":
        ctx.goto(Step.CATEGORY)
        ctx.say(ctx.t("report.unsure_category"), _category_buttons(ctx))
        return
    ctx.goto(Step.CONFIRM)
    await _show_draft(ctx)


async def _answered_from_faq(ctx: Ctx, resident: Resident, draft: Draft) -> bool:
    """A question the property's FAQ answers confidently is answered at once (once per
    draft); one it cannot answer is recorded for the FAQ to grow by."""
    if ctx.state.data.get("faq_tried"):
        return False
    ctx.state.data["faq_tried"] = True
    faq = Faq(ctx.desk)
    entry = await faq.answer(resident, draft.description)
    if entry is None:
        await faq.record_gap(resident, draft.description, "unanswered")
        return False
    ctx.goto(Step.FAQ, faq=entry.id)
    ctx.say(_faq_text(ctx, entry), _faq_buttons(ctx))
    return True


async def _show_faq(ctx: Ctx) -> None:
    entry = await Faq(ctx.desk).entry(str(ctx.state.data.get("faq", "")))
    if entry is None:
        ctx.goto(Step.CONFIRM)
        await _show_draft(ctx)
        return
    ctx.say(_faq_text(ctx, entry), _faq_buttons(ctx))


async def _faq_helped(ctx: Ctx) -> None:
    if ctx.state.step != Step.FAQ:
        ctx.toast(ctx.t("common.stale_button"))
        return
    ctx.toast()
    entry = await Faq(ctx.desk).entry(str(ctx.state.data.get("faq", "")))
    ctx.finish()
    ctx.edit(_faq_text(ctx, entry) if entry else ctx.t("faq.thanks"))
    ctx.say(ctx.t("faq.thanks"))


async def _faq_ask_staff(ctx: Ctx) -> None:
    resident = await ctx.desk.resident(ctx.inc.user_id)
    if ctx.state.step != Step.FAQ or resident is None:
        ctx.toast(ctx.t("common.stale_button"))
        return
    ctx.toast()
    faq = Faq(ctx.desk)
    entry = await faq.entry(str(ctx.state.data.get("faq", "")))
    draft = _draft(ctx)
    await faq.record_gap(resident, draft.description, "rejected", entry.id if entry else None)
    if entry is not None:
        ctx.edit(_faq_text(ctx, entry))
    ctx.goto(Step.CONFIRM)
    await _show_draft(ctx)


def _faq_text(ctx: Ctx, entry: FaqEntry) -> str:
    return ctx.t("faq.answer", question=entry.question, answer=entry.answer)


def _faq_buttons(ctx: Ctx) -> Keyboard:
    d = ctx.state.data["draft_id"]
    return (
        (
            Button(ctx.t("faq.btn_helped"), BUTTONS.encode(DraftButton.FAQ_HELPED, d)),
            Button(ctx.t("faq.btn_ask_staff"), BUTTONS.encode(DraftButton.FAQ_ASK_STAFF, d)),
        ),
    )


async def _open_emergency(
    ctx: Ctx,
    resident: Resident,
    draft: Draft,
    marked_by_resident: bool = False,
    event: str = "marked_emergency",
    advised: bool = False,
) -> None:
    if not advised:  # the danger question came with the advice already
        ctx.say(await _safety_text(ctx, draft.hazard))
    ticket = await ctx.desk.open_ticket(resident, draft)
    if marked_by_resident:
        await ctx.desk.record(ticket, event, actor_kind="resident", actor_id=resident.telegram_id)
    await post_cards(ctx.desk, ticket)  # the team's group and the managers' group
    ctx.finish()
    submitted = ctx.t(
        "report.emergency_submitted",
        number=ticket.number,
        team=team_label(ctx.t, ticket.team),
        minutes=duration(ctx.t, ctx.desk.sla.minutes(ticket.category, ticket.urgency)[0]),
    )
    if await DutyService(ctx.desk).called_about(ticket):
        # The post on duty, never who or their private number.
        role = ctx.t(f"duty.role_{ticket.team}")
        submitted += "\n" + ctx.t("duty.resident_told", role=role)
    ctx.say(submitted)


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


async def _safety_text(ctx: Ctx, hazard: str | None) -> str:
    return ctx.t(safety_advice_key(hazard)) + "\n" + await _hotline_line(ctx, hazard)


# the danger question -------------------------------------------------------------------
async def _ask_danger(ctx: Ctx, draft: Draft) -> None:
    """An unsure emergency: the safety advice at once, and one question; silence until
    `danger_answer_minutes` pages (the scheduler's sweep, `page_unanswered`)."""
    wait = ctx.settings.danger_answer_minutes
    ctx.goto(Step.DANGER)
    ctx.answer_by(ctx.desk.now() + timedelta(minutes=wait))
    ctx.say(await _safety_text(ctx, draft.hazard))
    ctx.say(_danger_question(ctx), _danger_buttons(ctx))


def _danger_question(ctx: Ctx, answered: bool = False) -> str:
    """The question; until it is answered, with how long silence waits before a page."""
    if answered:
        return ctx.t("report.danger_question")
    minutes = duration(ctx.t, max(round(ctx.settings.danger_answer_minutes), 1))
    return ctx.t("report.danger_question") + "\n" + ctx.t("report.danger_wait", minutes=minutes)


def _danger_buttons(ctx: Ctx) -> Keyboard:
    d = ctx.state.data["draft_id"]
    return (
        (Button(ctx.t("report.btn_danger_yes"), BUTTONS.encode(DraftButton.DANGER_YES, d)),),
        (Button(ctx.t("report.btn_danger_no"), BUTTONS.encode(DraftButton.DANGER_NO, d)),),
    )


async def _ask_danger_again(ctx: Ctx) -> None:
    ctx.say(_danger_question(ctx), _danger_buttons(ctx))


async def _danger_pressed(ctx: Ctx, in_danger: bool) -> Resident | None:
    """The question's own guard: a second press (the first moved the draft on) is told the
    question is closed."""
    resident = await ctx.desk.resident(ctx.inc.user_id)
    if ctx.state.step != Step.DANGER or resident is None or not resident.registered:
        ctx.toast(ctx.t("report.danger_closed"))
        return None
    ctx.toast()
    answer = "report.danger_answered_yes" if in_danger else "report.danger_answered_no"
    ctx.edit(_danger_question(ctx, answered=True) + "\n" + ctx.t(answer))
    return resident


async def _danger_yes(ctx: Ctx) -> None:
    resident = await _danger_pressed(ctx, in_danger=True)
    if resident is not None:
        await _in_danger(ctx, resident, _draft(ctx))


async def _danger_no(ctx: Ctx) -> None:
    resident = await _danger_pressed(ctx, in_danger=False)
    if resident is not None:
        await _no_danger(ctx, resident, _draft(ctx))


async def _danger_typed(ctx: Ctx, text: str) -> None:
    """A typed answer: a clear "no" is no; anything else (words, a photo) is yes, since
    paging for nothing costs less than a wait in danger."""
    resident = await ctx.desk.resident(ctx.inc.user_id)
    if resident is None or not resident.registered:
        return
    draft = _draft(ctx)
    if text and is_no(text):
        draft.description = draft.description.removesuffix(f"\n{text}")  # "没有" says nothing
        await _no_danger(ctx, resident, draft)
        return
    await _in_danger(ctx, resident, draft)


async def _in_danger(ctx: Ctx, resident: Resident, draft: Draft) -> None:
    draft.urgency = Urgency.EMERGENCY
    await _open_emergency(
        ctx, resident, draft, marked_by_resident=True, event="danger_confirmed", advised=True
    )


async def _no_danger(ctx: Ctx, resident: Resident, draft: Draft) -> None:
    """No live danger: an ordinary report with the urgency the rules give it without the
    alarm (often high: the person is out but the lift still stands)."""
    draft.urgency = str(ctx.state.data.get("calm_urgency") or Urgency.HIGH)
    draft.hazard = None
    ctx.state.data.update(unsure=False, calm_urgency=None, danger_declined=True)
    _store(ctx, draft)
    ctx.goto(Step.CONFIRM)  # leaves the question: no sweep will page it
    await _after_calm(ctx, resident, draft)


def _only_a_pleasantry(draft: Draft) -> bool:
    return (
        draft.category == "other"
        and not draft.matched
        and not draft.photos
        and is_pleasantry(draft.description)
    )


def is_pleasantry(text: str) -> bool:
    """Thanks, a greeting or an OK on its own ("谢谢", "好的", "👍"), in any of our languages
    (the locale files' `report.pleasantry_words`)."""
    said = "".join(ch for ch in text.casefold() if ch.isalnum() or ch == " ")
    said = " ".join(said.split())
    return (said or text.strip()) in _pleasantries()


@cache
def _pleasantries() -> frozenset[str]:
    return frozenset(
        word.strip().casefold()
        for locale in LOCALES
        for word in translate(locale, "report.pleasantry_words").split("|")
        if word.strip()
    )


def is_no(text: str) -> bool:
    """A clear "no" in any of our languages (the locale files' `report.danger_no_words`)."""
    said = "".join(ch for ch in text.casefold() if ch.isalnum() or ch == " ").strip()
    said = " ".join(said.split())
    return said in _no_words()


def _no_words() -> frozenset[str]:
    return frozenset(
        word.strip().casefold()
        for locale in LOCALES
        for word in translate(locale, "report.danger_no_words").split("|")
        if word.strip()
    )


async def page_unanswered(desk: Desk, user_id: int, data: dict[str, Any]) -> Ticket | None:
    """The scheduler's sweep: nobody answered the danger question in time (a frightened
    resident may press nothing), so the draft opens as an emergency now, the managers and the
    person on duty are paged, and the resident is told. None when nothing can be opened."""
    resident = await desk.resident(user_id)
    draft = Draft.from_dict(data.get("draft") or {})
    if resident is None or not resident.registered or not draft.description:
        return None
    draft.urgency = Urgency.EMERGENCY
    ticket = await desk.open_ticket(resident, draft)
    await desk.record(ticket, "danger_unanswered", actor_kind="system")
    await post_cards(desk, ticket)  # the team's group and the managers' group
    t = Translator(resident.locale)
    text = t(
        "report.danger_timeout",
        number=ticket.number,
        team=team_label(t, ticket.team),
        minutes=duration(t, desk.sla.minutes(ticket.category, ticket.urgency)[0]),
    )
    if await DutyService(desk).called_about(ticket):
        text += "\n" + t("duty.resident_told", role=t(f"duty.role_{ticket.team}"))
    out = Outgoing(chat_id=resident.telegram_id, text=text)
    await desk.enqueue(f"danger:{ticket.id}", out, priority=SendPriority.URGENT)
    return ticket


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
            Button(t("report.btn_confirm"), BUTTONS.encode(DraftButton.CONFIRM, d)),
            Button(t("report.btn_category"), BUTTONS.encode(DraftButton.CATEGORY_MENU, d)),
        ),
        (
            Button(t("report.btn_photos"), BUTTONS.encode(DraftButton.ADD_PHOTOS, d)),
            Button(t("report.btn_edit"), BUTTONS.encode(DraftButton.EDIT_DETAILS, d)),
        ),
        (
            Button(t("report.btn_emergency"), BUTTONS.encode(DraftButton.EMERGENCY, d)),
            Button(t("report.btn_cancel"), BUTTONS.encode(DraftButton.CANCEL, d)),
        ),
    )


def _done_button(ctx: Ctx) -> Keyboard:
    d = ctx.state.data["draft_id"]
    return ((Button(ctx.t("report.btn_photos_done"), BUTTONS.encode(DraftButton.PHOTOS_DONE, d)),),)


async def _ask_category(ctx: Ctx) -> None:
    ctx.say(ctx.t("report.choose_category"), _category_buttons(ctx))


def _category_buttons(ctx: Ctx) -> Keyboard:
    d = ctx.state.data["draft_id"]
    buttons = [
        Button(category_label(ctx.t, code), BUTTONS.encode(DraftButton.CATEGORY, d, code))
        for code in CATEGORIES
        if code != "other"
    ]
    return (
        *in_rows(buttons, 4),
        (Button(ctx.t("report.btn_cancel"), BUTTONS.encode(DraftButton.CANCEL, d)),),
    )


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


_ON_BUTTON: dict[DraftButton, Callable[[Ctx], Awaitable[None]]] = {
    DraftButton.CONFIRM: _confirm,
    DraftButton.CATEGORY_MENU: _ask_category_edit,
    DraftButton.ADD_PHOTOS: _ask_photos,
    DraftButton.PHOTOS_DONE: _photos_done,
    DraftButton.EDIT_DETAILS: _edit_details,
    DraftButton.CANCEL: _cancel,
    DraftButton.EMERGENCY: _mark_emergency,
    DraftButton.FAQ_HELPED: _faq_helped,
    DraftButton.FAQ_ASK_STAFF: _faq_ask_staff,
    DraftButton.DANGER_YES: _danger_yes,
    DraftButton.DANGER_NO: _danger_no,
}

FLOW = Flow(
    Step,
    {
        Step.DESCRIBE: StepSpec(on_message, ask_description, takes_photos=True),
        Step.CONFIRM: StepSpec(on_message, _show_draft, takes_photos=True),
        Step.CATEGORY: StepSpec(on_message, _ask_category, takes_photos=True),
        Step.PHOTOS: StepSpec(on_message, ask_photos, takes_photos=True),
        Step.FAQ: StepSpec(on_message, _show_faq, takes_photos=True),
        Step.DANGER: StepSpec(on_message, _ask_danger_again, takes_photos=True),
    },
    restart=restart,
    summary="a report: description, then the classified draft to confirm, correct or add to",
)
