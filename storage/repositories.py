"""Repositories: queries over one session. They never commit; the unit of work does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    delete,
    exists,
    func,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage import hot
from storage.leadership import person_key, person_lock
from storage.models import (
    Building,
    Correction,
    DialogState,
    Invite,
    Notice,
    OutboxMessage,
    ProcessedUpdate,
    Property,
    Rating,
    Resident,
    ReturnVisit,
    ScheduledRun,
    StaffMember,
    SurveyResponse,
    Team,
    Ticket,
    TicketCard,
    TicketEvent,
)


class _Repo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _dialect(self) -> str:
        return self.session.bind.dialect.name if self.session.bind else "sqlite"

    def _insert(self, table: Any) -> Any:
        # ON CONFLICT is spelled the same on both, but each dialect has its own construct.
        return (pg_insert if self._dialect() == "postgresql" else sqlite_insert)(table)


class PropertyRepo(_Repo):
    async def by_code(self, code: str) -> Property | None:
        return await self.session.scalar(select(Property).where(Property.code == code))

    async def get(self, property_id: int) -> Property | None:
        return await self.session.get(Property, property_id)

    async def all(self) -> Sequence[Property]:
        return (await self.session.scalars(select(Property).order_by(Property.id))).all()

    async def add(self, prop: Property) -> Property:
        self.session.add(prop)
        await self.session.flush()
        return prop

    async def buildings(self, property_id: int) -> Sequence[Building]:
        query = (
            select(Building)
            .where(Building.property_id == property_id)
            .order_by(Building.position, Building.id)
        )
        return (await self.session.scalars(query)).all()

    async def replace_buildings(self, property_id: int, buildings: list[Building]) -> None:
        for old in await self.buildings(property_id):
            await self.session.delete(old)
        await self.session.flush()
        for building in buildings:
            building.property_id = property_id
            self.session.add(building)
        await self.session.flush()


class ResidentRepo(_Repo):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        # One update asks for its person several times (locale, reachability, the handler):
        # found once per unit of work, while the row is still in the session.
        self._found: dict[int, Resident] = {}

    async def by_telegram_id(self, telegram_id: int) -> Resident | None:
        known = self._found.get(telegram_id)
        if known is not None and inspect(known).persistent:
            return known
        found = await self.session.scalar(
            hot.resident_by_telegram_id(), {"p_telegram_id": telegram_id}
        )
        if found is not None:
            self._found[telegram_id] = found
        return found

    async def get(self, resident_id: int) -> Resident | None:
        return await self.session.get(Resident, resident_id)

    async def add(self, resident: Resident) -> Resident:
        self.session.add(resident)
        await self.session.flush()
        return resident

    async def active_ids(self, property_id: int | None = None) -> list[int]:
        """Telegram ids of registered residents who have not blocked the bot."""
        query = select(Resident.telegram_id).where(
            Resident.active.is_(True), Resident.registered.is_(True)
        )
        if property_id is not None:
            query = query.where(Resident.property_id == property_id)
        return list((await self.session.scalars(query.order_by(Resident.id))).all())

    async def active_with_property(self) -> list[tuple[int, int | None]]:
        """(telegram id, property id) of registered residents who have not blocked the bot."""
        query = select(Resident.telegram_id, Resident.property_id).where(
            Resident.active.is_(True), Resident.registered.is_(True)
        )
        rows = (await self.session.execute(query.order_by(Resident.id))).all()
        return [(int(telegram_id), property_id) for telegram_id, property_id in rows]

    async def by_phone(self, property_id: int, phone: str) -> Sequence[Resident]:
        """Registered residents of a property with this number (a family may share one)."""
        query = select(Resident).where(
            Resident.property_id == property_id,
            Resident.phone == phone,
            Resident.registered.is_(True),
        )
        return (await self.session.scalars(query.order_by(Resident.id).limit(10))).all()

    async def by_joined_address(self, property_id: int, address: str) -> Resident | None:
        """A registered resident whose building, unit and room read together as `address`."""
        joined = Resident.building + Resident.unit + Resident.room
        query = select(Resident).where(
            Resident.property_id == property_id,
            Resident.registered.is_(True),
            joined == address,
        )
        return await self.session.scalar(query.order_by(Resident.id.desc()).limit(1))

    async def at_address(
        self, property_id: int, building: str, unit: str, room: str
    ) -> Sequence[Resident]:
        query = select(Resident).where(
            Resident.property_id == property_id,
            Resident.building == building,
            Resident.unit == unit,
            Resident.room == room,
            Resident.registered.is_(True),
        )
        return (await self.session.scalars(query.order_by(Resident.id).limit(10))).all()

    async def set_active(self, telegram_id: int, active: bool, now: datetime) -> int:
        result = await self.session.execute(
            update(Resident)
            .where(Resident.telegram_id == telegram_id, Resident.active.is_not(active))
            .values(active=active, updated_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class TicketRepo(_Repo):
    async def next_number(self, day: str) -> int:
        """Atomic per-day counter: one statement, so concurrent callers never share a number."""
        statement = hot.next_ticket_number(self._dialect())
        return int((await self.session.execute(statement, {"p_day": day})).scalar_one())

    async def add(self, ticket: Ticket) -> Ticket:
        self.session.add(ticket)
        await self.session.flush()
        return ticket

    async def get(self, ticket_id: int) -> Ticket | None:
        return await self.session.get(Ticket, ticket_id)

    async def by_number(self, number: str) -> Ticket | None:
        return await self.session.scalar(select(Ticket).where(Ticket.number == number))

    async def for_resident(self, resident_id: int, limit: int = 10) -> Sequence[Ticket]:
        query = (
            select(Ticket)
            .where(Ticket.resident_id == resident_id)
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    async def open_for_caller(
        self, property_id: int, resident_id: int | None, phone: str, since: datetime
    ) -> Sequence[Ticket]:
        """Open tickets of one caller (by resident, or by phone when unregistered) created
        since a moment: what a second registration of the same call would duplicate."""
        who = Ticket.resident_id == resident_id if resident_id is not None else None
        if phone:
            by_phone = Ticket.contact_phone == phone
            who = by_phone if who is None else or_(who, by_phone)
        if who is None:
            return ()
        query = select(Ticket).where(
            Ticket.property_id == property_id,
            Ticket.created_at >= since,
            Ticket.status.in_(("new", "accepted", "in_progress", "waiting")),
            who,
        )
        return (await self.session.scalars(query.order_by(Ticket.id).limit(5))).all()

    async def add_event(self, event: TicketEvent) -> TicketEvent:
        self.session.add(event)
        await self.session.flush()
        return event

    async def events(self, ticket_id: int) -> Sequence[TicketEvent]:
        query = (
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(TicketEvent.at, TicketEvent.id)
        )
        return (await self.session.scalars(query)).all()

    async def all(self) -> Sequence[Ticket]:
        return (await self.session.scalars(select(Ticket).order_by(Ticket.id))).all()

    async def held_by(
        self, property_id: int, assignee_id: int, teams: Sequence[str], statuses: Sequence[str]
    ) -> Sequence[Ticket]:
        """The tickets someone holds in some teams of a property, oldest first."""
        query = (
            select(Ticket)
            .where(
                Ticket.property_id == property_id,
                Ticket.assignee_id == assignee_id,
                Ticket.team.in_(list(teams)),
                Ticket.status.in_(list(statuses)),
            )
            .order_by(Ticket.created_at, Ticket.id)
        )
        return (await self.session.scalars(query)).all()

    async def transition(
        self, ticket_id: int, expected_status: str, values: dict[str, Any]
    ) -> bool:
        """Change a ticket only if it still has the status the caller saw.

        One conditional UPDATE: of two concurrent callers exactly one matches the row
        (PostgreSQL re-checks the WHERE after the row lock; SQLite serialises writers).
        """
        result = await self.session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id, Ticket.status == expected_status)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def refresh(self, ticket: Ticket) -> Ticket:
        await self.session.refresh(ticket)
        return ticket

    async def due_for_sla(self, now: datetime, limit: int) -> list[int]:
        """Tickets whose next SLA milestone is due: the index makes this cost what is due."""
        query = (
            select(Ticket.id)
            .where(Ticket.next_sla_check_at <= now)
            .order_by(Ticket.next_sla_check_at, Ticket.id)
            .limit(limit)
        )
        return list((await self.session.scalars(query)).all())

    async def postpone_sla(self, ticket_id: int, now: datetime, until: datetime) -> None:
        """Check a ticket's SLA later (its check failed), if still due: the sweep's next
        batches start after it."""
        await self.session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id, Ticket.next_sla_check_at <= now)
            .values(next_sla_check_at=until)
            .execution_options(synchronize_session=False)
        )

    async def unconfirmed(self, resolved_before: datetime, limit: int) -> list[int]:
        query = (
            select(Ticket.id)
            .where(Ticket.status == "resolved", Ticket.resolved_at <= resolved_before)
            .order_by(Ticket.resolved_at, Ticket.id)
            .limit(limit)
        )
        return list((await self.session.scalars(query)).all())

    async def locked(self, ticket_id: int) -> Ticket | None:
        """The row, locked for this transaction (PostgreSQL; SQLite's BEGIN IMMEDIATE already
        serialises writers), skipped if another worker holds it."""
        query = (
            select(Ticket)
            .where(Ticket.id == ticket_id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return await self.session.scalar(query)


@dataclass(frozen=True)
class StoredDialog:
    """A person's dialog state as stored (plain values: no ORM object to track)."""

    flow: str
    step: str
    data: dict[str, Any]
    due_at: datetime | None = None  # the step's question is answered by a sweep then
    updated_at: datetime | None = None  # when the person last moved (the state was saved)


class DialogRepo(_Repo):
    """Plain Core statements (storage/hot.py): every event reads the state and most write it."""

    async def get(self, chat_id: int, user_id: int) -> StoredDialog | None:
        params = {"p_chat_id": chat_id, "p_user_id": user_id}
        row = (await self.session.execute(hot.dialog_get(), params)).first()
        if row is None:
            return None
        return StoredDialog(row.flow, row.step, row.data, row.due_at, row.updated_at)

    async def save(
        self,
        chat_id: int,
        user_id: int,
        flow: str,
        step: str,
        data: dict[str, Any],
        now: datetime,
        due_at: datetime | None = None,
    ) -> None:
        """Store a dialog's state, inserted or replaced in one statement."""
        values = {
            "chat_id": chat_id,
            "user_id": user_id,
            "flow": flow,
            "step": step,
            "data": dict(data),
            "updated_at": now,
            "due_at": due_at,
        }
        await self.session.execute(hot.dialog_save(self._dialect()), values)

    async def due(self, now: datetime, limit: int) -> list[tuple[int, int]]:
        """(chat, user) of the dialogs whose question went unanswered until ``now``
        (`ix_dialog_states_due`: the sweep reads what is due, not every open dialog)."""
        query = (
            select(DialogState.chat_id, DialogState.user_id)
            .where(DialogState.due_at <= now)
            .order_by(DialogState.due_at)
            .limit(limit)
        )
        return [(int(chat), int(user)) for chat, user in (await self.session.execute(query)).all()]

    async def postpone(self, chat_id: int, user_id: int, now: datetime, until: datetime) -> None:
        """Sweep an unanswered question later (it failed), if still due and unanswered."""
        await self.session.execute(
            update(DialogState)
            .where(
                DialogState.chat_id == chat_id,
                DialogState.user_id == user_id,
                DialogState.due_at <= now,
            )
            .values(due_at=until)
            .execution_options(synchronize_session=False)
        )

    async def locked(self, chat_id: int, user_id: int) -> DialogState | None:
        """The dialog, read under the person's lock (PostgreSQL; held to the transaction's
        end, as every update of theirs takes it): a press of theirs and the sweep never
        act on one question at once. SQLite has one writer at a time."""
        if self._dialect() == "postgresql":
            await self.session.execute(select(person_lock(chat_id, user_id)))
        query = (
            select(DialogState)
            .where(DialogState.chat_id == chat_id, DialogState.user_id == user_id)
            .execution_options(populate_existing=True)
        )
        return await self.session.scalar(query)

    async def clear(self, chat_id: int, user_id: int) -> None:
        await self.session.execute(hot.dialog_clear(), {"p_chat_id": chat_id, "p_user_id": user_id})


def _outbox_row(
    dedupe_key: str,
    chat_id: int,
    payload: dict[str, Any],
    now: datetime,
    priority: int,
    notice_id: int | None,
) -> dict[str, Any]:
    """A new outbox row's values: pending, due now."""
    return {
        "dedupe_key": dedupe_key,
        "chat_id": chat_id,
        "payload": payload,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "priority": priority,
        "notice_id": notice_id,
    }


class UpdateLog(_Repo):
    async def claim(
        self, update_id: int, now: datetime, person: tuple[int, int] | None = None
    ) -> bool:
        """Record an update id; False when it was already processed. With `person` (chat,
        user), on PostgreSQL, first wait for that person's lock, held to the transaction's end:
        one person's updates are handled one at a time by any number of processes (in the
        same statement, so it costs no round trip)."""
        if person is None or self._dialect() != "postgresql":
            values = {"update_id": update_id, "processed_at": now}
            claimed = await self.session.execute(hot.claim_update(self._dialect()), values)
            return claimed.scalar_one_or_none() is not None
        values = {
            "p_key": person_key(*person),
            "p_update_id": update_id,
            "p_now": now,
        }
        claimed = await self.session.execute(hot.claim_update_for_person(), values)
        return claimed.scalar_one_or_none() is not None

    async def prune(self, before: datetime) -> int:
        """Telegram redelivers within a day at most; older ids only take space."""
        result = await self.session.execute(
            delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before)
        )
        return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class OutboxHead:
    """A chat's first waiting message, as its sender reads it (no ORM object to track)."""

    id: int
    chat_id: int
    priority: int
    dedupe_key: str
    attempts: int
    created_at: datetime
    payload: dict[str, Any]
    notice_id: int | None = None  # an announcement's copy: dropped once it is stopped


@dataclass(frozen=True)
class Recorded:
    dedupe_key: str
    chat_id: int
    status: str
    more_waiting: bool  # the chat has a pending message (this one, to retry, included)


_HEAD_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.priority,
    OutboxMessage.chat_id,
    OutboxMessage.dedupe_key,
    OutboxMessage.attempts,
    OutboxMessage.created_at,
    OutboxMessage.payload,
    OutboxMessage.notice_id,
)


def _head_order(chat_id: int) -> list[Any]:
    # a private chat in the order made; a group by priority, then in the order made
    row = OutboxMessage
    return [row.id] if chat_id > 0 else [row.priority, row.id]


def _head(found: Any) -> OutboxHead:
    return OutboxHead(
        int(found.id), int(found.chat_id), int(found.priority), found.dedupe_key,
        int(found.attempts), found.created_at, dict(found.payload), found.notice_id,
    )  # fmt: skip


class OutboxRepo(_Repo):
    async def add(
        self,
        dedupe_key: str,
        chat_id: int,
        payload: dict[str, Any],
        now: datetime,
        priority: int = 2,
        notice_id: int | None = None,
    ) -> int | None:
        """Queue a message once per dedupe key; its row id, or None when already queued."""
        values = _outbox_row(dedupe_key, chat_id, payload, now, priority, notice_id)
        result = await self.session.execute(hot.outbox_add(self._dialect()), values)
        return result.scalar_one_or_none()

    async def add_many(
        self,
        rows: Sequence[tuple[str, int, dict[str, Any]]],
        now: datetime,
        priority: int,
        notice_id: int | None = None,
    ) -> None:
        """Queue many messages (dedupe key, chat, payload) in one statement: an
        announcement to thousands holds the database's write lock for a moment, not for
        thousands of round trips. A key already queued is skipped."""
        if not rows:
            return
        values = [
            _outbox_row(key, chat_id, payload, now, priority, notice_id)
            for key, chat_id, payload in rows
        ]
        # Core, not the ORM's bulk insert: nothing is loaded, and a few rows cost one statement
        await self.session.execute(hot.outbox_add_many(self._dialect()), values)

    async def head_of(self, chat_id: int, now: datetime) -> tuple[int, int] | None:
        """(row id, priority) of the chat's first waiting message, when it is due and nobody
        holds it; None otherwise (nothing waits, or the first must be waited for)."""
        head = await self.head_row(chat_id, now)
        return None if head is None else (head.id, head.priority)

    async def head_row(self, chat_id: int, now: datetime) -> OutboxHead | None:
        """The chat's first waiting message with what a sender needs of it, in one read,
        when it is due and nobody holds it; None otherwise."""
        row = OutboxMessage
        query = (
            select(*_HEAD_COLUMNS, row.next_attempt_at, row.claimed_until)
            .where(row.chat_id == chat_id, row.status == "pending")
            .order_by(*_head_order(chat_id))
            .limit(1)
        )
        first = (await self.session.execute(query)).first()
        if first is None or first.next_attempt_at > now:
            return None
        if first.claimed_until is not None and first.claimed_until > now:
            return None
        return _head(first)

    async def claim_head(
        self, chat_id: int, now: datetime, lease_until: datetime
    ) -> OutboxHead | None:
        """Find the chat's first waiting message and take it until `lease_until`, in one
        statement: None when nothing waits, the first is not due, or a sender holds it (of
        two senders exactly one wins, as with `claim`)."""
        values = {"p_chat_id": chat_id, "p_now": now, "p_lease_until": lease_until}
        taken = (await self.session.execute(hot.claim_head(chat_id < 0), values)).first()
        return None if taken is None else _head(taken)

    async def record_outcome(
        self,
        row_id: int,
        now: datetime,
        *,
        sent_id: int | None,
        error: str | None,
        retry_in: float | None,
        uncertain: int,
        chat_id: int | None = None,
    ) -> Recorded | None:
        """What a send came to, in one statement: sent when there is no error, tried again
        after `retry_in` seconds, otherwise failed. None when the row is gone. Tells whether
        the chat has another message waiting, so its sender need not look again (asked in
        the same statement when the caller names the row's chat)."""
        if chat_id is None:
            chat_id = await self.session.scalar(
                select(OutboxMessage.chat_id).where(OutboxMessage.id == row_id)
            )
            if chat_id is None:
                return None
        outcome = "sent" if error is None else ("retry" if retry_in is not None else "failed")
        values: dict[str, Any] = {
            "p_row_id": row_id,
            "p_chat_id": chat_id,
            "p_error": error,
            "p_uncertain": uncertain,
        }
        if outcome == "sent":
            values.update(p_now=now, p_sent_id=sent_id)
        elif retry_in is not None:
            values["p_retry_at"] = now + timedelta(seconds=retry_in)
        statement = hot.record_outcome(outcome)
        done = (await self.session.execute(statement, values)).first()
        if done is None:
            return None
        more = done.status == "pending" or bool(done.others_waiting)
        return Recorded(done.dedupe_key, int(done.chat_id), done.status, more)

    async def due_heads(self, now: datetime, limit: int = 50) -> list[tuple[int, int, int]]:
        """(row id, chat id, priority) of the first waiting message of each chat, where it
        is due and nobody holds it, most urgent first. A chat whose first message is not
        due (held by a sender, or waiting to be tried again) sends nothing: order per chat."""
        row = OutboxMessage
        earlier = aliased(OutboxMessage)
        query = (
            select(row.id, row.chat_id, row.priority)
            .where(row.status == "pending", row.next_attempt_at <= now, _unclaimed(row, now))
            .where(
                ~exists().where(
                    earlier.chat_id == row.chat_id,
                    earlier.status == "pending",
                    _before(earlier, row),
                )
            )
            .order_by(row.priority, row.id)
            .limit(limit)
        )
        return [(r.id, r.chat_id, r.priority) for r in (await self.session.execute(query)).all()]

    async def due_ids(self, now: datetime, limit: int = 50) -> list[int]:
        return [row_id for row_id, _, _ in await self.due_heads(now, limit)]

    async def by_key(self, dedupe_key: str) -> OutboxMessage | None:
        query = select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)
        return await self.session.scalar(query)

    async def get(self, message_id: int) -> OutboxMessage | None:
        return await self.session.get(OutboxMessage, message_id)

    async def claim(self, row_id: int, now: datetime, lease_until: datetime) -> bool:
        """Take a due row for one sender until `lease_until`: of two drainers (or workers)
        exactly one wins; if the winner dies mid-send the row falls due again."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == row_id,
                OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at <= now,
                _unclaimed(OutboxMessage, now),
            )
            .values(claimed_until=lease_until)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def release_claims(self, held_until_before: datetime) -> int:
        """At start-up: claims of a sender that died are free at once, not at their lease.
        Only claims that end by `held_until_before`: a claim's end is its start plus the
        lease, so later ones were made by the sender that is running now."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.claimed_until.is_not(None),
                OutboxMessage.claimed_until <= held_until_before,
            )
            .values(claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def pending_for_chat(self, chat_id: int) -> Sequence[OutboxMessage]:
        query = select(OutboxMessage).where(
            OutboxMessage.chat_id == chat_id, OutboxMessage.status == "pending"
        )
        return (await self.session.scalars(query)).all()

    async def backlog(self, now: datetime) -> tuple[int, datetime | None]:
        """How many messages wait, and since when the oldest of them."""
        query = select(func.count(), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status == "pending"
        )
        count, oldest = (await self.session.execute(query)).one()
        return int(count), oldest

    async def last_sent(self) -> datetime | None:
        """When the newest message that went out was sent (by id: a walk back along the
        primary key from the newest row, not a scan of years of sent rows)."""
        query = (
            select(OutboxMessage.sent_at)
            .where(OutboxMessage.status == "sent")
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
        return await self.session.scalar(query)

    async def all(self) -> Sequence[OutboxMessage]:
        return (await self.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()

    async def outcomes(self, notice_id: int) -> dict[str, tuple[int, int]]:
        """An announcement's rows: status -> (rows, of which blocked)."""
        row = OutboxMessage
        blocked = case((row.error.like("blocked:%"), 1), else_=0)
        query = (
            select(row.status, func.count(), func.sum(blocked))
            .where(row.notice_id == notice_id)
            .group_by(row.status)
        )
        rows = await self.session.execute(query)
        return {str(status): (int(n), int(b or 0)) for status, n, b in rows}

    async def cancel_pending(self, notice_id: int, reason: str, now: datetime) -> int:
        """An announcement's waiting rows will not be sent: marked cancelled with the reason
        (the sender only ever takes pending rows). Rows already in flight (claimed) finish
        as they are; one that has to wait for a retry is dropped (`cancel_if_notice_in`)."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.notice_id == notice_id,
                OutboxMessage.status == "pending",
                _unclaimed(OutboxMessage, now),
            )
            .values(status="cancelled", error=f"cancelled: {reason}")
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def cancel_if_notice_in(self, row_id: int, statuses: Sequence[str], reason: str) -> bool:
        """One announcement row the sender holds or retries is cancelled when its notice is in
        `statuses` (stopped, cancelled): a stop reaches rows `cancel_pending` had to skip.
        One statement, so a stop committed at any moment is seen."""
        over = exists().where(Notice.id == OutboxMessage.notice_id, Notice.status.in_(statuses))
        result = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.status == "pending", over)
            .values(status="cancelled", error=f"cancelled: {reason}", claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1


def _unclaimed(row: Any, now: datetime) -> ColumnElement[bool]:
    return or_(row.claimed_until.is_(None), row.claimed_until <= now)


def _before(earlier: Any, row: Any) -> ColumnElement[bool]:
    """Messages to a private chat (positive id) keep the order they were made in; into a
    group, a higher priority goes first and the order holds within one priority."""
    in_made_order = and_(row.chat_id > 0, earlier.id < row.id)
    by_priority = and_(
        row.chat_id < 0,
        or_(
            earlier.priority < row.priority,
            and_(earlier.priority == row.priority, earlier.id < row.id),
        ),
    )
    return or_(in_made_order, by_priority)


class TeamRepo(_Repo):
    async def get(self, property_id: int, code: str) -> Team | None:
        values = {"p_property_id": property_id, "p_code": code}
        return await self.session.scalar(hot.team_by_code(), values)

    async def ensure(self, property_id: int, code: str) -> Team:
        team = await self.get(property_id, code)
        if team is None:
            team = Team(property_id=property_id, code=code)
            self.session.add(team)
            await self.session.flush()
        return team

    async def bound_to(self, chat_id: int) -> Sequence[Team]:
        query = select(Team).where(Team.chat_id == chat_id).order_by(Team.id)
        return (await self.session.scalars(query)).all()

    async def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> int:
        result = await self.session.execute(
            update(Team).where(Team.chat_id == old_chat_id).values(chat_id=new_chat_id)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class StaffRepo(_Repo):
    async def memberships(self, telegram_id: int) -> Sequence[StaffMember]:
        query = (
            select(StaffMember)
            .where(StaffMember.telegram_id == telegram_id, StaffMember.active.is_(True))
            .order_by(StaffMember.id)
        )
        return (await self.session.scalars(query)).all()

    async def member(self, property_id: int, team: str, telegram_id: int) -> StaffMember | None:
        query = select(StaffMember).where(
            StaffMember.property_id == property_id,
            StaffMember.team == team,
            StaffMember.telegram_id == telegram_id,
        )
        return await self.session.scalar(query)

    async def of_team(self, property_id: int, team: str) -> Sequence[StaffMember]:
        query = (
            select(StaffMember)
            .where(
                StaffMember.property_id == property_id,
                StaffMember.team == team,
                StaffMember.active.is_(True),
            )
            .order_by(StaffMember.id)
        )
        return (await self.session.scalars(query)).all()

    async def escalation_contacts(self, property_id: int, team: str) -> Sequence[StaffMember]:
        """The team's leads and the property's managers: who hears about overdue work."""
        query = (
            select(StaffMember)
            .where(
                StaffMember.property_id == property_id,
                StaffMember.active.is_(True),
                ((StaffMember.team == team) & (StaffMember.role == "lead"))
                | StaffMember.role.in_(("manager", "admin")),
            )
            .order_by(StaffMember.id)
        )
        return (await self.session.scalars(query)).all()

    async def add(self, member: StaffMember) -> StaffMember:
        self.session.add(member)
        await self.session.flush()
        return member


class InviteRepo(_Repo):
    async def add(self, invite: Invite) -> Invite:
        self.session.add(invite)
        await self.session.flush()
        return invite

    async def redeem(self, code: str, telegram_id: int, now: datetime) -> Invite | None:
        """Use a code once: a conditional UPDATE, so two people racing for it cannot both win."""
        result = await self.session.execute(
            update(Invite)
            .where(Invite.code == code, Invite.used_by.is_(None), Invite.expires_at > now)
            .values(used_by=telegram_id, used_at=now)
            .execution_options(synchronize_session=False)
        )
        if int(getattr(result, "rowcount", 0) or 0) != 1:
            return None
        invite = await self.session.scalar(select(Invite).where(Invite.code == code))
        if invite is not None:
            await self.session.refresh(invite)
        return invite


class CorrectionRepo(_Repo):
    async def add(self, correction: Correction) -> None:
        self.session.add(correction)
        await self.session.flush()

    async def all(self, field: str | None = None) -> Sequence[Correction]:
        query = select(Correction).order_by(Correction.id)
        if field is not None:
            query = query.where(Correction.field == field)
        return (await self.session.scalars(query)).all()


class CardRepo(_Repo):
    async def add(self, card: TicketCard) -> TicketCard:
        self.session.add(card)
        await self.session.flush()
        return card

    async def get(self, card_id: int) -> TicketCard | None:
        return await self.session.get(TicketCard, card_id)

    async def for_ticket(self, ticket_id: int, active_only: bool = True) -> Sequence[TicketCard]:
        query = select(TicketCard).where(TicketCard.ticket_id == ticket_id)
        if active_only:
            query = query.where(TicketCard.active.is_(True))
        return (await self.session.scalars(query.order_by(TicketCard.id))).all()

    async def count_for_ticket(self, ticket_id: int) -> int:
        query = (
            select(func.count()).select_from(TicketCard).where(TicketCard.ticket_id == ticket_id)
        )
        return int(await self.session.scalar(query) or 0)

    async def live_in_chat(self, chat_id: int, property_id: int) -> Sequence[TicketCard]:
        """The live cards in one chat of one property's tickets (a person's private chat)."""
        query = (
            select(TicketCard)
            .join(Ticket, Ticket.id == TicketCard.ticket_id)
            .where(
                TicketCard.chat_id == chat_id,
                TicketCard.active.is_(True),
                Ticket.property_id == property_id,
            )
        )
        return (await self.session.scalars(query.order_by(TicketCard.id))).all()

    async def by_message(self, chat_id: int, message_id: int) -> TicketCard | None:
        query = select(TicketCard).where(
            TicketCard.chat_id == chat_id, TicketCard.message_id == message_id
        )
        return await self.session.scalar(query.order_by(TicketCard.id.desc()).limit(1))

    async def set_message_id(self, outbox_key: str, message_id: int) -> None:
        values = {"p_key": outbox_key, "p_message_id": message_id}
        await self.session.execute(hot.card_message_id(), values)

    async def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        await self.session.execute(
            update(TicketCard).where(TicketCard.chat_id == old_chat_id).values(chat_id=new_chat_id)
        )


class RatingRepo(_Repo):
    async def add(self, rating: Rating) -> Rating:
        self.session.add(rating)
        await self.session.flush()
        return rating

    async def get(self, rating_id: int) -> Rating | None:
        return await self.session.get(Rating, rating_id)

    async def for_ticket(self, ticket_id: int) -> Rating | None:
        return await self.session.scalar(select(Rating).where(Rating.ticket_id == ticket_id))

    async def record_stars(self, rating_id: int, stars: int, now: datetime) -> bool:
        """Answer an open rating; of two concurrent answers exactly one wins."""
        result = await self.session.execute(
            update(Rating)
            .where(Rating.id == rating_id, Rating.status.in_(("scheduled", "asked", "reminded")))
            .values(stars=stars, status="answered", answered_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def due(self, now: datetime, limit: int) -> list[int]:
        query = (
            select(Rating.id)
            .where(Rating.status.in_(("scheduled", "asked", "reminded")), Rating.due_at <= now)
            .order_by(Rating.due_at, Rating.id)
            .limit(limit)
        )
        return list((await self.session.scalars(query)).all())

    async def postpone(self, rating_id: int, now: datetime, until: datetime) -> None:
        """Take a rating's next step later (it failed), if still due."""
        await self.session.execute(
            update(Rating)
            .where(Rating.id == rating_id, Rating.due_at <= now)
            .values(due_at=until)
            .execution_options(synchronize_session=False)
        )

    async def locked(self, rating_id: int) -> Rating | None:
        query = (
            select(Rating)
            .where(Rating.id == rating_id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return await self.session.scalar(query)


class ReturnVisitRepo(_Repo):
    async def add(self, visit: ReturnVisit) -> ReturnVisit:
        self.session.add(visit)
        await self.session.flush()
        return visit

    async def get(self, visit_id: int) -> ReturnVisit | None:
        return await self.session.get(ReturnVisit, visit_id)

    async def for_ticket(self, ticket_id: int) -> Sequence[ReturnVisit]:
        query = select(ReturnVisit).where(ReturnVisit.ticket_id == ticket_id)
        return (await self.session.scalars(query.order_by(ReturnVisit.id))).all()


class RunRepo(_Repo):
    async def claim(self, job: str, period: str, now: datetime, late: bool = False) -> bool:
        """Record one run of a periodic job for a period; False if it already ran."""
        statement = (
            self._insert(ScheduledRun)
            .values(job=job, period=period, ran_at=now, late=late)
            .on_conflict_do_nothing(index_elements=[ScheduledRun.job, ScheduledRun.period])
            .returning(ScheduledRun.id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none() is not None

    async def already_ran(self, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (job, period) runs are recorded, in one statement."""
        if not keys:
            return set()
        jobs, periods = {job for job, _ in keys}, {period for _, period in keys}
        query = select(ScheduledRun.job, ScheduledRun.period).where(
            ScheduledRun.job.in_(jobs), ScheduledRun.period.in_(periods)
        )
        found = {(job, period) for job, period in (await self.session.execute(query)).all()}
        return found & set(keys)


class SurveyRepo(_Repo):
    async def add(self, response: SurveyResponse) -> bool:
        statement = (
            self._insert(SurveyResponse)
            .values(
                period=response.period,
                property_id=response.property_id,
                resident_telegram_id=response.resident_telegram_id,
                sent_at=response.sent_at,
            )
            .on_conflict_do_nothing(
                index_elements=[SurveyResponse.period, SurveyResponse.resident_telegram_id]
            )
            .returning(SurveyResponse.id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none() is not None

    async def get(self, period: str, telegram_id: int) -> SurveyResponse | None:
        query = select(SurveyResponse).where(
            SurveyResponse.period == period, SurveyResponse.resident_telegram_id == telegram_id
        )
        return await self.session.scalar(query)
