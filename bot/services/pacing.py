"""Telegram's published limits, kept on our side so both transports behave the same:
about 30 messages a second overall, 20 a minute into one group, about one a second into
one private chat (Bot FAQ). The outbox waits here before each send instead of collecting
429s; a 429 that still comes is honoured by the sender's retry."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    per_second: int = 25  # a margin under Telegram's ~30
    per_group_minute: int = 20
    # "about one a second, short bursts tolerated": five within any five seconds
    chat_burst: int = 5
    chat_window: float = 5.0


class Pacer:
    """Sliding windows per chat and overall; `now` and `sleep` are injected for tests."""

    def __init__(
        self,
        limits: Limits | None = None,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = limits or Limits()
        self._now = now
        self._sleep = sleep
        self._overall: deque[float] = deque()
        self._chats: defaultdict[int, deque[float]] = defaultdict(deque)
        self._chat_locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._overall_lock = asyncio.Lock()

    async def wait(self, chat_id: int) -> float:
        """Wait until a message to `chat_id` is within the limits; returns the seconds waited.

        A busy group holds up only its own messages: the long per-chat wait happens under
        that chat's lock, and only the short overall wait is shared by everyone."""
        waited = 0.0
        async with self._chat_locks[chat_id]:
            while (delay := self._chat_delay(chat_id)) > 0:
                await self._sleep(delay)
                waited += delay
            async with self._overall_lock:
                while (delay := self._overall_delay()) > 0:
                    await self._sleep(delay)
                    waited += delay
                moment = self._now()
                self._overall.append(moment)
                self._chats[chat_id].append(moment)
        return waited

    def _chat_delay(self, chat_id: int) -> float:
        limits = self.limits
        if chat_id < 0:
            window, allowed = 60.0, limits.per_group_minute
        else:
            window, allowed = limits.chat_window, limits.chat_burst
        return _window_delay(self._chats[chat_id], self._now(), window, allowed)

    def _overall_delay(self) -> float:
        return _window_delay(self._overall, self._now(), 1.0, self.limits.per_second)


def _window_delay(sent: deque[float], now: float, window: float, allowed: int) -> float:
    while sent and sent[0] <= now - window:
        sent.popleft()
    if len(sent) < allowed:
        return 0.0
    return sent[len(sent) - allowed] + window - now
