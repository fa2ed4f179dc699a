"""A lock whose next holder is the most urgent waiter (then the longest waiting): the
outbox's share of Telegram's overall budget, and SQLite's one writer at a time.

Strict priority starves the least urgent while the more urgent never stop coming (an
announcement behind a crowd of residents reporting at once). So a gate may give some
priorities shares instead: among those, turns go by stride scheduling (each priority's
turns in proportion to its share while it waits; one that starts waiting again gets no
credit for the time it had nothing to send). Priorities without a share always go first."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections import deque
from collections.abc import Mapping


class PriorityGate:
    """One holder at a time; when it leaves, the most urgent waiter (then the longest
    waiting) goes next, or, among priorities with a share, the one whose turn it is."""

    def __init__(self, shares: Mapping[int, int] | None = None) -> None:
        self._busy = False
        self._strict: list[tuple[int, int, asyncio.Future[None]]] = []  # a heap
        self._order = itertools.count()
        self._shares = dict(shares or {})
        self._queues: dict[int, deque[asyncio.Future[None]]] = {p: deque() for p in self._shares}
        self._pass = dict.fromkeys(self._shares, 0.0)  # each shared priority's virtual time
        self._now = 0.0  # the virtual time of the last shared turn

    def turn(self, priority: int) -> _Turn:
        return _Turn(self, priority)

    async def acquire(self, priority: int) -> None:
        if not self._busy:
            self._busy = True
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._enqueue(priority, future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # handed the turn just as we were cancelled: pass it on
            else:
                self._remove(priority, future)
            raise

    def release(self) -> None:
        while (future := self._next()) is not None:
            if not future.done():
                future.set_result(None)
                return  # the turn passes straight to the waiter: still busy
        self._busy = False

    def _enqueue(self, priority: int, future: asyncio.Future[None]) -> None:
        queue = self._queues.get(priority)
        if queue is None:
            heapq.heappush(self._strict, (priority, next(self._order), future))
            return
        if not queue:  # no credit for the time it had nothing waiting
            self._pass[priority] = max(self._pass[priority], self._now)
        queue.append(future)

    def _remove(self, priority: int, future: asyncio.Future[None]) -> None:
        queue = self._queues.get(priority)
        if queue is not None:
            with contextlib.suppress(ValueError):  # already taken out and skipped
                queue.remove(future)
            return
        self._strict = [w for w in self._strict if w[2] is not future]
        heapq.heapify(self._strict)

    def _next(self) -> asyncio.Future[None] | None:
        if self._strict:
            return heapq.heappop(self._strict)[2]
        waiting = [p for p, queue in self._queues.items() if queue]
        if not waiting:
            return None
        chosen = min(waiting, key=lambda p: (self._pass[p], p))
        self._now = self._pass[chosen]
        self._pass[chosen] += 1.0 / self._shares[chosen]
        return self._queues[chosen].popleft()


class _Turn:
    def __init__(self, gate: PriorityGate, priority: int) -> None:
        self._gate = gate
        self._priority = priority

    async def __aenter__(self) -> None:
        await self._gate.acquire(self._priority)

    async def __aexit__(self, *exc: object) -> None:
        self._gate.release()
