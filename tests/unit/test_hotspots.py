"""Hot spots: each rule triggered and not triggered, on both databases.

Now is the 28th of November 2026 at 00:30 UTC; the window is the 30 days before.

- 3栋2单元 repair ×3 (resident 501, days 1, 5 and 20 ago): the place and the resident rules
- 3栋2单元 cleaning ×2 (resident 502): neither (two are not three)
- 1栋1单元 inquiry: two in the window and one 40 days ago: neither
- 2栋 (no units) complaint ×3 from two residents (301 twice, 302 once): the place rule only
- the other property's 3栋2单元 repair ×3: never shown for this property
- reopened: P1 twice in the window (shown), C1 once (not), I1 once in and once 45 days before
  (not)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import App
from bot.clock import FixedClock
from bot.config import Settings
from bot.handlers.digests import hotspots_text, plain_text
from bot.i18n import Translator
from bot.services.hotspots import hotspots_of
from storage.models import Property, Resident, Ticket, TicketEvent
from storage.reports import Recurrence, Reopened
from storage.uow import UnitOfWorkFactory
from tests.support.people import fake_classify

NOW = datetime(2026, 11, 28, 0, 30, tzinfo=UTC)

# resident: (building, unit, room); tickets: name -> (resident, category, days ago)
RESIDENTS = {
    "r501": ("3栋", "2单元", "501"),
    "r502": ("3栋", "2单元", "502"),
    "r101": ("1栋", "1单元", "101"),
    "r301": ("2栋", "", "301"),
    "r302": ("2栋", "", "302"),
}
TICKETS = {
    "P1": ("r501", "repair", 20),
    "P2": ("r501", "repair", 5),
    "P3": ("r501", "repair", 1),
    "C1": ("r502", "cleaning", 3),
    "C2": ("r502", "cleaning", 2),
    "I0": ("r101", "inquiry", 40),
    "I1": ("r101", "inquiry", 3),
    "I2": ("r101", "inquiry", 2),
    "K1": ("r301", "complaint", 10),
    "K2": ("r301", "complaint", 9),
    "K3": ("r302", "complaint", 8),
}
REOPENS = {"P1": (1, 2), "C1": (1,), "I1": (2, 45)}  # days ago


async def seed(uow_factory: UnitOfWorkFactory) -> dict[str, str]:
    numbers: dict[str, str] = {}
    async with uow_factory() as uow:
        prop = await uow.properties.by_code("sunshine")
        other = await uow.properties.add(Property(code="other", name="Other"))
        assert prop is not None
        people: dict[str, int] = {}
        for i, (name, (building, unit, room)) in enumerate(RESIDENTS.items()):
            resident = Resident(
                telegram_id=7000 + i,
                property_id=prop.id,
                name=name,
                building=building,
                unit=unit,
                room=room,
                registered=True,
                created_at=NOW - timedelta(days=90),
                updated_at=NOW - timedelta(days=90),
            )
            uow.session.add(resident)
            await uow.session.flush()
            people[name] = resident.id
        stranger = Resident(
            telegram_id=7999,
            property_id=other.id,
            building="3栋",
            unit="2单元",
            room="501",
            registered=True,
            created_at=NOW - timedelta(days=90),
            updated_at=NOW - timedelta(days=90),
        )
        uow.session.add(stranger)
        await uow.session.flush()
        rows = [
            (name, people[who], prop.id, cat, days) for name, (who, cat, days) in TICKETS.items()
        ]
        rows += [(f"X{i}", stranger.id, other.id, "repair", i) for i in (1, 2, 3)]
        ids: dict[str, int] = {}
        for i, (name, resident_id, property_id, category, days) in enumerate(rows, start=1):
            created = NOW - timedelta(days=days, minutes=i)
            ticket = Ticket(
                number=f"20261100-{i:04d}",
                property_id=property_id,
                resident_id=resident_id,
                category=category,
                urgency="normal",
                team="engineering",
                created_at=created,
                updated_at=created,
                response_due_at=created + timedelta(minutes=30),
                resolution_due_at=created + timedelta(days=1),
            )
            await uow.tickets.add(ticket)
            ids[name], numbers[name] = ticket.id, ticket.number
        for name, days_ago in REOPENS.items():
            for days in days_ago:
                uow.session.add(
                    TicketEvent(
                        ticket_id=ids[name],
                        at=NOW - timedelta(days=days),
                        actor_kind="resident",
                        kind="reopen",
                    )
                )
        await uow.commit()
    return numbers


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    app = await App.create(settings, clock=FixedClock(NOW), classify=fake_classify)
    yield app
    await app.close()


async def test_each_rule_triggered_and_not(app: App) -> None:
    n = await seed(app.uow_factory)
    async with app.uow_factory() as uow:
        prop = await uow.properties.by_code("sunshine")
        assert prop is not None
        found = await hotspots_of(uow.session, prop.id, NOW)
    assert found.places == [
        Recurrence("2栋", "complaint", (n["K1"], n["K2"], n["K3"])),
        Recurrence("3栋2单元", "repair", (n["P1"], n["P2"], n["P3"])),
    ]
    assert found.residents == [Recurrence("3栋2单元501", "repair", (n["P1"], n["P2"], n["P3"]))]
    assert found.reopened == [Reopened(n["P1"], 2)]
    assert found.start == NOW - timedelta(days=30) and not found.empty

    text = plain_text(hotspots_text(Translator("en"), prop, found))
    assert f"3栋2单元 · Repair ×3: {n['P1']}, {n['P2']}, {n['P3']}" in text
    assert f"{n['P1']} reopened 2 times" in text
    assert n["C1"] not in text and n["I1"] not in text


async def test_nothing_recurs_on_a_quiet_property(app: App) -> None:
    await seed(app.uow_factory)
    async with app.uow_factory() as uow:
        prop = await uow.properties.by_code("sunshine")
        assert prop is not None
        # 60 days later everything above is out of the window
        found = await hotspots_of(uow.session, prop.id, NOW + timedelta(days=60))
    assert found.empty
    assert "Nothing recurred" in plain_text(hotspots_text(Translator("en"), prop, found))
