"""Delivering a Reply through any Sender: shared by both transports so they behave alike."""

from __future__ import annotations

import asyncio
import contextlib
import logging

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
)

log = logging.getLogger(__name__)

MAX_RETRY_WAIT = 30.0


class InFlight:
    """Counts updates being handled, so shutdown (and tests) can wait until the bot is quiet."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

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
            self.leave()

    async def wait_idle(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)


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
    """A direct reply waits out a 429 (Telegram says how long) and tries again."""
    for attempt in range(attempts):
        try:
            await sender.send(out)
            return
        except RateLimited as exc:
            if attempt == attempts - 1 or exc.retry_after > MAX_RETRY_WAIT:
                raise
            await asyncio.sleep(exc.retry_after)


async def _answer(sender: Sender, answer: CallbackAnswer) -> None:
    try:
        await sender.answer(answer)
    except DeliveryError as exc:
        # An expired query is harmless: the person already saw the result.
        log.info("callback answer refused: %s", exc)
