"""Telegram's bad weather, on demand: server errors, dropped connections, slow answers,
outages and random faults, with a count of everything injected.

The plan is pure bookkeeping (which fault applies to this call); the HTTP side
(``server.ApiServer``) carries it out. Precedence for one call: a queued ``Fault`` first,
then a running outage, then random faults.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from .errors import ApiError
from .limits import Clock


class FaultKind(StrEnum):
    """What happens to a call hit by a fault."""

    JSON_500 = "json_500"  # 500 {"ok":false,"error_code":500,"description":"Internal Server Error"}
    JSON_502 = "json_502"  # 502 {"ok":false,"error_code":502,"description":"Bad Gateway"}
    HTML_502 = "html_502"  # 502 with nginx's HTML page (text/html), as a proxy in front answers
    CLOSE_BEFORE = "close_before"  # connection closed, the call never processed
    CLOSE_AFTER = "close_after"  # the call processed (message stored), connection closed unanswered
    SLOW = "slow"  # wait ``delay`` seconds, then process and answer
    LATE_ANSWER = "late_answer"  # process at once, answer after ``delay`` seconds
    API_ERROR = "api_error"  # answer ``Fault.error`` (what ``fail_next`` injects)


# Kinds that never reach the method: the world is unchanged.
UNPROCESSED = frozenset(
    {
        FaultKind.JSON_500,
        FaultKind.JSON_502,
        FaultKind.HTML_502,
        FaultKind.CLOSE_BEFORE,
        FaultKind.API_ERROR,
    }
)
TRANSIENT_KINDS: tuple[FaultKind, ...] = (
    FaultKind.JSON_500,
    FaultKind.JSON_502,
    FaultKind.HTML_502,
    FaultKind.CLOSE_BEFORE,
    FaultKind.CLOSE_AFTER,
)

INTERNAL_SERVER_ERROR = ApiError(500, "Internal Server Error")
BAD_GATEWAY = ApiError(502, "Bad Gateway")
# nginx's own error page (what Telegram's front answers when the backend is away).
NGINX_502_HTML = (
    "<html><head><title>502 Bad Gateway</title></head><body>"
    "<center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)


@dataclass
class Fault:
    """``times`` calls of ``method`` (lower-cased; ``None``: any method but getUpdates),
    optionally only those to ``chat_id``, meet ``kind``. ``delay`` is in real seconds
    (asyncio.sleep); ``error`` is the answer of an ``API_ERROR``."""

    kind: FaultKind | str
    method: str | None = None
    times: int = 1
    delay: float = 0.0
    error: ApiError | None = None
    chat_id: int | None = None

    def __post_init__(self) -> None:
        self.kind = FaultKind(self.kind)
        self.method = self.method.lower() if self.method else None
        if self.kind is FaultKind.API_ERROR and self.error is None:
            raise ValueError("an api_error fault needs an error")

    def matches(self, method: str, chat_id: int | None) -> bool:
        if self.times <= 0:
            return False
        if self.method is None and method == "getupdates":
            return False
        if self.method is not None and self.method != method:
            return False
        return self.chat_id is None or self.chat_id == chat_id


@dataclass
class Outage:
    """Until ``until`` on the limits clock every method but ``exempt`` meets ``kind``."""

    until: float
    kind: FaultKind
    exempt: frozenset[str]


@dataclass
class RandomFaults:
    """Each matching call fails with probability ``rate``, kind drawn from ``kinds``."""

    rate: float
    kinds: tuple[FaultKind, ...]
    methods: frozenset[str] | None  # None: every method but getUpdates
    rng: random.Random

    def draw(self, method: str) -> FaultKind | None:
        if self.methods is None and method == "getupdates":
            return None
        if self.methods is not None and method not in self.methods:
            return None
        # Two draws per eligible call whatever the outcome, so a seed gives one sequence.
        hit = self.rng.random() < self.rate
        kind = self.rng.choice(self.kinds)
        return kind if hit else None


@dataclass
class FaultStats:
    """What was injected, per kind, and what was answered, per HTTP status."""

    injected: Counter[str] = field(default_factory=Counter)
    injected_by_method: Counter[str] = field(default_factory=Counter)
    answers: Counter[int] = field(default_factory=Counter)
    dropped: int = 0  # connections closed without an answer (both close kinds)


@dataclass
class FaultPlan:
    clock: Clock
    queue: list[Fault] = field(default_factory=list)
    outage: Outage | None = None
    random: RandomFaults | None = None
    stats: FaultStats = field(default_factory=FaultStats)

    def take(self, method: str, chat_id: int | None) -> Fault | None:
        """The fault this call meets (counted as injected), or None."""
        fault = self._take_queued(method, chat_id) or self._outage_fault(method)
        if fault is None and self.random is not None:
            kind = self.random.draw(method)
            fault = Fault(kind, method) if kind is not None else None
        if fault is not None:
            self.stats.injected[str(fault.kind)] += 1
            self.stats.injected_by_method[method] += 1
        return fault

    def _take_queued(self, method: str, chat_id: int | None) -> Fault | None:
        for fault in self.queue:
            if fault.matches(method, chat_id):
                fault.times -= 1
                if fault.times <= 0:
                    self.queue.remove(fault)
                return fault
        return None

    def _outage_fault(self, method: str) -> Fault | None:
        outage = self.outage
        if outage is None:
            return None
        if self.clock() >= outage.until:
            self.outage = None
            return None
        if method in outage.exempt:
            return None
        return Fault(outage.kind, method)

    def start_outage(self, seconds: float, kind: FaultKind | str, exempt: Iterable[str]) -> Outage:
        self.outage = Outage(
            until=self.clock() + seconds,
            kind=FaultKind(kind),
            exempt=frozenset(m.lower() for m in exempt),
        )
        return self.outage

    def outage_active(self) -> bool:
        return self.outage is not None and self.clock() < self.outage.until
