"""The driver: start the emulator, act as residents and staff, read what the bot did."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import ApiError
from .faults import TRANSIENT_KINDS, Fault, FaultKind, Outage
from .files import tiny_png
from .limits import Clock, RateLimitConfig
from .markup import find_inline_button
from .methods import member_json
from .server import ApiServer, Stats
from .text import detect_entities, utf16_len
from .transcript import describe_user_message
from .views import BotMessage, UserMessage, view_event, view_stored
from .world import CallbackRecord, ChatState, Json, StoredMessage, UserState, World

Predicate = Callable[[BotMessage], bool]
_OWN = object()


def chat_id_of(chat: int | SimUser | SimGroup) -> int:
    return chat if isinstance(chat, int) else chat.id


def matching(
    predicate: Predicate | None = None, text: str | None = None, button: str | None = None
) -> Predicate | None:
    """One predicate from a function, a part of the body and a button label (all optional)."""
    if text is None and button is None:
        return predicate

    def check(message: BotMessage) -> bool:
        if text is not None and text not in message.body:
            return False
        if button is not None and button not in message.button_texts:
            return False
        return predicate is None or predicate(message)

    return check


class BotAPIEmulator:
    """A local Telegram Bot API server for one bot, plus the handles tests drive it with."""

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "propdesk_bot",
        bot_name: str = "PropDesk",
        *,
        privacy: bool = True,
        rate_limits: RateLimitConfig | bool = True,
        clock: Clock | None = None,
        wall_clock: Callable[[], float] | None = None,
        strict_html: bool = True,
        callback_timeout: float = 900.0,
        conflict_policy: str = "terminate_older",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if isinstance(rate_limits, bool):
            rate_limits = RateLimitConfig(enabled=rate_limits)
        bot_id = int(token.split(":", 1)[0])
        bot = UserState(bot_id, bot_name, username=bot_username, is_bot=True)
        self.world = World(
            token=token,
            bot=bot,
            privacy=privacy,
            clock=clock or time.monotonic,
            wall_clock=wall_clock or time.time,
            limits=rate_limits,
            strict_html=strict_html,
            callback_timeout=callback_timeout,
        )
        self.server = ApiServer(self.world, host, port, conflict_policy)
        self.token = token
        self.base_url = ""
        self._consumed: set[int] = set()
        self._next_user_id = 7_000_000_001
        self._next_group = 1

    # -- life cycle ---------------------------------------------------------------------

    async def start(self) -> str:
        """Start serving; returns (and sets) ``base_url``, e.g. ``http://127.0.0.1:40123``."""
        self.base_url = await self.server.start()
        return self.base_url

    async def stop(self) -> None:
        await self.server.stop()

    async def __aenter__(self) -> BotAPIEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        """``base_url + "/bot"``: python-telegram-bot's ``base_url``."""
        return f"{self.base_url}/bot"

    @property
    def file_url(self) -> str:
        """``base_url + "/file/bot"``: python-telegram-bot's ``base_file_url``."""
        return f"{self.base_url}/file/bot"

    @property
    def bot_id(self) -> int:
        return self.world.bot.id

    @property
    def bot_username(self) -> str:
        return self.world.bot.username or ""

    # -- actors -------------------------------------------------------------------------

    def user(
        self,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        *,
        is_premium: bool | None = None,
        user_id: int | None = None,
    ) -> SimUser:
        """A new person with a fresh id (above 2**32); their private chat id is the same."""
        if user_id is None:
            user_id = self._next_user_id
            self._next_user_id += 1
        state = UserState(
            user_id, first_name, last_name, username, language_code, is_premium=is_premium
        )
        self.world.users[user_id] = state
        self.world.chats[user_id] = ChatState(user_id, "private", user=state)
        return SimUser(self, state)

    def group(
        self,
        title: str = "Group",
        *,
        supergroup: bool = True,
        forum: bool = False,
        members: Iterable[SimUser] = (),
        admins: Iterable[SimUser] = (),
        bot_member: bool = True,
        bot_admin: bool = False,
        username: str | None = None,
    ) -> SimGroup:
        """A group (``-4…``) or supergroup (``-100…``) with the bot already in it."""
        number = self._next_group
        self._next_group += 1
        chat_id = (
            -(1_002_000_000_000 + number) if supergroup or forum else -(4_000_000_000 + number)
        )
        chat = ChatState(
            chat_id,
            "supergroup" if supergroup or forum else "group",
            title=title,
            username=username,
            is_forum=forum,
            bot_status=("administrator" if bot_admin else "member") if bot_member else "left",
        )
        for member in members:
            chat.members[member.id] = "member"
        for admin in admins:
            chat.members[admin.id] = "administrator"
        self.world.chats[chat_id] = chat
        return SimGroup(self, chat)

    # -- reading ------------------------------------------------------------------------

    def bot_messages(
        self, chat: int | SimUser | SimGroup, *, include_deleted: bool = False
    ) -> list[BotMessage]:
        """The bot's messages in a chat, oldest first, each as it is now."""
        cid = chat_id_of(chat)
        stored = [
            s
            for (c, _), s in sorted(self.world.messages.items())
            if c == cid and s.from_bot and (include_deleted or not s.deleted)
        ]
        return [view_stored(s) for s in stored]

    def last_bot_message(self, chat: int | SimUser | SimGroup) -> BotMessage | None:
        messages = self.bot_messages(chat)
        return messages[-1] if messages else None

    def user_messages(self, chat: int | SimUser | SimGroup) -> list[UserMessage]:
        """What people wrote in a chat (also what privacy mode kept from the bot)."""
        cid = chat_id_of(chat)
        return [
            UserMessage(s.chat_id, s.message_id, s.delivered, None, s.data)
            for (c, _), s in sorted(self.world.messages.items())
            if c == cid and not s.from_bot
        ]

    async def wait_for_bot_message(
        self,
        chat: int | SimUser | SimGroup,
        predicate: Predicate | None = None,
        timeout: float = 5.0,
        *,
        include_edits: bool = True,
        text: str | None = None,
        button: str | None = None,
    ) -> BotMessage:
        """The oldest bot message or edit in ``chat`` not yet returned by this method.

        ``text`` (part of the body) and ``button`` (a label) narrow the match like
        ``predicate`` does. Events that do not match stay available for later calls.
        Raises ``TimeoutError`` (with what the bot did send) when nothing matches in time.
        """
        cid = chat_id_of(chat)
        kinds = ("message", "edit") if include_edits else ("message",)
        predicate = matching(predicate, text, button)
        deadline = time.monotonic() + timeout
        while True:
            found = self._find_event(cid, kinds, predicate)
            if found is not None:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [m.body[:60] for m in self.bot_messages(cid)][-5:]
                raise TimeoutError(f"no matching bot message in chat {cid}; last sent: {seen}")
            await self.world.wait_change(remaining)

    def _find_event(
        self, cid: int, kinds: tuple[str, ...], predicate: Predicate | None
    ) -> BotMessage | None:
        for event in self.world.events:
            if event.seq in self._consumed or event.chat_id != cid or event.kind not in kinds:
                continue
            view = view_event(event, self.world.messages[(cid, event.message_id)])
            if predicate is None or predicate(view):
                self._consumed.add(event.seq)
                return view
        return None

    def mark_seen(self, chat: int | SimUser | SimGroup | None = None) -> None:
        """Make ``wait_for_bot_message`` skip everything the bot did so far (in one chat)."""
        for event in self.world.events:
            if chat is None or event.chat_id == chat_id_of(chat):
                self._consumed.add(event.seq)

    async def wait_for_idle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until every update was fetched and no API call happened for ``quiet`` s."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            pending = len(self.world.updates)
            busy = pending > 0 or self.server.inflight > 0
            if not busy and now - self.server.last_activity >= quiet:
                return
            if now >= deadline:
                raise TimeoutError(
                    f"bot not idle after {timeout}s: {pending} updates not fetched, "
                    f"{self.server.inflight} calls in flight (is the bot polling?)"
                )
            await asyncio.sleep(0.02)

    def fetch_count(self, update_id: int) -> int:
        """How many times the bot was handed this update (a redelivery counts again)."""
        return self.world.handed_out[update_id]

    async def wait_fetched(self, update_id: int | None = None, timeout: float = 10.0) -> None:
        """Until the bot has fetched this update (each pending delivery of it), or, without
        an id, every update so far. Wakes on the fetch itself, not after a quiet period."""
        what = "every update" if update_id is None else f"update {update_id}"
        await self._wait_until(
            lambda: not self.world.unfetched(update_id),
            timeout,
            f"{what} not fetched after {timeout}s (is the bot polling?)",
        )

    async def wait_confirmed(self, update_id: int, timeout: float = 10.0) -> None:
        """Until the bot confirmed the update: a getUpdates ``offset`` above its id (or the
        webhook answered 2xx for it)."""
        await self._wait_until(
            lambda: self.world.confirmed_below > update_id,
            timeout,
            f"update {update_id} not confirmed after {timeout}s",
        )

    async def wait_polling(self, timeout: float = 10.0) -> None:
        """Until a getUpdates call is open (a long poll waiting for updates)."""
        await self._wait_until(
            lambda: self.server.polling, timeout, f"no getUpdates call after {timeout}s"
        )

    async def _wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(what)
            await self.world.wait_change(remaining)

    async def wait_for_callback_answer(
        self, query: str | CallbackPress, timeout: float = 5.0
    ) -> Json:
        """What answerCallbackQuery said for a press (waits for the answer)."""
        query_id = query if isinstance(query, str) else query.id
        deadline = time.monotonic() + timeout
        while True:
            record = self.world.callbacks[query_id]
            if record.answer is not None:
                return record.answer
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"callback query {query_id} was not answered")
            await self.world.wait_change(remaining)

    @property
    def callback_answers(self) -> dict[str, Json | None]:
        """Every callback query id → its answer (``None`` while unanswered)."""
        return {qid: record.answer for qid, record in self.world.callbacks.items()}

    @property
    def commands(self) -> dict[tuple[str, str], list[Json]]:
        """setMyCommands state: ``(scope, language_code)`` → commands.

        Scopes are ``"default"``, ``"all_private_chats"``, ``"all_group_chats"``,
        ``"all_chat_administrators"``, ``"chat:<id>"``, ``"chat_administrators:<id>"``,
        ``"chat_member:<chat>:<user>"``; the language is ``""`` when none was given.
        """
        return dict(self.world.commands)

    def commands_for(self, scope: str = "default", language_code: str = "") -> list[Json]:
        return list(self.world.commands.get((scope, language_code), []))

    @property
    def calls(self) -> list[tuple[str, Json]]:
        """Every Bot API call except getUpdates: ``(method as spelled, parameters)``."""
        return list(self.world.calls)

    def calls_to(self, method: str) -> list[Json]:
        return [params for name, params in self.world.calls if name.lower() == method.lower()]

    @property
    def pending_updates(self) -> int:
        return len(self.world.updates)

    def transcript(self) -> list[str]:
        """Both sides, one line per event: ``王 → bot: …``, ``bot → 王: … [Yes] [No]``."""
        return list(self.world.transcript)

    def transcript_text(self) -> str:
        return "\n".join(self.world.transcript)

    # -- control ------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
        *,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with this error instead."""
        parameters: Json = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        self.server.fail_next(method, ApiError(error_code, description, parameters or None), times)

    def inject(
        self,
        kind: FaultKind | str,
        method: str | None = None,
        *,
        times: int = 1,
        delay: float = 0.0,
        chat: int | SimUser | SimGroup | None = None,
    ) -> Fault:
        """The next ``times`` calls of ``method`` (None: any but getUpdates), to ``chat`` if
        given, meet ``kind``; see ``FaultKind``. ``delay`` is in real seconds."""
        chat_id = None if chat is None else chat_id_of(chat)
        return self.server.inject(Fault(kind, method, times, delay, chat_id=chat_id))

    def outage(
        self,
        seconds: float,
        kind: FaultKind | str = FaultKind.HTML_502,
        *,
        exempt: Iterable[str] = ("getUpdates",),
    ) -> Outage:
        """Telegram away for ``seconds`` on the limits clock (``clock``)."""
        return self.server.outage(seconds, kind, exempt=exempt)

    def end_outage(self) -> None:
        self.server.end_outage()

    def random_faults(
        self,
        rate: float = 0.2,
        kinds: Iterable[FaultKind | str] = TRANSIENT_KINDS,
        methods: Iterable[str] | None = None,
        seed: int = 0,
    ) -> None:
        """A reproducible share ``rate`` of calls fails; ``rate=0`` stops it."""
        self.server.random_faults(rate, kinds, methods, seed)

    def clear_faults(self) -> None:
        self.server.clear_faults()

    @property
    def stats(self) -> Stats:
        """Injected faults, answers, 429s and accepted messages (a live view)."""
        return self.server.stats

    def redeliver_last(self) -> None:
        """Deliver the most recent update again, with the same update_id."""
        if self.world.last_update is None:
            raise LookupError("no update to redeliver")
        self.world.redeliver(self.world.last_update)

    def spread_webhook(self, targets: Iterable[str]) -> None:
        """Act as a reverse proxy in front of several webhook workers: each post goes to the
        next of ``targets`` (full URLs) in turn, whatever URL the bot set; a target refusing
        the connection is skipped for the next. Telegram's rules stay: one post at a time per
        chat, posted again after a non-2xx answer. An empty list posts to the set URL again."""
        self.server.webhook_targets = list(targets)
        self.world.notify()

    @property
    def posts_by_target(self) -> Counter[str]:
        """Posts answered by each target of ``spread_webhook`` (any status)."""
        return self.server.posts_by_target

    def set_privacy(self, enabled: bool) -> None:
        """Privacy mode as set with @BotFather (on by default)."""
        self.world.privacy = enabled

    # -- internals used by SimUser / SimGroup -------------------------------------------

    def _post(
        self,
        sender: UserState,
        chat: ChatState,
        body: Json,
        *,
        thread_id: int | None = None,
        reply_to: Any = None,
    ) -> UserMessage:
        replied = self._resolve_reply(chat, reply_to)
        if thread_id is not None and thread_id not in chat.topics:
            raise ValueError(f"chat {chat.id} has no topic {thread_id}")
        data = self.world.new_message(chat, sender, body, thread_id=thread_id, reply_to=replied)
        return self._deliver_user_message(sender, chat, data)

    def _deliver_user_message(self, sender: UserState, chat: ChatState, data: Json) -> UserMessage:
        delivered = self.world.bot_receives(chat, data)
        self.world.store(data, from_bot=False, delivered=delivered)
        target = "bot" if chat.user is not None else chat.name
        self.world.transcript.append(
            describe_user_message(sender.display_name, target, data, delivered)
        )
        update_id = self.world.enqueue("message", data).update_id if delivered else None
        self.server.last_activity = time.monotonic()
        return UserMessage(chat.id, data["message_id"], delivered, update_id, data)

    def _resolve_reply(self, chat: ChatState, reply_to: Any) -> StoredMessage | None:
        if reply_to is None:
            return None
        message_id = reply_to if isinstance(reply_to, int) else reply_to.message_id
        stored = self.world.message(chat.id, message_id)
        if stored is None:
            raise LookupError(f"no message {message_id} in chat {chat.id}")
        return stored

    def _service(self, chat: ChatState, sender: UserState, body: Json) -> UserMessage:
        data = self.world.new_message(chat, sender, body)
        return self._deliver_user_message(sender, chat, data)

    def _my_chat_member(self, chat: ChatState, by: UserState, old: str, new: str) -> None:
        bot = self.world.bot.to_json()
        self.world.enqueue(
            "my_chat_member",
            {
                "chat": chat.to_json(),
                "from": by.to_json(),
                "date": self.world.now(),
                "old_chat_member": member_json(bot, old),
                "new_chat_member": member_json(bot, new),
            },
        )
        self.world.transcript.append(
            f"{by.display_name} changes the bot in {chat.name}: {old} → {new}"
        )


@dataclass
class CallbackPress:
    """A button press the driver made; ``answer`` is what answerCallbackQuery said."""

    id: str
    data: str | None
    message_id: int
    chat_id: int
    update_id: int
    emulator: BotAPIEmulator

    @property
    def record(self) -> CallbackRecord:
        return self.emulator.world.callbacks[self.id]

    @property
    def answered(self) -> bool:
        return self.record.answer is not None

    @property
    def answer(self) -> Json | None:
        return self.record.answer

    async def wait_answer(self, timeout: float = 5.0) -> Json:
        return await self.emulator.wait_for_callback_answer(self.id, timeout)


class SimUser:
    """A simulated Telegram user. Sends go to the private chat unless ``chat=`` is given."""

    def __init__(self, emulator: BotAPIEmulator, state: UserState) -> None:
        self.emulator = emulator
        self.state = state

    def __repr__(self) -> str:
        return f"SimUser({self.state.id}, {self.state.display_name!r})"

    @property
    def id(self) -> int:
        return self.state.id

    @property
    def name(self) -> str:
        return self.state.display_name

    @property
    def first_name(self) -> str:
        return self.state.first_name

    @property
    def username(self) -> str | None:
        return self.state.username

    @property
    def language_code(self) -> str | None:
        return self.state.language_code

    @property
    def blocked(self) -> bool:
        return self.state.blocked

    # -- sending ------------------------------------------------------------------------

    def _chat(self, chat: SimGroup | int | None) -> ChatState:
        if chat is None:
            return self.emulator.world.chats[self.id]
        return self.emulator.world.chats[chat_id_of(chat)]

    async def _send(
        self, body: Json, chat: SimGroup | int | None, thread_id: int | None, reply_to: Any
    ) -> UserMessage:
        target = self._chat(chat)
        if target.user is not None:
            if self.state.blocked:
                self.unblock_bot()
            self.state.started = True
        elif target.members.get(self.id) in (None, "left", "kicked"):
            target.members[self.id] = "member"
        await asyncio.sleep(0)
        return self.emulator._post(self.state, target, body, thread_id=thread_id, reply_to=reply_to)

    async def send_text(
        self,
        text: str,
        chat: SimGroup | int | None = None,
        *,
        thread_id: int | None = None,
        reply_to: BotMessage | UserMessage | int | None = None,
    ) -> UserMessage:
        """Send text; ``/commands`` and ``@mentions`` get their entities as Telegram adds."""
        body: Json = {"text": text}
        entities = detect_entities(text)
        if entities:
            body["entities"] = entities
        return await self._send(body, chat, thread_id, reply_to)

    async def start(self, payload: str | None = None) -> UserMessage:
        """Press Start (``/start`` or a deep link ``/start payload``)."""
        return await self.send_text("/start" + (f" {payload}" if payload else ""))

    async def send_contact(
        self,
        phone: str,
        *,
        user_id: Any = _OWN,
        first_name: str | None = None,
        last_name: str | None = None,
        chat: SimGroup | int | None = None,
    ) -> UserMessage:
        """Share a contact: by default one's own (``user_id`` = own id), as the
        request_contact button does; pass ``user_id=None`` or another id for someone else's."""
        own = user_id is _OWN
        contact: Json = {
            "phone_number": phone,
            "first_name": first_name or (self.state.first_name if own else "Contact"),
        }
        surname = last_name if last_name is not None else (self.state.last_name if own else None)
        if surname:
            contact["last_name"] = surname
        uid = self.id if own else user_id
        if uid is not None:
            contact["user_id"] = uid
        return await self._send({"contact": contact}, chat, None, None)

    async def send_photo(
        self,
        caption: str | None = None,
        chat: SimGroup | int | None = None,
        *,
        data: bytes | None = None,
        width: int = 160,
        height: int = 120,
        thread_id: int | None = None,
        reply_to: BotMessage | UserMessage | int | None = None,
        media_group_id: str | None = None,
    ) -> UserMessage:
        """Send a photo (a small generated PNG unless ``data`` is given)."""
        world = self.emulator.world
        image = data or tiny_png(width, height, seed=world.files.counter)
        body: Json = {"photo": world.files.photo_sizes(image)}
        if media_group_id:
            body["media_group_id"] = media_group_id
        if caption:
            body["caption"] = caption
        return await self._send(body, chat, thread_id, reply_to)

    async def send_album(
        self, n: int = 2, caption: str | None = None, chat: SimGroup | int | None = None
    ) -> list[UserMessage]:
        """Send ``n`` photos as one album (one update each, same media_group_id)."""
        group_id = str(13_500_000_000_000_000 + self.emulator.world.next_update_id)
        return [
            await self.send_photo(caption if i == 0 else None, chat, media_group_id=group_id)
            for i in range(n)
        ]

    async def send_sticker(
        self, emoji: str = "😀", chat: SimGroup | int | None = None
    ) -> UserMessage:
        record = self.emulator.world.files.add("sticker", b"RIFF-webp", width=512, height=512)
        sticker: Json = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return await self._send({"sticker": sticker}, chat, None, None)

    async def send_voice(
        self, duration: int = 3, chat: SimGroup | int | None = None
    ) -> UserMessage:
        record = self.emulator.world.files.add("voice", b"OggS", mime_type="audio/ogg")
        voice: Json = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": 4,
        }
        return await self._send({"voice": voice}, chat, None, None)

    async def send_video(
        self, duration: int = 5, caption: str | None = None, chat: SimGroup | int | None = None
    ) -> UserMessage:
        record = self.emulator.world.files.add(
            "video", b"\x00\x00\x00\x18ftypmp42", width=640, height=480, mime_type="video/mp4"
        )
        video: Json = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "width": 640,
            "height": 480,
            "duration": duration,
            "mime_type": "video/mp4",
        }
        body: Json = {"video": video}
        if caption:
            body["caption"] = caption
        return await self._send(body, chat, None, None)

    async def send_document(
        self,
        file_name: str = "report.pdf",
        mime_type: str = "application/pdf",
        data: bytes = b"%PDF-1.4\n%%EOF\n",
        caption: str | None = None,
        chat: SimGroup | int | None = None,
    ) -> UserMessage:
        record = self.emulator.world.files.add(
            "document", data, file_name=file_name, mime_type=mime_type
        )
        document: Json = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        body: Json = {"document": document}
        if caption:
            body["caption"] = caption
        return await self._send(body, chat, None, None)

    async def send_location(
        self, latitude: float, longitude: float, chat: SimGroup | int | None = None
    ) -> UserMessage:
        location = {"latitude": latitude, "longitude": longitude}
        return await self._send({"location": location}, chat, None, None)

    async def edit_text(self, message: UserMessage, text: str) -> UserMessage:
        """Edit one's own text message (an ``edited_message`` update)."""
        world = self.emulator.world
        stored = world.message(message.chat_id, message.message_id)
        if stored is None or stored.from_bot or stored.sender_id != self.id:
            raise LookupError("can only edit one's own existing message")
        new = {k: v for k, v in stored.data.items() if k != "entities"}
        new["text"] = text
        entities = detect_entities(text)
        if entities:
            new["entities"] = entities
        new["edit_date"] = world.now()
        stored.versions.append(stored.data)
        stored.sources.append(None)
        stored.data = new
        chat = world.chats[message.chat_id]
        target = "bot" if chat.user is not None else chat.name
        world.transcript.append(describe_user_message(self.name, target, new, stored.delivered))
        update_id = world.enqueue("edited_message", new).update_id if stored.delivered else None
        await asyncio.sleep(0)
        return UserMessage(message.chat_id, message.message_id, stored.delivered, update_id, new)

    # -- buttons ------------------------------------------------------------------------

    async def press(
        self,
        message: BotMessage | int,
        text: str | None = None,
        *,
        data: str | None = None,
        chat: SimGroup | int | None = None,
    ) -> CallbackPress:
        """Press an inline button by its label (or send any ``data=``, even forged).

        The button is looked up in the message as it is now; if it is gone but the given
        snapshot had it, the snapshot's button is pressed (a client that had not yet
        received the edit).
        """
        world = self.emulator.world
        chat_id = message.chat_id if isinstance(message, BotMessage) else self._chat(chat).id
        message_id = message.message_id if isinstance(message, BotMessage) else message
        stored = world.message(chat_id, message_id)
        if stored is None:
            raise LookupError(f"message {message_id} in chat {chat_id} does not exist")
        callback_data = self._button_data(stored, message, text, data)
        query_id = world.new_callback_id()
        world.callbacks[query_id] = CallbackRecord(
            query_id, self.id, chat_id, message_id, callback_data, world.clock()
        )
        payload: Json = {
            "id": query_id,
            "from": self.state.to_json(),
            "message": stored.data,
            "chat_instance": str(abs(hash((chat_id, world.token))) % 10**18),
            "data": callback_data,
        }
        label = text if text is not None else f"data={data!r}"
        world.transcript.append(f"{self.name} presses [{label}]")
        update = world.enqueue("callback_query", payload)
        await asyncio.sleep(0)
        return CallbackPress(
            query_id, callback_data, message_id, chat_id, update.update_id, self.emulator
        )

    @staticmethod
    def _button_data(
        stored: StoredMessage, message: BotMessage | int, text: str | None, data: str | None
    ) -> str:
        if text is None:
            if data is None:
                raise ValueError("press() needs a button text or data=")
            return data
        markup = stored.data.get("reply_markup")
        button = find_inline_button(markup, text, None)
        if button is None and isinstance(message, BotMessage):
            button = find_inline_button(message.reply_markup, text, None)
        if button is None or "callback_data" not in button:
            labels = [
                b.get("text") for row in (markup or {}).get("inline_keyboard", []) for b in row
            ]
            raise LookupError(f"no callback button {text!r} on that message; buttons: {labels}")
        return str(button["callback_data"])

    # -- blocking and reading -----------------------------------------------------------

    def block_bot(self) -> None:
        """Block the bot: later sends to this user get 403; the bot gets my_chat_member."""
        if not self.state.blocked:
            self.state.blocked = True
            chat = self.emulator.world.chats[self.id]
            self.emulator._my_chat_member(chat, self.state, "member", "kicked")

    def unblock_bot(self) -> None:
        if self.state.blocked:
            self.state.blocked = False
            chat = self.emulator.world.chats[self.id]
            self.emulator._my_chat_member(chat, self.state, "kicked", "member")

    def messages(self) -> list[BotMessage]:
        """The bot's messages in this user's private chat."""
        return self.emulator.bot_messages(self.id)

    def last_message(self) -> BotMessage | None:
        return self.emulator.last_bot_message(self.id)

    async def next_message(
        self,
        predicate: Predicate | None = None,
        timeout: float = 5.0,
        *,
        text: str | None = None,
        button: str | None = None,
    ) -> BotMessage:
        """``wait_for_bot_message`` in this user's private chat."""
        return await self.emulator.wait_for_bot_message(
            self.id, predicate, timeout, text=text, button=button
        )


class SimGroup:
    """A simulated group or supergroup (optionally a forum with topics)."""

    def __init__(self, emulator: BotAPIEmulator, state: ChatState) -> None:
        self.emulator = emulator
        self.state = state
        self.old_ids: list[int] = []

    def __repr__(self) -> str:
        return f"SimGroup({self.state.id}, {self.state.title!r})"

    @property
    def id(self) -> int:
        return self.state.id

    @property
    def title(self) -> str:
        return self.state.title or ""

    def _actor(self, by: SimUser | None) -> UserState:
        if by is not None:
            return by.state
        owners = [uid for uid, s in self.state.members.items() if s in ("creator", "administrator")]
        members = owners or list(self.state.members)
        return self.emulator.world.users[members[0]] if members else self.emulator.world.bot

    def add_member(self, user: SimUser, *, admin: bool = False) -> UserMessage:
        """A person joins (a ``new_chat_members`` service message)."""
        self.state.members[user.id] = "administrator" if admin else "member"
        return self.emulator._service(
            self.state, user.state, {"new_chat_members": [user.state.to_json()]}
        )

    def remove_member(self, user: SimUser) -> UserMessage:
        self.state.members[user.id] = "left"
        return self.emulator._service(
            self.state, user.state, {"left_chat_member": user.state.to_json()}
        )

    def make_admin(self, user: SimUser, admin: bool = True) -> None:
        """Change a person's status (what getChatMember reports); no update is sent."""
        self.state.members[user.id] = "administrator" if admin else "member"

    def set_bot_admin(self, admin: bool = True, *, by: SimUser | None = None) -> None:
        """Promote or demote the bot (admins see every message despite privacy mode)."""
        old = self.state.bot_status
        self.state.bot_status = "administrator" if admin else "member"
        self.emulator._my_chat_member(self.state, self._actor(by), old, self.state.bot_status)

    def add_bot(self, *, admin: bool = False, by: SimUser | None = None) -> None:
        """Add the bot (my_chat_member, then the ``new_chat_members`` service message)."""
        old = self.state.bot_status
        self.state.bot_status = "administrator" if admin else "member"
        actor = self._actor(by)
        self.emulator._my_chat_member(self.state, actor, old, self.state.bot_status)
        self.emulator._service(
            self.state, actor, {"new_chat_members": [self.emulator.world.bot.to_json()]}
        )

    def remove_bot(self, *, by: SimUser | None = None) -> None:
        """Kick the bot: later sends get 403 "bot was kicked from the … chat"."""
        old = self.state.bot_status
        self.state.bot_status = "kicked"
        self.emulator._my_chat_member(self.state, self._actor(by), old, "kicked")

    def add_topic(self, name: str, *, by: SimUser | None = None) -> int:
        """Create a forum topic; returns its ``message_thread_id``."""
        if not self.state.is_forum:
            raise ValueError("topics need forum=True")
        topic = {"name": name, "icon_color": 7322096}
        message = self.emulator._service(
            self.state, self._actor(by), {"forum_topic_created": topic}
        )
        self.state.topics[message.message_id] = name
        stored = self.emulator.world.message(self.id, message.message_id)
        if stored is not None:
            stored.data["message_thread_id"] = message.message_id
            stored.data["is_topic_message"] = True
        return message.message_id

    def migrate_to_supergroup(self, *, by: SimUser | None = None) -> SimGroup:
        """Upgrade a basic group; this handle then points at the new ``-100…`` id and
        sends to the old id answer 400 with ``migrate_to_chat_id``."""
        if self.state.type != "group":
            raise ValueError("only basic groups can be upgraded")
        world = self.emulator.world
        old = self.state
        new_id = -(1_003_000_000_000 + abs(old.id) % 1_000_000_000)
        new = ChatState(
            new_id,
            "supergroup",
            title=old.title,
            members=dict(old.members),
            bot_status=old.bot_status,
        )
        world.chats[new_id] = new
        actor = self._actor(by)
        self.emulator._service(old, actor, {"migrate_to_chat_id": new_id})
        old.migrated_to = new_id
        self.emulator._service(new, actor, {"migrate_from_chat_id": old.id})
        self.old_ids.append(old.id)
        self.state = new
        return self

    def messages(self) -> list[BotMessage]:
        return self.emulator.bot_messages(self.id)

    def user_messages(self) -> list[UserMessage]:
        return self.emulator.user_messages(self.id)


def text_length(text: str) -> int:
    """Telegram's length of ``text`` (UTF-16 code units)."""
    return utf16_len(text)
