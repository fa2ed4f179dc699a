"""Small translation helpers both adapters share (no framework imports here)."""

from __future__ import annotations

from typing import Any

from bot.messages import ChatType, Contact, Incoming

CAPTION_LIMIT = 1024
ALBUM_LIMIT = 10
# setMyCommands takes ISO 639-1 codes; None is the default for every other language.
COMMAND_LANGUAGES: tuple[tuple[str | None, str], ...] = (
    (None, "zh-CN"),
    ("zh", "zh-CN"),
    ("en", "en"),
)
UNSUPPORTED_KINDS: tuple[str, ...] = (
    "sticker",
    "voice",
    "video_note",
    "video",
    "animation",
    "audio",
    "document",
    "location",
    "venue",
    "poll",
    "dice",
)


def chat_type(value: Any) -> ChatType:
    """Unknown kinds of chat become "channel", which the core ignores (never "private")."""
    text = str(getattr(value, "value", value))
    if text in ("private", "group", "supergroup", "channel"):
        return text  # type: ignore[return-value]
    return "channel"


def parse_command(text: str | None, bot_username: str) -> tuple[str | None, str]:
    """`/cmd@bot args` -> ("cmd", "args"); a command addressed to another bot is not ours."""
    if not text or not text.startswith("/"):
        return None, ""
    head, _, args = text.partition(" ")
    name, _, target = head[1:].partition("@")
    if target and bot_username and target.lower() != bot_username.lower():
        return None, ""
    if not name or not name.replace("_", "").isalnum():
        return None, ""
    return name.lower(), args.strip()


def unsupported_kind(message: Any) -> str | None:
    # An animation also carries `document`; check the more specific kinds first.
    for kind in UNSUPPORTED_KINDS:
        if getattr(message, kind, None):
            return kind
    return None


def fits_caption(text: str) -> bool:
    return len(text) <= CAPTION_LIMIT


def album_chunks(photos: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [photos[i : i + ALBUM_LIMIT] for i in range(0, len(photos), ALBUM_LIMIT)]


def is_not_modified(description: str) -> bool:
    return "message is not modified" in description


# Update kinds we poll for; everything else is of no use to the desk.
# Logged (for the operator, not a person in a chat) when polling finds a webhook set.
LEFTOVER_WEBHOOK = "a webhook was set (%s); polling mode deletes it (pending updates kept)"

ALLOWED_UPDATES: tuple[str, ...] = ("message", "callback_query")


def ordering_key(update: Any) -> tuple[int, int]:
    """Updates with one key are handled in Telegram's order: one person in one chat, the
    unit our dialog state is kept by. (0, 0) gathers anything without a person or chat."""
    query = update.callback_query
    if query is not None:
        chat = query.message.chat.id if query.message is not None else query.from_user.id
        return chat, query.from_user.id
    message = update.message
    if message is not None:
        return message.chat.id, message.from_user.id if message.from_user else 0
    return 0, 0


# Both frameworks model updates with the Bot API's own field names (message.chat.id,
# from_user.full_name, contact.phone_number...), so one mapping reads either's objects.
def update_to_incoming(update: Any, bot_username: str) -> Incoming | None:
    if update.callback_query is not None:
        return _from_callback(update.update_id, update.callback_query)
    if update.message is not None:
        return _from_message(update.update_id, update.message, bot_username)
    return None  # edits, channel posts, member updates: nothing to do


def _person(user: Any) -> dict[str, Any]:
    return {
        "user_id": user.id,
        "user_name": user.full_name,
        "username": user.username,
        "language_code": user.language_code,
    }


def _from_callback(update_id: int, query: Any) -> Incoming | None:
    message = query.message
    if message is None:
        return None
    return Incoming(
        update_id=update_id,
        chat_id=message.chat.id,
        chat_type=chat_type(message.chat.type),
        callback_id=query.id,
        callback_data=str(query.data or ""),
        message_id=message.message_id,
        thread_id=getattr(message, "message_thread_id", None),
        **_person(query.from_user),
    )


def _from_message(update_id: int, message: Any, bot_username: str) -> Incoming | None:
    user = message.from_user
    if user is None or user.is_bot:
        return None
    text = message.text if message.text is not None else message.caption
    command, args = parse_command(text, bot_username) if message.text else (None, "")
    contact, location, reply = message.contact, message.location, message.reply_to_message
    return Incoming(
        update_id=update_id,
        chat_id=message.chat.id,
        chat_type=chat_type(message.chat.type),
        text=text,
        command=command,
        command_args=args,
        contact=Contact(contact.phone_number, contact.first_name, contact.user_id)
        if contact
        else None,
        photos=(message.photo[-1].file_id,) if message.photo else (),
        location=(location.latitude, location.longitude) if location else None,
        unsupported=unsupported_kind(message),
        media_group_id=message.media_group_id,
        message_id=message.message_id,
        reply_to_message_id=reply.message_id if reply else None,
        reply_to_bot=_from_a_bot(reply),
        reply_to_text=(reply.text or reply.caption) if reply else None,
        thread_id=message.message_thread_id if message.is_topic_message else None,
        **_person(user),
    )


def _from_a_bot(message: Any) -> bool:
    sender = getattr(message, "from_user", None) if message is not None else None
    return bool(sender is not None and sender.is_bot)


# Failures before the request left: the message certainly was not shown.
_NOT_SENT = frozenset(
    {
        "ClientConnectorError",
        "ConnectError",
        "ConnectTimeout",
        "PoolTimeout",
        "ConnectionRefusedError",
    }
)


def was_not_sent(exc: BaseException) -> bool:
    """Whether a network failure happened before the request reached Telegram (a refused
    connection) rather than after (connection closed or timed out while waiting for the
    answer, when Telegram may have shown the message). Judged by the exception chain's
    class names, so this module needs neither HTTP library."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if any(cls.__name__ in _NOT_SENT for cls in type(current).__mro__):
            return True  # (DNS, TLS and proxy failures are kinds of a refused connection)
        current = current.__cause__ or current.__context__
    return False
