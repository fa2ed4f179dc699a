"""The hot path's statements, built once as plain Core SQL with named parameters.

Each event and each message sent runs a few of these; building them per call through the
ORM (its bulk-update and bulk-insert machinery included) cost more CPU than the database
spent on them. Built here once per variant (and per dialect where ON CONFLICT differs),
executed with a dict of values; SQLAlchemy's compiled cache does the rest. They behave as
the ORM statements they replace: no ORM object is loaded or touched.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    Table,
    bindparam,
    delete,
    exists,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.dml import Delete, Update

from storage.leadership import person_lock_by_key
from storage.models import (
    DialogState,
    OutboxMessage,
    ProcessedUpdate,
    Resident,
    Team,
    TicketCard,
    TicketSequence,
)

OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]
UPDATES: Table = ProcessedUpdate.__table__  # type: ignore[assignment]
CARDS: Table = TicketCard.__table__  # type: ignore[assignment]

HEAD_COLUMNS = tuple(
    OUTBOX.c[name]
    for name in (
        "id",
        "priority",
        "chat_id",
        "dedupe_key",
        "attempts",
        "created_at",
        "payload",
        "notice_id",
    )
)


def _param(name: str, column: str) -> Any:
    """A named parameter typed as the outbox column it is compared with or stored in (the
    UTC datetime type converts on the way in). Named `p_...`: in an UPDATE, a parameter
    named as a column would be SET as well."""
    return bindparam(name, type_=OUTBOX.c[column].type)


def _insert(dialect: str, table: Table) -> Any:
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


@cache
def outbox_add(dialect: str) -> Any:
    """Queue one row once per dedupe key; returns its id (no row when already queued)."""
    return (
        _insert(dialect, OUTBOX)
        .on_conflict_do_nothing(index_elements=[OUTBOX.c.dedupe_key])
        .returning(OUTBOX.c.id)
    )


@cache
def outbox_add_many(dialect: str) -> Any:
    """Queue rows (executed with a list of values: one statement), skipping keys queued."""
    return _insert(dialect, OUTBOX).on_conflict_do_nothing(index_elements=[OUTBOX.c.dedupe_key])


@cache
def claim_head(group: bool) -> Update:
    """Take the chat's first waiting row (parameters p_chat_id, p_now, p_lease_until) when it is
    due and unclaimed. A private chat's order is the order made; a group's by priority."""
    order = [OUTBOX.c.priority, OUTBOX.c.id] if group else [OUTBOX.c.id]
    first = (
        select(OUTBOX.c.id)
        .where(OUTBOX.c.chat_id == _param("p_chat_id", "chat_id"), OUTBOX.c.status == "pending")
        .order_by(*order)
        .limit(1)
        .scalar_subquery()
    )
    now = _param("p_now", "next_attempt_at")
    return (
        update(OUTBOX)
        .where(
            OUTBOX.c.id == first,
            OUTBOX.c.status == "pending",
            OUTBOX.c.next_attempt_at <= now,
            or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until <= now),
        )
        .values(claimed_until=_param("p_lease_until", "claimed_until"))
        .returning(*HEAD_COLUMNS)
    )


@cache
def record_outcome(outcome: str) -> Update:
    """A send's outcome for row `p_row_id`: "sent" (p_now, p_sent_id), "retry" (p_retry_at)
    or "failed"; with p_error and p_uncertain always. Returns the row's key, chat and
    status, and whether another row of chat `p_chat_id` waits."""
    values: dict[str, Any] = {
        "attempts": OUTBOX.c.attempts + 1,
        "error": _param("p_error", "error"),
        "claimed_until": None,
        "uncertain_sends": OUTBOX.c.uncertain_sends + _param("p_uncertain", "uncertain_sends"),
    }
    if outcome == "sent":
        values.update(
            status="sent",
            sent_at=_param("p_now", "sent_at"),
            sent_message_id=_param("p_sent_id", "sent_message_id"),
        )
    elif outcome == "retry":
        values["next_attempt_at"] = _param("p_retry_at", "next_attempt_at")
    else:
        values["status"] = "failed"
    other = OUTBOX.alias("other")
    waiting = exists().where(
        other.c.chat_id == _param("p_chat_id", "chat_id"),
        other.c.status == "pending",
        other.c.id != _param("p_row_id", "id"),
    )
    return (
        update(OUTBOX)
        .where(OUTBOX.c.id == _param("p_row_id", "id"))
        .values(**values)
        .returning(
            OUTBOX.c.dedupe_key,
            OUTBOX.c.chat_id,
            OUTBOX.c.status,
            waiting.label("others_waiting"),
        )
    )


@cache
def claim_update(dialect: str) -> Any:
    """Record an update id (update_id, processed_at) unless recorded: returns it when new."""
    return (
        _insert(dialect, UPDATES)
        .on_conflict_do_nothing(index_elements=[UPDATES.c.update_id])
        .returning(UPDATES.c.update_id)
    )


@cache
def claim_update_for_person() -> Any:
    """PostgreSQL: first wait for the person's lock (p_key: `person_key`), held to the
    transaction's end, then record the update id (p_update_id, p_now) unless recorded:
    returns it when new. One statement, so the lock costs no round trip."""
    lock = person_lock_by_key(bindparam("p_key", type_=Integer))
    rows = select(
        bindparam("p_update_id", type_=UPDATES.c.update_id.type),
        bindparam("p_now", type_=UPDATES.c.processed_at.type),
    ).select_from(select(lock.label("locked")).subquery("person_lock"))
    return (
        pg_insert(UPDATES)
        .from_select(["update_id", "processed_at"], rows)
        .on_conflict_do_nothing(index_elements=[UPDATES.c.update_id])
        .returning(UPDATES.c.update_id)
    )


@cache
def card_message_id() -> Update:
    """A sent card's message id (p_key, p_message_id)."""
    return (
        update(CARDS)
        .where(CARDS.c.outbox_key == bindparam("p_key", type_=CARDS.c.outbox_key.type))
        .values(message_id=bindparam("p_message_id", type_=CARDS.c.message_id.type))
    )


DIALOGS: Table = DialogState.__table__  # type: ignore[assignment]


@cache
def dialog_get() -> Select[Any]:
    """A person's dialog state (p_chat_id, p_user_id): flow, step, data, due_at, updated_at."""
    c = DIALOGS.c
    return select(c.flow, c.step, c.data, c.due_at, c.updated_at).where(
        c.chat_id == bindparam("p_chat_id", type_=c.chat_id.type),
        c.user_id == bindparam("p_user_id", type_=c.user_id.type),
    )


@cache
def dialog_save(dialect: str) -> Any:
    """Insert a dialog state, or replace the one stored (one statement, no read first)."""
    statement = _insert(dialect, DIALOGS)
    return statement.on_conflict_do_update(
        index_elements=[DIALOGS.c.chat_id, DIALOGS.c.user_id],
        set_={
            "flow": statement.excluded.flow,
            "step": statement.excluded.step,
            "data": statement.excluded.data,
            "updated_at": statement.excluded.updated_at,
            "due_at": statement.excluded.due_at,
        },
    )


@cache
def dialog_clear() -> Delete:
    c = DIALOGS.c
    return delete(DIALOGS).where(
        c.chat_id == bindparam("p_chat_id", type_=c.chat_id.type),
        c.user_id == bindparam("p_user_id", type_=c.user_id.type),
    )


# lookups every intake makes ---------------------------------------------------------------
@cache
def resident_by_telegram_id() -> Select[Any]:
    """The resident with Telegram id p_telegram_id (an ORM select: the row is the session's)."""
    return select(Resident).where(Resident.telegram_id == bindparam("p_telegram_id"))


@cache
def team_by_code() -> Select[Any]:
    """The team of property p_property_id with code p_code."""
    return select(Team).where(
        Team.property_id == bindparam("p_property_id"), Team.code == bindparam("p_code")
    )


@cache
def next_ticket_number(dialect: str) -> Any:
    """The day p_day's next ticket number, counted in one statement (concurrent callers never
    share one)."""
    table: Table = TicketSequence.__table__  # type: ignore[assignment]
    return (
        _insert(dialect, table)
        .values(day=bindparam("p_day", type_=table.c.day.type), last=1)
        .on_conflict_do_update(index_elements=[table.c.day], set_={"last": table.c.last + 1})
        .returning(table.c.last)
    )
