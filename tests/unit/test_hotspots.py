"""Hot spots: each rule triggered and not triggered, on both databases.

Now is the 28th of November 2026 at 00:30 UTC; the window is the 30 days before.

- 3栋2单元 repair ×3 (resident 501, days 1, 5 and 20 ago): the place and the resident rules
- 3栋2单元 cleaning ×2 (resident 502): neither (two are not three)
- 1栋1单元 inquiry: two in the window and one 40 days ago: neither
- 2栋 (no units) complaint ×3 from two residents (301 twice, 302 once): the place rule only
- the other property's 3栋2单元 repair ×3: never shown for this property
- reopened: P1 twice in the window (shown), C1 once (not), I1 once in and once 45 days before
  (not)

SLA misses week over week (the last 7 days against the 7 before; a miss is the digest's: due
in the week, resolved late or accepted late, or past its resolution deadline unresolved):

- repair: 3 in the last week (resolved late; accepted late; unresolved past due) against 1:
  shown
- complaint: 2 (one past due and cancelled only after the week's end counts) against 0: shown
- cleaning: 2 against 2: not (no growth)
- security: 1 against 0: not (below two)
- parking: 2 due in the last week, resolved in time and a cancelled one: not (no miss)
- the other property's repair ×4: never shown
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import App
from bot.clock import FixedClock
from bot.config import Settings
from bot.domain.policy import hotspot_weeks, sla_misses_grew
from bot.handlers.digests import HOTSPOT_LINES, HOTSPOT_NUMBERS, hotspots_text, plain_text
from bot.i18n import Translator
from bot.services.hotspots import Hotspots, MissesGrew, hotspots_of
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
                # far ahead: these tickets miss no deadline (the SLA rule has its own test)
                resolution_due_at=created + timedelta(days=365),
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
                        kind="status",  # a reopen, as Dispatch records it
                        old_value="resolved",
                        new_value="new",
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


# SLA misses: name -> (property, category, hours before NOW the resolution fell due, how the
# ticket ended: "late" resolved after the deadline, "slow" accepted after the response
# deadline, "open" unresolved, "ok" in time, "cancelled" before the deadline, "cancelled_after"
# after the week's end)
MISSES = {
    "R1": ("sunshine", "repair", 30, "late"),
    "R2": ("sunshine", "repair", 50, "slow"),
    "R3": ("sunshine", "repair", 100, "open"),
    "R0": ("sunshine", "repair", 200, "late"),  # the week before
    "K1": ("sunshine", "complaint", 20, "open"),
    "K2": ("sunshine", "complaint", 60, "cancelled_after"),
    "C1": ("sunshine", "cleaning", 10, "late"),
    "C2": ("sunshine", "cleaning", 40, "open"),
    "C8": ("sunshine", "cleaning", 180, "open"),
    "C9": ("sunshine", "cleaning", 300, "slow"),
    "S1": ("sunshine", "security", 30, "open"),
    "Q1": ("sunshine", "parking", 30, "ok"),
    "Q2": ("sunshine", "parking", 40, "cancelled"),
    **{f"X{i}": ("other", "repair", 10 * i, "open") for i in range(1, 5)},
}


async def seed_misses(uow_factory: UnitOfWorkFactory) -> dict[str, str]:
    numbers: dict[str, str] = {}
    async with uow_factory() as uow:
        props = {
            "sunshine": await uow.properties.by_code("sunshine"),
            "other": await uow.properties.add(Property(code="other", name="Other")),
        }
        for i, (name, (code, category, hours, end)) in enumerate(MISSES.items(), start=1):
            prop = props[code]
            assert prop is not None
            due = NOW - timedelta(hours=hours)
            created = due - timedelta(days=1)
            accepted = created + timedelta(hours=2 if end == "slow" else 0, minutes=10)
            resolved = {"late": due + timedelta(hours=1), "slow": due - timedelta(hours=1)}
            ticket = Ticket(
                number=f"20261101-{i:04d}",
                property_id=prop.id,
                category=category,
                urgency="normal",
                team="engineering",
                status="cancelled" if end.startswith("cancelled") else "accepted",
                created_at=created,
                updated_at=created,
                accepted_at=None if end.startswith("cancelled") else accepted,
                resolved_at=resolved.get(end, due - timedelta(hours=2) if end == "ok" else None),
                closed_at={
                    "cancelled": created + timedelta(hours=1),
                    "cancelled_after": NOW + timedelta(hours=1),
                }.get(end),
                response_due_at=created + timedelta(minutes=30),
                resolution_due_at=due,
            )
            await uow.tickets.add(ticket)
            numbers[name] = ticket.number
        await uow.commit()
    return numbers


async def test_sla_misses_that_grew_week_over_week(app: App) -> None:
    n = await seed_misses(app.uow_factory)
    async with app.uow_factory() as uow:
        prop = await uow.properties.by_code("sunshine")
        assert prop is not None
        found = await hotspots_of(uow.session, prop.id, NOW)
    assert found.misses_grew == [
        MissesGrew("repair", (n["R3"], n["R2"], n["R1"]), 1),
        MissesGrew("complaint", (n["K2"], n["K1"]), 0),
    ]
    assert not found.empty and found.places == [] and found.reopened == []

    text = plain_text(hotspots_text(Translator("en"), prop, found))
    assert "SLA misses grew week over week" in text
    assert (
        f"Repair: 3 missed in the last 7 days (the 7 before: 1): {n['R3']}, {n['R2']}, {n['R1']}"
        in text
    )
    for quiet in ("C1", "C2", "S1", "Q1", "Q2", "X1"):
        assert n[quiet] not in text
    zh = plain_text(hotspots_text(Translator("zh-CN"), prop, found))
    assert f"近 7 天超时 2 单（此前 7 天 0 单）：{n['K2']}、{n['K1']}" in zh

    # a week later the same misses are the week before: nothing grew
    async with app.uow_factory() as uow:
        later = await hotspots_of(uow.session, prop.id, NOW + timedelta(days=7))
    assert later.misses_grew == []


def test_the_growth_rule() -> None:
    assert sla_misses_grew(3, 1) and sla_misses_grew(2, 0)
    assert not sla_misses_grew(2, 2)  # as many as the week before
    assert not sla_misses_grew(1, 0)  # one late ticket is no trend
    assert not sla_misses_grew(2, 5)
    (latest_start, latest_end), (before_start, before_end) = hotspot_weeks(NOW)
    assert latest_end == NOW and latest_start == before_end == NOW - timedelta(days=7)
    assert before_start == NOW - timedelta(days=14)


def test_a_long_list_is_cut_to_fit_a_message() -> None:
    numbers = tuple(f"20261120-{i:04d}" for i in range(1, 10))
    many = Hotspots(
        start=NOW - timedelta(days=30),
        end=NOW,
        places=[Recurrence(f"{b}栋1单元", "repair", numbers) for b in range(1, 13)],
        reopened=[],
        residents=[],
        misses_grew=[],
    )
    prop = Property(code="sunshine", name="阳光花园")
    lines = plain_text(hotspots_text(Translator("en"), prop, many)).splitlines()
    items = [line for line in lines if "Repair ×9" in line]
    assert len(items) == HOTSPOT_LINES and "… and 4 more" in lines
    shown = ", ".join(numbers[:HOTSPOT_NUMBERS])
    assert items[0] == f"1栋1单元 · Repair ×9: {shown} … (+3)"
    assert len(hotspots_text(Translator("zh-CN"), prop, many)) < 4096
