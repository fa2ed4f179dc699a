"""What `propdesk check` reports from the database: each property's teams and the group
chat each is bound to, and the people with the admin or manager role."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from bot.domain.vocabulary import TEAMS, Role
from storage.models import Property, StaffMember, Team
from storage.uow import UnitOfWork


@dataclass(frozen=True)
class Binding:
    property_code: str
    team: str
    chat_id: int | None  # None: not bound (its cards cannot be delivered)
    thread_id: int | None = None


@dataclass(frozen=True)
class Admin:
    property_code: str
    telegram_id: int
    name: str
    role: str


@dataclass(frozen=True)
class SetupReport:
    bindings: list[Binding]
    admins: list[Admin]


async def setup_report(uow: UnitOfWork, property_codes: list[str]) -> SetupReport:
    """Every team of every configured property, bound or not; active admins and managers."""
    session = uow.session
    rows = (await session.execute(select(Property.code, Team).join(Team))).all()
    bound = {(code, team.code): team for code, team in rows}
    bindings = []
    for code in property_codes:
        for team_code in TEAMS:
            team = bound.get((code, team_code))
            chat = team.chat_id if team is not None else None
            thread = team.thread_id if team is not None else None
            bindings.append(Binding(code, team_code, chat, thread))
    query = (
        select(Property.code, StaffMember)
        .join(StaffMember)
        .where(StaffMember.active, StaffMember.role.in_([Role.ADMIN, Role.MANAGER]))
        .order_by(Property.code, StaffMember.telegram_id)
    )
    admins = [
        Admin(code, m.telegram_id, m.name, m.role) for code, m in (await session.execute(query))
    ]
    return SetupReport(bindings, admins)
