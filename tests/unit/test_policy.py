"""The desk's rules, each asked of its one function in bot.domain.policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.config import Settings
from bot.domain import policy
from bot.domain.policy import Actor
from bot.domain.vocabulary import CardAction, Hazard, SendPriority, Team, Urgency
from bot.nlp import codes


@dataclass
class FakeTicket:
    property_id: int = 1
    team: str = "engineering"
    assignee_id: int | None = None


def test_vocabulary_matches_the_classifier_codes() -> None:
    assert policy.DEFAULT_ROUTING.keys() == set(codes.CATEGORIES)
    assert tuple(Urgency) == codes.URGENCIES
    assert tuple(Hazard) == codes.HAZARDS
    assert set(policy.DEFAULT_SLA_MINUTES) == set(Urgency)
    assert set(policy.HAZARD_HOTLINE) == set(Hazard)


def test_who_may_press_accept() -> None:
    ticket = FakeTicket()
    member = Actor(1, "m", 1, {"engineering": "staff"})
    other_team = Actor(2, "o", 1, {"environment": "lead"})
    other_property = Actor(3, "p", 2, {"engineering": "lead"})
    manager = Actor(4, "g", 1, {"managers": "manager"})
    assert policy.may_act_on_ticket(member, ticket, CardAction.ACCEPT)
    assert policy.may_act_on_ticket(manager, ticket, CardAction.ACCEPT)
    assert not policy.may_act_on_ticket(other_team, ticket, CardAction.ACCEPT)
    assert not policy.may_act_on_ticket(other_property, ticket, CardAction.ACCEPT)
    assert not policy.may_act_on_ticket(member, ticket, "forged")


def test_working_on_a_ticket_is_the_assignees_or_a_leads() -> None:
    ticket = FakeTicket(assignee_id=1)
    assignee = Actor(1, "a", 1, {"engineering": "staff"})
    colleague = Actor(2, "c", 1, {"engineering": "staff"})
    lead = Actor(3, "l", 1, {"engineering": "lead"})
    for action in (CardAction.START, CardAction.WAIT, CardAction.ESTIMATE, CardAction.COMPLETE):
        assert policy.may_act_on_ticket(assignee, ticket, action)
        assert policy.may_act_on_ticket(lead, ticket, action)
        assert not policy.may_act_on_ticket(colleague, ticket, action)


def test_when_the_resident_is_asked_for_a_rating(settings: Settings) -> None:
    confirmed = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
    due = policy.rating_request_due(confirmed, settings)
    assert (due - confirmed).total_seconds() == settings.rating.delay_minutes * 60
    assert policy.quiet_until(due, settings) is None
    late = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai: quiet hours
    morning = policy.quiet_until(late, settings)
    assert morning is not None
    assert morning.astimezone(settings.tz).strftime("%H:%M") == settings.quiet_hours.end


def test_what_makes_a_ticket_an_emergency() -> None:
    assert policy.opens_as_emergency("emergency", resident_pressed_alarm=False)
    assert policy.opens_as_emergency("normal", resident_pressed_alarm=True)
    assert not policy.opens_as_emergency("high", resident_pressed_alarm=False)


def test_emergencies_also_go_to_managers() -> None:
    assert policy.card_teams("engineering", "emergency") == ("engineering", Team.MANAGERS)
    assert policy.card_teams("engineering", "high") == ("engineering",)
    assert policy.card_teams("managers", "emergency") == ("managers",)


def test_hazard_picks_hotline_and_advice() -> None:
    lines = {"gas": "96777", "property": "8888"}
    assert policy.hotline_for(lines, "gas") == "96777"
    assert policy.hotline_for(lines, "fire") == "8888"  # the duty line stands in
    assert policy.hotline_for(lines, "water") == "8888"
    assert policy.safety_advice_key("lift") == "safety.lift"
    assert policy.safety_advice_key(None) == "safety.other"


def test_staff_administration_rights() -> None:
    admin = Actor(1, "a", 1, settings_admin=True)
    manager = Actor(2, "m", 1, {"managers": "manager"})
    lead = Actor(3, "l", 1, {"engineering": "lead"})
    staff = Actor(4, "s", 1, {"engineering": "staff"})
    assert policy.may_bind(admin) and not policy.may_bind(manager)
    assert policy.may_invite(manager, "engineering", "lead")
    assert not policy.may_invite(manager, "engineering", "admin")
    assert policy.may_invite(lead, "engineering", "staff")
    assert not policy.may_invite(lead, "environment", "staff")
    assert policy.may_remove(lead, 4, "engineering", "staff")
    assert not policy.may_remove(lead, 3, "engineering", "lead")  # not oneself
    assert policy.may_list_team(lead, "engineering") and not policy.may_list_team(staff, "x")
    assert policy.may_read_stats(manager) and not policy.may_read_stats(lead)
    assert policy.may_record_visit(manager) and not policy.may_record_visit(lead)
    assert policy.may_remove_anyone(lead) and not policy.may_remove_anyone(staff)


def test_which_messages_leave_first() -> None:
    assert policy.new_card_priority(Urgency.EMERGENCY) == SendPriority.URGENT
    assert policy.new_card_priority(Urgency.HIGH) == SendPriority.CARD
    assert policy.reminder_priority(Urgency.EMERGENCY) == SendPriority.URGENT
    assert policy.reminder_priority(Urgency.NORMAL) == SendPriority.ROUTINE
    # replies to people talking go before cards, bulk goes last
    assert SendPriority.URGENT < SendPriority.REPLY < SendPriority.CARD < SendPriority.BULK
