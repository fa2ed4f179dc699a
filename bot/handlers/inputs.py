"""Checks on what a person typed, shared by the flows."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.services.phones import contains_phone

_ROOM = re.compile(r"^[0-9A-Za-z][0-9A-Za-z-]{0,9}$")
_NAME_PUNCTUATION = re.compile(r"[\s+\-()（）.·－]")


_ZWJ = "\u200d"  # joins emoji sequences (👨‍👩‍👧); every other format character goes


def clean_text(text: str | None) -> str:
    """Drop control and invisible format characters (zero-width spaces, BOMs), keeping
    newlines, tabs and emoji joiners, and trim; a message of only such characters is empty."""
    if not text:
        return ""
    kept = "".join(ch for ch in text if ch in "\n\t" or _visible_or_joiner(ch))
    return kept.strip().strip(_ZWJ).strip()


def _visible_or_joiner(ch: str) -> bool:
    category = unicodedata.category(ch)
    if category == "Cf":
        return ch == _ZWJ
    return category not in ("Cc", "Cs", "Co", "Cn")


def clean_name(text: str | None) -> str | None:
    """A name on one line, 1 to 32 characters."""
    name = " ".join(clean_text(text).split())
    if not name or len(name) > 32 or name.startswith("/"):
        return None
    return name


def is_number_not_name(name: str) -> bool:
    """Digits only, or a phone number inside: as a name it would be shown on every card."""
    bare = _NAME_PUNCTUATION.sub("", name)
    return bare.isdigit() or contains_phone(name)


def clean_room(text: str | None) -> str | None:
    room = clean_text(text).replace(" ", "").upper()
    room = room.removesuffix("室").removesuffix("号")
    return room if _ROOM.match(room) else None


def clean_address(text: str | None) -> str | None:
    address = " ".join(clean_text(text).split())
    return address if 2 <= len(address) <= 100 else None


_MOMENT = re.compile(
    r"^(?:(?:(?P<y>\d{4})[-/.])?(?P<mo>\d{1,2})[-/.](?P<d>\d{1,2})\s+)?(?P<h>\d{1,2})[:：](?P<mi>\d{2})$"
)


def parse_local_moment(text: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """ "16:30" (today, or tomorrow if past), "11-29 10:00" or "2026-11-29 10:00", local time
    (a date without a year as in `typed_moment`); None for anything else or a moment in the past."""
    match = _MOMENT.match(clean_text(text))
    if match is None:
        return None
    local_now = now.astimezone(tz)
    try:
        at = time(int(match["h"]), int(match["mi"]))
        moment = typed_moment(match["y"], match["mo"], match["d"], at, local_now, tz)
    except ValueError:
        return None
    if match["mo"] is None and moment <= local_now:
        moment += timedelta(days=1)
    return moment if moment > local_now else None


# A date typed without a year that lies further back than this is the coming one: "01-02"
# typed on 12-31. Nearer dates stay in the past and are refused as such: someone typing
# yesterday's date made a slip, and a year-ahead moment would read the same ("12-30 10:00").
_YEAR_ROLLOVER = timedelta(days=183)


def typed_moment(
    year: str | None,
    month: str | None,
    day: str | None,
    at: time,
    local_now: datetime,
    tz: ZoneInfo,
) -> datetime:
    """`at` on the typed day, local time: today when no day is typed; this year when no year
    is, or the next when this year's lies more than half a year back (the year's end).
    ValueError for a day that does not exist."""
    if month is None or day is None:
        return datetime.combine(local_now.date(), at, tz)
    if year is not None:
        return datetime(int(year), int(month), int(day), at.hour, at.minute, tzinfo=tz)
    moment = datetime(local_now.year, int(month), int(day), at.hour, at.minute, tzinfo=tz)
    if moment < local_now - _YEAR_ROLLOVER:
        return moment.replace(year=local_now.year + 1)
    return moment


_TEXT_WINDOW = re.compile(
    r"(?P<day>今天|今日|明天|明日|后天)?\s*(?P<h1>\d{1,2})[:：](?P<m1>\d{2})\s*"
    r"(?:-|–|—|~|～|至|到)\s*(?P<h2>\d{1,2})[:：](?P<m2>\d{2})"
)
_DAY_OFFSET = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2}


def find_local_window(text: str, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The first "明天 9:00-12:00" (today when no day is named) in a text, local time;
    None when there is none, or it is malformed or already over."""
    match = _TEXT_WINDOW.search(clean_text(text))
    if match is None:
        return None
    day = now.astimezone(tz).date() + timedelta(days=_DAY_OFFSET.get(match["day"] or "", 0))
    try:
        start = datetime(
            day.year, day.month, day.day, int(match["h1"]), int(match["m1"]), tzinfo=tz
        )
        end = datetime(day.year, day.month, day.day, int(match["h2"]), int(match["m2"]), tzinfo=tz)
    except ValueError:
        return None
    if end <= start or end <= now:
        return None
    return start, end


_ID = re.compile(r"[0-9]{1,10}")
MAX_ID = 2**31 - 1  # row ids are 32-bit INTEGER columns


def parse_id(text: str | None) -> int | None:
    """A row id from callback data or a command argument; None for anything forged."""
    if text is None or not _ID.fullmatch(text):
        return None
    value = int(text)
    return value if value <= MAX_ID else None


_WINDOW = re.compile(
    r"^(?:(?:(?P<y>\d{4})[-/.])?(?P<mo>\d{1,2})[-/.](?P<d>\d{1,2})\s+)?"
    r"(?P<h1>\d{1,2})[:：](?P<m1>\d{2})\s*[-~～]\s*(?P<h2>\d{1,2})[:：](?P<m2>\d{2})$"
)


def parse_local_window(text: str, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    """ "14:00-16:00" (today), "12-08 14:00-16:00" or "2026-12-08 14:00-16:00", local time
    (a date without a year as in `typed_moment`); None when it does not read as a window
    (whether it is allowed is policy's question)."""
    match = _WINDOW.match(clean_text(text))
    if match is None:
        return None
    local_now = now.astimezone(tz)
    try:
        start = time(int(match["h1"]), int(match["m1"]))
        end = time(int(match["h2"]), int(match["m2"]))
        starts = typed_moment(match["y"], match["mo"], match["d"], start, local_now, tz)
    except ValueError:
        return None
    return starts, datetime.combine(starts.date(), end, tz)
