"""Platform-neutral message types shared by transports and the dialog engine.

Transports translate framework updates into `Incoming` and render `Outgoing`;
nothing else in the project sees aiogram or python-telegram-bot objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

ChatType = Literal["private", "group", "supergroup", "channel"]


@dataclass(frozen=True)
class Contact:
    phone: str
    first_name: str = ""
    user_id: int | None = None


@dataclass(frozen=True)
class Incoming:
    """One thing a person did: a message, a command or a button press."""

    update_id: int
    chat_id: int
    user_id: int
    chat_type: ChatType = "private"
    user_name: str = ""
    username: str | None = None
    language_code: str | None = None
    text: str | None = None
    command: str | None = None
    command_args: str = ""
    contact: Contact | None = None
    photos: tuple[str, ...] = ()
    location: tuple[float, float] | None = None
    # sticker, voice, video, document, animation, audio, video_note, poll, dice...
    unsupported: str | None = None
    media_group_id: str | None = None
    callback_id: str | None = None
    callback_data: str | None = None
    message_id: int | None = None
    reply_to_message_id: int | None = None
    # What the message replies to, when it is one of the bot's (a prompt names its ticket)
    reply_to_bot: bool = False
    reply_to_text: str | None = None
    thread_id: int | None = None

    @property
    def is_private(self) -> bool:
        return self.chat_type == "private"

    @property
    def is_group_chat(self) -> bool:
        return self.chat_type in ("group", "supergroup")

    @property
    def is_callback(self) -> bool:
        return self.callback_id is not None


@dataclass(frozen=True)
class Button:
    """An inline button: `data` is callback data (≤ 64 bytes), `url` opens a link."""

    text: str
    data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class ReplyKeyboard:
    """A reply keyboard under the input field; `contact_button` asks for the phone number."""

    rows: tuple[tuple[str, ...], ...] = ()
    contact_button: str | None = None
    one_time: bool = True


Keyboard = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Document:
    """A file made in memory (a resident's data export), sent with sendDocument."""

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Outgoing:
    """A message to send or edit. `text` is Telegram HTML with user input already escaped."""

    chat_id: int
    text: str
    buttons: Keyboard = ()
    reply_keyboard: ReplyKeyboard | None = None
    remove_keyboard: bool = False
    photos: tuple[str, ...] = ()
    edit_message_id: int | None = None
    thread_id: int | None = None
    reply_to_message_id: int | None = None
    # A local image file to upload as a photo (e.g. a digest chart); `text` is its caption
    # when short enough, otherwise it follows as its own message.
    upload: str | None = None
    # A file to send as a document; `text` is its caption when short enough, otherwise it
    # follows as its own message.
    document: Document | None = None


@dataclass(frozen=True)
class CallbackAnswer:
    """The short toast answering a button press (≤ 200 characters)."""

    callback_id: str
    text: str = ""
    alert: bool = False


Action = Outgoing | CallbackAnswer


@dataclass
class Reply:
    """Everything the core wants the transport to do for one incoming event."""

    actions: list[Action] = field(default_factory=list)
    # Messages the core stored in the outbox with the event's transaction; the outbox sends
    # them, the transport does not (kept here so callers can see what was said).
    queued: list[Outgoing] = field(default_factory=list)

    def add(self, action: Action) -> None:
        self.actions.append(action)


@dataclass(frozen=True)
class Sent:
    message_id: int


class DeliveryError(Exception):
    """A send that Telegram refused; transports raise these instead of framework errors."""


class RecipientBlocked(DeliveryError):
    """403: the user blocked the bot, never started it, or the bot left the group."""


class RateLimited(DeliveryError):
    def __init__(self, retry_after: float, message: str = "") -> None:
        super().__init__(message or f"retry after {retry_after}")
        self.retry_after = retry_after


class TransientError(DeliveryError):
    """5xx, an HTML error page from a proxy, a refused connection: the message was not
    shown; trying again later will do."""


class OutcomeUnknown(TransientError):
    """The request went out and no answer came back (connection closed, timeout): Telegram
    may have shown the message. Trying again may show it twice; not trying may lose it."""


class TokenRefused(DeliveryError):
    """401: Telegram does not know the bot's token (mistyped, or revoked with @BotFather)."""


class ApiUnreachable(DeliveryError):
    """The Bot API server could not be reached at all (wrong address, no network)."""


class PollingConflict(DeliveryError):
    """409 to getUpdates: another process polls the same token (or a webhook is set)."""


class ChatMigrated(DeliveryError):
    def __init__(self, new_chat_id: int) -> None:
        super().__init__(f"migrated to {new_chat_id}")
        self.new_chat_id = new_chat_id


class BadRequest(DeliveryError):
    """400: the request itself is wrong; retrying will not help."""


class NotModified(BadRequest):
    """Editing a message to the content it already has."""


class Core(Protocol):
    """What a transport talks to: the dialog engine's entry points, nothing else."""

    async def handle(self, inc: Incoming) -> Reply: ...

    async def mark_unreachable(self, chat_id: int) -> None: ...

    def bot_commands(self, locale: str, groups: bool = False) -> list[tuple[str, str]]: ...


class Sender(Protocol):
    """Delivery of neutral messages; raises the DeliveryError subclasses above."""

    async def send(self, out: Outgoing) -> Sent: ...

    async def answer(self, answer: CallbackAnswer) -> None: ...


TEXT_LIMIT = 4096  # Telegram's limit for one message's text


def coalesce(messages: list[Outgoing]) -> list[Outgoing]:
    """Consecutive messages to one chat said as one where Telegram allows it (a plain text
    followed by another text: the second's keyboard goes with the whole). A step reads as
    one answer, and a chat's one-a-second budget lasts longer."""
    merged: list[Outgoing] = []
    for message in messages:
        if merged and _joinable(merged[-1], message):
            first = merged.pop()
            merged.append(
                replace(
                    message,
                    text=f"{first.text}\n\n{message.text}",
                    remove_keyboard=first.remove_keyboard or message.remove_keyboard,
                )
            )
        else:
            merged.append(message)
    return merged


def _joinable(first: Outgoing, second: Outgoing) -> bool:
    plain_first = not (first.buttons or first.reply_keyboard or _attached(first))
    # one reply_markup per message: removing a keyboard and showing buttons cannot share one
    markup_clash = first.remove_keyboard and bool(second.buttons or second.reply_keyboard)
    return (
        plain_first
        and not markup_clash
        and not _attached(second)
        and (first.chat_id, first.thread_id) == (second.chat_id, second.thread_id)
        and bool(first.text and second.text)
        and len(first.text) + len(second.text) + 2 <= TEXT_LIMIT
    )


def _attached(message: Outgoing) -> bool:
    return bool(
        message.photos
        or message.upload
        or message.document
        or message.edit_message_id is not None
        or message.reply_to_message_id is not None
    )
