"""The desk's vocabulary as enums (docs/taxonomy.md).

Codes are what the database stores and the classifier returns; labels shown to people
live in the locale files under the same codes (`category.repair`, `team.engineering`).
`bot/nlp` keeps its own copy of the taxonomy codes (it imports nothing of ours); a test
checks the two agree.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Category(StrEnum):
    REPAIR = "repair"
    CLEANING = "cleaning"
    SECURITY = "security"
    PARKING = "parking"
    BILLING = "billing"
    COMPLAINT = "complaint"
    INQUIRY = "inquiry"
    SUGGESTION = "suggestion"
    OTHER = "other"


class Urgency(StrEnum):
    EMERGENCY = "emergency"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class Hazard(StrEnum):
    GAS = "gas"
    FIRE = "fire"
    WATER = "water"
    ELECTRIC = "electric"
    LIFT = "lift"
    MEDICAL = "medical"
    CRIME = "crime"
    STRUCTURE = "structure"


class Team(StrEnum):
    ENGINEERING = "engineering"
    ENVIRONMENT = "environment"
    SECURITY = "security"
    FINANCE = "finance"
    SERVICE = "service"
    MANAGERS = "managers"


class Role(StrEnum):
    """Ranked from least to most: a higher role may do what a lower one may."""

    STAFF = "staff"
    LEAD = "lead"
    MANAGER = "manager"
    ADMIN = "admin"


class TicketStatus(StrEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class RatingState(StrEnum):
    """A rating request's life: scheduled, asked, reminded once, then answered or closed."""

    SCHEDULED = "scheduled"
    ASKED = "asked"
    REMINDED = "reminded"
    ANSWERED = "answered"
    EXPIRED = "expired"  # closed unrated after the one reminder


class VisitStatus(StrEnum):
    """A return visit (回访) is open until a service lead records its outcome."""

    OPEN = "open"
    DONE = "done"


class CardAction(StrEnum):
    """What staff may do from a ticket's card (see `policy.may_act_on_ticket`)."""

    ACCEPT = "accept"
    START = "start"
    WAIT = "wait"
    ESTIMATE = "estimate"
    COMPLETE = "complete"
    REASSIGN = "reassign"
    CONTACT = "contact"
    NOTE = "note"
    CATEGORY = "category"
    URGENCY = "urgency"


class DutyCall(StrEnum):
    """Why the person on duty was called privately (recorded for the managers' digest)."""

    CARD = "card"  # an emergency's card outside business hours
    REMIND = "remind"  # half the response time passed, nobody accepted
    ESCALATE = "escalate"  # a deadline passed


class Handover(StrEnum):
    """What happens to a ticket its holder leaves (going off duty, removed from the team)."""

    POOL = "pool"  # back to the team's pool
    GIVE = "give"  # to a named colleague
    KEEP = "keep"  # the holder keeps it


class Channel(StrEnum):
    """How a request reached the desk: the resident's own chat, or registered by staff."""

    TELEGRAM = "telegram"
    PHONE = "phone"
    WALK_IN = "walk_in"
    EMAIL = "email"
    OTHER = "other"
    PATROL = "patrol"  # found by staff on patrol: a common area, no resident


class VisitorKind(StrEnum):
    EXPECTED = "expected"  # pre-registered by the resident
    WALK_IN = "walk_in"  # met at the gate by a guard


class VisitorStatus(StrEnum):
    EXPECTED = "expected"  # announced, not here yet
    ASKING = "asking"  # a walk-in: the host was asked
    LET_IN = "let_in"  # the host said yes
    REFUSED = "refused"  # the host does not know them
    GUARD = "guard"  # nobody to ask, or no answer in time: the guard decides
    ARRIVED = "arrived"
    LEFT = "left"


class FaqDraftStatus(StrEnum):
    """An FAQ entry staff write from a resolved inquiry, on its way into the FAQ."""

    WRITING = "writing"  # the staff member's private dialog is open
    PENDING = "pending"  # waiting for a manager
    APPROVED = "approved"  # part of the FAQ (entry `draft-<id>`)
    REJECTED = "rejected"


class HotlineKind(StrEnum):
    """Keys of a property's `hotlines` setting."""

    GAS = "gas"
    FIRE = "fire"
    MEDICAL = "medical"
    CRIME = "crime"
    LIFT = "lift"
    PROPERTY = "property"


TEAMS: tuple[str, ...] = tuple(Team)
ROLES: tuple[str, ...] = tuple(Role)
CATEGORIES: tuple[str, ...] = tuple(Category)
URGENCIES: tuple[str, ...] = tuple(Urgency)
HAZARDS: tuple[str, ...] = tuple(Hazard)
CHANNELS: tuple[str, ...] = tuple(Channel)
# What staff pick at `/new`: the ways a resident reaches the front desk.
DESK_CHANNELS: tuple[str, ...] = (Channel.PHONE, Channel.WALK_IN, Channel.EMAIL, Channel.OTHER)
RATING_OPEN_STATES: tuple[str, ...] = (
    RatingState.SCHEDULED,
    RatingState.ASKED,
    RatingState.REMINDED,
)
OPEN_STATUSES: frozenset[str] = frozenset(
    {TicketStatus.NEW, TicketStatus.ACCEPTED, TicketStatus.IN_PROGRESS, TicketStatus.WAITING}
)


class SendPriority(IntEnum):
    """Which message leaves first when Telegram's limits make messages wait; lower first.

    Within one private chat messages keep the order they were made whatever their priority
    (a conversation read out of order is nonsense); in a group chat a higher priority
    overtakes, so an emergency card never waits behind a catch-up of reminders."""

    URGENT = 0  # emergency cards and safety notices
    REPLY = 1  # replies to a person talking to the bot now
    CARD = 2  # new cards, card updates, notices about a person's own ticket
    ROUTINE = 3  # reminders, escalations, digests
    BULK = 4  # rating requests, surveys, announcements


class NoticeStatus(StrEnum):
    """An announcement's life: waits for its time, goes out, then is reported."""

    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"  # every row sent or failed; the sender has had the report
    CANCELLED = "cancelled"  # called off before it started
    STOPPED = "stopped"  # stopped while sending; the report follows


class NoticeAudience(StrEnum):
    """Who an announcement is for."""

    ALL = "all"  # every property
    PROPERTY = "property"
    BUILDING = "building"
    UNIT = "unit"
    CATEGORY = "category"  # residents with an open ticket in one category


class DeliveryOutcome(StrEnum):
    """How one announcement row ended, for the sender's report."""

    DELIVERED = "delivered"
    BLOCKED = "blocked"  # the resident blocked the bot
    FAILED = "failed"
    CANCELLED = "cancelled"  # stopped before it left
    PENDING = "pending"
