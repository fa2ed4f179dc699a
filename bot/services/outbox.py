"""The outbox: every message the bot sends to a chat is a row, written in the transaction of
the change it reports (a reply to the person talking included), and a sender delivers the
rows through the neutral `Sender` at Telegram's limits.

What it guarantees (README, "Delivery"): nothing is discarded for a transient failure (429,
5xx, a proxy's error page, a lost connection); permanent refusals (400, 403) are recorded
with their reason; messages to one chat leave in the order they were made (in a group a
more urgent message may overtake); one chat at its limit never holds back another. A send
whose outcome is unknown (request sent, no answer) is sent again at once and counted in
`uncertain_sends`: Telegram may then show it twice.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar, cast

from bot.clock import Clock
from bot.domain.vocabulary import NoticeStatus
from bot.messages import (
    BadRequest,
    Button,
    ChatMigrated,
    DeliveryError,
    Document,
    NotModified,
    OutcomeUnknown,
    Outgoing,
    RateLimited,
    RecipientBlocked,
    ReplyKeyboard,
    Sender,
    Sent,
    TransientError,
)
from bot.services.gate import PriorityGate
from bot.services.pacing import Pacer
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)
T = TypeVar("T")

MIME_BINARY = "application/octet-stream"
# How long a claimed row is ours; a sender that dies mid-send loses it after this (at the
# next start at once: claims are released then). Longer than any wait held in memory.
LEASE = timedelta(minutes=10)
# Waits up to this long are held by the sender in memory; longer ones are written to the
# row and the chat's worker lets go.
HOLD_LIMIT = 60.0
# Transient failures: backoff from BACKOFF_FIRST doubling up to BACKOFF_CAP, with jitter;
# after HELD_ATTEMPTS in memory the row waits in the database and is tried every
# RETRY_LATER until EXPIRY has passed since it was made.
BACKOFF_FIRST = 0.5
BACKOFF_CAP = 10.0
HELD_ATTEMPTS = 12
RETRY_LATER = timedelta(seconds=30)
EXPIRY = timedelta(hours=24)
# An edit whose card has not been sent yet waits this long before looking again.
CARD_WAIT = timedelta(seconds=2)
MAX_CARD_WAITS = 30
# Recording a send's outcome through a busy database: this many tries, backing off.
RECORD_ATTEMPTS = 20
# How many chats are sent to at the same time (each keeps its own order).
MAX_WORKERS = 64
# The outbox keys of ticket cards start so: only their sends record a message id on a card.
CARD_KEY_PREFIX = "card:"
# An announcement in one of these states sends nothing more, not even a row already taken.
CALLED_OFF = (NoticeStatus.STOPPED, NoticeStatus.CANCELLED)
CALLED_OFF_REASON = "notice stopped before this copy went out"


# payloads ------------------------------------------------------------------------------
def to_payload(
    out: Outgoing,
    *,
    edit_card: int | None = None,
    reply_to_card: int | None = None,
    fallback: Outgoing | None = None,
) -> dict[str, Any]:
    """An Outgoing as JSON; card references are resolved to message ids at send time."""
    payload: dict[str, Any] = {
        "text": out.text,
        "buttons": [[[b.text, b.data, b.url] for b in row] for row in out.buttons],
        "photos": list(out.photos),
        "thread_id": out.thread_id,
        "reply_to_message_id": out.reply_to_message_id,
        "edit_message_id": out.edit_message_id,
    }
    if out.reply_keyboard is not None:
        keyboard = out.reply_keyboard
        payload["reply_keyboard"] = {
            "rows": [list(row) for row in keyboard.rows],
            "contact_button": keyboard.contact_button,
            "one_time": keyboard.one_time,
        }
    if out.remove_keyboard:
        payload["remove_keyboard"] = True
    if out.upload is not None:
        payload["upload"] = out.upload
    if out.document is not None:
        payload["document"] = {
            "filename": out.document.filename,
            "mime_type": out.document.mime_type,
            "base64": base64.b64encode(out.document.content).decode("ascii"),
        }
    if edit_card is not None:
        payload["edit_card"] = edit_card
    if reply_to_card is not None:
        payload["reply_to_card"] = reply_to_card
    if fallback is not None:
        payload["fallback"] = {"chat_id": fallback.chat_id, **to_payload(fallback)}
    return payload


def from_payload(chat_id: int, payload: dict[str, Any]) -> Outgoing:
    buttons = tuple(
        tuple(Button(text, data, url) for text, data, url in row)
        for row in payload.get("buttons", [])
    )
    return Outgoing(
        chat_id=chat_id,
        text=payload.get("text", ""),
        buttons=buttons,
        photos=tuple(payload.get("photos", [])),
        thread_id=payload.get("thread_id"),
        reply_to_message_id=payload.get("reply_to_message_id"),
        edit_message_id=payload.get("edit_message_id"),
        reply_keyboard=_reply_keyboard(payload.get("reply_keyboard")),
        remove_keyboard=bool(payload.get("remove_keyboard", False)),
        upload=_existing_file(payload.get("upload")),
        document=_document(payload.get("document")),
    )


def _reply_keyboard(stored: dict[str, Any] | None) -> ReplyKeyboard | None:
    if not stored:
        return None
    return ReplyKeyboard(
        rows=tuple(tuple(row) for row in stored.get("rows", [])),
        contact_button=stored.get("contact_button"),
        one_time=bool(stored.get("one_time", True)),
    )


def _document(stored: dict[str, str] | None) -> Document | None:
    if not stored:
        return None
    content = base64.b64decode(stored["base64"])
    return Document(stored["filename"], content, stored.get("mime_type", MIME_BINARY))


def _existing_file(path: str | None) -> str | None:
    # A chart in a temp folder may be gone after a reboot: send the text rather than nothing.
    return path if path and os.path.isfile(path) else None


# the sender ----------------------------------------------------------------------------
@dataclass
class DeliveryStats:
    """What the sender saw since start (the README's delivery section explains each)."""

    sent: int = 0
    rate_limited: int = 0  # 429s received
    transient: int = 0  # 5xx, error pages, refused connections: retried
    uncertain: int = 0  # outcome unknown: sent again, may show twice
    failed: int = 0  # refused for good, or expired
    last_sent_at: datetime | None = None
    by_chat_429: dict[int, int] = field(default_factory=dict)


@dataclass
class _Claimed:
    row_id: int
    chat_id: int
    priority: int
    key: str
    attempts: int
    created_at: datetime
    payload: dict[str, Any]
    out: Outgoing | None
    give_up: str | None = None
    notice_id: int | None = None


class OutboxSender:
    """One worker per chat sends that chat's messages in order; workers for different chats
    run side by side and share the overall budget, most urgent first. A worker holds short
    waits (the chat's pace, a 429, a backoff) in memory; short transactions only, never one
    held open across a network call (SQLite would block every writer)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        sender: Sender,
        clock: Clock,
        batch: int = 200,
        pacer: Pacer | None = None,
        max_workers: int = MAX_WORKERS,
        db_slots: int = 4,
        writer: PriorityGate | None = None,
        writer_priority: int = 1,
    ) -> None:
        # SQLite: the process's one queue for its write lock, shared with the handlers.
        self._writer = writer
        self._writer_priority = writer_priority
        self._db_slots = asyncio.Semaphore(db_slots)
        self.pacer = pacer or Pacer()
        self.stats = DeliveryStats()
        self.sending = 0  # chats with a worker running (shutdown and tests wait on it)
        self.finished = 0  # attempts ended, so a caller can tell whether any ended meanwhile
        self._uow_factory = uow_factory
        self._sender = sender
        self._clock = clock
        self._batch = batch
        self._max_workers = max_workers
        self._workers: dict[int, asyncio.Task[int]] = {}
        self._wake = asyncio.Event()
        self._next_look: float | None = None  # pacer time when a paused chat opens again
        # False while another process leads: no row is claimed here (sends in progress end).
        self.active = True
        self._drained: set[int] = set()  # chats whose last recorded send left nothing waiting
        # A chat's next row, claimed in the transaction that recorded its previous send:
        # the chat's worker sends it next.
        self._handed: dict[int, _Claimed] = {}
        # claims and outcomes waiting to be written together, and the task writing them
        self._writes: list[_Write] = []
        self._writer_task: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def _session(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work within the outbox's share of the connection pool, so a crowd of
        chat workers never starves the handlers of connections."""
        async with self._db_slots:
            if self._writer is None:
                async with self._uow_factory() as uow:
                    yield uow
                return
            async with self._writer.turn(self._writer_priority), self._uow_factory() as uow:
                yield uow

    # entry points ------------------------------------------------------------------------
    def nudge(self) -> None:
        """Something was just committed to the outbox: look now instead of at the next poll."""
        self._wake.set()

    def committed(self, chat_ids: Iterable[int]) -> None:
        """A handler's transaction committed: its replies leave now, the rest at the next
        look (which is now as well)."""
        self.send_now(chat_ids)
        self.nudge()

    def send_now(self, chat_ids: Iterable[int]) -> None:
        """Replies were just committed for these chats: their workers start at once, without
        waiting for the loop's next look."""
        for chat_id in chat_ids:
            self._start_worker(chat_id)

    async def release_claims(self, made_before: datetime | None = None) -> int:
        """At start-up: rows a dead sender held are free at once instead of at their lease.
        Only claims made before `made_before` (default: now): a claim made since is a live
        send of this process, and freeing it would send the row twice."""
        made_before = made_before or self._clock.now()
        async with self._session() as uow:
            released = await uow.outbox.release_claims(made_before + LEASE)
            await uow.commit()
        return released

    async def run(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        while not stop.is_set():
            self._wake.clear()
            try:
                await self._look()
            except Exception:  # the loop must outlive a bad row or a lost connection
                log.exception("outbox look failed")
            await self._sleep(stop, self._pause(interval))

    async def drain(self) -> int:
        """Send what is due now and wait until the workers are done; returns how many rows
        were handled (sent, refused, or put back to wait)."""
        await self._look()
        handled = 0
        awaited: set[asyncio.Task[int]] = set()
        while pending := [t for t in self._workers.values() if t not in awaited]:
            awaited.update(pending)
            done = await asyncio.gather(*pending, return_exceptions=True)
            handled += sum(n for n in done if isinstance(n, int))
        return handled

    async def wait_idle(self, timeout: float) -> None:
        """Until no worker is sending, or the time is up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._workers and loop.time() < deadline:
            await asyncio.wait(list(self._workers.values()), timeout=deadline - loop.time())

    # the loop ----------------------------------------------------------------------------
    async def _look(self) -> None:
        """Start a worker for each chat whose first message is due, most urgent first."""
        async with self._session() as uow:
            heads = await uow.outbox.due_heads(self._clock.now(), self._batch)
        for _, chat_id, _ in heads:
            if len(self._workers) >= self._max_workers:
                break
            if self.pacer.chat_delay(chat_id) > HOLD_LIMIT:
                continue  # closed by Telegram for a while: its moment is noted
            self._start_worker(chat_id)

    def _pause(self, interval: float) -> float:
        if self._next_look is None:
            return interval
        wait = self._next_look - self.pacer.timer.monotonic()
        self._next_look = None
        return min(interval, max(wait, 0.0))

    async def _sleep(self, stop: asyncio.Event, interval: float) -> None:
        waits = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())}
        _, pending = await asyncio.wait(waits, timeout=interval, return_when="FIRST_COMPLETED")
        for task in pending:
            task.cancel()

    def _start_worker(self, chat_id: int) -> None:
        if not self.active and chat_id not in self._handed:
            return
        running = self._workers.get(chat_id)
        if running is not None and not running.done():
            return
        self.sending += 1
        task = asyncio.create_task(self._work(chat_id))
        self._workers[chat_id] = task
        # also when the task is cancelled before its first step (its finally never runs)
        task.add_done_callback(lambda done: self._forget(chat_id, done))

    def _forget(self, chat_id: int, task: asyncio.Task[int]) -> None:
        if self._workers.get(chat_id) is task:
            del self._workers[chat_id]
            self.sending -= 1

    # one chat's worker -----------------------------------------------------------------
    async def _work(self, chat_id: int) -> int:
        handled = 0
        try:
            while True:
                claimed = self._handed.pop(chat_id, None)
                if claimed is None:
                    if not (self.active and await self._wait_for_chat(chat_id)):
                        break
                    # (a row handed over while this worker looked is sent all the same)
                    claimed = await self._claim_head(chat_id) or self._handed.pop(chat_id, None)
                if claimed is None:
                    break
                self._drained.discard(chat_id)
                try:
                    await self._deliver(claimed)
                finally:
                    self.finished += 1
                handled += 1
                if chat_id in self._drained:
                    # the outcome's transaction saw nothing more waiting here: no look again
                    # (a row committed since then starts a worker of its own, or the wake
                    # below brings the loop to it)
                    self._drained.discard(chat_id)
                    break
        except Exception:  # one chat's trouble must not end the sender
            log.exception("outbox worker for chat %s failed", chat_id)
        finally:
            if self._workers.get(chat_id) is asyncio.current_task():
                del self._workers[chat_id]
                self.sending -= 1
            if chat_id in self._handed:  # handed over while this worker was stopping
                self._start_worker(chat_id)
            if handled:
                self._wake.set()  # a row may have been put back, or another chat waits
        return handled

    async def _wait_for_chat(self, chat_id: int) -> bool:
        """Hold a short wait for the chat's pace; False when the wait is long (the loop
        comes back for it) or nothing is due."""
        delay = self.pacer.chat_delay(chat_id)
        if delay <= 0:
            return True
        if delay > HOLD_LIMIT:
            self._look_again_in(delay)
            return False
        await self.pacer.timer.sleep(delay)
        return True

    def _look_again_in(self, delay: float) -> None:
        moment = self.pacer.timer.monotonic() + delay
        if self._next_look is None or moment < self._next_look:
            self._next_look = moment

    async def _claim_head(self, chat_id: int) -> _Claimed | None:
        return await self._together(lambda uow: self._claim_in(uow, chat_id, self._clock.now()))

    async def _claim_in(self, uow: UnitOfWork, chat_id: int, now: datetime) -> _Claimed | None:
        head = await uow.outbox.claim_head(chat_id, now, now + LEASE)
        # a stopped announcement's copies are dropped, one after the other (a stop skips
        # the rows a sender held then; such a row may be due again now, after a retry)
        while head is not None and await self._called_off(uow, head.id, head.notice_id):
            head = await uow.outbox.claim_head(chat_id, now, now + LEASE)
        if head is None:
            return None  # nothing due, or another sender has it
        payload = head.payload
        prepared = await self._prepared(uow, head, payload, now)
        return _Claimed(
            head.id,
            head.chat_id,
            head.priority,
            head.dedupe_key,
            head.attempts,
            head.created_at,
            payload,
            prepared.out,
            prepared.give_up,
            head.notice_id,
        )

    @staticmethod
    async def _called_off(uow: UnitOfWork, row_id: int, notice_id: int | None) -> bool:
        """True when the row was an announcement's copy whose notice was stopped or
        cancelled: it is marked cancelled (so the delivery report counts it) and not sent.
        Other rows cost nothing here."""
        if notice_id is None:
            return False
        return await uow.outbox.cancel_if_notice_in(row_id, CALLED_OFF, CALLED_OFF_REASON)

    async def _dropped(self, c: _Claimed) -> bool:
        """Before a held retry: the row's notice was stopped meanwhile (the row is cancelled)."""
        if c.notice_id is None:
            return False
        return await self._together(lambda uow: self._called_off(uow, c.row_id, c.notice_id))

    def _may_start(self, chat_id: int) -> bool:
        """Nothing handed over for the chat yet, we send, and its pace allows a send now."""
        return chat_id not in self._handed and self.active and self.pacer.chat_delay(chat_id) <= 0

    async def _prepared(
        self, uow: UnitOfWork, row: Any, payload: dict[str, Any], now: datetime
    ) -> _Prepared:
        """What to send, or why not: too old to help anyone, or not readable at all (a row
        that cannot be read must fail, not block its chat)."""
        if now - row.created_at > EXPIRY:
            return _Prepared(None, give_up="expired: never sent within a day")
        try:
            return await self._prepare(uow, row.chat_id, payload)
        except Exception as exc:
            log.exception("outbox %s: payload not readable", row.dedupe_key)
            return _Prepared(None, give_up=f"unreadable: {exc}")

    async def _deliver(self, c: _Claimed) -> None:
        if c.give_up is not None:
            await self._finish(c, error=c.give_up)
            return
        if c.out is None:  # the card it edits or answers is not sent yet
            retry = CARD_WAIT.total_seconds() if c.attempts < MAX_CARD_WAITS else None
            await self._finish(c, retry_in=retry, error="card never sent")
            return
        await self._attempt(c, c.out)

    async def _attempt(self, c: _Claimed, out: Outgoing) -> None:
        """Send, holding short waits in memory, until sent, refused for good, or the wait
        grows long enough to go back to the database."""
        uncertain = 0
        for attempt in range(HELD_ATTEMPTS):
            if attempt and await self._dropped(c):  # stopped while we waited to retry
                log.info("outbox %s: its notice was stopped, not retried", c.key)
                return
            while (pace := self.pacer.chat_delay(out.chat_id)) > 0:  # retries keep the pace too
                await self.pacer.timer.sleep(pace)
            try:
                sent = await self._send_in_slot(out, c.priority)
            except NotModified:
                await self._finish(c, sent_id=out.edit_message_id, uncertain=uncertain)
                return
            except RateLimited as exc:
                if not await self._hold_rate_limit(c, out, exc, uncertain):
                    return
                continue
            except ChatMigrated as exc:
                new_chat = exc.new_chat_id
                await self._recording(partial(self._migrate, c.chat_id, new_chat))
                return
            except RecipientBlocked as exc:
                blocked = str(exc)
                await self._recording(
                    partial(self._blocked, c.row_id, c.chat_id, c.payload, blocked)
                )
                self.stats.failed += 1
                return
            except BadRequest as exc:
                log.warning("outbox %s refused for good: %s", c.key, exc)
                self.stats.failed += 1
                await self._finish(c, error=str(exc), uncertain=uncertain)
                return
            except OutcomeUnknown as exc:
                uncertain += 1
                self.stats.uncertain += 1
                log.info("outbox %s: outcome unknown (%s), sending again", c.key, exc)
                await self.pacer.timer.sleep(_backoff(0))
                continue
            except (TransientError, DeliveryError) as exc:
                self.stats.transient += 1
                log.info("outbox %s: transient failure (%s)", c.key, exc)
                await self.pacer.timer.sleep(_backoff(attempt))
                continue
            except Exception as exc:  # untranslated: retrying a bug would block the chat
                log.exception("outbox %s: unexpected failure, not retried", c.key)
                self.stats.failed += 1
                await self._finish(c, error=f"unexpected: {exc!r}", uncertain=uncertain)
                return
            self.stats.sent += 1
            self.stats.last_sent_at = self._clock.now()
            await self._finish(c, sent_id=sent.message_id, card_key=c.key, uncertain=uncertain)
            return
        await self._retry_later(c, uncertain, "still failing after held retries")

    async def _send_in_slot(self, out: Outgoing, priority: int) -> Sent:
        """Send in a slot of the overall budget, counted from the answer on (see landed)."""
        taken = await self.pacer.take(out.chat_id, priority)
        try:
            return await self._sender.send(out)
        finally:
            self.pacer.landed(taken, out.chat_id)

    async def _hold_rate_limit(
        self, c: _Claimed, out: Outgoing, exc: RateLimited, uncertain: int
    ) -> bool:
        """A 429: close the chat for as long as Telegram says; wait it out here when short."""
        self.stats.rate_limited += 1
        self.stats.by_chat_429[out.chat_id] = self.stats.by_chat_429.get(out.chat_id, 0) + 1
        self.pacer.refuse(out.chat_id, exc.retry_after)
        if exc.retry_after > HOLD_LIMIT:
            await self._finish(c, retry_in=exc.retry_after, error=str(exc), uncertain=uncertain)
            self._look_again_in(exc.retry_after)
            return False
        await self.pacer.timer.sleep(self.pacer.chat_delay(out.chat_id))
        return True

    async def _retry_later(self, c: _Claimed, uncertain: int, error: str) -> None:
        """Failing for a while: the row waits in the database; after EXPIRY it is given up."""
        if self._clock.now() - c.created_at > EXPIRY:
            self.stats.failed += 1
            await self._finish(c, error=f"expired: {error}", uncertain=uncertain)
            return
        await self._finish(
            c, retry_in=RETRY_LATER.total_seconds(), error=error, uncertain=uncertain
        )

    async def _prepare(self, uow: UnitOfWork, chat_id: int, payload: dict[str, Any]) -> _Prepared:
        out = from_payload(chat_id, payload)
        for field_name, target in (("edit_card", "edit_message_id"), ("reply_to_card", "reply")):
            card_id = payload.get(field_name)
            if card_id is None:
                continue
            card = await uow.cards.get(int(card_id))
            if card is None:
                return _Prepared(None, give_up="card not found")
            if card.message_id is None:
                card_row = await uow.outbox.by_key(card.outbox_key)
                if card_row is None or card_row.status == "failed":
                    return _Prepared(None, give_up="card never sent")
                return _Prepared(None)
            if target == "edit_message_id":
                out = replace(out, edit_message_id=card.message_id, chat_id=card.chat_id)
            else:
                out = replace(out, reply_to_message_id=card.message_id, chat_id=card.chat_id)
        return _Prepared(out)

    async def _finish(
        self,
        c: _Claimed,
        *,
        sent_id: int | None = None,
        card_key: str | None = None,
        retry_in: float | None = None,
        error: str | None = None,
        uncertain: int = 0,
    ) -> None:
        """Sent when there is no error; tried again after `retry_in`; otherwise failed.
        What Telegram did is recorded even through a busy database: a send recorded late is
        better than one sent again."""
        # a sent message not recorded would be sent again: that one is tried until it sticks
        attempts = None if error is None else RECORD_ATTEMPTS
        await self._recording(
            lambda: self._record(c, sent_id, card_key, retry_in, error, uncertain),
            attempts,
        )

    async def _recording(
        self, write: Callable[[], Awaitable[None]], attempts: int | None = RECORD_ATTEMPTS
    ) -> None:
        """A write of what Telegram did, tried again through a busy database."""
        attempt = 0
        while True:
            try:
                await write()
                return
            except Exception:
                attempt += 1
                if attempts is not None and attempt >= attempts:
                    raise
                log.warning("outbox: could not record an outcome yet (try %s)", attempt)
                await self.pacer.timer.sleep(min(BACKOFF_CAP, BACKOFF_FIRST * 2**attempt))

    async def _record(
        self,
        c: _Claimed,
        sent_id: int | None,
        card_key: str | None,
        retry_in: float | None,
        error: str | None,
        uncertain: int,
    ) -> None:
        now = self._clock.now()

        async def write(uow: UnitOfWork) -> tuple[Any, _Claimed | None]:
            done = await uow.outbox.record_outcome(
                c.row_id,
                now,
                sent_id=sent_id,
                error=error,
                retry_in=retry_in,
                uncertain=uncertain,
                chat_id=c.chat_id,
            )
            if done is None:
                return None, None
            if retry_in is not None and error is not None:
                # going back to wait: a notice stopped meanwhile drops it now, so the report
                # need not wait for its retry
                await self._called_off(uow, c.row_id, c.notice_id)
            # only a card's send has a message id to note (no UPDATE for every other send)
            if error is None and sent_id is not None and card_key and _is_card(card_key):
                await uow.cards.set_message_id(card_key, sent_id)
            following = None
            if error is None and done.more_waiting and self._may_start(done.chat_id):
                # the chat's next row, claimed in this same transaction (not one of its own);
                # the time read again: a row queued while we waited for the database is due
                following = await self._claim_in(uow, done.chat_id, self._clock.now())
            return done, following

        done, following = await self._together(write)
        if done is None:
            return
        if done.status == "failed":
            log.warning("outbox %s failed: %s", done.dedupe_key, error)
        if following is not None:
            self._handed[done.chat_id] = following
        elif not done.more_waiting:
            self._drained.add(done.chat_id)

    async def _together(self, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """Run `work` (a claim, or a send's outcome) in one transaction with the other chat
        workers' writes waiting at the same moment (a group commit): a crowd of chats costs
        a few transactions instead of one or two per message. Each worker still waits for
        its own write to commit before it sends or goes on, so a chat's order, its pace and
        what a crash leaves behind are as before."""
        written: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._writes.append((work, written))
        if self._writer_task is None or self._writer_task.done():
            self._writer_task = asyncio.create_task(self._write_together())
        return cast(T, await written)

    async def _write_together(self) -> None:
        """Until no write waits: take every waiting write once the database's turn comes,
        run them in order in one transaction and commit. Should one fail, the transaction is
        rolled back and each write of it runs in a transaction of its own, so one write's
        trouble stays its own (as when every write had its own transaction)."""
        while self._writes:
            batch: list[_Write] = []
            results: list[Any] = []
            committed = False
            # one turn of the loop first: the workers already woken add their writes (SQLite's
            # statements run without yielding, so a batch would otherwise hold only the first)
            await asyncio.sleep(0)
            try:
                async with self._session() as uow:
                    batch, self._writes = self._writes, []
                    results = [await work(uow) for work, _ in batch]
                    await uow.commit()
                    committed = True
            except Exception as exc:
                if not committed:
                    await self._write_apart(batch, exc)
                    continue
            except BaseException:  # cancelled (the loop is closing)
                if committed:
                    _settle_all(batch, results)
                    batch = []
                for _, written in batch + self._writes:
                    written.cancel()
                self._writes = []
                raise
            _settle_all(batch, results)

    async def _write_apart(self, batch: list[_Write], error: Exception) -> None:
        """A batch that failed: each of its writes again in a transaction of its own."""
        if not batch:  # no session at all: every waiting write learns why
            batch, self._writes = self._writes, []
        if len(batch) == 1:
            _settle(batch[0][1], error=error)
            return
        for work, written in batch:
            await self._write_alone(work, written)

    async def _write_alone(
        self, work: Callable[[UnitOfWork], Awaitable[Any]], written: asyncio.Future[Any]
    ) -> None:
        try:
            async with self._session() as uow:
                result = await work(uow)
                await uow.commit()
        except Exception as exc:
            _settle(written, error=exc)
        else:
            _settle(written, result=result)

    async def _blocked(
        self, row_id: int, chat_id: int, payload: dict[str, Any], error: str
    ) -> None:
        """403: never retry; a resident goes inactive, and a fallback (if any) is queued."""
        now = self._clock.now()
        async with self._session() as uow:
            row = await uow.outbox.get(row_id)
            if row is None:
                return
            row.attempts += 1
            row.status, row.error, row.claimed_until = "failed", f"blocked: {error}", None
            await uow.residents.set_active(chat_id, False, now)
            fallback = payload.get("fallback")
            if fallback:
                fallback = dict(fallback)
                fallback_chat = int(fallback.pop("chat_id"))
                await uow.outbox.add(
                    f"{row.dedupe_key}:fallback", fallback_chat, fallback, now, row.priority
                )
            await uow.commit()
        self.nudge()

    async def _migrate(self, old_chat: int, new_chat: int) -> None:
        """A group became a supergroup: teams, cards and pending rows follow its new id."""
        log.info("chat %s migrated to %s", old_chat, new_chat)
        async with self._session() as uow:
            await uow.teams.migrate_chat(old_chat, new_chat)
            await uow.cards.migrate_chat(old_chat, new_chat)
            for row in await uow.outbox.pending_for_chat(old_chat):
                row.chat_id, row.claimed_until = new_chat, None  # the claim ends here
                row.next_attempt_at = self._clock.now()
            await uow.commit()
        self.nudge()


def _settle(
    written: asyncio.Future[Any], *, result: Any = None, error: Exception | None = None
) -> None:
    if written.done():  # its worker was cancelled meanwhile
        return
    if error is not None:
        written.set_exception(error)
    else:
        written.set_result(result)


def _settle_all(batch: list[_Write], results: list[Any]) -> None:
    for (_, written), result in zip(batch, results, strict=True):
        _settle(written, result=result)


def _is_card(key: str) -> bool:
    return key.startswith(CARD_KEY_PREFIX)


def _backoff(attempt: int) -> float:
    """Exponential with jitter, so a crowd of senders does not retry in step."""
    return min(BACKOFF_CAP, BACKOFF_FIRST * 2**attempt) * random.uniform(0.8, 1.2)


_Write = tuple[Callable[[UnitOfWork], Awaitable[Any]], "asyncio.Future[Any]"]


@dataclass
class _Prepared:
    out: Outgoing | None
    give_up: str | None = None
