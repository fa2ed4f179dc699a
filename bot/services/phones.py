"""Phone numbers: parsing with libphonenumber, masking for group chats."""

from __future__ import annotations

import phonenumbers


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


def mask_phone(e164: str, region: str = "CN") -> str:
    """138****5678: the last four digits and at most three leading ones, with at least four
    digits hidden whatever the length. Never show more in groups."""
    digits = "".join(ch for ch in display_phone(e164, region) if ch.isdigit())
    if len(digits) <= 8:
        return "*" * (len(digits) - 4) + digits[-4:] if len(digits) > 4 else "*" * len(digits)
    lead = min(3, len(digits) - 8)
    return f"{digits[:lead]}{'*' * (len(digits) - lead - 4)}{digits[-4:]}"
