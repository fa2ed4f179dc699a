"""Ticket statuses and the one table of allowed transitions, whatever the transport."""

from __future__ import annotations

from bot.domain.vocabulary import OPEN_STATUSES
from bot.domain.vocabulary import TicketStatus as Status

__all__ = ["OPEN_STATUSES", "TRANSITIONS", "IllegalTransition", "Status", "next_status"]

_WORKING = (Status.NEW, Status.ACCEPTED, Status.IN_PROGRESS, Status.WAITING)

TRANSITIONS: dict[str, dict[Status, Status]] = {
    "accept": {Status.NEW: Status.ACCEPTED},
    "start": {Status.ACCEPTED: Status.IN_PROGRESS, Status.WAITING: Status.IN_PROGRESS},
    "wait": {Status.ACCEPTED: Status.WAITING, Status.IN_PROGRESS: Status.WAITING},
    "resolve": {s: Status.RESOLVED for s in _WORKING if s != Status.NEW},
    "reassign": {s: Status.NEW for s in _WORKING},
    "cancel": {s: Status.CANCELLED for s in _WORKING},
    "confirm": {Status.RESOLVED: Status.CLOSED},
    "reopen": {Status.RESOLVED: Status.NEW, Status.CLOSED: Status.NEW},
    "close": {Status.RESOLVED: Status.CLOSED},
}


class IllegalTransition(Exception):
    def __init__(self, action: str, status: str) -> None:
        super().__init__(f"cannot {action} a ticket that is {status}")
        self.action = action
        self.status = status


def next_status(action: str, current: str) -> Status:
    """The status after `action`, or IllegalTransition (accept twice, complete a cancelled...)."""
    table = TRANSITIONS.get(action, {})
    try:
        return table[Status(current)]
    except (KeyError, ValueError):
        raise IllegalTransition(action, current) from None
