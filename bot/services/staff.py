"""Teams, staff members and invites. Who may do what is `bot.domain.policy`."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.domain.policy import (
    INVITE_DAYS,
    Actor,
    may_bind,
    may_invite,
    may_list_team,
    may_remove,
    may_remove_anyone,
)
from bot.domain.vocabulary import ROLES, TEAMS
from bot.services.desk import Desk, uow_of
from storage.models import Invite, Property, StaffMember, Team

__all__ = ["INVITE_DAYS", "ROLES", "Actor", "Binding", "NotAllowed", "StaffService"]

# No 0/O/1/I: codes are read aloud and typed by hand.
_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


class NotAllowed(Exception):
    """The actor may not do this; the message is a locale key for a short refusal."""

    def __init__(self, reason: str = "staff.not_allowed") -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Binding:
    team: str
    property_name: str
    thread_id: int | None


class StaffService:
    """Teams, their chats and their members, inside the desk's unit of work."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.uow = uow_of(desk)

    # actors ----------------------------------------------------------------------------
    async def actor(self, telegram_id: int, property_id: int | None, name: str = "") -> Actor:
        memberships = [
            m
            for m in await self.uow.staff.memberships(telegram_id)
            if property_id is None or m.property_id == property_id
        ]
        if memberships and property_id is None:
            property_id = memberships[0].property_id
        return Actor(
            telegram_id=telegram_id,
            name=(memberships[0].name if memberships else "") or name,
            property_id=property_id,
            roles={m.team: m.role for m in memberships if m.property_id == property_id},
            settings_admin=telegram_id in self.desk.settings.admin_ids,
        )

    async def is_staff(self, telegram_id: int) -> bool:
        if telegram_id in self.desk.settings.admin_ids:
            return True
        return bool(await self.uow.staff.memberships(telegram_id))

    async def property_for(self, code: str | None) -> Property | None:
        """A property by code, or the only/first one when no code is given."""
        if code:
            return await self.uow.properties.by_code(code)
        properties = await self.uow.properties.all()
        return properties[0] if properties else None

    # teams and chats -------------------------------------------------------------------
    async def bind(
        self, actor: Actor, prop: Property, team: str, chat_id: int, thread_id: int | None
    ) -> Binding:
        if not may_bind(actor):
            raise NotAllowed("staff.admin_only")
        if team not in TEAMS:
            raise NotAllowed("staff.unknown_team")
        row = await self.uow.teams.ensure(prop.id, team)
        row.chat_id, row.thread_id = chat_id, thread_id
        row.bound_by, row.bound_at = actor.telegram_id, self.desk.now()
        await self.uow.session.flush()
        return Binding(team, prop.name, thread_id)

    async def unbind(self, actor: Actor, chat_id: int, team: str | None) -> list[str]:
        if not may_bind(actor):
            raise NotAllowed("staff.admin_only")
        unbound = []
        for row in await self.uow.teams.bound_to(chat_id):
            if team is None or row.code == team:
                row.chat_id = row.thread_id = None
                unbound.append(row.code)
        await self.uow.session.flush()
        return unbound

    async def escalation_contacts(self, property_id: int, team: str) -> Sequence[StaffMember]:
        """The team's leads and the property's managers: who hears about overdue work."""
        return await self.uow.staff.escalation_contacts(property_id, team)

    async def teams_of_chat(self, chat_id: int) -> Sequence[Team]:
        return await self.uow.teams.bound_to(chat_id)

    async def team_chat(self, property_id: int, team: str) -> Team | None:
        row = await self.uow.teams.get(property_id, team)
        return row if row is not None and row.chat_id is not None else None

    # invites and members ---------------------------------------------------------------
    async def invite(self, actor: Actor, prop: Property, team: str, role: str) -> Invite:
        if team not in TEAMS or role not in ROLES:
            raise NotAllowed("staff.unknown_team")
        if not may_invite(actor, team, role):
            raise NotAllowed("staff.command_not_allowed")
        now = self.desk.now()
        invite = Invite(
            code="".join(secrets.choice(_CODE_ALPHABET) for _ in range(8)),
            property_id=prop.id,
            team=team,
            role=role,
            created_by=actor.telegram_id,
            created_at=now,
            expires_at=now + timedelta(days=INVITE_DAYS),
        )
        return await self.uow.invites.add(invite)

    async def join(
        self, code: str, telegram_id: int, name: str, username: str | None
    ) -> StaffMember | None:
        """Redeem a one-time code; None when it is unknown, used or expired."""
        invite = await self.uow.invites.redeem(code.strip().upper(), telegram_id, self.desk.now())
        if invite is None:
            return None
        now = self.desk.now()
        member = await self.uow.staff.member(invite.property_id, invite.team, telegram_id)
        if member is None:
            member = StaffMember(
                property_id=invite.property_id,
                team=invite.team,
                telegram_id=telegram_id,
                created_at=now,
                updated_at=now,
            )
            await self.uow.staff.add(member)
        member.name, member.username = name[:64], (username or None)
        member.role, member.active, member.invited_by = invite.role, True, invite.created_by
        member.updated_at = now
        await self.uow.session.flush()
        return member

    async def members(self, actor: Actor, prop: Property, team: str) -> Sequence[StaffMember]:
        if team not in TEAMS:
            raise NotAllowed("staff.unknown_team")
        if not may_list_team(actor, team):
            raise NotAllowed("staff.command_not_allowed")
        return await self.uow.staff.of_team(prop.id, team)

    async def remove(
        self, actor: Actor, prop: Property, telegram_id: int, team: str | None
    ) -> list[StaffMember]:
        """Deactivate someone's memberships (of one team, or all the actor may touch)."""
        if not may_remove_anyone(actor):
            raise NotAllowed("staff.command_not_allowed")
        removed = []
        for member in await self.uow.staff.memberships(telegram_id):
            if member.property_id != prop.id or (team is not None and member.team != team):
                continue
            if not may_remove(actor, member.telegram_id, member.team, member.role):
                raise NotAllowed("staff.command_not_allowed")
            member.active, member.updated_at = False, self.desk.now()
            removed.append(member)
        await self.uow.session.flush()
        return removed
