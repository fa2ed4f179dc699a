"""The digest dataset: ten tickets around 2026-11-27 (Asia/Shanghai) with ratings, return
visits and survey answers, whose figures tests/unit/test_digest_figures.py computes by hand
(the table and the arithmetic are in that module's docstring)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from storage.models import (
    Property,
    Rating,
    ReturnVisit,
    StaffMember,
    SurveyResponse,
    Ticket,
    TicketEvent,
)
from storage.uow import UnitOfWorkFactory

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 28, 0, 30, tzinfo=UTC)  # 08:30 on the 28th, local


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ).astimezone(UTC)


Stamp = tuple[int, int, int] | None

# name: category, team, created, accepted, resolved, response due, resolution due
DATASET: dict[str, tuple[str, str, Stamp, Stamp, Stamp, Stamp, Stamp]] = {
    "T1": ("repair", "engineering", (27, 9, 0), (27, 9, 10), (27, 11, 0), (27, 9, 30), (27, 17, 0)),
    "T2": (
        "repair",
        "engineering",
        (27, 10, 0),
        (27, 10, 40),
        (27, 12, 0),
        (27, 10, 30),
        (27, 18, 0),
    ),
    "T3": (
        "cleaning",
        "environment",
        (27, 11, 0),
        (27, 11, 5),
        (27, 16, 0),
        (27, 12, 0),
        (27, 15, 0),
    ),
    "T4": ("complaint", "service", (27, 12, 0), (27, 12, 20), None, (27, 12, 30), (28, 12, 0)),
    "T5": ("repair", "engineering", (27, 22, 0), None, None, (27, 22, 30), (28, 6, 0)),
    "T6": ("repair", "engineering", (25, 10, 0), (25, 10, 20), None, (25, 10, 30), (26, 10, 0)),
    "T7": ("inquiry", "service", (26, 20, 0), (26, 20, 30), (27, 7, 0), (26, 21, 0), (27, 8, 0)),
    "T8": ("cleaning", "environment", (27, 13, 0), None, None, (27, 13, 30), (27, 21, 0)),
    "T9": ("repair", "engineering", (26, 9, 0), (26, 9, 15), None, (26, 9, 30), (27, 10, 0)),
    "T10": (
        "repair",
        "engineering",
        (27, 15, 0),
        (27, 15, 30),
        (28, 9, 0),
        (27, 15, 30),
        (28, 10, 0),
    ),
}


def _t(stamp: Stamp) -> datetime | None:
    return None if stamp is None else at(*stamp)


async def seed(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        [prop] = await uow.properties.all()
        other = await uow.properties.add(Property(code="other", name="Other"))
        ids: dict[str, int] = {}
        for i, (name, row) in enumerate(DATASET.items(), start=1):
            category, team, created, accepted, resolved, response_due, resolution_due = row
            status = "resolved" if resolved else ("accepted" if accepted else "new")
            ticket = Ticket(
                number=f"2026112{i % 10}-{i:04d}",
                property_id=prop.id,
                category=category,
                urgency="normal",
                team=team,
                description=f"{name} 描述 <b>&",
                status="cancelled" if name == "T8" else status,
                created_at=_t(created),
                updated_at=_t(created),
                accepted_at=_t(accepted),
                resolved_at=_t(resolved),
                closed_at=at(27, 14) if name == "T8" else None,
                response_due_at=_t(response_due),
                resolution_due_at=_t(resolution_due),
            )
            await uow.tickets.add(ticket)
            ids[name] = ticket.id
        await uow.tickets.add(
            Ticket(
                number="20261127-9999",
                property_id=other.id,
                category="repair",
                urgency="normal",
                team="engineering",
                created_at=at(27, 10),
                updated_at=at(27, 10),
                accepted_at=at(27, 10, 1),
                resolved_at=at(27, 10, 2),
                response_due_at=at(27, 11),
                resolution_due_at=at(27, 12),
            )
        )
        ratings = [
            ("T1", 5, at(27, 12)),
            ("T2", 2, at(27, 13)),
            ("T3", 1, at(27, 17)),
            ("T7", 4, at(27, 8)),
            ("T9", 5, at(26, 10)),
            ("T10", None, None),
        ]
        for name, stars, answered in ratings:
            status = "answered" if stars else "asked"
            due = answered or at(28, 9)
            uow.session.add(
                Rating(
                    ticket_id=ids[name],
                    resident_telegram_id=1,
                    status=status,
                    due_at=due,
                    stars=stars,
                    answered_at=answered,
                )
            )
        visits = [("T2", at(27, 15)), ("T3", None)]
        for name, recorded in visits:
            uow.session.add(
                ReturnVisit(
                    ticket_id=ids[name],
                    reason="low_rating",
                    status="done" if recorded else "open",
                    created_at=at(27, 13),
                    due_at=at(28, 13),
                    recorded_at=recorded,
                )
            )
        for resident, stars, answered in (
            (1, 4, at(27, 10)),
            (2, 5, at(27, 11)),
            (3, 3, at(26, 9)),
        ):
            uow.session.add(
                SurveyResponse(
                    period="2026-11",
                    property_id=prop.id,
                    resident_telegram_id=resident,
                    sent_at=at(25, 10),
                    stars=stars,
                    answered_at=answered,
                )
            )
        await uow.commit()


# Staff of the dataset: Telegram ids, and who holds which ticket (by number suffix).
LI, ZHANG, CHEN, WANG = 101, 102, 103, 104
HOLDERS = {
    "0001": LI,
    "0002": LI,
    "0006": LI,
    "0009": LI,
    "0010": WANG,
    "0003": ZHANG,
    "0004": CHEN,
    "0007": CHEN,
    "9999": LI,  # the other property's ticket
}


async def staff_the_dataset(uow_factory: UnitOfWorkFactory) -> None:
    """Who holds which ticket (HOLDERS), the staff list, and two reopenings: T2 on the 27th
    at 13:00, T1 on the 28th (tests/unit/test_performance.py computes the figures by hand)."""
    async with uow_factory() as uow:
        session = uow.session
        for suffix, holder in HOLDERS.items():
            await session.execute(
                update(Ticket).where(Ticket.number.like(f"%-{suffix}")).values(assignee_id=holder)
            )
        rows = (await session.execute(select(Ticket.number, Ticket.id))).all()
        numbers = {number[-4:]: ticket_id for number, ticket_id in rows}
        for suffix, moment in (("0002", at(27, 13)), ("0001", at(28, 10))):
            session.add(
                TicketEvent(  # a reopen, as Dispatch records it
                    ticket_id=numbers[suffix],
                    at=moment,
                    actor_kind="resident",
                    kind="status",
                    old_value="resolved",
                    new_value="new",
                )
            )
        [prop] = [p for p in await uow.properties.all() if p.code == "sunshine"]
        for telegram_id, name, team in (
            (LI, "李师傅", "engineering"),
            (WANG, "王师傅", "engineering"),
            (ZHANG, "张阿姨", "environment"),
            (CHEN, "陈客服", "service"),
        ):
            session.add(
                StaffMember(
                    property_id=prop.id,
                    team=team,
                    telegram_id=telegram_id,
                    name=name,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        await uow.commit()
