"""Incidents in conversation: a resident whose report joined one is told what is known and
may split theirs out; staff merge or keep apart a suggested report, and turn an incident
into an announcement to its building in two taps (`ic:<ticket id>:<action>`)."""

from __future__ import annotations

import html

from bot.domain.vocabulary import NoticeAudience
from bot.handlers.announcements import queue_notice
from bot.handlers.base import Ctx
from bot.handlers.buttons import CARD, INCIDENT, CardButton, IncidentButton
from bot.handlers.cards import (
    card_buttons,
    card_text,
    group_translator,
    incident_of,
    post_cards,
    refresh_cards,
    topic_label,
)
from bot.handlers.flow import Press
from bot.handlers.presenters import team_label
from bot.i18n import Translator
from bot.messages import Button, Keyboard, Outgoing
from bot.services.dispatch import Dispatch
from bot.services.incidents import MEMBER, IncidentRefused, Incidents, IncidentView
from bot.services.lifecycle import OPEN_STATUSES, Status
from bot.services.notices import Audience, NoticeService
from bot.services.staff import Actor, NotAllowed
from storage.models import Incident, Notice, Ticket


# the resident ----------------------------------------------------------------------------
async def tell_known(ctx: Ctx, ticket: Ticket, lead: Ticket | None) -> None:
    """Right after a report joined an incident: what is known, and a way out."""
    view = await incident_of(ctx.desk, ticket)
    if view is None:
        return
    ctx.say(known_text(ctx.t, ctx, ticket, lead, view), other_button(ctx.t, ticket))


def known_text(
    t: Translator, ctx: Ctx, ticket: Ticket, lead: Ticket | None, view: IncidentView
) -> str:
    common = {
        "building": view.incident.building,
        "topic": topic_label(t, view),
        "number": ticket.number,
        "households": view.households,
        "team": team_label(t, ticket.team),
    }
    if lead is not None and lead.estimate_at is not None:
        eta = lead.estimate_at.astimezone(ctx.settings.tz).strftime("%H:%M")
        text = t("incident.known_eta", eta=eta, **common)
    elif lead is not None and lead.status != Status.NEW:
        text = t("incident.known_working", name=lead.assignee_name or "", **common)
    else:
        text = t("incident.known_new", **common)
    return text + "\n" + t("incident.ask_other")


def other_button(t: Translator, ticket: Ticket) -> Keyboard:
    data = INCIDENT.encode(IncidentButton.OTHER, ticket.id)
    return ((Button(t("incident.btn_other"), data),),)


def planned_text(ctx: Ctx, notice: Notice, incident: Incident) -> str:
    tz = ctx.settings.tz
    return ctx.t(
        "incident.planned_answer",
        building=incident.building,
        start=incident.starts_at.astimezone(tz).strftime("%H:%M") if incident.starts_at else "",
        end=incident.ends_at.astimezone(tz).strftime("%H:%M") if incident.ends_at else "",
        text=notice.text,
    )


async def _other(ctx: Ctx, ticket: Ticket) -> None:
    """Mine is something else: the report leaves the incident and gets its own card."""
    resident = await ctx.desk.resident(ctx.inc.user_id)
    if resident is None or ticket.resident_id != resident.id:
        ctx.toast(ctx.t("common.unknown_button"))
        return
    if ticket.incident_role != MEMBER or ticket.status not in OPEN_STATUSES:
        ctx.toast(ctx.t("incident.split_already", number=ticket.number), alert=True)
        return
    incidents = Incidents(ctx.desk)
    view = await incidents.view(ticket)
    lead_number = view.lead.number if view and view.lead else ""
    incident = await incidents.split(ticket)
    if ticket.status != Status.NEW:  # it had followed the lead; back to the team's pool
        await Dispatch(ctx.desk).follow(
            ticket, "reassign", None, assignee_id=None, assignee_name=None, accepted_at=None
        )
    ctx.toast()
    t = group_translator(ctx.desk)
    await post_cards(ctx.desk, ticket, extra=t("incident.split_card", number=lead_number))
    if incident is not None and view is not None and view.lead is not None:
        await refresh_cards(ctx.desk, view.lead)  # one report fewer
    team = team_label(ctx.t, ticket.team)
    ctx.edit(ctx.t("incident.split_done", number=ticket.number, team=team))


# staff -------------------------------------------------------------------------------------
async def _staff(ctx: Ctx, ticket: Ticket) -> Actor | None:
    actor = await Dispatch(ctx.desk).actor_for(ctx.inc.user_id, ticket, ctx.inc.user_name)
    if not actor.is_staff:
        ctx.toast(ctx.t("staff.not_allowed"), alert=True)
        return None
    return actor


async def _merge(ctx: Ctx, ticket: Ticket, actor: Actor) -> None:
    incidents = Incidents(ctx.desk)
    lead = await incidents.merge(ticket, actor)
    number = lead.number if lead else ""
    ctx.toast(ctx.t("incident.merged_toast", number=number))
    t = group_translator(ctx.desk)
    merged = t("incident.merged_card", number=number, name=actor.name)
    await refresh_cards(ctx.desk, ticket, extra=merged, retire=True)
    ctx.edit(card_text(t, ctx.desk, ticket, merged))
    if lead is not None:
        await refresh_cards(ctx.desk, lead)
    await _tell_resident_known(ctx, ticket, lead)


async def _tell_resident_known(ctx: Ctx, ticket: Ticket, lead: Ticket | None) -> None:
    """The merged report's resident hears, in their own language, what is known."""
    resident = await ctx.desk.resident_by_id(ticket.resident_id)
    view = await incident_of(ctx.desk, ticket)
    if resident is None or not resident.active or view is None:
        return
    t = Translator(resident.locale)
    out = Outgoing(
        chat_id=resident.telegram_id,
        text=known_text(t, ctx, ticket, lead, view),
        buttons=other_button(t, ticket),
    )
    await ctx.desk.enqueue(f"incident:{ticket.id}:merged", out)


async def _apart(ctx: Ctx, ticket: Ticket, actor: Actor) -> None:
    await Incidents(ctx.desk).keep_apart(ticket, actor)
    ctx.toast(ctx.t("incident.apart_toast"))
    t = group_translator(ctx.desk)
    ctx.edit(card_text(t, ctx.desk, ticket), card_buttons(t, ticket))
    await refresh_cards(ctx.desk, ticket, skip=(ctx.inc.chat_id, ctx.inc.message_id or 0))


async def _announce(ctx: Ctx, ticket: Ticket, actor: Actor) -> None:
    """First tap: the notice the building would get, with [send] and [back]."""
    service = NoticeService(ctx.desk)
    if not await service.may_compose(ctx.inc.user_id):
        ctx.toast(ctx.t("incident.notice_not_allowed"), alert=True)
        return
    view = await incident_of(ctx.desk, ticket)
    if view is None or not view.incident.building:
        ctx.toast(ctx.t("common.stale_button"))
        return
    if await _told_already(ctx, view.incident):
        return
    t = group_translator(ctx.desk)
    audience = Audience(NoticeAudience.BUILDING, ticket.property_id, view.incident.building)
    count = len(await service.recipients(audience, safety=False))
    preview = t(
        "incident.notice_preview",
        building=view.incident.building,
        count=count,
        text=_notice_text(t, ctx, ticket, view),
    )
    send = Button(
        t("incident.btn_announce_send", building=view.incident.building),
        INCIDENT.encode(IncidentButton.ANNOUNCE_SEND, ticket.id),
    )
    back = Button(t("card.btn_back"), CARD.encode(CardButton.BACK, ticket.id))
    ctx.toast()
    ctx.edit(card_text(t, ctx.desk, ticket, preview, view), ((send,), (back,)))


async def _announce_send(ctx: Ctx, ticket: Ticket, actor: Actor) -> None:
    """Second tap: the notice goes to the building through the announcements' outbox, once
    per incident (a double tap or a second group's press is told it went already)."""
    service = NoticeService(ctx.desk)
    view = await incident_of(ctx.desk, ticket)
    if view is None or not view.incident.building:
        ctx.toast(ctx.t("common.stale_button"))
        return
    if await _told_already(ctx, view.incident):
        _card_again(ctx, ticket, view)  # the preview's [send] goes
        return
    try:
        composer = await service.composer(ctx.inc.user_id)
        t = group_translator(ctx.desk)
        audience = Audience(NoticeAudience.BUILDING, ticket.property_id, view.incident.building)
        notice = await service.create(
            composer, audience, _notice_text(t, ctx, ticket, view), None, False
        )
    except NotAllowed:
        ctx.toast(ctx.t("incident.notice_not_allowed"), alert=True)
        return
    # The incident records its one notice before anything is sent: two presses at once
    # both got past the check above, and only the first to record it sends.
    if not await Incidents(ctx.desk).record_announcement(view.incident, notice):
        await _told_already(ctx, view.incident)
        _card_again(ctx, ticket, view)
        return
    started = await service.start(notice.id)
    if started is None:
        ctx.toast(ctx.t("common.stale_button"))
        return
    await queue_notice(ctx.desk, started.notice, started.residents)
    sent = t(
        "incident.notice_sent",
        id=notice.id,
        building=view.incident.building,
        count=len(started.residents),
    )
    ctx.toast(sent, alert=True)
    ctx.edit(card_text(t, ctx.desk, ticket, sent, view), card_buttons(t, ticket, view))


async def _told_already(ctx: Ctx, incident: Incident) -> bool:
    """True, with the answer, when the building was sent its notice about the incident."""
    notice = await Incidents(ctx.desk).announcement(incident)
    if notice is None:
        return False
    told = ctx.t(
        "incident.notice_sent_already",
        id=notice.id,
        building=incident.building,
        name=notice.author_name,
    )
    ctx.toast(told, alert=True)
    return True


def _card_again(ctx: Ctx, ticket: Ticket, view: IncidentView) -> None:
    t = group_translator(ctx.desk)
    ctx.edit(card_text(t, ctx.desk, ticket, "", view), card_buttons(t, ticket, view))


def _notice_text(t: Translator, ctx: Ctx, ticket: Ticket, view: IncidentView) -> str:
    """The notice's words as plain text, like a typed notice's: the preview and the notice's
    render escape them once (kept escaped, a building "A&B" reached residents as "A&amp;B")."""
    common = {"building": view.incident.building, "topic": topic_label(t, view)}
    if ticket.estimate_at is not None:
        eta = ticket.estimate_at.astimezone(ctx.settings.tz).strftime("%H:%M")
        return html.unescape(t("incident.notice_text_eta", eta=eta, **common))
    working = ticket.status != Status.NEW
    key = "incident.notice_text_working" if working else "incident.notice_text_new"
    return html.unescape(t(key, **common))


# the button family -------------------------------------------------------------------------
async def on_callback(ctx: Ctx, press: Press) -> None:
    ticket = await ctx.desk.ticket(press.subject_id)
    if ticket is None:
        ctx.toast(ctx.t("common.unknown_button"))
        return
    if press.action == IncidentButton.OTHER:
        await _other(ctx, ticket)
        return
    if not ctx.inc.is_group_chat and not ctx.inc.is_private:
        return
    actor = await _staff(ctx, ticket)
    if actor is None:
        return
    action = {
        IncidentButton.MERGE: _merge,
        IncidentButton.APART: _apart,
        IncidentButton.ANNOUNCE: _announce,
        IncidentButton.ANNOUNCE_SEND: _announce_send,
    }[IncidentButton(press.action)]
    try:
        await action(ctx, ticket, actor)
    except NotAllowed as exc:  # another team's report: refused as its card's buttons are
        ctx.toast(ctx.t(exc.reason), alert=True)
    except IncidentRefused as exc:
        ctx.toast(ctx.t(exc.reason), alert=True)
        if exc.reason == "incident.merge_closed":  # the card loses the stale merge row
            t = group_translator(ctx.desk)
            ctx.edit(card_text(t, ctx.desk, ticket), card_buttons(t, ticket))
