"""The phone detector on written cases: every personal number is masked the way the
registered phone is (138****5678), and digits that only look like one are left alone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.handlers.presenters import local_time
from bot.i18n import Translator
from bot.services.phones import contains_phone, find_phones, mask_phone, mask_phones_in

MASKED: list[tuple[str, str]] = [
    # mobiles, bare and glued to Chinese text
    ("13987654321", "139****4321"),
    ("请打我电话 13987654321", "请打我电话 139****4321"),
    ("请打我电话13987654321谢谢", "请打我电话139****4321谢谢"),
    ("电话:13812345678", "电话:138****5678"),
    ("电话：13812345678。", "电话：138****5678。"),
    ("王女士13812345678", "王女士138****5678"),
    ("call me at 13812345678 please", "call me at 138****5678 please"),
    ("(13812345678)", "(138****5678)"),
    ("【15912345678】", "【159****5678】"),
    # spaces and dashes, ASCII and full-width
    ("138 1234 5678", "138****5678"),
    ("138-1234-5678", "138****5678"),
    ("1381 234 5678", "138****5678"),
    ("1 3 8 1 2 3 4 5 6 7 8", "138****5678"),
    ("138－1234－5678", "138****5678"),
    ("１３８１２３４５６７８", "138****5678"),
    # with the country code: +86, 0086, 86
    ("+8613812345678", "138****5678"),
    ("+86 138 1234 5678", "138****5678"),
    ("+86-138-1234-5678", "138****5678"),
    ("+86 13812345678 找我", "138****5678 找我"),
    ("0086 13812345678", "138****5678"),
    ("8613812345678", "138****5678"),
    ("86 138 1234 5678", "138****5678"),
    ("tel:+8613812345678", "tel:138****5678"),
    # landlines with their area code
    ("010-65529988", "010****9988"),
    ("01065529988", "010****9988"),
    ("(010) 6552 9988", "010****9988"),
    ("021-12345678", "021****5678"),
    ("０２１－１２３４５６７８", "021****5678"),
    ("0755-2678 9012", "075*****9012"),
    ("0571-88886666", "057*****6666"),
    ("+86 10 6552 9988", "010****9988"),
    ("+86-755-26789012", "075*****9012"),
    # local landlines when the words say it is a phone
    ("电话 6552-9988", "电话 ****9988"),
    ("座机：6552 9988 找王", "座机：****9988 找王"),
    ("联系电话65529988", "联系电话****9988"),
    ("call me on 6552 9988", "call me on ****9988"),
    # several numbers, an extension, other countries
    ("13812345678 或 13912345678", "138****5678 或 139****5678"),
    ("13812345678/13912345678", "138****5678/139****5678"),
    ("138 1234 5678 转 8001", "138****5678 转 8001"),
    ("+852 9123 4567", "852****4567"),
    ("+1 650-253-0000", "165****0000"),
    # a phone among the other digits of a description
    (
        "3栋2单元501 漏水,20261128 下午 16:30 前打 13812345678",
        "3栋2单元501 漏水,20261128 下午 16:30 前打 138****5678",
    ),
]

NOT_MASKED: list[str] = [
    # ticket numbers and dates
    "20261128-0007",
    "工单 20261128-0007 和 20261129-0012",
    "#20261128-0007",
    "2026-11-28",
    "2026/11/28",
    "2026年11月28日",
    "20261128",
    "11-29 10:00",
    "2026-11-29 10:00",
    # times
    "16:30",
    "16:30-18:00",
    "上午9点到下午6点",
    # amounts
    "¥13,800.00",
    "13800元",
    "物业费 1,280.50 元",
    "共 12345678 元",
    "电话费 65元",
    # buildings, units and rooms
    "3-2-1201",
    "1201室",
    "5号楼2单元1201室",
    "3栋2单元501",
    "B2-105 车位",
    # other numbers that are not personal phones
    "ID 7123456789",
    "2112345678",
    "5123456789",
    "110101199003074514",
    "6222021234567890123",
    "12345678901",
    "13812345678901",
    "100020",
    "1.38123456E10",
    "水压 < 0.1MPa, 温度 26 度",
    "京A12345",
    "65529988",
    # service lines and emergency numbers stay readable
    "400-800-8888",
    "4008008888",
    "燃气 96777,火警 119,急救 120",
    # already masked
    "138****5678",
    "王女士 138****5678",
    "",
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_phone_numbers_are_masked(text: str, expected: str) -> None:
    assert mask_phones_in(text) == expected
    assert contains_phone(text)


@pytest.mark.parametrize("text", NOT_MASKED)
def test_digits_that_are_not_phones_stay(text: str) -> None:
    assert mask_phones_in(text) == text
    assert not contains_phone(text)


def test_enough_written_cases() -> None:
    assert len(MASKED) + len(NOT_MASKED) >= 60


@pytest.mark.parametrize(("text", "_"), MASKED)
def test_masking_twice_changes_nothing(text: str, _: str) -> None:
    once = mask_phones_in(text)
    assert mask_phones_in(once) == once


def test_masked_like_the_registered_phone() -> None:
    for typed in ("13812345678", "+86 138-1234-5678", "0086 138 1234 5678"):
        assert mask_phones_in(typed) == mask_phone("+8613812345678")


def test_spans_name_the_number_in_e164() -> None:
    [span] = find_phones("请打 138-1234-5678 谢谢")
    assert (span.start, span.end, span.e164) == (3, 16, "+8613812345678")


def test_the_desks_own_times_are_not_searched_for_phones() -> None:
    """A card's deadlines ("11-28 14:30", seven digits) are the desk's writing: a group's
    translator fills them in without the phone search (the costliest step of a card)."""
    searched: list[str] = []

    def redact(text: str) -> str:
        searched.append(text)
        return mask_phones_in(text)

    t = Translator("zh-CN", redact=redact)
    tz = ZoneInfo("Asia/Shanghai")
    moment = datetime(2026, 11, 28, 6, 30, tzinfo=UTC)
    line = t("card.deadlines", response=local_time(moment, tz), resolution="13812345678")
    assert "11-28 14:30" in line and "138****5678" in line  # what people type is still masked
    assert searched == ["13812345678"]
