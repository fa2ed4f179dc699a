"""Tables. Times are stored as UTC and come back timezone-aware on every database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """SQLite drops time zones; keep UTC in the column and hand back aware datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Property(Base):
    __tablename__ = "properties"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))


class Building(Base):
    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("property_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(32))
    units: Mapped[list[Any]] = mapped_column(default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Resident(Base):
    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    property_id: Mapped[int | None] = mapped_column(ForeignKey("properties.id"))
    name: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    building: Mapped[str] = mapped_column(String(32), default="")
    unit: Mapped[str] = mapped_column(String(32), default="")
    room: Mapped[str] = mapped_column(String(32), default="")
    locale: Mapped[str] = mapped_column(String(8), default="zh-CN")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    registered: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TicketSequence(Base):
    """One row per property-local day; incremented atomically to number tickets."""

    __tablename__ = "ticket_sequences"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


# Partial-index predicates, spelled exactly as storage/reports.py spells its conditions, so
# the planner can prove a query's condition implies the index's (literals, not parameters).
UNRESOLVED_PREDICATE = "resolved_at IS NULL AND status <> 'cancelled'"
CANCELLED_PREDICATE = "status = 'cancelled'"


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_resident_created", "resident_id", "created_at"),
        Index("ix_tickets_status_response_due", "status", "response_due_at"),
        Index("ix_tickets_status_resolution_due", "status", "resolution_due_at"),
        Index("ix_tickets_next_sla_check", "next_sla_check_at"),
        # Figures for one property and one period (storage/reports.py): each time column a
        # digest filters on, after the property, so a digest reads its period and no more.
        Index("ix_tickets_property_created", "property_id", "created_at"),
        # Only the rows with a time: "not resolved" is no period, and an index on it would
        # tempt the planner to read every cancelled ticket ever when asked for open ones.
        Index(
            "ix_tickets_property_accepted",
            "property_id",
            "accepted_at",
            postgresql_where=text("accepted_at IS NOT NULL"),
            sqlite_where=text("accepted_at IS NOT NULL"),
        ),
        Index(
            "ix_tickets_property_resolved",
            "property_id",
            "resolved_at",
            postgresql_where=text("resolved_at IS NOT NULL"),
            sqlite_where=text("resolved_at IS NOT NULL"),
        ),
        # "Open at the period's end" reaches back in time: the unresolved backlog and the
        # cancellations after the end, each a partial index as small as what it holds.
        Index(
            "ix_tickets_property_unresolved",
            "property_id",
            "created_at",
            postgresql_where=text(UNRESOLVED_PREDICATE),
            sqlite_where=text(UNRESOLVED_PREDICATE),
        ),
        Index(
            "ix_tickets_property_cancelled",
            "property_id",
            "closed_at",
            postgresql_where=text(CANCELLED_PREDICATE),
            sqlite_where=text(CANCELLED_PREDICATE),
        ),
        # The retention sweep reads only closed tickets not yet redacted: the NULL prefix.
        Index("ix_tickets_redacted_closed", "redacted_at", "closed_at"),
        # Performance figures: tickets falling due in a period (the others above serve too).
        Index("ix_tickets_property_resolution_due", "property_id", "resolution_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    category: Mapped[str] = mapped_column(String(16))
    urgency: Mapped[str] = mapped_column(String(16))
    hazard: Mapped[str | None] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    matched: Mapped[list[Any]] = mapped_column(default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    photo_file_ids: Mapped[list[Any]] = mapped_column(default=list)
    address: Mapped[str] = mapped_column(String(128), default="")
    contact_name: Mapped[str] = mapped_column(String(64), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    team: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="new")
    assignee_id: Mapped[int | None] = mapped_column(BigInteger)
    assignee_name: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    response_due_at: Mapped[datetime]
    resolution_due_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # SLA timers are data: the sweep looks only at rows whose next check is due.
    next_sla_check_at: Mapped[datetime | None]
    sla_stage: Mapped[str] = mapped_column(String(24), default="")
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    paused_at: Mapped[datetime | None]
    resident_warned_at: Mapped[datetime | None]
    estimate_at: Mapped[datetime | None]
    # When the description and photos were blanked (retention, or the resident's /forgetme).
    redacted_at: Mapped[datetime | None]
    # How the request reached the desk (`vocabulary.Channel`), and the staff member who
    # registered it when it did not come from the resident's own Telegram chat.
    channel: Mapped[str] = mapped_column(String(16), default="telegram", server_default="telegram")
    registered_by: Mapped[int | None] = mapped_column(BigInteger)
    registered_by_name: Mapped[str | None] = mapped_column(String(64))
    # The incident (one outage, many reports) the ticket belongs to, and its part in it:
    # "lead" holds the one card, "member" rides on it, "suggested" waits for staff to say.
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), index=True
    )
    incident_role: Mapped[str] = mapped_column(String(12), default="", server_default="")


class Incident(Base):
    """Many reports of one problem at one place (停水 in 3栋): one card, one SLA count.

    A planned incident comes from an announcement and covers its window: reports in it
    are answered with the notice instead of becoming tickets."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_place_status", "property_id", "building", "status"),
        Index("ix_incidents_property_opened", "property_id", "opened_at"),  # digest figures
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"))
    building: Mapped[str] = mapped_column(String(32), default="")
    category: Mapped[str] = mapped_column(String(16))
    hazard: Mapped[str | None] = mapped_column(String(16))
    topic: Mapped[str] = mapped_column(String(16), default="")
    # the first report's content words, the yardstick later reports are measured against
    words: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | closed
    planned: Mapped[bool] = mapped_column(Boolean, default=False)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", ondelete="SET NULL"))
    lead_ticket_id: Mapped[int | None] = mapped_column(Integer)
    opened_at: Mapped[datetime]
    last_report_at: Mapped[datetime]
    # planned work: the announced window; unplanned: None
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class TicketEvent(Base):
    """The audit trail: who did what to a ticket, and when."""

    __tablename__ = "ticket_events"
    __table_args__ = (
        Index("ix_ticket_events_ticket_at", "ticket_id", "at"),
        # Reopenings in a period, for performance figures.
        Index("ix_ticket_events_kind_at", "kind", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    actor_kind: Mapped[str] = mapped_column(String(16))  # resident, staff, system
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(24))
    old_value: Mapped[str | None] = mapped_column(String(64))
    new_value: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    photo_file_ids: Mapped[list[Any] | None] = mapped_column()


class DialogState(Base):
    __tablename__ = "dialog_states"
    # "is anyone in danger?" left unanswered: the sweep reads only the questions that are due
    __table_args__ = (Index("ix_dialog_states_due", "due_at"),)

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    flow: Mapped[str] = mapped_column(String(32), default="")
    step: Mapped[str] = mapped_column(String(32), default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]
    # When silence answers the step's question (an unsure emergency pages); None: never.
    due_at: Mapped[datetime | None]


class ProcessedUpdate(Base):
    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    processed_at: Mapped[datetime]


class OutboxMessage(Base):
    """A message to another chat, written in the same transaction as the change it reports."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        # "is an earlier message to this chat still waiting?", asked before every send
        Index("ix_outbox_chat_status", "chat_id", "status", "priority", "id"),
        # an announcement's delivery report and its stop read only that notice's rows
        Index("ix_outbox_notice_status", "notice_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    sent_message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    # Lower leaves first when the limits make messages wait (bot.domain SendPriority).
    priority: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    # A sender holds the row until then; a sender that died loses it at that moment.
    claimed_until: Mapped[datetime | None]
    # Sends whose outcome was unknown (request sent, answer lost) and were sent again:
    # each may have shown the message twice.
    uncertain_sends: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The announcement this row is one resident's copy of (None for everything else).
    notice_id: Mapped[int | None] = mapped_column(Integer)


class Team(Base):
    """A property's team and the group chat (and forum topic) its cards go to."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("property_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    bound_by: Mapped[int | None] = mapped_column(BigInteger)
    bound_at: Mapped[datetime | None]


class StaffMember(Base):
    """One person's membership of one team; removal keeps the row for the audit trail."""

    __tablename__ = "staff_members"
    __table_args__ = (
        UniqueConstraint("property_id", "team", "telegram_id"),
        Index("ix_staff_members_telegram_active", "telegram_id", "active"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"))
    team: Mapped[str] = mapped_column(String(16))
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(64), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16), default="staff")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    invited_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Invite(Base):
    """A one-time code that makes whoever redeems it a member of a team."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"))
    team: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16), default="staff")
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_by: Mapped[int | None] = mapped_column(BigInteger)
    used_at: Mapped[datetime | None]


class Correction(Base):
    """A staff member changed what the classifier decided; the lexicon learns from these."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(16))  # category or urgency
    text: Mapped[str] = mapped_column(Text)
    old_value: Mapped[str] = mapped_column(String(16))
    new_value: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime]


class TicketCard(Base):
    """A ticket's card in a group chat; its message id arrives when the outbox sends it."""

    __tablename__ = "ticket_cards"
    __table_args__ = (
        Index("ix_ticket_cards_ticket", "ticket_id"),
        Index("ix_ticket_cards_chat_message", "chat_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    team: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    outbox_key: Mapped[str] = mapped_column(String(128), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class Rating(Base):
    """The 1-5 star rating asked after a resident confirms a ticket is solved."""

    __tablename__ = "ratings"
    __table_args__ = (
        Index("ix_ratings_status_due", "status", "due_at"),
        Index("ix_ratings_answered", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), unique=True
    )
    resident_telegram_id: Mapped[int] = mapped_column(BigInteger)
    # scheduled -> asked -> reminded -> answered | expired
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    due_at: Mapped[datetime]
    asked_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    stars: Mapped[int | None] = mapped_column(Integer)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]


class ReturnVisit(Base):
    """回访: a follow-up by the service team after a low rating or a "not solved"."""

    __tablename__ = "return_visits"
    __table_args__ = (
        Index("ix_return_visits_status_due", "status", "due_at"),
        Index("ix_return_visits_ticket", "ticket_id"),
        Index("ix_return_visits_recorded", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(16))  # low_rating, not_solved
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]
    outcome: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[int | None] = mapped_column(BigInteger)
    recorded_at: Mapped[datetime | None]


class ScheduledRun(Base):
    """One run of a periodic job (digest, survey, inspection plan) per period: never twice."""

    __tablename__ = "scheduled_runs"
    __table_args__ = (UniqueConstraint("job", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(48))
    period: Mapped[str] = mapped_column(String(32))
    ran_at: Mapped[datetime]
    late: Mapped[bool] = mapped_column(Boolean, default=False)


class SurveyResponse(Base):
    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("period", "resident_telegram_id"),
        Index("ix_survey_responses_property_answered", "property_id", "answered_at"),
        Index("ix_survey_responses_property_sent", "property_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(16))
    property_id: Mapped[int | None] = mapped_column(ForeignKey("properties.id"))
    resident_telegram_id: Mapped[int] = mapped_column(BigInteger)
    sent_at: Mapped[datetime]
    stars: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]


class DutyMark(Base):
    """值班 set by hand: a lead's /duty, or someone's own /onduty or /offduty, for one team
    until `until` (the rota in settings decides the rest)."""

    __tablename__ = "duty_marks"
    __table_args__ = (Index("ix_duty_marks_team_until", "property_id", "team", "until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"))
    team: Mapped[str] = mapped_column(String(16))
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    on_duty: Mapped[bool] = mapped_column(Boolean)
    set_by: Mapped[int] = mapped_column(BigInteger)
    set_at: Mapped[datetime]
    until: Mapped[datetime]


class DutyCallRow(Base):
    """The person on duty was called privately about a ticket (for the managers' digest)."""

    __tablename__ = "duty_calls"
    __table_args__ = (
        UniqueConstraint("ticket_id", "telegram_id", "kind"),
        Index("ix_duty_calls_property_at", "property_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"))
    team: Mapped[str] = mapped_column(String(16))
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]


class Visitor(Base):
    """访客: announced by a resident, or met at the gate by a guard; kept a limited time."""

    __tablename__ = "visitors"
    __table_args__ = (
        Index("ix_visitors_property_created", "property_id", "created_at"),
        Index("ix_visitors_code", "code"),
        Index("ix_visitors_created", "created_at"),
        Index("ix_visitors_status_due", "status", "answer_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"))
    host_resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL")
    )
    host_address: Mapped[str] = mapped_column(String(128), default="")
    kind: Mapped[str] = mapped_column(String(16))  # expected (pre-registered) or walk_in
    status: Mapped[str] = mapped_column(String(16))  # `vocabulary.VisitorStatus`
    name: Mapped[str] = mapped_column(String(64))
    people: Mapped[int] = mapped_column(Integer, default=1)
    plate: Mapped[str] = mapped_column(String(16), default="")
    code: Mapped[str] = mapped_column(String(8), default="")
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    registered_by: Mapped[int | None] = mapped_column(BigInteger)  # the guard, for walk-ins
    guard_chat_id: Mapped[int | None] = mapped_column(BigInteger)  # where the guard asked
    answer_due_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    left_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class FaqGap(Base):
    """A question the FAQ did not answer, or whose answer the resident rejected: what the
    FAQ should grow by (`propdesk faq gaps`, the weekly digest)."""

    __tablename__ = "faq_gaps"
    __table_args__ = (
        Index("ix_faq_gaps_property_at", "property_id", "at"),
        Index("ix_faq_gaps_telegram", "telegram_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int | None] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # unanswered or rejected
    question: Mapped[str] = mapped_column(Text)
    entry_id: Mapped[str | None] = mapped_column(String(64))
    # who asked (their /mydata lists it; /forgetme blanks the question and this id)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime]


class FaqDraft(Base):
    """An FAQ entry staff wrote from a resolved inquiry; joins the matcher once a manager
    approves it (as entry `draft-<id>` of its property)."""

    __tablename__ = "faq_drafts"
    __table_args__ = (
        UniqueConstraint("ticket_id"),  # one draft per inquiry: a second press finds it
        Index("ix_faq_drafts_status_property", "status", "property_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    author_id: Mapped[int] = mapped_column(BigInteger)
    author_name: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16))  # `vocabulary.FaqDraftStatus`
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    reviewed_by: Mapped[int | None] = mapped_column(BigInteger)
    reviewed_by_name: Mapped[str] = mapped_column(String(64), default="")
    reviewed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Notice(Base):
    """An announcement to residents (通知): who it is for, what it says, when it goes."""

    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_status_send_at", "status", "send_at"),
        Index("ix_notices_property_created", "property_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: every property (an administrator's announcement)
    property_id: Mapped[int | None] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(BigInteger)
    author_name: Mapped[str] = mapped_column(String(64), default="")
    audience: Mapped[str] = mapped_column(String(16))
    # the building's name, "building/unit", or the category code; "" for a whole property
    audience_value: Mapped[str] = mapped_column(String(80), default="")
    text: Mapped[str] = mapped_column(Text)
    photo: Mapped[str | None] = mapped_column(String(256))
    safety: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))
    send_at: Mapped[datetime]
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    recipients: Mapped[int] = mapped_column(Integer, default=0)


class NoticeRecipient(Base):
    """Who an announcement was queued to (their outbox row is `notice:<id>:<telegram id>`)."""

    __tablename__ = "notice_recipients"
    __table_args__ = (Index("ix_notice_recipients_telegram", "telegram_id", "notice_id"),)

    notice_id: Mapped[int] = mapped_column(
        ForeignKey("notices.id", ondelete="CASCADE"), primary_key=True
    )
    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class NoticeOptOut(Base):
    """A resident who turned ordinary notices off (`/notices off`); safety notices still come."""

    __tablename__ = "notice_optouts"

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime]
