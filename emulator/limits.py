"""Flood limits from the Bot FAQ, on an injectable clock.

* about 1 message per second to one chat, with a short burst tolerated (token bucket);
* at most 20 messages per minute into one group (sliding window);
* about 30 messages per second overall (sliding window).

A refusal carries ``retry_after`` in whole seconds, at least 1.
"""

from __future__ import annotations

import math
from collections import deque
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
    """The limits; every value is configurable, ``enabled=False`` turns them all off."""

    enabled: bool = True
    chat_per_second: float = 1.0
    chat_burst: int = 30
    group_per_minute: int = 20
    global_per_second: int = 30


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

    def check(self, chat_id: int, is_group: bool, count: int = 1) -> int:
        """Return 0 when ``count`` messages may go to ``chat_id`` now, else retry_after."""
        if not self.config.enabled:
            return 0
        now = self.clock()
        waits = [
            self._global_wait(now, count),
            self._chat_wait(chat_id, now, count),
            self._group_wait(chat_id, now, count) if is_group else 0.0,
        ]
        wait = max(waits)
        return max(1, math.ceil(wait)) if wait > 0 else 0

    def record(self, chat_id: int, is_group: bool, count: int = 1) -> None:
        """Count ``count`` messages sent to ``chat_id`` now."""
        if not self.config.enabled:
            return
        now = self.clock()
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
