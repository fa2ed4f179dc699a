"""A lock whose next holder is the most urgent waiter (then the longest waiting): the
outbox's share of Telegram's overall budget, and SQLite's one writer at a time."""

from __future__ import annotations

import asyncio
import heapq
import itertools


class PriorityGate:
    """One holder at a time; when it leaves, the most urgent waiter (then the longest
    waiting) goes next."""

    def __init__(self) -> None:
        self._busy = False
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def turn(self, priority: int) -> _Turn:
        return _Turn(self, priority)

    async def acquire(self, priority: int) -> None:
        if not self._busy and not self._waiters:
            self._busy = True
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # handed the turn just as we were cancelled: pass it on
            else:
                self._waiters = [w for w in self._waiters if w[2] is not future]
                heapq.heapify(self._waiters)
            raise

    def release(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)
                return  # the turn passes straight to the waiter: still busy
        self._busy = False


class _Turn:
    def __init__(self, gate: PriorityGate, priority: int) -> None:
        self._gate = gate
        self._priority = priority

    async def __aenter__(self) -> None:
        await self._gate.acquire(self._priority)

    async def __aexit__(self, *exc: object) -> None:
        self._gate.release()
