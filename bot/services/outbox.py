"""The outbox: messages to other chats are rows written with the change they report,
and a plain sender drains them through the neutral `Sender`.

At-least-once: a row is marked sent after Telegram accepted it, so a crash in between
sends it again (the reliability issue adds limits, leases and several workers).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from bot.clock import Clock
from bot.messages import (
    BadRequest,
    Button,
    ChatMigrated,
    DeliveryError,
    Document,
    NotModified,
    Outgoing,
    RateLimited,
    RecipientBlocked,
    Sender,
)
from bot.services.pacing import Pacer
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
MIME_BINARY = "application/octet-stream"
# How long a claimed row is ours; a sender that dies mid-send loses it after this.
# (longer than any pacing wait, which is at most a minute for a busy group)
LEASE = timedelta(minutes=10)
# An edit whose card has not been sent yet waits this long before looking again.
CARD_WAIT = timedelta(seconds=2)
MAX_CARD_WAITS = 30


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
        upload=_existing_file(payload.get("upload")),
        document=_document(payload.get("document")),
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
class _Prepared:
    out: Outgoing | None
    give_up: str | None = None


class OutboxSender:
    """Drains due rows; one short transaction to read a row and one to record the result,
    never a transaction held open across a network call (SQLite would block every writer)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        sender: Sender,
        clock: Clock,
        batch: int = 20,
        pacer: Pacer | None = None,
    ) -> None:
        self._pacer = pacer or Pacer()
        self.sending = 0  # rows claimed and not yet finished (shutdown and tests wait on it)
        self._uow_factory = uow_factory
        self._sender = sender
        self._clock = clock
        self._batch = batch
        self._wake = asyncio.Event()

    def nudge(self) -> None:
        """Something was just committed to the outbox: look now instead of at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        while not stop.is_set():
            self._wake.clear()
            try:
                handled = await self.drain()
            except Exception:  # the loop must outlive a bad row or a lost connection
                log.exception("outbox drain failed")
                handled = 0
            if handled == 0:
                await self._sleep(stop, interval)

    async def _sleep(self, stop: asyncio.Event, interval: float) -> None:
        waits = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())}
        _, pending = await asyncio.wait(waits, timeout=interval, return_when="FIRST_COMPLETED")
        for task in pending:
            task.cancel()

    async def drain(self) -> int:
        """Send what is due now; returns how many rows were handled."""
        async with self._uow_factory() as uow:
            ids = await uow.outbox.due_ids(self._clock.now(), self._batch)
        handled = 0
        for row_id in ids:
            handled += await self._deliver(row_id)
        return handled

    async def _deliver(self, row_id: int) -> int:
        self.sending += 1
        try:
            return await self._deliver_claimed(row_id)
        finally:
            self.sending -= 1

    async def _deliver_claimed(self, row_id: int) -> int:
        now = self._clock.now()
        async with self._uow_factory() as uow:
            if not await uow.outbox.claim(row_id, now, now + LEASE):
                return 0  # another sender has it
            row = await uow.outbox.get(row_id)
            if row is None:
                return 0
            chat_id, key, attempts = row.chat_id, row.dedupe_key, row.attempts
            payload = dict(row.payload)
            prepared = await self._prepare(uow, chat_id, payload)
            await uow.commit()
        if prepared.give_up is not None:
            await self._finish(row_id, error=prepared.give_up)
            return 0
        if prepared.out is None:  # the card it edits or answers is not sent yet
            retry = CARD_WAIT.total_seconds() if attempts < MAX_CARD_WAITS else None
            await self._finish(row_id, retry_in=retry, error="card never sent")
            return 0
        try:
            await self._pacer.wait(prepared.out.chat_id)
            sent = await self._sender.send(prepared.out)
        except NotModified:
            await self._finish(row_id, sent_id=prepared.out.edit_message_id)
        except RateLimited as exc:
            await self._finish(row_id, retry_in=exc.retry_after, error=str(exc))
        except ChatMigrated as exc:
            await self._migrate(chat_id, exc.new_chat_id)
        except RecipientBlocked as exc:
            await self._blocked(row_id, chat_id, payload, str(exc))
        except BadRequest as exc:
            log.warning("outbox %s refused for good: %s", key, exc)
            await self._finish(row_id, error=str(exc))
        except DeliveryError as exc:
            retry = float(min(300, 2**attempts)) if attempts + 1 < MAX_ATTEMPTS else None
            await self._finish(row_id, retry_in=retry, error=str(exc))
        else:
            await self._finish(row_id, sent_id=sent.message_id, card_key=key)
        return 1

    async def _prepare(self, uow: UnitOfWork, chat_id: int, payload: dict[str, Any]) -> _Prepared:
        out = from_payload(chat_id, payload)
        for field, target in (("edit_card", "edit_message_id"), ("reply_to_card", "reply")):
            card_id = payload.get(field)
            if card_id is None:
                continue
            card = await uow.cards.get(int(card_id))
            if card is None:
                return _Prepared(None, give_up="card not found")
            if card.message_id is None:
                return _Prepared(None)
            if target == "edit_message_id":
                out = replace(out, edit_message_id=card.message_id, chat_id=card.chat_id)
            else:
                out = replace(out, reply_to_message_id=card.message_id, chat_id=card.chat_id)
        return _Prepared(out)

    async def _finish(
        self,
        row_id: int,
        *,
        sent_id: int | None = None,
        card_key: str | None = None,
        retry_in: float | None = None,
        error: str | None = None,
    ) -> None:
        """Sent when there is no error; tried again after `retry_in`; otherwise failed."""
        now = self._clock.now()
        async with self._uow_factory() as uow:
            row = await uow.outbox.get(row_id)
            if row is None:
                return
            row.attempts += 1
            row.error = error
            if error is None:
                row.status, row.sent_at, row.sent_message_id = "sent", now, sent_id
                if card_key is not None and sent_id is not None:
                    await uow.cards.set_message_id(card_key, sent_id)
            elif retry_in is not None:
                row.next_attempt_at = now + timedelta(seconds=retry_in)
            else:
                row.status = "failed"
                log.warning("outbox %s failed: %s", row.dedupe_key, error)
            await uow.commit()

    async def _blocked(
        self, row_id: int, chat_id: int, payload: dict[str, Any], error: str
    ) -> None:
        """403: never retry; a resident goes inactive, and a fallback (if any) is queued."""
        now = self._clock.now()
        async with self._uow_factory() as uow:
            row = await uow.outbox.get(row_id)
            if row is None:
                return
            row.attempts += 1
            row.status, row.error = "failed", f"blocked: {error}"
            await uow.residents.set_active(chat_id, False, now)
            fallback = payload.get("fallback")
            if fallback:
                fallback = dict(fallback)
                fallback_chat = int(fallback.pop("chat_id"))
                await uow.outbox.add(f"{row.dedupe_key}:fallback", fallback_chat, fallback, now)
            await uow.commit()

    async def _migrate(self, old_chat: int, new_chat: int) -> None:
        """A group became a supergroup: teams, cards and pending rows follow its new id."""
        log.info("chat %s migrated to %s", old_chat, new_chat)
        async with self._uow_factory() as uow:
            await uow.teams.migrate_chat(old_chat, new_chat)
            await uow.cards.migrate_chat(old_chat, new_chat)
            for row in await uow.outbox.pending_for_chat(old_chat):
                row.chat_id, row.next_attempt_at = new_chat, self._clock.now()  # lease over
            await uow.commit()
