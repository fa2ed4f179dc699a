"""Flood limits from the Bot FAQ, on an injectable clock.

* about 1 message per second to one chat, with a short burst tolerated (token bucket of
  ``chat_burst`` messages, refilled at ``chat_per_second``);
* at most 20 messages per minute into one group (sliding window);
* about 30 messages per second overall (sliding window).

A refusal carries ``retry_after`` in whole seconds, at least 1, and puts the chat on hold
until then. Coming back to a held chat early is refused again with a penalty: the n-th early
attempt in a row is told to wait the time left plus ``penalty_seconds * 2 ** (n - 1)``
(capped at ``penalty_max``); the hold and the count end with the first accepted send.
Refused attempts never use up budget.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]


class ManualClock:
    """A clock for tests: ``clock()`` returns the current reading, ``advance()`` moves it."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class RateLimitConfig:
    """The limits; every value is configurable, ``enabled=False`` turns them all off.

    ``chat_burst=5``: the Bot FAQ tolerates "short bursts" into one chat before about one
    message a second; five is a short burst and matches what a well-behaved sender paces to.
    """

    enabled: bool = True
    chat_per_second: float = 1.0
    chat_burst: int = 5
    group_per_minute: int = 20
    global_per_second: int = 30
    penalty: bool = True  # early attempts on a held chat are refused with a growing wait
    penalty_seconds: float = 1.0
    penalty_max: float = 300.0


# The emulator's former default: a burst of 30 into one private chat before the 1/s limit.
LENIENT_LIMITS = RateLimitConfig(chat_burst=30)


@dataclass
class FloodStats:
    """Counters of the flood limits: refusals (429) and accepted messages, overall and per chat."""

    too_many_requests: int = 0
    too_many_requests_by_chat: Counter[int] = field(default_factory=Counter)
    accepted: int = 0
    accepted_by_chat: Counter[int] = field(default_factory=Counter)
    early_retries: int = 0  # attempts on a held chat (each one penalised)
    early_retries_by_chat: Counter[int] = field(default_factory=Counter)


@dataclass
class _Hold:
    until: float
    strikes: int = 0


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    config: RateLimitConfig
    clock: Clock
    _chat: dict[int, _Bucket] = field(default_factory=dict)
    _group: dict[int, deque[float]] = field(default_factory=dict)
    _global: deque[float] = field(default_factory=deque)
    _holds: dict[int, _Hold] = field(default_factory=dict)
    stats: FloodStats = field(default_factory=FloodStats)

    def check(self, chat_id: int, is_group: bool, count: int = 1) -> int:
        """Return 0 when ``count`` messages may go to ``chat_id`` now, else retry_after.

        A refusal is counted and puts the chat on hold; call it once per attempt."""
        if not self.config.enabled:
            return 0
        now = self.clock()
        retry = self._penalty(chat_id, now)
        if not retry:
            retry = self._natural_wait(chat_id, is_group, now, count)
            if retry and self.config.penalty:
                self._holds[chat_id] = _Hold(now + retry)
        if retry:
            self.stats.too_many_requests += 1
            self.stats.too_many_requests_by_chat[chat_id] += 1
        return retry

    def _natural_wait(self, chat_id: int, is_group: bool, now: float, count: int) -> int:
        waits = [
            self._global_wait(now, count),
            self._chat_wait(chat_id, now, count),
            self._group_wait(chat_id, now, count) if is_group else 0.0,
        ]
        wait = max(waits)
        return max(1, math.ceil(wait)) if wait > 0 else 0

    def _penalty(self, chat_id: int, now: float) -> int:
        """The grown wait of an attempt on a held chat, or 0 when the chat is not held."""
        hold = self._holds.get(chat_id)
        if hold is None or now >= hold.until:
            return 0
        hold.strikes += 1
        extra = self.config.penalty_seconds * 2 ** (hold.strikes - 1)
        wait = min(hold.until - now + extra, self.config.penalty_max)
        retry = max(1, math.ceil(wait))
        hold.until = now + retry
        self.stats.early_retries += 1
        self.stats.early_retries_by_chat[chat_id] += 1
        return retry

    def held_until(self, chat_id: int) -> float | None:
        """When the hold on ``chat_id`` ends (limits clock), or None."""
        hold = self._holds.get(chat_id)
        return hold.until if hold is not None and self.clock() < hold.until else None

    def record(self, chat_id: int, is_group: bool, count: int = 1) -> None:
        """Count ``count`` messages sent to ``chat_id`` now."""
        self.stats.accepted += count
        self.stats.accepted_by_chat[chat_id] += count
        if not self.config.enabled:
            return
        now = self.clock()
        self._holds.pop(chat_id, None)
        bucket = self._refill(chat_id, now)
        bucket.tokens -= count
        self._global.extend([now] * count)
        if is_group:
            self._group.setdefault(chat_id, deque()).extend([now] * count)

    def _refill(self, chat_id: int, now: float) -> _Bucket:
        burst = float(self.config.chat_burst)
        bucket = self._chat.setdefault(chat_id, _Bucket(burst, now))
        elapsed = max(0.0, now - bucket.updated)
        bucket.tokens = min(burst, bucket.tokens + elapsed * self.config.chat_per_second)
        bucket.updated = now
        return bucket

    def _chat_wait(self, chat_id: int, now: float, count: int) -> float:
        bucket = self._refill(chat_id, now)
        missing = count - bucket.tokens
        return missing / self.config.chat_per_second if missing > 0 else 0.0

    def _group_wait(self, chat_id: int, now: float, count: int) -> float:
        window = self._group.setdefault(chat_id, deque())
        return _window_wait(window, now, 60.0, self.config.group_per_minute, count)

    def _global_wait(self, now: float, count: int) -> float:
        return _window_wait(self._global, now, 1.0, self.config.global_per_second, count)


def _window_wait(window: deque[float], now: float, span: float, limit: int, count: int) -> float:
    while window and window[0] <= now - span:
        window.popleft()
    excess = len(window) + count - limit
    if excess <= 0:
        return 0.0
    if excess > len(window):
        return span
    return window[excess - 1] + span - now
