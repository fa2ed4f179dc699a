"""Phone numbers: parsing with libphonenumber, masking for group chats, and finding the
numbers people type into free text (descriptions, names, notes) so groups see them masked."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from phonenumbers import CountryCodeSource, Leniency, PhoneNumber, PhoneNumberType


def normalise_phone(text: str, region: str = "CN") -> str | None:
    """E.164 for a valid mobile, landline or international number, else None."""
    cleaned = text.strip()
    if not cleaned or len(cleaned) > 32:
        return None
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# libphonenumber's patterns, compiled once each and kept: left to the re module's bounded
# cache, they were compiled again and again in the bot (4.5% of its CPU under a crowd).
phonenumbers.enable_pattern_cache()


def warm_up() -> None:
    """libphonenumber compiles its formatting and matching patterns on the first number it
    formats or finds (a few milliseconds): done at start, not on the first draft."""
    display_phone.__wrapped__("+8613800138000")
    find_phones("13800138000")


@functools.lru_cache(maxsize=4096)  # a card, a draft and a summary show the same few numbers
def display_phone(e164: str, region: str = "CN") -> str:
    """National format at home (13812345678, 010 6552 9988), international otherwise."""
    try:
        number = phonenumbers.parse(e164, region)
    except phonenumbers.NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(number) == region:
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        return national.replace(" ", "").replace("-", "") if number.country_code == 86 else national
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@functools.lru_cache(maxsize=4096)
def mask_phone(e164: str, region: str = "CN") -> str:
    """138****5678: the last four digits and at most three leading ones, with at least four
    digits hidden whatever the length. Never show more in groups."""
    digits = "".join(ch for ch in display_phone(e164, region) if ch.isdigit())
    if len(digits) <= 8:
        return "*" * (len(digits) - 4) + digits[-4:] if len(digits) > 4 else "*" * len(digits)
    lead = min(3, len(digits) - 8)
    return f"{digits[:lead]}{'*' * (len(digits) - lead - 4)}{digits[-4:]}"


# phone numbers inside free text ------------------------------------------------------------
# Numbers that reach a person: mobiles and landlines. Service lines (400, 800) belong to
# companies and stay readable.
_PERSONAL_TYPES = frozenset(
    {
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
        PhoneNumberType.PERSONAL_NUMBER,
        PhoneNumberType.VOIP,
    }
)
# A landline typed without its area code ("电话 6552 9988") is only a phone number when the
# words around it say so; bare, eight digits are as likely a date or an amount.
_LOCAL_AFTER_KEYWORD = re.compile(
    r"(?:电话|手机|座机|号码|联系|致电|拨打|打给|tel|phone|call|mobile)"
    r"[^0-9０-９\n]{0,8}?"
    r"(?<![0-9０-９])(?P<number>[2-9２-９][0-9０-９]{2,3}[-－ ]?[0-9０-９]{4})(?![0-9０-９])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PhoneSpan:
    """Where a phone number sits in a text, and the number itself (E.164)."""

    start: int
    end: int
    e164: str


def find_phones(text: str, region: str = "CN") -> list[PhoneSpan]:
    """Every personal phone number in `text`: mobiles and landlines, with or without +86,
    0086 or 86, spaced or dashed, full-width digits too; ordered and not overlapping."""
    if _digit_count(text) < 7:
        return []
    spans = [
        PhoneSpan(_start(match.raw_string, match.start), match.end, _e164(match.number))
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=Leniency.VALID)
        if _is_personal(match.number, match.raw_string, region)
    ]
    for local in _LOCAL_AFTER_KEYWORD.finditer(text):
        start, end = local.span("number")
        if not any(s.start < end and start < s.end for s in spans):
            spans.append(PhoneSpan(start, end, _digits(local["number"])))
    return sorted(spans, key=lambda span: span.start)


def mask_phones_in(text: str, region: str = "CN") -> str:
    """`text` with every phone number masked as `mask_phone` masks the registered one."""
    spans = find_phones(text, region)
    if not spans:
        return text
    parts: list[str] = []
    cursor = 0
    for span in spans:
        parts += [text[cursor : span.start], _mask_found(span.e164, region)]
        cursor = span.end
    parts.append(text[cursor:])
    return "".join(parts)


def contains_phone(text: str, region: str = "CN") -> bool:
    return bool(find_phones(text, region))


def _is_personal(number: PhoneNumber, raw: str, region: str) -> bool:
    if phonenumbers.number_type(number) not in _PERSONAL_TYPES:
        return False
    # The matcher does not say how the country was found; parse again keeping the input.
    source = phonenumbers.parse(raw, region, keep_raw_input=True).country_code_source
    if source != CountryCodeSource.FROM_DEFAULT_COUNTRY:
        return True  # written with +86, 0086 or 86: the writer meant a phone number
    if phonenumbers.number_type(number) == PhoneNumberType.MOBILE:
        return True
    # A Chinese landline is written with its trunk 0 (010-6552 9988); ten bare digits such
    # as 2112345678 are more often an id than Shanghai without its 0.
    return _digits(raw).startswith("0")


def _start(raw: str, start: int) -> int:
    """A bracket opened before the number and closed after it is not part of the number."""
    if raw[:1] in "(（" and not any(close in raw for close in ")）"):
        return start + 1
    return start


def _e164(number: PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _mask_found(found: str, region: str) -> str:
    return mask_phone(found, region) if found.startswith("+") else _mask_digits(found)


def _mask_digits(digits: str) -> str:
    """A local landline (7 or 8 digits): all but the last four hidden."""
    return "*" * (len(digits) - 4) + digits[-4:]


def _digits(text: str) -> str:
    return "".join(str(unicodedata.digit(ch)) for ch in text if ch.isdigit())


def _digit_count(text: str) -> int:
    return sum(ch.isdigit() for ch in text)
