"""The personal-data rules of the policy module, one function each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.domain.policy import (
    Actor,
    may_see_full_phone,
    phones_masked_in,
    retention_cutoff,
)


@dataclass
class FakeTicket:
    property_id: int = 1
    team: str = "engineering"
    assignee_id: int | None = None


def test_phones_are_masked_everywhere_but_private_chats() -> None:
    assert not phones_masked_in("private")
    assert all(phones_masked_in(kind) for kind in ("group", "supergroup", "channel"))


def test_full_number_only_privately_to_who_may_contact() -> None:
    member = Actor(1, "m", 1, {"engineering": "staff"})
    other_team = Actor(2, "o", 1, {"environment": "staff"})
    manager = Actor(3, "g", 1, {"managers": "manager"})
    ticket = FakeTicket()
    assert may_see_full_phone(member, ticket, "private")
    assert may_see_full_phone(manager, ticket, "private")
    assert not may_see_full_phone(member, ticket, "supergroup")
    assert not may_see_full_phone(manager, ticket, "group")
    assert not may_see_full_phone(other_team, ticket, "private")
    taken = FakeTicket(assignee_id=99)  # someone else's ticket: their number is theirs to call
    assert not may_see_full_phone(member, taken, "private")


def test_retention_cutoff() -> None:
    now = datetime(2026, 12, 7, tzinfo=UTC)
    assert retention_cutoff(now, None) is None
    assert retention_cutoff(now, 30) == now - timedelta(days=30)
