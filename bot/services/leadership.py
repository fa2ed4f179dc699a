"""Who leads: of the processes sharing one database, exactly one at a time runs the outbox
sender and the scheduler's sweeps (the leader); the others (followers) try to take over every
`interval` seconds, so a leader that dies is replaced within a few seconds. The lock itself
is storage's (a PostgreSQL advisory lock); a process without one (SQLite, where one process
owns the file) simply leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.clock import Clock

log = logging.getLogger(__name__)

# Seconds between a follower's tries, and between a leader's checks of its lock.
INTERVAL = 1.0

Hook = Callable[[], Awaitable[None]]


class LeaderLock(Protocol):
    name: str

    async def try_acquire(self) -> bool: ...

    async def check(self) -> bool: ...

    async def release(self) -> None: ...

    async def holder(self) -> str | None: ...


@dataclass(frozen=True)
class LeaderStatus:
    """What /healthz shows: whether this process leads, since when, and who leads."""

    leading: bool
    process: str  # this process
    leader: str | None  # the leading process as it named itself (None: nobody, or unknown)
    since: datetime | None  # when this process took the lead or last followed

    def as_dict(self) -> dict[str, object]:
        return {
            "role": "leader" if self.leading else "follower",
            "process": self.process,
            "leader": self.leader,
            "since": self.since.isoformat() if self.since else None,
        }


class Leadership:
    """Runs `on_lead` when this process becomes the leader and `on_follow` when it stops being
    one (its lock's connection was lost); `run` until `stop`, then releases the lock."""

    def __init__(
        self,
        lock: LeaderLock | None,
        clock: Clock,
        name: str,
        interval: float = INTERVAL,
    ) -> None:
        self._lock = lock
        self._clock = clock
        self.name = name
        self.interval = interval
        self.leading = False
        self.since: datetime | None = None
        self.leader: str | None = None
        self.handovers = 0  # times this process took the lead
        self._changed = asyncio.Event()

    @property
    def shared(self) -> bool:
        """Whether other processes may share the database (and so may lead instead)."""
        return self._lock is not None

    def status(self) -> LeaderStatus:
        leader = self.name if self.leading else self.leader
        return LeaderStatus(self.leading, self.name, leader, self.since)

    async def run(self, on_lead: Hook, on_follow: Hook, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                await self.step(on_lead, on_follow)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.interval)
        finally:
            if self._lock is not None:
                await self._lock.release()

    async def step(self, on_lead: Hook, on_follow: Hook) -> None:
        """One try (follower) or check (leader)."""
        if self._lock is None:
            if not self.leading:
                await self._become_leader(on_lead)
            return
        if self.leading:
            if not await self._lock.check():
                log.warning("leadership lost (its database connection ended): following")
                await self._become_follower(on_follow)
            return
        try:
            taken = await self._lock.try_acquire()
        except Exception as exc:  # the database is down: try again at the next step
            log.warning("leadership: cannot reach the database (%s)", exc)
            return
        if taken:
            await self._become_leader(on_lead)
            return
        await self._note_leader()

    async def _become_leader(self, on_lead: Hook) -> None:
        self.leading, self.since, self.leader = True, self._clock.now(), self.name
        self.handovers += 1
        if self._lock is not None:
            log.info("leadership: %s leads (outbox sender and sweeps)", self.name)
        self._signal()
        await on_lead()

    async def _become_follower(self, on_follow: Hook) -> None:
        self.leading, self.since, self.leader = False, self._clock.now(), None
        self._signal()
        await on_follow()

    async def _note_leader(self) -> None:
        if self._lock is None:
            return
        try:
            leader = await self._lock.holder()
        except Exception:  # only for show: the next step asks again
            return
        if leader != self.leader:
            log.info("leadership: %s leads; %s follows", leader or "nobody", self.name)
            self.leader = leader
            if self.since is None:
                self.since = self._clock.now()

    def _signal(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_leading(self) -> None:
        """Until this process leads."""
        while not self.leading:
            await self._changed.wait()

    async def wait_following(self) -> None:
        """Until this process stops leading."""
        while self.leading:
            await self._changed.wait()
