"""Announcements (通知): `/notice` composes one in a private chat (audience, text and an
optional photo, a preview with the number of recipients, then send now or later);
`/notices` lists recent ones (a resident's own, or the history with counts for those who
may send), and `/notices off|on` turns ordinary notices off or on. The rules live in
bot/domain/policy.py; bot/services/notices.py stores, starts, stops and counts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.policy import (
    may_address_all_properties,
    may_send_safety_notice,
    notice_priority,
    notice_text_limit,
    notice_time_ok,
)
from bot.domain.vocabulary import CATEGORIES, NoticeAudience, NoticeStatus, SendPriority
from bot.handlers.base import Ctx, in_rows, new_token, shorten
from bot.handlers.flow import CallbackCodec, Flow, FlowStep, Press, StepSpec
from bot.handlers.inputs import clean_text, find_local_window, typed_moment
from bot.handlers.presenters import category_label, local_time
from bot.i18n import Translator
from bot.messages import Button, Keyboard, Outgoing
from bot.services.desk import Desk
from bot.services.incidents import Incidents
from bot.services.notices import (
    Audience,
    NoticeCounts,
    NoticeService,
    recipient_key,
    report_key,
)
from bot.services.staff import Actor, NotAllowed
from storage.models import Building, Notice, Resident

SNIPPET = 60  # how much of a notice's text a list or report shows


class Step(FlowStep):
    __flow__ = "notice"
    AUDIENCE = "audience"
    UNIT = "unit"
    TEXT = "text"
    PREVIEW = "preview"
    WHEN = "when"


class ComposeButton(StrEnum):
    ALL = "all"
    PROPERTY = "p"
    BUILDING = "b"
    WHOLE = "w"
    UNIT = "u"
    CATEGORIES = "cats"
    CATEGORY = "c"
    SEND = "send"
    LATER = "later"
    SAFETY = "safe"
    DROP = "drop"
    PLANNED = "plan"  # planned work: the notice's window becomes a planned incident


class ManageButton(StrEnum):
    CANCEL = "cancel"
    STOP = "stop"


BUTTONS = CallbackCodec(
    "nt",
    ComposeButton,
    subject="token",
    arguments={
        ComposeButton.PROPERTY: "id",
        ComposeButton.BUILDING: "id",
        ComposeButton.UNIT: "id",
        ComposeButton.CATEGORY: CATEGORIES,
    },
    summary="/notice: audience (all, property id, building id, unit position, category), "
    "send now, later, safety, discard; the subject is the draft's token",
)
MANAGE = CallbackCodec(
    "nx",
    ManageButton,
    subject="id",
    summary="an announcement's cancel (before it starts) and stop (while sending); "
    "subject: the notice id",
)


# /notice ----------------------------------------------------------------------------------
async def on_notice(ctx: Ctx) -> None:
    service = NoticeService(ctx.desk)
    try:
        await service.composer(ctx.inc.user_id)
    except NotAllowed as exc:
        ctx.say(ctx.t(exc.reason))
        return
    if ctx.state.flow == FLOW.name:
        ctx.say(ctx.t("notice.already_composing"))
        spec = FLOW.spec(ctx.state.step)
        if spec is not None and spec.prompt is not None:
            await spec.prompt(ctx)
        return
    ctx.finish()  # whatever was half done gives way to the announcement
    ctx.goto(Step.AUDIENCE, token=new_token(), safety=False)
    await ask_audience(ctx)


async def _home(ctx: Ctx, actor: Actor) -> int | None:
    """The property whose buildings are offered: the actor's, or the first one."""
    if actor.property_id is not None:
        return actor.property_id
    properties = await ctx.desk.properties()
    return properties[0].id if properties else None


def _press(ctx: Ctx, action: ComposeButton, argument: str = "") -> str:
    return BUTTONS.encode(action, ctx.state.data.get("token", ""), argument)


async def _composer(ctx: Ctx) -> Actor | None:
    """The person as a composer; None (the dialog ends, politely) once they may not."""
    try:
        return await NoticeService(ctx.desk).composer(ctx.inc.user_id)
    except NotAllowed as exc:
        ctx.finish()
        ctx.say(ctx.t(exc.reason))
        return None


async def ask_audience(ctx: Ctx) -> None:
    actor = await _composer(ctx)
    if actor is None:
        return
    t = ctx.t
    rows: list[tuple[Button, ...]] = []
    properties = await ctx.desk.properties()
    if may_address_all_properties(actor):
        rows.append((Button(t("notice.btn_all"), _press(ctx, ComposeButton.ALL)),))
    for prop in properties:
        if actor.is_admin or prop.id == actor.property_id:
            label = t("notice.btn_property", name=prop.name)
            rows.append((Button(label, _press(ctx, ComposeButton.PROPERTY, str(prop.id))),))
    home = await _home(ctx, actor)
    buildings = await ctx.desk.buildings(home) if home is not None else []
    choices = [
        Button(
            t("notice.btn_building", name=b.name), _press(ctx, ComposeButton.BUILDING, str(b.id))
        )
        for b in buildings
    ]
    rows += in_rows(choices, 3)
    rows.append((Button(t("notice.btn_categories"), _press(ctx, ComposeButton.CATEGORIES)),))
    rows.append((Button(t("notice.btn_drop"), _press(ctx, ComposeButton.DROP)),))
    ctx.say(t("notice.ask_audience"), tuple(rows))


async def ask_unit(ctx: Ctx) -> None:
    building = await _chosen_building(ctx)
    if building is None and not ctx.state.flow:
        return  # no longer allowed: already told
    if building is None:
        ctx.goto(Step.AUDIENCE)
        await ask_audience(ctx)
        return
    t = ctx.t
    rows: list[tuple[Button, ...]] = [
        (
            Button(
                t("notice.btn_whole_building", name=building.name), _press(ctx, ComposeButton.WHOLE)
            ),
        )
    ]
    units = [
        Button(
            t("notice.btn_unit", building=building.name, unit=unit),
            _press(ctx, ComposeButton.UNIT, str(index)),
        )
        for index, unit in enumerate(building.units)
    ]
    rows += in_rows(units, 3)
    rows.append((Button(t("notice.btn_drop"), _press(ctx, ComposeButton.DROP)),))
    ctx.say(t("notice.ask_unit", name=building.name), tuple(rows))


async def _chosen_building(ctx: Ctx) -> Building | None:
    actor = await _composer(ctx)
    if actor is None:
        return None
    home = await _home(ctx, actor)
    wanted = ctx.state.data.get("building_id")
    for building in await ctx.desk.buildings(home) if home is not None else []:
        if building.id == wanted:
            return building
    return None


async def ask_text(ctx: Ctx) -> None:
    audience = await audience_words(ctx.t, ctx.desk, _audience(ctx))
    ctx.say(ctx.t("notice.ask_text", audience=audience))


def _audience(ctx: Ctx) -> Audience:
    stored = ctx.state.data.get("audience") or {}
    return Audience(
        NoticeAudience(stored.get("kind", NoticeAudience.ALL)),
        stored.get("property_id"),
        stored.get("building", ""),
        stored.get("unit", ""),
        stored.get("category", ""),
    )


def _choose(ctx: Ctx, audience: Audience) -> None:
    ctx.goto(
        Step.TEXT,
        audience={
            "kind": str(audience.kind),
            "property_id": audience.property_id,
            "building": audience.building,
            "unit": audience.unit,
            "category": audience.category,
        },
    )


async def on_text(ctx: Ctx) -> None:
    text = clean_text(ctx.inc.text)
    if ctx.inc.photos:
        ctx.state.data["photo"] = ctx.inc.photos[-1]
    photo = ctx.state.data.get("photo")
    if not text:
        ctx.say(ctx.t("notice.photo_kept" if photo else "notice.empty"))
        return
    limit = notice_text_limit(photo is not None)
    if len(text) > limit:
        ctx.say(ctx.t("notice.too_long", length=len(text), limit=limit))
        return
    ctx.goto(Step.PREVIEW, text=text)
    await show_preview(ctx)


async def show_preview(ctx: Ctx) -> None:
    service = NoticeService(ctx.desk)
    actor = await _composer(ctx)
    if actor is None:
        return
    audience = _audience(ctx)
    safety = bool(ctx.state.data.get("safety"))
    count = len(await service.recipients(audience, safety))
    if count == 0:
        ctx.say(ctx.t("notice.nobody"))
        ctx.goto(Step.AUDIENCE)
        await ask_audience(ctx)
        return
    t = ctx.t
    prop = audience.property_id if audience.kind != NoticeAudience.ALL else None
    name = await service.property_name(prop)
    text = str(ctx.state.data.get("text", ""))
    photo = ctx.state.data.get("photo")
    ctx.say(t("notice.preview_title"))
    ctx.say(render(t, name, text, safety), photos=(photo,) if photo else ())
    rows: list[tuple[Button, ...]] = [
        (
            Button(t("notice.btn_send"), _press(ctx, ComposeButton.SEND)),
            Button(t("notice.btn_later"), _press(ctx, ComposeButton.LATER)),
        )
    ]
    if may_send_safety_notice(actor):
        key = "notice.btn_safety_off" if safety else "notice.btn_safety_on"
        rows.append((Button(t(key), _press(ctx, ComposeButton.SAFETY)),))
    if audience.kind == NoticeAudience.BUILDING and Incidents.topic(text):
        key = "incident.btn_planned_on" if data_planned(ctx) else "incident.btn_planned"
        rows.append((Button(t(key), _press(ctx, ComposeButton.PLANNED)),))
    rows.append((Button(t("notice.btn_drop"), _press(ctx, ComposeButton.DROP)),))
    words = await audience_words(t, ctx.desk, audience)
    mark = t("notice.preview_safety") if safety else ""
    ctx.say(t("notice.preview_count", audience=words, count=count, safety=mark), tuple(rows))


async def ask_when(ctx: Ctx) -> None:
    ctx.say(ctx.t("notice.ask_when"))


async def on_when(ctx: Ctx) -> None:
    now = ctx.desk.now()
    at = parse_when(clean_text(ctx.inc.text), now, ctx.settings.tz)
    if at is None:
        ctx.say(ctx.t("notice.bad_time"))
        return
    if not notice_time_ok(now, at):
        ctx.say(ctx.t("notice.time_not_ok"))
        return
    notice = await _create(ctx, at)
    if notice is None:
        return
    when = local_time(notice.send_at, ctx.settings.tz)
    cancel = Button(ctx.t("notice.btn_cancel"), MANAGE.encode(ManageButton.CANCEL, notice.id))
    ctx.say(ctx.t("notice.scheduled", id=notice.id, when=when), ((cancel,),))


_WHEN = re.compile(r"^(?:(?:(\d{4})-)?(\d{1,2})-(\d{1,2})\s+)?(\d{1,2})[:：](\d{2})$")


def parse_when(text: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """`HH:MM` (today), `MM-DD HH:MM` or `YYYY-MM-DD HH:MM`, in the property's time zone;
    a date without a year is the coming one at the year's end (see `typed_moment`)."""
    match = _WHEN.match(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute = match.groups()
    try:
        at = time(int(hour), int(minute))
        return typed_moment(year, month, day, at, now.astimezone(tz), tz)
    except ValueError:
        return None


async def _create(ctx: Ctx, send_at: datetime | None) -> Notice | None:
    """The composed notice, stored; the dialog ends. None (and a refusal) when not allowed."""
    service = NoticeService(ctx.desk)
    data = ctx.state.data
    planned = bool(data.get("planned"))
    try:
        actor = await service.composer(ctx.inc.user_id)
        notice = await service.create(
            actor,
            _audience(ctx),
            str(data.get("text", "")),
            data.get("photo"),
            bool(data.get("safety")),
            send_at,
        )
    except NotAllowed as exc:
        ctx.finish()
        ctx.say(ctx.t(exc.reason))
        return None
    ctx.finish()
    await _open_planned(ctx, notice, planned)
    return notice


# buttons ----------------------------------------------------------------------------------
async def on_callback(ctx: Ctx, press: Press) -> None:
    if ctx.state.flow != FLOW.name or ctx.state.data.get("token") != press.subject:
        ctx.toast(ctx.t("common.stale_button"))
        return
    service = NoticeService(ctx.desk)
    try:
        actor = await service.composer(ctx.inc.user_id)
    except NotAllowed as exc:
        ctx.finish()
        ctx.toast(ctx.t(exc.reason), alert=True)
        return
    ctx.toast()
    if press.action == ComposeButton.DROP:
        ctx.finish()
        ctx.edit(ctx.t("notice.dropped"))
    elif ctx.state.step in (Step.AUDIENCE, Step.UNIT):
        await _on_audience(ctx, actor, press)
    elif ctx.state.step == Step.PREVIEW:
        await _on_preview(ctx, actor, press)
    else:
        ctx.say(ctx.t("common.stale_button"))


def data_planned(ctx: Ctx) -> bool:
    return bool(ctx.state.data.get("planned"))


async def _toggle_planned(ctx: Ctx) -> None:
    """Planned work needs a window in the text ("明天 9:00-12:00"); without one, say so."""
    text = str(ctx.state.data.get("text", ""))
    if not data_planned(ctx) and find_local_window(text, ctx.desk.now(), ctx.settings.tz) is None:
        ctx.say(ctx.t("incident.planned_no_window"))
        return
    ctx.state.data["planned"] = not data_planned(ctx)
    await show_preview(ctx)


async def _open_planned(ctx: Ctx, notice: Notice, planned: bool) -> None:
    """The sent or scheduled notice of planned work opens its planned incident."""
    window = find_local_window(notice.text, ctx.desk.now(), ctx.settings.tz)
    if not planned or window is None or notice.audience != NoticeAudience.BUILDING:
        return
    incidents = Incidents(ctx.desk)
    incident = await incidents.open_planned(notice, *window)
    tz = ctx.settings.tz
    ctx.say(
        ctx.t(
            "incident.planned_opened",
            building=incident.building,
            topic=ctx.t(f"incident.topic_{incident.topic}"),
            start=window[0].astimezone(tz).strftime("%m-%d %H:%M"),
            end=window[1].astimezone(tz).strftime("%H:%M"),
        )
    )


async def _on_audience(ctx: Ctx, actor: Actor, press: Press) -> None:
    action = press.action
    home = await _home(ctx, actor)
    chosen: Audience | None = None
    if action == ComposeButton.ALL and may_address_all_properties(actor):
        chosen = Audience(NoticeAudience.ALL)
    elif action == ComposeButton.PROPERTY:
        prop = await ctx.desk.property(press.argument_id)
        if prop is not None and (actor.is_admin or prop.id == actor.property_id):
            chosen = Audience(NoticeAudience.PROPERTY, prop.id)
    elif action == ComposeButton.BUILDING:
        ctx.state.data["building_id"] = press.argument_id
        building = await _chosen_building(ctx)
        if building is not None and building.units:
            ctx.goto(Step.UNIT)
            await ask_unit(ctx)
            return
        if building is not None:
            chosen = Audience(NoticeAudience.BUILDING, home, building.name)
    elif action in (ComposeButton.WHOLE, ComposeButton.UNIT):
        building = await _chosen_building(ctx)
        units = building.units if building is not None else []
        if building is not None and action == ComposeButton.WHOLE:
            chosen = Audience(NoticeAudience.BUILDING, home, building.name)
        elif building is not None and press.argument_id < len(units):
            unit = str(units[press.argument_id])
            chosen = Audience(NoticeAudience.UNIT, home, building.name, unit)
    elif action == ComposeButton.CATEGORIES:
        buttons = [
            Button(category_label(ctx.t, code), _press(ctx, ComposeButton.CATEGORY, code))
            for code in CATEGORIES
        ]
        drop = Button(ctx.t("notice.btn_drop"), _press(ctx, ComposeButton.DROP))
        ctx.say(ctx.t("notice.ask_category"), (*in_rows(buttons, 3), (drop,)))
        return
    elif action == ComposeButton.CATEGORY:
        chosen = Audience(NoticeAudience.CATEGORY, home, category=press.argument)
    if chosen is None:
        ctx.say(ctx.t("common.stale_button"))
        return
    _choose(ctx, chosen)
    await ask_text(ctx)


async def _on_preview(ctx: Ctx, actor: Actor, press: Press) -> None:
    if press.action == ComposeButton.SAFETY and may_send_safety_notice(actor):
        ctx.state.data["safety"] = not ctx.state.data.get("safety")
        await show_preview(ctx)
    elif press.action == ComposeButton.LATER:
        ctx.goto(Step.WHEN)
        await ask_when(ctx)
    elif press.action == ComposeButton.SEND:
        await _send_now(ctx)
    elif press.action == ComposeButton.PLANNED:
        await _toggle_planned(ctx)
    else:
        ctx.say(ctx.t("common.stale_button"))


async def _send_now(ctx: Ctx) -> None:
    notice = await _create(ctx, None)
    if notice is None:
        return
    started = await NoticeService(ctx.desk).start(notice.id)
    if started is None:
        return
    await queue_notice(ctx.desk, started.notice, started.residents)
    stop = Button(ctx.t("notice.btn_stop"), MANAGE.encode(ManageButton.STOP, notice.id))
    # a message of its own: the preview above stays readable (its buttons are stale now)
    ctx.say(ctx.t("notice.sending", id=notice.id, count=len(started.residents)), ((stop,),))


async def on_manage(ctx: Ctx, press: Press) -> None:
    service = NoticeService(ctx.desk)
    try:
        actor = await service.composer(ctx.inc.user_id)
        if press.action == ManageButton.CANCEL:
            notice = await service.cancel(actor, press.subject_id)
            ctx.toast()
            ctx.edit(ctx.t("notice.cancelled", id=notice.id))
        else:
            count = await service.stop(actor, press.subject_id)
            ctx.toast()
            ctx.edit(ctx.t("notice.stopped", id=press.subject_id, count=count))
    except NotAllowed as exc:
        ctx.toast(ctx.t(exc.reason), alert=True)


# delivery ---------------------------------------------------------------------------------
def render(t: Translator, property_name: str, text: str, safety: bool) -> str:
    key = "notice.message_safety" if safety else "notice.message"
    return t(key, property=property_name, text=text)


async def queue_notice(desk: Desk, notice: Notice, residents: Sequence[Resident]) -> None:
    """One row per resident, in their language, at the notice's priority."""
    texts: dict[tuple[int | None, str], str] = {}  # (property, locale) -> the words
    service = NoticeService(desk)
    messages = []
    for resident in residents:
        shown_as = (resident.property_id, resident.locale)
        if shown_as not in texts:
            name = await service.property_name(resident.property_id)
            t = Translator(resident.locale)
            texts[shown_as] = render(t, name, notice.text, notice.safety)
        out = Outgoing(
            chat_id=resident.telegram_id,
            text=texts[shown_as],
            photos=(notice.photo,) if notice.photo else (),
        )
        messages.append((recipient_key(notice.id, resident.telegram_id), out))
    await desk.enqueue_many(messages, priority=notice_priority(notice.safety), notice_id=notice.id)


async def report_notice(desk: Desk, notice: Notice, counts: NoticeCounts) -> None:
    """The sender's delivery report, in their own language when they are a resident too."""
    sender = await desk.resident(notice.author_id)
    t = Translator(sender.locale if sender is not None else desk.settings.locale)
    text = t(
        "notice.report",
        id=notice.id,
        text=shorten(notice.text, SNIPPET),
        delivered=counts.delivered,
        blocked=counts.blocked,
        failed=counts.failed,
        cancelled=counts.cancelled,
        total=counts.total,
    )
    out = Outgoing(chat_id=notice.author_id, text=text)
    await desk.enqueue(report_key(notice.id), out, priority=SendPriority.ROUTINE)


# /notices ---------------------------------------------------------------------------------
async def on_notices(ctx: Ctx) -> None:
    service = NoticeService(ctx.desk)
    word = ctx.inc.command_args.strip().lower()
    if word in ("off", "on"):
        await service.set_notices(ctx.inc.user_id, on=word == "on")
        ctx.say(ctx.t("notice.turned_on" if word == "on" else "notice.turned_off"))
        return
    if await service.may_compose(ctx.inc.user_id):
        await _history(ctx, service)
    else:
        await _received(ctx, service)


async def _history(ctx: Ctx, service: NoticeService) -> None:
    actor = await _composer(ctx)
    if actor is None:
        return
    listed = await service.history(actor)
    if not listed:
        ctx.say(ctx.t("notice.history_empty"))
        return
    t, tz = ctx.t, ctx.settings.tz
    lines = [t("notice.history_title")]
    buttons: list[Button] = []
    for notice, counts in listed:
        lines.append("")
        lines.append(
            t(
                "notice.history_line",
                id=notice.id,
                when=local_time(notice.started_at or notice.created_at, tz),
                audience=await audience_words(t, ctx.desk, Audience.of(notice)),
                status=status_words(t, notice, tz),
                safety=t("notice.safety_mark") if notice.safety else "",
                text=shorten(notice.text, SNIPPET),
                delivered=counts.delivered,
                blocked=counts.blocked,
                failed=counts.failed + counts.cancelled,
                pending=counts.pending,
                total=counts.total or notice.recipients,
            )
        )
        if notice.status == NoticeStatus.SCHEDULED:
            label = f"#{notice.id} {t('notice.btn_cancel')}"
            buttons.append(Button(label, MANAGE.encode(ManageButton.CANCEL, notice.id)))
        elif notice.status == NoticeStatus.SENDING:
            label = f"#{notice.id} {t('notice.btn_stop')}"
            buttons.append(Button(label, MANAGE.encode(ManageButton.STOP, notice.id)))
    keyboard: Keyboard = in_rows(buttons, 2)
    ctx.say("\n".join(lines), keyboard)


async def _received(ctx: Ctx, service: NoticeService) -> None:
    t, tz = ctx.t, ctx.settings.tz
    notices = await service.received(ctx.inc.user_id)
    lines = [t("notice.resident_title") if notices else t("notice.resident_empty")]
    lines += [
        t(
            "notice.resident_line",
            when=local_time(n.started_at or n.created_at, tz),
            text=shorten(n.text, SNIPPET),
        )
        for n in notices
    ]
    off = await service.opted_out(ctx.inc.user_id)
    lines += ["", t("notice.resident_off" if off else "notice.resident_on")]
    ctx.say("\n".join(lines))


async def audience_words(t: Translator, desk: Desk, audience: Audience) -> str:
    if audience.kind == NoticeAudience.ALL:
        return t("notice.audience_all")
    prop = await desk.property(audience.property_id) if audience.property_id else None
    name = prop.name if prop is not None else ""
    if audience.kind == NoticeAudience.CATEGORY:
        return t(
            "notice.audience_category",
            property=name,
            category=category_label(t, audience.category),
        )
    return t(
        f"notice.audience_{audience.kind}",
        property=name,
        building=audience.building,
        unit=audience.unit,
    )


def status_words(t: Translator, notice: Notice, tz: ZoneInfo) -> str:
    if notice.status == NoticeStatus.SCHEDULED:
        return t("notice.status_scheduled", when=local_time(notice.send_at, tz))
    return t(f"notice.status_{notice.status}")


FLOW = Flow(
    Step,
    {
        Step.AUDIENCE: StepSpec(None, ask_audience),
        Step.UNIT: StepSpec(None, ask_unit),
        Step.TEXT: StepSpec(on_text, ask_text, takes_photos=True),
        Step.PREVIEW: StepSpec(None, show_preview),
        Step.WHEN: StepSpec(on_when, ask_when),
    },
    summary="/notice: audience, text (and a photo), preview with the recipient count, "
    "then send now or at a time",
)
