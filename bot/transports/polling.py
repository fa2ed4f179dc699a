"""Long polling of our own, shared by both transports (no framework imports here).

Telegram forgets an update once getUpdates is called with an offset above its id. The
frameworks' own polling loops send that offset as soon as a batch is *fetched*, so a crash
while the batch is being handled loses it. Here the offset only moves past an update once
its handling has finished (the dialog engine committed it and its reply went out); a crash
before that makes Telegram deliver it again and the update-id claim in the database makes
the second delivery harmless.

Updates of one person (one ordering key: chat and user) are handled one after another in
the order Telegram numbered them; different people are handled concurrently.

While an early update is still being handled, every getUpdates answers at once with the
updates from the offset on, including those already taken: those are skipped, and the next
poll waits for some update to finish (or `requery` seconds) so the loop never spins. At most
`limit` updates past the oldest unfinished one are taken in: that is the back-pressure.
While any update is unfinished, polls are also at least `pace` seconds apart: each answer
brings every unfinished update back, and under a crowd decoding those again and again took
a tenth of the bot's CPU (bench/e2e.py). A quiet bot's long poll is not delayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from bot.messages import PollingConflict

log = logging.getLogger(__name__)

U = TypeVar("U")

# While updates are in hand, polls are at least this far apart (seconds).
PACE = 0.05
# How long to back off after a failed getUpdates, doubling up to the maximum.
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 15.0
# A 409 (another process polls the token) before any getUpdates of ours was answered means
# we are the newcomer: we stop. After one was, we were here first: we poll again at once, so
# the newcomer's poll is cut off in turn (Telegram answers the older poll with the 409) and
# it stops. Either way one process is left polling. (A long poll is answered within its
# timeout, so a process polling for a while has always been answered.)
CONFLICT_RETRY = 0.5
# A process that took the lead from another (PostgreSQL leadership) may meet the former
# leader's last polls for a moment, until that one notices it lost the lock (it checks
# every second); within this window a 409 means "it is still stopping", not "we are new".
TAKEOVER_GRACE = 5.0


@dataclass(frozen=True)
class Fetched(Generic[U]):
    """One update as the framework parsed it, with what the loop needs to know of it."""

    update_id: int
    key: Hashable  # updates with the same key are handled in order
    update: U


class Tracker(Protocol):
    """Counts work in progress (the transports' `InFlight`) so shutdown and tests can wait."""

    def enter(self) -> None: ...

    def leave(self) -> None: ...


Fetch = Callable[[int | None, float, int], Awaitable[Sequence[Fetched[U]]]]
Handle = Callable[[U], Awaitable[None]]


class Offsets:
    """Which update ids are taken, finished, and how far Telegram may forget them."""

    def __init__(self) -> None:
        self.next: int | None = None  # every id below it has finished
        self.pending: set[int] = set()
        self._finished: set[int] = set()  # finished ids at or above `next`

    def take(self, update_id: int) -> bool:
        """False for an update already taken or finished in this run: a poll answers it
        again until the offset passes it, and a poll sent before it finished may answer it
        after. (A new run starts empty: the database's update-id claim covers that case.)"""
        if self.next is not None and update_id < self.next:
            return False
        if update_id in self.pending or update_id in self._finished:
            return False
        self.pending.add(update_id)
        if self.next is None:
            self.next = update_id
        return True

    def finish(self, update_id: int) -> None:
        self.pending.discard(update_id)
        self._finished.add(update_id)
        if self.next is None:
            return
        if self.pending:
            self.next = max(self.next, min(self.pending))
        else:
            self.next = max(self.next, max(self._finished) + 1)
        self._finished = {done for done in self._finished if done >= self.next}

    def release(self, update_id: int) -> None:
        """An update abandoned unfinished (shutdown): it stays unconfirmed for the next run."""
        self.pending.discard(update_id)


class Poller(Generic[U]):
    """Fetches updates with `fetch(offset, timeout, limit)` and runs `handle(update)` for each,
    in order per key, concurrently across keys, confirming only finished updates."""

    def __init__(
        self,
        fetch: Fetch[U],
        handle: Handle[U],
        *,
        timeout: float = 10.0,
        limit: int = 100,
        requery: float = 0.25,
        pace: float = PACE,
        tracker: Tracker | None = None,
        backoff: float = FIRST_BACKOFF,
    ) -> None:
        self._fetch = fetch
        self._handle = handle
        self._timeout = timeout
        self._limit = limit
        self._requery = requery
        self._pace = pace
        self._polled_at: float | None = None  # loop time of the last poll's start
        self._tracker = tracker
        self._first_backoff = backoff
        self._answered = False  # a getUpdates of ours was answered (not refused)
        self._grace_until = 0.0  # loop time until which a 409 is a former poller's (see above)
        self.offsets = Offsets()
        self._confirmed: int | None = None
        self._queues: dict[Hashable, deque[Fetched[U]]] = {}
        self._workers: dict[Hashable, asyncio.Task[None]] = {}
        self._progress = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = asyncio.Event()
        self._fetching: asyncio.Task[Sequence[Fetched[U]]] | None = None

    @property
    def pending(self) -> int:
        """Updates taken in and not finished yet (queued or being handled)."""
        return len(self.offsets.pending)

    # -- intake ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Poll until `stop()`; returns without waiting for the updates still being handled."""
        backoff = self._first_backoff
        while not self._stopping.is_set():
            await self._keep_pace()
            if self._stopping.is_set():
                return
            try:
                batch = await self._poll()
            except asyncio.CancelledError:
                if self._stopping.is_set():
                    return  # stop() cut the long poll short
                raise
            except PollingConflict as exc:
                self._on_conflict(exc)
                await self._pause(CONFLICT_RETRY)
                continue
            except Exception as exc:  # a lost connection, a 409, a 5xx: try again later
                log.warning("getUpdates failed (%s); retrying in %.1f s", exc, backoff)
                await self._pause(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = self._first_backoff
            fresh = [item for item in batch if self.offsets.take(item.update_id)]
            for item in fresh:
                self._enqueue(item)
            if batch and not fresh:
                await self._wait_progress()  # only updates we already hold came back

    def expect_former_poller(self, seconds: float = TAKEOVER_GRACE) -> None:
        """We took over from a process that polled until a moment ago: for `seconds`, its
        409s do not make us the newcomer."""
        self._grace_until = asyncio.get_running_loop().time() + seconds

    def _on_conflict(self, exc: PollingConflict) -> None:
        """Raise when we are the newcomer (see CONFLICT_RETRY); otherwise say so, go on."""
        if not self._answered and asyncio.get_running_loop().time() >= self._grace_until:
            raise exc
        log.warning("getUpdates: %s; polling again so the newer process stops", exc)

    async def _keep_pace(self) -> None:
        """With updates in hand, wait until `pace` has passed since the last poll began."""
        if not self.offsets.pending or self._polled_at is None:
            return
        wait = self._polled_at + self._pace - asyncio.get_running_loop().time()
        if wait > 0:
            await self._pause(wait)

    async def _poll(self) -> Sequence[Fetched[U]]:
        self._polled_at = asyncio.get_running_loop().time()
        offset = self.offsets.next
        # While updates we hold are unfinished, Telegram answers at once anyway.
        timeout = 0.0 if self.offsets.pending else self._timeout
        self._progress.clear()
        self._fetching = asyncio.ensure_future(self._fetch(offset, timeout, self._limit))
        try:
            batch = await self._fetching
        finally:
            self._fetching = None
        self._answered = True
        self._confirmed = offset
        return batch

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _wait_progress(self) -> None:
        waits = [asyncio.ensure_future(self._progress.wait())]
        waits.append(asyncio.ensure_future(self._stopping.wait()))
        _, unfinished = await asyncio.wait(
            waits, timeout=self._requery, return_when=asyncio.FIRST_COMPLETED
        )
        for task in unfinished:
            task.cancel()

    # -- per-key order --------------------------------------------------------------------
    def _enqueue(self, item: Fetched[U]) -> None:
        self._idle.clear()
        if self._tracker is not None:
            self._tracker.enter()
        queue = self._queues.setdefault(item.key, deque())
        queue.append(item)
        if item.key not in self._workers:
            self._workers[item.key] = asyncio.create_task(self._work(item.key))

    async def _work(self, key: Hashable) -> None:
        queue = self._queues[key]
        try:
            while queue:
                item = queue[0]
                try:
                    await self._handle(item.update)
                except Exception:
                    # The core answers its own failures; this is a bug past the commit.
                    log.exception("update %s failed after handling", item.update_id)
                queue.popleft()
                self.offsets.finish(item.update_id)
                self._left()
                self._progress.set()
        finally:
            for left in queue:  # cancelled at shutdown: Telegram sends these again
                self.offsets.release(left.update_id)
                self._left()
            del self._queues[key]
            del self._workers[key]
            if not self._workers:
                self._idle.set()

    def _left(self) -> None:
        if self._tracker is not None:
            self._tracker.leave()

    # -- shutdown -------------------------------------------------------------------------
    def stop(self) -> None:
        """Take no more updates; the updates being handled go on."""
        self._stopping.set()
        if self._fetching is not None:
            self._fetching.cancel()

    async def finish(self, timeout: float) -> bool:
        """Wait up to `timeout` s for what was taken; cancel the rest (it is not confirmed, so
        it comes again). True when everything finished."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        finished = not self._workers
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        for task in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return finished

    async def confirm(self) -> None:
        """Tell Telegram what finished since the last poll (one short getUpdates)."""
        offset = self.offsets.next
        if offset is None or offset == self._confirmed:
            return
        try:
            await self._fetch(offset, 0.0, 1)
        except Exception as exc:  # unconfirmed updates come again; the claim makes them harmless
            log.info("final getUpdates failed: %s", exc)
            return
        self._confirmed = offset

    async def shutdown(self, timeout: float) -> bool:
        """Stop taking updates, give those taken `timeout` s to finish, confirm what finished."""
        self.stop()
        finished = await self.finish(timeout)
        await self.confirm()
        return finished

    async def wait_idle(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
