"""Button families shared by several handler modules (cards, notices, feedback).

Each family is one codec with named actions; the wire format of buttons already sent
stays as it was, so a card posted before an upgrade still works after it.
"""

from __future__ import annotations

from enum import StrEnum

from bot.domain.vocabulary import CATEGORIES, TEAMS, URGENCIES
from bot.handlers.flow import CallbackCodec


class CardButton(StrEnum):
    ACCEPT = "acc"
    START = "st"
    ASK_COMPLETE = "done"
    FINISH_WITHOUT_NOTE = "fin"
    REASSIGN_MENU = "re"
    REASSIGN_TO = "rt"
    CONTACT = "ph"
    NOTE = "note"
    CATEGORY_MENU = "cat"
    CATEGORY = "c"
    URGENCY_MENU = "urg"
    URGENCY = "u"
    BACK = "back"
    WAIT = "wt"
    ESTIMATE = "eta"
    FAQ = "faq"  # a resolved inquiry becomes an FAQ draft


POOL = "pool"  # reassign back to the same team's pool

CARD = CallbackCodec(
    "tk",
    CardButton,
    subject="id",
    arguments={
        CardButton.REASSIGN_TO: (*TEAMS, POOL),
        CardButton.CATEGORY: CATEGORIES,
        CardButton.URGENCY: URGENCIES,
    },
    summary="staff buttons on a ticket's card in a team group; the subject is the ticket id",
)


class ResolvedButton(StrEnum):
    SOLVED = "ok"
    NOT_SOLVED = "no"


RESOLVED = CallbackCodec(
    "rs",
    ResolvedButton,
    subject="id",
    summary="the resident's answer to 'resolved': solved closes, not solved reopens",
)


class Stars(StrEnum):
    ONE = "1"
    TWO = "2"
    THREE = "3"
    FOUR = "4"
    FIVE = "5"


RATING = CallbackCodec(
    "rt", Stars, subject="id", summary="1-5 stars for a finished ticket; subject: rating id"
)
SURVEY = CallbackCodec(
    "sv", Stars, subject="period", summary="1-5 stars for a survey; subject: the survey's period"
)


class ReasonButton(StrEnum):
    """The reasons of `Ratings` (a test keeps them equal), and skipping the comment."""

    SLOW = "slow"
    NOT_FIXED = "not_fixed"
    ATTITUDE = "attitude"
    DIRTY = "dirty"
    OTHER = "other"
    SKIP = "skip"


REASON = CallbackCodec(
    "rr",
    ReasonButton,
    subject="id",
    summary="why a low rating (or skip the comment); subject: rating id",
)


class FeedbackButton(StrEnum):
    NEW_PROBLEM = "new"


FEEDBACK = CallbackCodec(
    "fb", FeedbackButton, summary="the comment just left is really a new problem: report it"
)


class VisitButton(StrEnum):
    RECORD = "record"  # sent without an action: `rv:<visit>`


VISIT = CallbackCodec(
    "rv",
    VisitButton,
    subject="id",
    default=VisitButton.RECORD,
    summary="record a return visit's outcome (service group); subject: visit id",
)


class Language(StrEnum):
    """The locales of `bot.i18n` (a test keeps them equal)."""

    ZH_CN = "zh-CN"
    EN = "en"


LANGUAGE = CallbackCodec("lang", Language, summary="the language chosen with /lang")


class IncidentButton(StrEnum):
    MERGE = "m"  # staff, on a suggested report's card
    APART = "n"  # staff: not the same
    OTHER = "o"  # the resident: mine is something else
    ANNOUNCE = "a"  # staff, on the incident's card: preview a notice to the building
    ANNOUNCE_SEND = "as"  # ... and send it


INCIDENT = CallbackCodec(
    "ic",
    IncidentButton,
    subject="id",
    summary="incidents: merge / not the same (staff), split mine out (resident), notify the "
    "building (staff); subject: the ticket id",
)
