"""Delivering what the core hands back for one update, shared by both transports so they
behave alike: answers to button presses, and the few messages the core could not store in
the outbox (it answers "busy" when the database is). Everything else the core stored as
outbox rows in the update's transaction, and the outbox sender sends them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter

from bot.messages import (
    CallbackAnswer,
    Core,
    DeliveryError,
    Incoming,
    NotModified,
    Outgoing,
    RateLimited,
    RecipientBlocked,
    Reply,
    Sender,
    TransientError,
)

log = logging.getLogger(__name__)

MAX_RETRY_WAIT = 30.0
TRANSIENT_WAIT = 0.5


class InFlight:
    """Counts updates being handled, so shutdown can wait until the bot is quiet, and
    records which were handled (replies delivered), so a caller can wait for one of them."""

    def __init__(self) -> None:
        self.count = 0
        self.handled: Counter[int] = Counter()  # update id -> times handled to the end
        self._idle = asyncio.Event()
        self._idle.set()
        self._progress = asyncio.Event()

    def enter(self) -> None:
        """An update is taken in (it may wait in its person's queue before it is handled)."""
        self.count += 1
        self._idle.clear()

    def leave(self) -> None:
        self.count -= 1
        if self.count == 0:
            self._idle.set()

    async def process(self, incoming: Incoming, core: Core, sender: Sender) -> None:
        self.enter()
        try:
            reply = await core.handle(incoming)
            await deliver(reply, sender, core)
        finally:
            self.handled[incoming.update_id] += 1
            self._progress.set()
            self._progress = asyncio.Event()
            self.leave()

    async def wait_idle(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)

    async def wait_handled(self, update_id: int, times: int = 1, timeout: float = 20.0) -> None:
        """Until update `update_id` was handled `times` times (a redelivery is handled again);
        raises TimeoutError otherwise."""
        async with asyncio.timeout(timeout):
            while self.handled[update_id] < times:
                await self._progress.wait()


async def deliver(reply: Reply, sender: Sender, core: Core) -> None:
    blocked: set[int] = set()
    for action in reply.actions:
        if isinstance(action, CallbackAnswer):
            await _answer(sender, action)
            continue
        if action.chat_id in blocked:
            continue
        try:
            await send_with_retry(sender, action)
        except RecipientBlocked:
            blocked.add(action.chat_id)
            await core.mark_unreachable(action.chat_id)
        except NotModified:
            pass
        except DeliveryError as exc:
            log.warning("reply to chat %s refused: %s", action.chat_id, exc)


async def send_with_retry(sender: Sender, out: Outgoing, attempts: int = 3) -> None:
    """Only what the core could not store comes here (the "database busy" and "something
    went wrong" answers): it waits out a 429 or a passing failure and tries again."""
    for attempt in range(attempts):
        try:
            await sender.send(out)
            return
        except RateLimited as exc:
            if attempt == attempts - 1 or exc.retry_after > MAX_RETRY_WAIT:
                raise
            await asyncio.sleep(exc.retry_after)
        except TransientError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(TRANSIENT_WAIT * 2**attempt)


async def _answer(sender: Sender, answer: CallbackAnswer) -> None:
    try:
        await sender.answer(answer)
    except DeliveryError as exc:
        # An expired query is harmless: the person already saw the result.
        log.info("callback answer refused: %s", exc)
