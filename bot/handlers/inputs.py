"""Checks on what a person typed, shared by the flows."""

from __future__ import annotations

import re
import unicodedata

_ROOM = re.compile(r"^[0-9A-Za-z][0-9A-Za-z-]{0,9}$")


def clean_text(text: str | None) -> str:
    """Drop control and format characters (keeping newlines and tabs) and trim."""
    if not text:
        return ""
    kept = (
        ch
        for ch in text
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs", "Co", "Cn")
    )
    return "".join(kept).strip()


def clean_name(text: str | None) -> str | None:
    """A name on one line, 1 to 32 characters."""
    name = " ".join(clean_text(text).split())
    if not name or len(name) > 32 or name.startswith("/"):
        return None
    return name


def clean_room(text: str | None) -> str | None:
    room = clean_text(text).replace(" ", "").upper()
    room = room.removesuffix("室").removesuffix("号")
    return room if _ROOM.match(room) else None


def clean_address(text: str | None) -> str | None:
    address = " ".join(clean_text(text).split())
    return address if 2 <= len(address) <= 100 else None
