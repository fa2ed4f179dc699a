"""The dialog engine: one transaction per event, dialog state in the database.

Transports hand it neutral `Incoming` events and render the `Reply` it returns
after the transaction has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable

from bot.clock import Clock
from bot.config import Settings
from bot.domain.policy import phones_masked_in
from bot.domain.vocabulary import SendPriority
from bot.handlers.base import Classifier, Ctx, State
from bot.handlers.router import route
from bot.i18n import Translator, normalise_locale, translate
from bot.messages import CallbackAnswer, Incoming, Outgoing, Reply, coalesce
from bot.services.desk import Desk
from bot.services.gate import PriorityGate
from bot.services.phones import mask_phones_in
from storage.db import DatabaseBusy, is_busy, is_sqlite
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

# Turns at SQLite's write lock: a person waiting for an answer goes before the outbox.
WRITER_HANDLER = 0
WRITER_OUTBOX = 1

BOT_COMMANDS: tuple[str, ...] = (
    "my",
    "visitor",
    "cancel",
    "lang",
    "help",
    "start",
    "mydata",
    "forgetme",
    "notices",
)
# Shown in groups, where only staff talk to the bot: (command, locale key).
GROUP_COMMANDS: tuple[tuple[str, str], ...] = (
    ("stats", "stats"),
    ("export", "export"),
    ("ticket", "ticket"),
    ("staff", "staff"),
    ("invite", "invite"),
    ("remove", "remove"),
    ("takeover", "takeover"),
    ("report", "report"),
    ("faqdrafts", "faqdrafts"),
    ("duty", "duty"),
    ("onduty", "onduty"),
    ("offduty", "offduty"),
    ("bind", "bind"),
    ("unbind", "unbind"),
    ("cancel", "group_cancel"),
)


def reader(chat_type: str, locale: str) -> Translator:
    """The translator for a chat: in groups every phone number typed into a text is masked."""
    return Translator(locale, redact=mask_phones_in if phones_masked_in(chat_type) else None)


class DialogEngine:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        settings: Settings,
        clock: Clock,
        classify: Classifier,
        *,
        queue_writers: bool | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._settings = settings
        self._clock = clock
        self._classify = classify
        # One event at a time per person, so an album's photos never race for one draft.
        self._locks: defaultdict[tuple[int, int], asyncio.Lock] = defaultdict(asyncio.Lock)
        # Called after each commit with the chats that have replies waiting; the App points
        # it at the outbox sender, which sends them at once.
        self.after_commit: Callable[[Iterable[int]], None] | None = None
        # SQLite lets one writer in at a time and hands its lock over by polling with sleeps
        # of up to 100 ms; queueing our own events here hands it over at once (bench/inbound.py
        # measures the gain). PostgreSQL locks rows, so events there run side by side.
        if queue_writers is None:
            queue_writers = is_sqlite(settings.database_url)
        # The outbox takes its turns here too (after any waiting handler): one queue for
        # every write this process makes.
        self.writer: PriorityGate | None = PriorityGate() if queue_writers else None

    @property
    def uow_factory(self) -> UnitOfWorkFactory:
        return self._uow_factory

    async def handle(self, inc: Incoming) -> Reply:
        key = (inc.chat_id, inc.user_id)
        lock = self._locks[key]
        try:
            async with lock, self._database_turn():
                return await self._handle(inc)
        except Exception as exc:
            # Nothing was committed, not even the update's claim: a retry is handled afresh.
            if is_busy(exc):
                log.warning("update %s: database busy (%s)", inc.update_id, exc)
                return self._busy(inc)
            # Answer politely instead of leaving a spinning button.
            log.exception("update %s failed", inc.update_id)
            return self._apology(inc)
        finally:
            if not lock.locked():
                self._locks.pop(key, None)  # keep one lock per person only while busy

    @contextlib.asynccontextmanager
    async def _database_turn(self) -> AsyncIterator[None]:
        """Wait for our turn at SQLite's write lock, no longer than the lock timeout."""
        if self.writer is None:
            yield
            return
        try:
            await asyncio.wait_for(
                self.writer.acquire(WRITER_HANDLER), self._settings.db_lock_timeout
            )
        except TimeoutError as exc:
            raise DatabaseBusy("waited too long for the database's write lock") from exc
        try:
            yield
        finally:
            self.writer.release()

    def _apology(self, inc: Incoming) -> Reply:
        t = Translator(normalise_locale(inc.language_code, self._settings.locale))
        reply = Reply()
        if inc.callback_id is not None:
            reply.add(CallbackAnswer(inc.callback_id, t("common.unknown_button")))
        elif inc.is_private:
            reply.add(Outgoing(chat_id=inc.chat_id, text=t("common.error")))
        return reply

    def _busy(self, inc: Incoming) -> Reply:
        """No connection or lock in time: say so and ask for the same again, in any chat."""
        t = Translator(normalise_locale(inc.language_code, self._settings.locale))
        reply = Reply()
        if inc.callback_id is not None:
            reply.add(CallbackAnswer(inc.callback_id, t("common.busy_button"), alert=True))
        else:
            reply.add(Outgoing(chat_id=inc.chat_id, text=t("common.busy")))
        return reply

    async def _handle(self, inc: Incoming) -> Reply:
        async with self._uow_factory() as uow:
            # Several workers may hold updates of one person: one at a time, in any process.
            person = (inc.chat_id, inc.user_id)
            if not await uow.updates.claim(inc.update_id, self._clock.now(), person):
                log.info("update %s already processed", inc.update_id)
                return _stop_spinner(inc)
            desk = Desk(uow, self._settings, self._clock)
            stored = await uow.dialogs.get(inc.chat_id, inc.user_id)
            # A deep copy: mutating the loaded JSON in place would hide the change from the ORM.
            state = (
                State(
                    stored.flow,
                    stored.step,
                    copy.deepcopy(stored.data),
                    stored.due_at,
                    stored.updated_at,
                )
                if stored
                else State()
            )
            ctx = Ctx(
                inc=inc,
                desk=desk,
                settings=self._settings,
                t=reader(inc.chat_type, await self._locale(desk, inc)),
                state=state,
                classify=self._classify,
            )
            if inc.is_private:
                await desk.mark_reachable(inc.user_id)
            await route(ctx)
            await self._save_state(uow, inc, ctx.state, had_state=stored is not None)
            reply, chats = await _queue_replies(desk, inc, ctx.reply)
            await uow.commit()
        if self.after_commit is not None:
            self.after_commit(chats)
        return reply

    async def _locale(self, desk: Desk, inc: Incoming) -> str:
        if not inc.is_private:
            return self._settings.locale  # a group is shared: the property's language
        resident = await desk.resident(inc.user_id)
        if resident is not None and resident.locale:
            return resident.locale
        return normalise_locale(inc.language_code, self._settings.locale)

    async def _save_state(
        self, uow: UnitOfWork, inc: Incoming, state: State, *, had_state: bool
    ) -> None:
        if not state.flow and not had_state:
            return  # nothing stored, nothing to store: no statement
        if state.flow:
            await uow.dialogs.save(
                inc.chat_id,
                inc.user_id,
                state.flow,
                state.step,
                state.data,
                self._clock.now(),
                state.due_at,
            )
        else:
            await uow.dialogs.clear(inc.chat_id, inc.user_id)

    async def mark_unreachable(self, chat_id: int) -> None:
        """403 from Telegram: the person blocked the bot; stop counting them as active."""
        async with self._uow_factory() as uow:
            desk = Desk(uow, self._settings, self._clock)
            if await desk.mark_unreachable(chat_id):
                log.info("resident %s blocked the bot; marked inactive", chat_id)
            await uow.commit()

    def bot_commands(self, locale: str, groups: bool = False) -> list[tuple[str, str]]:
        """The command menu: residents' commands by default, staff commands in groups."""
        if groups:
            return [(name, translate(locale, f"command.{key}")) for name, key in GROUP_COMMANDS]
        return [(name, translate(locale, f"command.{name}")) for name in BOT_COMMANDS]


def _stop_spinner(inc: Incoming) -> Reply:
    """A press delivered again (the process died after its commit, before it answered the
    press): its work and replies are stored already, but the button still spins until
    it is answered."""
    reply = Reply()
    if inc.callback_id is not None:
        reply.add(CallbackAnswer(inc.callback_id, ""))
    return reply


async def _queue_replies(desk: Desk, inc: Incoming, reply: Reply) -> tuple[Reply, list[int]]:
    """Replies become outbox rows in the event's own transaction, so a crash, a 429 or a
    server error after the commit delays them but never loses them, and they keep their
    place in the chat's order. Only the answers to button presses (a toast that is useless
    a few seconds later) stay with the transport."""
    direct = Reply([a for a in reply.actions if isinstance(a, CallbackAnswer)])
    messages = coalesce([a for a in reply.actions if isinstance(a, Outgoing)])
    keyed = [(f"reply:{inc.update_id}:{index}", message) for index, message in enumerate(messages)]
    if len(keyed) == 1:
        await desk.enqueue(*keyed[0], priority=SendPriority.REPLY)
    else:  # one statement for them all
        await desk.enqueue_many(keyed, priority=SendPriority.REPLY)
    direct.queued.extend(messages)
    return direct, list(dict.fromkeys(message.chat_id for message in messages))
