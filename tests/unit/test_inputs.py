"""What a person typed, cleaned before any flow sees it, and the dates and times it names."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.handlers.announcements import parse_when
from bot.handlers.inputs import clean_text, parse_local_moment, parse_local_window


@pytest.mark.parametrize(
    "typed",
    [
        "\u200b",
        "  \u200b \u3000 ",
        "\ufeff\u200c\u2060",
        "\u200d",
        " \t\n\u200b\n",
    ],
)
def test_only_invisible_characters_is_empty(typed: str) -> None:
    assert clean_text(typed) == ""


def test_zero_width_characters_never_reach_a_description() -> None:
    assert clean_text("\u200b卫生间\u200b漏水\ufeff") == "卫生间漏水"


def test_emoji_sequences_keep_their_joiners() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert clean_text(f" {family} 家里停水了 ") == f"{family} 家里停水了"


# -- dates without a year ------------------------------------------------------------------
TZ = ZoneInfo("Asia/Shanghai")
YEAR_END = datetime(2026, 12, 31, 10, 0, tzinfo=TZ)
NOVEMBER = datetime(2026, 11, 28, 10, 0, tzinfo=TZ)


def at(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


def test_a_date_typed_at_the_years_end_is_the_coming_one() -> None:
    assert parse_when("01-02 09:00", YEAR_END, TZ) == at(2027, 1, 2, 9, 0)
    assert parse_local_moment("01-02 09:00", YEAR_END, TZ) == at(2027, 1, 2, 9, 0)
    assert parse_local_window("01-02 09:00-11:00", YEAR_END, TZ) == (
        at(2027, 1, 2, 9, 0),
        at(2027, 1, 2, 11, 0),
    )


def test_an_ordinary_date_keeps_this_year() -> None:
    assert parse_when("12-24 09:00", NOVEMBER, TZ) == at(2026, 12, 24, 9, 0)
    assert parse_local_moment("11-29 10:00", NOVEMBER, TZ) == at(2026, 11, 29, 10, 0)
    assert parse_local_window("12-08 14:00-16:00", NOVEMBER, TZ) == (
        at(2026, 12, 8, 14, 0),
        at(2026, 12, 8, 16, 0),
    )
    assert parse_when("2026-01-02 09:00", YEAR_END, TZ) == at(2026, 1, 2, 9, 0)  # a year typed


def test_today_and_recent_dates_stay_in_the_past_at_the_years_end() -> None:
    # refused as past as before, not pushed a year ahead where they would read the same
    assert parse_when("12-31 09:00", YEAR_END, TZ) == at(2026, 12, 31, 9, 0)
    assert parse_when("12-30 10:00", YEAR_END, TZ) == at(2026, 12, 30, 10, 0)
    assert parse_local_moment("12-31 09:00", YEAR_END, TZ) is None
    assert parse_local_moment("12-20 09:00", YEAR_END, TZ) is None
    assert parse_local_moment("09:00", YEAR_END, TZ) == at(2027, 1, 1, 9, 0)  # tomorrow
    window = parse_local_window("12-31 08:00-09:00", YEAR_END, TZ)
    assert window is not None and window[0] == at(2026, 12, 31, 8, 0)
    assert parse_local_moment("02-30 09:00", YEAR_END, TZ) is None  # no such day
