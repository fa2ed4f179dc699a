"""Ticket cards in team groups and notices to residents, rendered from locale files
and written to the outbox in the caller's transaction.

Photos always travel in their own message, before the text: a card must stay a text
message so it can be edited, and a photo message cannot take editMessageText.
"""

from __future__ import annotations

import logging
import secrets

from bot.domain.policy import card_teams, new_card_priority, offers_faq_draft
from bot.domain.vocabulary import Channel, DutyCall, Team
from bot.handlers.base import shorten
from bot.handlers.buttons import (
    CARD,
    INCIDENT,
    RESOLVED,
    CardButton,
    IncidentButton,
    ResolvedButton,
)
from bot.handlers.presenters import (
    category_label,
    channel_label,
    duration,
    local_time,
    team_label,
    urgency_label,
)
from bot.i18n import Masked, Translator
from bot.messages import Button, Keyboard, Outgoing
from bot.services.cards import CardBook
from bot.services.desk import Desk
from bot.services.duty import DutyService
from bot.services.incidents import LEAD, MEMBER, SUGGESTED, Incidents, IncidentView
from bot.services.lifecycle import OPEN_STATUSES, Status
from bot.services.phones import mask_phone, mask_phones_in
from bot.services.staff import StaffService
from storage.models import Resident, StaffMember, Ticket

log = logging.getLogger(__name__)

CARD_DESCRIPTION_LIMIT = 1500
# What a person typed for a card's extra line or a reply under it (a reason, more
# information): with the description's 1,500 it keeps a card under Telegram's 4,096
# characters, which would otherwise refuse the card for good.
QUOTE_LIMIT = 1000
REPLY_QUOTE_LIMIT = 3500  # a reply under a card holds little else
ICONS: dict[str, str] = {
    "engineering": "🔧",
    "environment": "🧹",
    "security": "🛡",
    "finance": "💰",
    "service": "💁",
    "managers": "📋",
}


def group_translator(desk: Desk) -> Translator:
    """Groups are shared by many people: they read the property's default locale, and every
    phone number a person typed into a text is masked there (`policy.phones_masked_in`)."""
    return Translator(desk.settings.locale, redact=mask_phones_in)


# card text -----------------------------------------------------------------------------
def card_text(
    t: Translator,
    desk: Desk,
    ticket: Ticket,
    extra: str = "",
    incident: IncidentView | None = None,
) -> str:
    tz = desk.settings.tz
    head_key = "card.head_emergency" if ticket.urgency == "emergency" else "card.head"
    lines = [
        t(
            head_key,
            icon=ICONS.get(ticket.team, "📌"),
            number=Masked(ticket.number),
            category=category_label(t, ticket.category),
            urgency=urgency_label(t, ticket.urgency),
            team=team_label(t, ticket.team),
        ),
        t(
            "card.contact",
            address=ticket.address,
            name=ticket.contact_name,
            phone=Masked(mask_phone(ticket.contact_phone)) if ticket.contact_phone else "",
        ),
        t("card.description", text=shorten(t.redact(ticket.description), CARD_DESCRIPTION_LIMIT)),
    ]
    if ticket.channel and ticket.channel != Channel.TELEGRAM:  # registered by staff
        lines.insert(
            2,
            t(
                "card.registered",
                channel=channel_label(t, ticket.channel),
                name=ticket.registered_by_name or "",
            ),
        )
    if ticket.photo_file_ids:
        lines.append(t("report.photos", count=len(ticket.photo_file_ids)))
    lines.append(
        t(
            "card.deadlines",
            response=local_time(ticket.response_due_at, tz),
            resolution=local_time(ticket.resolution_due_at, tz),
        )
    )
    sla = _sla_line(t, ticket)
    if sla:
        lines.append(sla)
    lines.append(_status_line(t, desk, ticket))
    if extra:
        lines.append(extra)
    head = incident_line(t, ticket, incident)
    return "\n".join([head, *lines] if head else lines)


def quoted(t: Translator, text: str, limit: int = QUOTE_LIMIT) -> Masked:
    """`text` as a group may read it, shortened: masked before it is cut, so that a
    number cut short cannot slip past the masking."""
    return Masked(shorten(t.redact(text), limit))


# incidents -----------------------------------------------------------------------------
async def incident_of(desk: Desk, ticket: Ticket) -> IncidentView | None:
    """What the card shows of the ticket's incident (None: in none)."""
    if ticket.incident_id is None:
        return None
    return await Incidents(desk).view(ticket)


async def left_incident(desk: Desk, ticket: Ticket) -> None:
    """A withdrawn report (cancelled from /my, or by /forgetme) of an incident: a first
    report hands the incident and its card to the next open report; any other stops
    counting on the lead's card."""
    incidents = Incidents(desk)
    view = await incidents.view(ticket)
    if view is None:
        return
    new_lead = await incidents.after_cancel(ticket)
    if new_lead is not None:
        t = group_translator(desk)
        await post_cards(desk, new_lead, extra=t("incident.lead_moved", number=ticket.number))
    elif view.lead is not None and view.lead.id != ticket.id:
        await refresh_cards(desk, view.lead)


def topic_label(t: Translator, view: IncidentView) -> str:
    return t(f"incident.topic_{view.incident.topic}")


def incident_line(t: Translator, ticket: Ticket, view: IncidentView | None) -> str:
    """ "3栋 停水 · 14 户报告" on the incident's card; a hint on a suggested report's."""
    if view is None:
        return ""
    building = view.incident.building or "-"
    if ticket.incident_role == LEAD:
        return t(
            "incident.card_line",
            building=building,
            topic=topic_label(t, view),
            households=view.households,
        )
    if ticket.incident_role == SUGGESTED and view.lead is not None:
        return t(
            "incident.card_suggested",
            number=view.lead.number,
            building=building,
            topic=topic_label(t, view),
        )
    return ""


def incident_buttons(t: Translator, ticket: Ticket, view: IncidentView | None) -> Keyboard:
    """[合并到 …] / [不是同一件事] on a suggested report; [📢 通知3栋] on an incident."""
    if view is None or ticket.status not in OPEN_STATUSES:
        return ()
    if ticket.incident_role == SUGGESTED and view.lead is not None:
        merge = t("incident.btn_merge", number=view.lead.number)
        return (
            (
                Button(merge, INCIDENT.encode(IncidentButton.MERGE, ticket.id)),
                Button(t("incident.btn_apart"), INCIDENT.encode(IncidentButton.APART, ticket.id)),
            ),
        )
    if ticket.incident_role == LEAD and view.incident.building:
        label = t("incident.btn_announce", building=view.incident.building)
        return ((Button(label, INCIDENT.encode(IncidentButton.ANNOUNCE, ticket.id)),),)
    return ()


def _sla_line(t: Translator, ticket: Ticket) -> str:
    """Where the ticket stands against its deadlines; changes only when the sweep moves it."""
    if ticket.status not in (Status.NEW, Status.ACCEPTED, Status.IN_PROGRESS):
        return ""
    if ticket.escalations > 0:
        return t("sla.card_resolution_overdue")
    if ticket.status == Status.NEW and ticket.sla_stage == "response_overdue":
        return t("sla.card_response_overdue")
    if ticket.status == Status.NEW and ticket.sla_stage == "remind":
        return t("sla.card_half")
    return ""


def _status_line(t: Translator, desk: Desk, ticket: Ticket) -> str:
    tz = desk.settings.tz
    name = ticket.assignee_name or ""
    if ticket.status == Status.ACCEPTED and ticket.accepted_at:
        return t("card.status_accepted", name=name, time=local_time(ticket.accepted_at, tz))
    if ticket.status == Status.IN_PROGRESS:
        return t("card.status_in_progress", name=name)
    if ticket.status == Status.RESOLVED and ticket.resolved_at:
        return t("card.status_resolved", name=name, time=local_time(ticket.resolved_at, tz))
    return t(f"card.status_{ticket.status}")


def card_buttons(t: Translator, ticket: Ticket, incident: IncidentView | None = None) -> Keyboard:
    """The next actions for the ticket's status, and its incident's; a closed ticket has none."""
    return (*_status_buttons(t, ticket), *incident_buttons(t, ticket, incident))


def _status_buttons(t: Translator, ticket: Ticket) -> Keyboard:

    def button(key: str, action: CardButton) -> Button:
        return Button(t(key), CARD.encode(action, ticket.id))

    b = {
        "acc": button("card.btn_accept", CardButton.ACCEPT),
        "re": button("card.btn_reassign", CardButton.REASSIGN_MENU),
        "ph": button("card.btn_contact", CardButton.CONTACT),
        "st": button("card.btn_start", CardButton.START),
        "done": button("card.btn_complete", CardButton.ASK_COMPLETE),
        "note": button("card.btn_note", CardButton.NOTE),
        "cat": button("card.btn_category", CardButton.CATEGORY_MENU),
        "urg": button("card.btn_urgency", CardButton.URGENCY_MENU),
    }
    if ticket.status == Status.NEW:
        return ((b["acc"], b["re"], b["ph"]), (b["cat"], b["urg"]))
    wait = button("sla.btn_wait", CardButton.WAIT)
    eta = button("sla.btn_eta", CardButton.ESTIMATE)
    if ticket.status == Status.WAITING:
        return ((b["st"], b["done"], b["re"]), (b["ph"], b["note"], eta), (b["cat"], b["urg"]))
    if ticket.status == Status.ACCEPTED:
        return (
            (b["st"], b["done"], b["re"]),
            (b["ph"], b["note"], wait, eta),
            (b["cat"], b["urg"]),
        )
    if ticket.status == Status.IN_PROGRESS:
        return ((b["done"], b["re"]), (b["ph"], b["note"], wait, eta), (b["cat"], b["urg"]))
    return closed_card_buttons(t, ticket)


def closed_card_buttons(t: Translator, ticket: Ticket) -> Keyboard:
    """What a finished card still offers: a resolved or closed inquiry can become an FAQ
    entry (kept on the card when it is retired at closing)."""
    if offers_faq_draft(ticket.category, ticket.status):
        return ((Button(t("faq_draft.btn_add"), CARD.encode(CardButton.FAQ, ticket.id)),),)
    return ()


# posting and editing cards -------------------------------------------------------------
async def post_cards(desk: Desk, ticket: Ticket, *, extra: str = "") -> int:
    """A fresh card in the ticket's team group, and in the managers' group for emergencies
    (and, outside business hours, in the private chat of the team's person on duty).

    Returns how many cards were queued; with no group bound the ticket still stands.
    """
    posted = 0
    # Outside business hours an emergency reaches the team's person on duty first, privately.
    for member in await DutyService(desk).to_call(ticket, DutyCall.CARD):
        posted += await post_private_card(desk, ticket, member, extra)
    for team in card_teams(ticket.team, ticket.urgency):
        posted += await _post_card(desk, ticket, team, extra)
    return posted


async def post_private_card(
    desk: Desk, ticket: Ticket, member: StaffMember, extra: str = ""
) -> int:
    """The card, with its working buttons, in a staff member's private chat (the person on
    duty). It is a live card like the group's: every change edits it, and its buttons act
    as they do in the group. Phones stay masked; Contact sends the number as usual."""
    t = group_translator(desk)
    book = CardBook(desk)
    key = await book.next_key(ticket)
    priority = new_card_priority(ticket.urgency)
    if ticket.photo_file_ids:
        photos = Outgoing(
            chat_id=member.telegram_id,
            text=t("card.photos_caption", number=ticket.number),
            photos=tuple(ticket.photo_file_ids),
        )
        await desk.enqueue(f"{key}:photos", photos, priority=priority)
    view = await incident_of(desk, ticket)
    card = Outgoing(
        chat_id=member.telegram_id,
        text=card_text(t, desk, ticket, extra or t("duty.card_private", name=member.name), view),
        buttons=card_buttons(t, ticket, view),
    )
    # Someone who never opened a private chat with the bot (403): their group is told.
    bound = await StaffService(desk).team_chat(ticket.property_id, ticket.team)
    hint = (
        Outgoing(
            chat_id=bound.chat_id,
            text=t("duty.unreachable", name=member.name, number=ticket.number),
            thread_id=bound.thread_id,
        )
        if bound is not None and bound.chat_id is not None
        else None
    )
    await book.record(ticket, ticket.team, member.telegram_id, None, key)
    await desk.enqueue(key, card, fallback=hint, priority=priority)
    return 1


async def alert_managers(desk: Desk, ticket: Ticket) -> int:
    """A ticket that became an emergency also goes to the managers' group (once)."""
    if await CardBook(desk).has_live_card_for(ticket, Team.MANAGERS):
        return 0
    return await _post_card(desk, ticket, Team.MANAGERS, "")


async def _post_card(desk: Desk, ticket: Ticket, team: str, extra: str) -> int:
    bound = await StaffService(desk).team_chat(ticket.property_id, team)
    if bound is None or bound.chat_id is None:
        log.warning("ticket %s: no group bound for team %s; card not posted", ticket.number, team)
        return 0
    t = group_translator(desk)
    book = CardBook(desk)
    key = await book.next_key(ticket)
    priority = new_card_priority(ticket.urgency)
    if ticket.photo_file_ids:
        photos = Outgoing(
            chat_id=bound.chat_id,
            text=t("card.photos_caption", number=ticket.number),
            photos=tuple(ticket.photo_file_ids),
            thread_id=bound.thread_id,
        )
        await desk.enqueue(f"{key}:photos", photos, priority=priority)
    view = await incident_of(desk, ticket)
    card = Outgoing(
        chat_id=bound.chat_id,
        text=card_text(t, desk, ticket, extra, view),
        buttons=card_buttons(t, ticket, view),
        thread_id=bound.thread_id,
    )
    await book.record(ticket, team, bound.chat_id, bound.thread_id, key)
    await desk.enqueue(key, card, priority=priority)
    return 1


async def refresh_cards(
    desk: Desk,
    ticket: Ticket,
    *,
    extra: str = "",
    skip: tuple[int, int | None] | None = None,
    retire: bool = False,
) -> None:
    """Edit every live card of the ticket to its current state (`skip` is the card the
    presser is looking at, edited directly in the reply). `retire` ends the cards."""
    t = group_translator(desk)
    view = await incident_of(desk, ticket)
    text = card_text(t, desk, ticket, extra, view)
    buttons = closed_card_buttons(t, ticket) if retire else card_buttons(t, ticket, view)
    book = CardBook(desk)
    for card in await book.live(ticket):
        if retire:
            book.retire(card)
        if skip is not None and (card.chat_id, card.message_id) == skip:
            continue
        edit = Outgoing(chat_id=card.chat_id, text=text, buttons=buttons)
        await desk.enqueue(f"edit:{card.id}:{secrets.token_hex(6)}", edit, edit_card=card.id)


async def retire_private_cards(desk: Desk, telegram_id: int, property_id: int) -> int:
    """Someone who left every team of a property: the cards in their private chat (on duty,
    handed to them) lose their buttons and stop following the ticket. How many."""
    t = group_translator(desk)
    book = CardBook(desk)
    cards = await book.live_in_chat(telegram_id, property_id)
    for card in cards:
        book.retire(card)
        ticket = await desk.ticket(card.ticket_id)
        if ticket is None:
            continue
        text = card_text(t, desk, ticket, t("card.access_ended"))
        edit = Outgoing(chat_id=card.chat_id, text=text)
        await desk.enqueue(f"edit:{card.id}:{secrets.token_hex(6)}", edit, edit_card=card.id)
    return len(cards)


async def reply_to_private_card(desk: Desk, ticket: Ticket, chat_id: int, text: str) -> bool:
    """A message under the live card someone already has in their private chat (the person
    on duty reminded of an emergency they were sent); False when they have none."""
    for card in await CardBook(desk).live(ticket):
        if card.chat_id == chat_id:
            message = Outgoing(chat_id=chat_id, text=text)
            key = f"re:{card.id}:{secrets.token_hex(6)}"
            await desk.enqueue(key, message, reply_to_card=card.id)
            return True
    return False


async def anonymise_cards(desk: Desk, ticket: Ticket) -> int:
    """Every card the ticket ever had, live or retired, is edited to its anonymised text
    (no name, address or description) and keeps no buttons. Photo albums sent before a
    card cannot be edited away."""
    t = group_translator(desk)
    text = card_text(t, desk, ticket, t("card.anonymised"))
    book = CardBook(desk)
    cards = await book.every(ticket)
    for card in cards:
        book.retire(card)
        edit = Outgoing(chat_id=card.chat_id, text=text)
        await desk.enqueue(f"anon:{card.id}:{secrets.token_hex(6)}", edit, edit_card=card.id)
    return len(cards)


async def reply_to_cards(desk: Desk, ticket: Ticket, text: str, photos: tuple[str, ...]) -> int:
    """A message under each live card (the resident added something, or cancelled); a
    report riding on an incident has none of its own, so it goes under the incident's."""
    carrier = ticket
    if ticket.incident_role == MEMBER:
        view = await incident_of(desk, ticket)
        carrier = view.lead if view is not None and view.lead is not None else ticket
    cards = await CardBook(desk).live(carrier)
    for card in cards:
        # No buttons here, so text and photos may share one message (or album + text).
        message = Outgoing(chat_id=card.chat_id, text=text, photos=photos, thread_id=card.thread_id)
        await desk.enqueue(f"re:{card.id}:{secrets.token_hex(6)}", message, reply_to_card=card.id)
    if not cards:
        log.warning("ticket %s has no live card to reply to", ticket.number)
    return len(cards)


# the resident --------------------------------------------------------------------------
async def notify_resident(
    desk: Desk,
    ticket: Ticket,
    key: str,
    *,
    buttons_for: str | None = None,
    photos: tuple[str, ...] = (),
    **params: object,
) -> None:
    """A notice in the resident's own language, in their private chat."""
    resident = await _resident(desk, ticket)
    if resident is None or not resident.active:
        return
    t = Translator(resident.locale)
    token = secrets.token_hex(6)
    if photos:  # separate, so the message with buttons stays editable text
        caption = t("card.photos_caption", number=ticket.number)
        album = Outgoing(chat_id=resident.telegram_id, text=caption, photos=photos)
        await desk.enqueue(f"res:{ticket.id}:{token}:p", album)
    buttons = _resident_buttons(t, ticket) if buttons_for == "resolved" else ()
    # Labels and times in the resident's own language; a template uses what it needs.
    common = {
        "number": ticket.number,
        "name": ticket.assignee_name or "",
        "team": team_label(t, ticket.team),
        "minutes": promised(t, desk, ticket),
        "due": local_time(ticket.resolution_due_at, desk.settings.tz),
    }
    text = t(key, **{**common, **params})
    await desk.enqueue(
        f"res:{ticket.id}:{token}",
        Outgoing(chat_id=resident.telegram_id, text=text, buttons=buttons),
    )


def _resident_buttons(t: Translator, ticket: Ticket) -> Keyboard:
    return (
        (
            Button(t("notify.btn_solved"), RESOLVED.encode(ResolvedButton.SOLVED, ticket.id)),
            Button(
                t("notify.btn_not_solved"), RESOLVED.encode(ResolvedButton.NOT_SOLVED, ticket.id)
            ),
        ),
    )


async def _resident(desk: Desk, ticket: Ticket) -> Resident | None:
    return await desk.resident_by_id(ticket.resident_id)


def promised(t: Translator, desk: Desk, ticket: Ticket) -> str:
    """How long the team has to respond, in words (for the resident)."""
    return duration(t, desk.sla.minutes(ticket.category, ticket.urgency)[0])
