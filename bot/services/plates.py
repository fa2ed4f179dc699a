"""Chinese licence plates (车牌), ordinary and new-energy, normalised to upper case."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from functools import cache
from pathlib import Path

_DATA = Path(__file__).with_name("data") / "plates.toml"
_LETTERS = "A-HJ-NP-Z"  # I and O are never used


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    data = tomllib.loads(_DATA.read_text(encoding="utf-8"))
    province = f"[{data['provinces']}]"
    ordinary = re.compile(
        f"^{province}[{_LETTERS}][{_LETTERS}0-9]{{4}}[{_LETTERS}0-9{data['suffixes']}]$"
    )
    new_energy = re.compile(
        f"^{province}[{_LETTERS}](?:[DF][{_LETTERS}0-9][0-9]{{4}}|[0-9]{{5}}[DF])$"
    )
    return ordinary, new_energy


def normalise_plate(text: str) -> str | None:
    """ "浙a·12345" -> "浙A12345"; None when it is no valid plate."""
    plate = unicodedata.normalize("NFKC", text).upper()
    plate = re.sub(r"[\s·•.\-]", "", plate)
    ordinary, new_energy = _patterns()
    if ordinary.match(plate) or new_energy.match(plate):
        return plate
    return None
