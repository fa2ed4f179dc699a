"""The emulator's state: users, chats, messages, files, pending updates, callback queries.

Everything here is synchronous; the HTTP layer (:mod:`.server`) and the driver
(:mod:`.driver`) share one :class:`World`.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import errors
from .errors import bad_request, forbidden
from .files import FileStore
from .limits import Clock, RateLimitConfig, RateLimiter
from .transcript import describe_bot_event

Json = dict[str, Any]
UPDATE_TYPES_DEFAULT = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "callback_query",
        "inline_query",
        "chosen_inline_result",
        "my_chat_member",
        "shipping_query",
        "pre_checkout_query",
        "poll",
        "poll_answer",
        "chat_join_request",
    }
)


@dataclass
class UserState:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    is_premium: bool | None = None
    blocked: bool = False
    started: bool = False

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    def to_json(self) -> Json:
        data: Json = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code", "is_premium"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


@dataclass
class ChatState:
    id: int
    type: str
    title: str | None = None
    username: str | None = None
    user: UserState | None = None
    is_forum: bool = False
    members: dict[int, str] = field(default_factory=dict)
    bot_status: str = "member"
    migrated_to: int | None = None
    topics: dict[int, str] = field(default_factory=dict)
    last_message_id: int = 0

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")

    @property
    def name(self) -> str:
        if self.user is not None:
            return self.user.display_name
        return self.title or str(self.id)

    def to_json(self) -> Json:
        if self.user is not None:
            user = self.user
            data: Json = {"id": self.id, "type": "private", "first_name": user.first_name}
            if user.last_name:
                data["last_name"] = user.last_name
            if user.username:
                data["username"] = user.username
            return data
        data = {"id": self.id, "type": self.type, "title": self.title or ""}
        if self.username:
            data["username"] = self.username
        if self.is_forum:
            data["is_forum"] = True
        if self.type == "group" and not self.members.get(0):
            data["all_members_are_administrators"] = False
        return data


@dataclass
class StoredMessage:
    chat_id: int
    message_id: int
    data: Json
    from_bot: bool
    sender_id: int
    source: str | None = None
    parse_mode: str | None = None
    markup: Json | None = None
    versions: list[Json] = field(default_factory=list)
    sources: list[str | None] = field(default_factory=list)
    deleted: bool = False
    delivered: bool = True


@dataclass
class PendingUpdate:
    update_id: int
    kind: str
    payload: Json
    forced: bool = False
    fetched: bool = False  # handed to the bot at least once (getUpdates or webhook)

    def to_json(self) -> Json:
        return {"update_id": self.update_id, self.kind: self.payload}


def push_chat(update: PendingUpdate) -> int:
    """The chat an update belongs to (a button press: its message's chat)."""
    payload = update.payload
    message = payload.get("message") if update.kind == "callback_query" else payload
    chat = (message or {}).get("chat") or {}
    sender = payload.get("from") or {}
    return int(chat.get("id") or sender.get("id") or 0)


@dataclass
class CallbackRecord:
    id: str
    user_id: int
    chat_id: int | None
    message_id: int | None
    data: str | None
    created: float
    answered: bool = False
    answer: Json | None = None


@dataclass(frozen=True)
class BotEvent:
    """Something the bot did that a test may wait for: a message, an edit or a delete.

    ``data``/``source``/``markup`` are the message as it was right after the event and
    ``version`` counts the edits before it.
    """

    seq: int
    kind: str
    chat_id: int
    message_id: int
    data: Json
    source: str | None
    markup: Json | None
    version: int


@dataclass
class World:
    token: str
    bot: UserState
    privacy: bool = True
    clock: Clock = time.monotonic
    wall_clock: Callable[[], float] = time.time
    limits: RateLimitConfig = field(default_factory=RateLimitConfig)
    strict_html: bool = True
    callback_timeout: float = 15.0 * 60
    users: dict[int, UserState] = field(default_factory=dict)
    chats: dict[int, ChatState] = field(default_factory=dict)
    messages: dict[tuple[int, int], StoredMessage] = field(default_factory=dict)
    files: FileStore = field(default_factory=FileStore)
    updates: list[PendingUpdate] = field(default_factory=list)
    last_update: PendingUpdate | None = None
    handed_out: Counter[int] = field(default_factory=Counter)  # update id -> times handed out
    confirmed_below: int = 0  # every update id below this was confirmed by an offset
    next_update_id: int = 100_000_001
    allowed_updates: frozenset[str] = UPDATE_TYPES_DEFAULT
    callbacks: dict[str, CallbackRecord] = field(default_factory=dict)
    events: list[BotEvent] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    commands: dict[tuple[str, str], list[Json]] = field(default_factory=dict)
    webhook: Json = field(default_factory=dict)
    calls: list[tuple[str, Json]] = field(default_factory=list)
    # Every request with a valid token, getUpdates included: (method, the client's
    # User-Agent), so a test can tell which of several bot processes made it.
    requests: list[tuple[str, str]] = field(default_factory=list)
    _waiters: list[asyncio.Event] = field(default_factory=list)
    limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.limits, self.clock)

    # -- notification -------------------------------------------------------------------

    def notify(self) -> None:
        for waiter in self._waiters:
            waiter.set()

    async def wait_change(self, timeout: float) -> bool:
        """Wait until something changes (an update, a bot message); False on timeout."""
        event = asyncio.Event()
        self._waiters.append(event)
        try:
            await asyncio.wait_for(event.wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self._waiters.remove(event)

    # -- lookups ------------------------------------------------------------------------

    def now(self) -> int:
        return int(self.wall_clock())

    def chat(self, chat_id: int | str) -> ChatState:
        """The chat a Bot API call names; 400 when unknown, migrated or invisible."""
        chat = self._find_chat(chat_id)
        if chat is None:
            raise bad_request(errors.CHAT_NOT_FOUND)
        if chat.migrated_to is not None:
            raise bad_request(errors.UPGRADED, {"migrate_to_chat_id": chat.migrated_to})
        return chat

    def _find_chat(self, chat_id: int | str) -> ChatState | None:
        if isinstance(chat_id, str):
            name = chat_id.lstrip("@").lower()
            return next(
                (c for c in self.chats.values() if (c.username or "").lower() == name), None
            )
        return self.chats.get(chat_id)

    def check_can_send(self, chat: ChatState) -> None:
        """403 when the bot may not write into ``chat``."""
        if chat.user is not None:
            if chat.user.blocked:
                raise forbidden(errors.BLOCKED)
            if not chat.user.started:
                raise forbidden(errors.CANT_INITIATE)
            return
        super_ = chat.type == "supergroup"
        if chat.bot_status == "kicked":
            raise forbidden(errors.KICKED_SUPERGROUP if super_ else errors.KICKED_GROUP)
        if chat.bot_status == "left":
            raise forbidden(errors.NOT_MEMBER_SUPERGROUP if super_ else errors.NOT_MEMBER_GROUP)

    def message(self, chat_id: int, message_id: int) -> StoredMessage | None:
        stored = self.messages.get((chat_id, message_id))
        return None if stored is None or stored.deleted else stored

    # -- building messages --------------------------------------------------------------

    def new_message(
        self,
        chat: ChatState,
        sender: UserState,
        body: Json,
        *,
        thread_id: int | None = None,
        reply_to: StoredMessage | None = None,
    ) -> Json:
        """A Message object as Telegram sends it, with a fresh message_id."""
        chat.last_message_id += 1
        data: Json = {"message_id": chat.last_message_id}
        if reply_to is not None and thread_id is None and chat.is_forum:
            thread_id = reply_to.data.get("message_thread_id")
        if chat.is_forum and thread_id:
            data["message_thread_id"] = thread_id
        data["from"] = sender.to_json()
        data["chat"] = chat.to_json()
        data["date"] = self.now()
        if chat.is_forum and thread_id:
            data["is_topic_message"] = True
            if reply_to is None:
                reply_to = self.message(chat.id, thread_id)
        if reply_to is not None:
            data["reply_to_message"] = _without_reply(reply_to.data)
        data.update(body)
        return data

    def store(
        self,
        data: Json,
        *,
        from_bot: bool,
        source: str | None = None,
        parse_mode: str | None = None,
        markup: Json | None = None,
        delivered: bool = True,
    ) -> StoredMessage:
        stored = StoredMessage(
            chat_id=data["chat"]["id"],
            message_id=data["message_id"],
            data=data,
            from_bot=from_bot,
            sender_id=data["from"]["id"] if "from" in data else 0,
            source=source,
            parse_mode=parse_mode,
            markup=markup,
            delivered=delivered,
        )
        self.messages[(stored.chat_id, stored.message_id)] = stored
        return stored

    def bot_event(self, kind: str, stored: StoredMessage) -> None:
        event = BotEvent(
            len(self.events) + 1,
            kind,
            stored.chat_id,
            stored.message_id,
            copy.deepcopy(stored.data),
            stored.source,
            copy.deepcopy(stored.markup),
            len(stored.versions),
        )
        self.events.append(event)
        self.transcript.append(describe_bot_event(event, self.chats[stored.chat_id].name))
        self.notify()

    # -- updates ------------------------------------------------------------------------

    def enqueue(self, kind: str, payload: Json) -> PendingUpdate:
        update = PendingUpdate(self.next_update_id, kind, copy.deepcopy(payload))
        self.next_update_id += 1
        self.updates.append(update)
        self.last_update = update
        self.notify()
        return update

    def redeliver(self, update: PendingUpdate) -> None:
        self.updates.append(PendingUpdate(update.update_id, update.kind, update.payload, True))
        self.notify()

    def confirm(self, offset: int) -> None:
        """getUpdates' offset: forget updates before it (or keep the last -offset)."""
        if offset < 0:
            self.updates = self.updates[offset:]
        elif offset > 0:
            self.updates = [u for u in self.updates if u.update_id >= offset or u.forced]
            if offset > self.confirmed_below:
                self.confirmed_below = offset
                self.notify()

    def take(self, limit: int) -> list[PendingUpdate]:
        """Updates to hand out now; redelivered ones are handed out once."""
        self.updates = [u for u in self.updates if u.kind in self.allowed_updates]
        batch = sorted(self.updates, key=lambda u: u.update_id)[:limit]
        forced = {id(u) for u in batch if u.forced}
        self.updates = [u for u in self.updates if id(u) not in forced]
        for update in batch:
            update.fetched = True
            self.handed_out[update.update_id] += 1
        if batch:
            self.notify()
        return batch

    def take_for_push(self, limit: int, busy: set[int]) -> list[PendingUpdate]:
        """Updates to post to the webhook now: the oldest first, none of a chat whose earlier
        update is still being posted (a chat's updates go one after another), at most
        `limit`. Each stays pending until `pushed` says the webhook took it."""
        self.updates = [u for u in self.updates if u.kind in self.allowed_updates]
        batch: list[PendingUpdate] = []
        seen = set(busy)
        for update in sorted(self.updates, key=lambda u: u.update_id):
            if len(batch) >= limit:
                break
            chat = push_chat(update)
            if chat in seen:
                continue
            seen.add(chat)  # later updates of this chat wait for this one
            batch.append(update)
        for update in batch:
            update.fetched = True
            self.handed_out[update.update_id] += 1
        if batch:
            self.notify()
        return batch

    def pushed(self, update: PendingUpdate) -> None:
        """The webhook answered 2xx: Telegram forgets the update."""
        self.updates = [u for u in self.updates if u is not update]
        waiting = [u.update_id for u in self.updates if not u.forced]
        below = min(waiting) if waiting else update.update_id + 1
        if below > self.confirmed_below:
            self.confirmed_below = below
        self.notify()

    def unfetched(self, update_id: int | None = None) -> bool:
        """Whether an update (any, or this one) waits to be handed to the bot."""
        return any(
            not u.fetched and (update_id is None or u.update_id == update_id) for u in self.updates
        )

    # -- privacy ------------------------------------------------------------------------

    def bot_receives(self, chat: ChatState, data: Json) -> bool:
        """Whether a message in ``chat`` reaches the bot (privacy mode rules)."""
        if chat.user is not None:
            return True
        if chat.bot_status not in ("member", "administrator", "creator"):
            return False
        if not self.privacy or chat.bot_status in ("administrator", "creator"):
            return True
        if _is_service(data):
            return True
        reply = data.get("reply_to_message")
        if reply and reply.get("from", {}).get("id") == self.bot.id:
            return not (data.get("is_topic_message") and reply.get("forum_topic_created"))
        return self._addresses_bot(data)

    def _addresses_bot(self, data: Json) -> bool:
        from .text import entity_text

        text = data.get("text") or data.get("caption") or ""
        entities = data.get("entities") or data.get("caption_entities") or []
        me = (self.bot.username or "").lower()
        for entity in entities:
            value = entity_text(text, entity).lower()
            if entity["type"] == "mention" and value == "@" + me:
                return True
            if entity["type"] == "bot_command" and entity["offset"] == 0:
                _, _, target = value.partition("@")
                if not target or target == me:
                    return True
        return False

    # -- callback queries ---------------------------------------------------------------

    def new_callback_id(self) -> str:
        digest = hashlib.sha256(f"cb:{len(self.callbacks)}:{self.token}".encode()).hexdigest()
        return str(int(digest[:15], 16))

    def require_callback(self, query_id: str) -> CallbackRecord:
        record = self.callbacks.get(query_id)
        expired = record is not None and self.clock() - record.created > self.callback_timeout
        if record is None or record.answered or expired:
            raise bad_request(errors.QUERY_TOO_OLD)
        return record

    def rate_check(self, chat: ChatState, count: int = 1) -> None:
        retry = self.limiter.check(chat.id, chat.is_group, count)
        if retry:
            raise errors.too_many_requests(retry)


def _without_reply(data: Json) -> Json:
    return {k: v for k, v in data.items() if k != "reply_to_message"}


def _is_service(data: Json) -> bool:
    keys = (
        "new_chat_members",
        "left_chat_member",
        "group_chat_created",
        "supergroup_chat_created",
        "migrate_to_chat_id",
        "migrate_from_chat_id",
        "forum_topic_created",
        "new_chat_title",
        "pinned_message",
    )
    return any(key in data for key in keys)
