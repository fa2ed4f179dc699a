"""Telegram's published limits, kept on our side so both transports behave the same:
about 30 messages a second overall, about one a second into any one chat after a short
burst, and no more than 20 a minute into one group (Bot FAQ). The outbox asks here before each send
instead of collecting 429s; a 429 that still comes closes that chat for as long as
Telegram says, and the refused attempt is given back rather than counted as sent.

The overall budget goes to emergencies first; the other priorities share it while they wait
(`Limits.shares`): a crowd of residents talking to the bot slows an announcement down but
never stops it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Protocol

from bot.domain.vocabulary import SendPriority
from bot.services.gate import PriorityGate


class Timer(Protocol):
    """Seconds on a monotonic clock and a way to wait them; tests travel instead."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class RealTimer:
    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


EPSILON = 1e-6


@dataclass(frozen=True)
class Limits:
    per_second: int = 29  # one under Telegram's ~30 (and each window waits a margin more)
    overall_burst: int = 5  # how many may leave at once after a quiet moment
    per_group_minute: int = 20
    # "about one a second, short bursts tolerated": a bucket of three, refilled at one a second
    chat_burst: int = 3
    chat_per_second: float = 1.0
    # the overall budget among waiting messages of these priorities (URGENT goes first):
    # with replies and an announcement both waiting, five slots in eight go to replies
    shares: tuple[tuple[int, int], ...] = (
        (SendPriority.REPLY, 5),
        (SendPriority.CARD, 5),
        (SendPriority.ROUTINE, 3),
        (SendPriority.BULK, 3),
    )


# For a server without Telegram's limits: nothing waits for pacing.
UNLIMITED = Limits(
    per_second=1_000_000,
    overall_burst=1_000_000,
    per_group_minute=1_000_000,
    chat_burst=1_000_000,
    chat_per_second=1_000_000.0,
)


@dataclass
class _Bucket:
    tokens: float
    at: float


class Pacer:
    """A token bucket per chat, a minute's window per group on top, a second's window
    overall, and a penalty box per chat for Telegram's own 429s."""

    def __init__(self, limits: Limits | None = None, timer: Timer | None = None) -> None:
        self.limits = limits or Limits()
        self.timer = timer or RealTimer()
        self._overall: deque[float] = deque()
        self._groups: defaultdict[int, deque[float]] = defaultdict(deque)
        self._buckets: dict[int, _Bucket] = {}
        self._closed_until: dict[int, float] = {}
        self._overall_bucket = _Bucket(float(self.limits.overall_burst), self.timer.monotonic())
        self._gate = PriorityGate(dict(self.limits.shares))

    def chat_delay(self, chat_id: int) -> float:
        """Seconds until `chat_id` may take another message (0: now)."""
        now = self.timer.monotonic()
        penalty = self._closed_until.get(chat_id, 0.0) - now
        quota = self._bucket_delay(chat_id, now)  # "one a second in a particular chat"
        if chat_id < 0:
            window = self._groups[chat_id]
            quota = max(quota, _window_delay(window, now, 60.0, self.limits.per_group_minute))
        return max(penalty, quota, 0.0)

    async def take(self, chat_id: int, priority: int) -> float:
        """Wait for a slot of the overall budget (emergencies first, the rest by their
        shares) and spend it (and the chat's). Call after `chat_delay` said the chat is
        open. The overall budget refills evenly (a slot every 1/per_second s) instead of a
        whole second's worth at once, so an urgent message never waits behind a burst.
        Returns the moment noted for the second's count, for `landed`."""
        async with self._gate.turn(priority):
            while (delay := self._overall_delay()) > 0:
                await self.timer.sleep(delay)
            now = self.timer.monotonic()
            self._spend(chat_id, now)
            return now

    def landed(self, taken: float, chat_id: int) -> None:
        """The send to `chat_id` that took its slot at `taken` was answered: Telegram
        counted it when it arrived, at the latest now, so the second's count (and a group's
        minute) keeps it from now on. A crowd of sends released together may leave the
        process late and unevenly (the first ones behind the loop's other work, the later
        ones at once); counted from their release they could reach Telegram more than 30 to
        a second, or a group's 21st within a minute of its first."""
        now = self.timer.monotonic()
        _move_to_now(self._overall, taken, now)
        if chat_id < 0:
            _move_to_now(self._groups[chat_id], taken, now)

    def _overall_delay(self) -> float:
        now = self.timer.monotonic()
        limits = self.limits
        smooth = self._overall_bucket
        smooth.tokens = min(
            float(limits.overall_burst), smooth.tokens + (now - smooth.at) * limits.per_second
        )
        smooth.at = now
        if smooth.tokens < 1.0 - EPSILON:  # (rounding must not leave a wait of 1e-17 s)
            return (1.0 - smooth.tokens) / limits.per_second + EPSILON
        # and never more than Telegram's count in any one second
        return _window_delay(self._overall, now, 1.0, limits.per_second)

    def refuse(self, chat_id: int, retry_after: float) -> None:
        """Telegram answered 429: that attempt was not a message, and the chat is closed."""
        now = self.timer.monotonic()
        self._give_back(chat_id)
        self._closed_until[chat_id] = max(self._closed_until.get(chat_id, 0.0), now + retry_after)

    def _spend(self, chat_id: int, now: float) -> None:
        self._overall.append(now)
        self._overall_bucket.tokens -= 1.0
        if chat_id < 0:
            self._groups[chat_id].append(now)
        self._refill(chat_id, now).tokens -= 1.0

    def _give_back(self, chat_id: int) -> None:
        if self._overall:
            self._overall.pop()
            self._overall_bucket.tokens += 1.0
        if chat_id < 0 and self._groups[chat_id]:
            self._groups[chat_id].pop()
        if chat_id in self._buckets:
            self._buckets[chat_id].tokens += 1.0

    def _refill(self, chat_id: int, now: float) -> _Bucket:
        limits = self.limits
        bucket = self._buckets.setdefault(chat_id, _Bucket(float(limits.chat_burst), now))
        bucket.tokens = min(
            float(limits.chat_burst), bucket.tokens + (now - bucket.at) * limits.chat_per_second
        )
        bucket.at = now
        return bucket

    def _bucket_delay(self, chat_id: int, now: float) -> float:
        bucket = self._refill(chat_id, now)
        if bucket.tokens >= 1.0 - EPSILON:
            return 0.0
        refill = 1.0 / self.limits.chat_per_second
        return (1.0 - bucket.tokens) * refill + _margin(refill)


def _window_delay(sent: deque[float], now: float, window: float, allowed: int) -> float:
    while sent and sent[0] <= now - window:
        sent.popleft()
    if len(sent) < allowed:
        return 0.0
    return sent[len(sent) - allowed] + window - now + _margin(window)


def _margin(window: float) -> float:
    """We note a send before the request leaves, Telegram when it arrives: wait a little
    longer than the bare window so its count has let go too."""
    return 0.05 + 0.01 * window


def _move_to_now(window: deque[float], noted: float, now: float) -> None:
    """A send noted at `noted` counted from `now` instead (appended: every other note is
    earlier). Gone from the window already: counted from now all the same."""
    with contextlib.suppress(ValueError):
        window.remove(noted)
    window.append(now)
