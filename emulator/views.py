"""Read-only views a test gets back from the driver."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .markup import button_texts
from .world import BotEvent, Json, StoredMessage


@dataclass(frozen=True)
class BotMessage:
    """One version of a message the bot sent (a snapshot; later edits do not change it).

    ``text``/``caption`` are plain (entities parsed out); ``html`` is the text or caption
    exactly as the bot sent it; ``reply_markup`` is the markup as sent, reply keyboards
    included (Telegram itself only echoes inline keyboards, see ``raw``).
    """

    chat_id: int
    message_id: int
    text: str | None
    caption: str | None
    html: str | None
    entities: tuple[Json, ...]
    reply_markup: Json | None
    photos: tuple[str, ...]
    document: Json | None
    media_group_id: str | None
    thread_id: int | None
    reply_to_message_id: int | None
    date: int
    edit_date: int | None
    event: str
    deleted: bool
    raw: Json
    history: tuple[BotMessage, ...] = field(default=(), repr=False)

    @property
    def edited(self) -> bool:
        return self.edit_date is not None

    @property
    def body(self) -> str:
        """The text, else the caption, else ``""``."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def buttons(self) -> list[list[str]]:
        """Button labels row by row (inline or reply keyboard)."""
        return button_texts(self.reply_markup)

    @property
    def button_texts(self) -> list[str]:
        return [text for row in self.buttons for text in row]

    @property
    def inline_keyboard(self) -> list[list[Json]]:
        return list((self.reply_markup or {}).get("inline_keyboard", []))

    @property
    def reply_keyboard(self) -> list[list[Json]]:
        rows = (self.reply_markup or {}).get("keyboard", [])
        return [[b if isinstance(b, dict) else {"text": b} for b in row] for row in rows]

    def callback_data(self, text: str) -> str:
        """The callback_data of the inline button labelled ``text``."""
        for row in self.inline_keyboard:
            for button in row:
                if button.get("text") == text and "callback_data" in button:
                    return str(button["callback_data"])
        raise LookupError(f"no inline button {text!r}; buttons: {self.button_texts}")

    @property
    def requests_contact(self) -> bool:
        return any(b.get("request_contact") for row in self.reply_keyboard for b in row)


def _view(
    data: Json,
    source: str | None,
    markup: Json | None,
    event: str,
    deleted: bool,
    history: tuple[BotMessage, ...] = (),
) -> BotMessage:
    photos = tuple(data["photo"][-1]["file_id"] for _ in (0,) if data.get("photo"))
    reply = data.get("reply_to_message")
    return BotMessage(
        chat_id=data["chat"]["id"],
        message_id=data["message_id"],
        text=data.get("text"),
        caption=data.get("caption"),
        html=source,
        entities=tuple(data.get("entities") or data.get("caption_entities") or ()),
        reply_markup=markup,
        photos=photos,
        document=data.get("document"),
        media_group_id=data.get("media_group_id"),
        thread_id=data.get("message_thread_id"),
        reply_to_message_id=reply["message_id"] if reply else None,
        date=data["date"],
        edit_date=data.get("edit_date"),
        event=event,
        deleted=deleted,
        raw=data,
        history=history,
    )


def _history(stored: StoredMessage, upto: int) -> tuple[BotMessage, ...]:
    return tuple(
        _view(data, stored.sources[i], data.get("reply_markup"), "edit" if i else "message", False)
        for i, data in enumerate(stored.versions[:upto])
    )


def view_event(event: BotEvent, stored: StoredMessage) -> BotMessage:
    """The message as it was right after ``event``."""
    return _view(
        event.data,
        event.source,
        event.markup,
        event.kind,
        event.kind == "delete",
        _history(stored, event.version),
    )


def view_stored(stored: StoredMessage) -> BotMessage:
    """The message as it is now."""
    return _view(
        stored.data,
        stored.source,
        stored.markup,
        "edit" if stored.versions else "message",
        stored.deleted,
        _history(stored, len(stored.versions)),
    )


@dataclass(frozen=True)
class UserMessage:
    """A message a simulated person sent; ``delivered`` tells whether the bot got it."""

    chat_id: int
    message_id: int
    delivered: bool
    update_id: int | None
    raw: Json

    @property
    def text(self) -> str | None:
        value: Any = self.raw.get("text")
        return value if isinstance(value, str) else None
