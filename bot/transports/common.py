"""Small translation helpers both adapters share (no framework imports here)."""

from __future__ import annotations

from typing import Any

from bot.messages import ChatType

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
    text = str(getattr(value, "value", value))
    if text in ("private", "group", "supergroup", "channel"):
        return text  # type: ignore[return-value]
    return "private"


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
