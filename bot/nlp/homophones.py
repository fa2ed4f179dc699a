"""Homophone-typo matching: 楼水 for 漏水, 电题 for 电梯, 枚气味 for 煤气味.

Phone keyboards type pinyin and residents pick the wrong character in a hurry. Every character is
mapped to one representative character of its toneless syllable; a term is found when a span of
the message maps to the same representatives as the term.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

PINYIN_PATH = Path(__file__).with_name("data") / "pinyin.json"


def load_table(path: Path = PINYIN_PATH) -> dict[int, str]:
    """``str.translate`` table: character -> representative character of its syllable."""
    groups: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    table: dict[int, str] = {}
    for chars in groups.values():
        if chars:
            representative = chars[0]
            for char in chars:
                table[ord(char)] = representative
    return table


def _is_chinese(term: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" for ch in term)


class HomophoneIndex:
    """Canonical (syllable) forms of Chinese terms, for spotting mistyped terms in a message."""

    def __init__(self, terms: Iterable[str], table: dict[int, str]) -> None:
        self.table = table
        self.index: dict[str, str] = {}
        for term in sorted(terms):
            if 2 <= len(term) <= 5 and _is_chinese(term):
                self.index.setdefault(term.translate(table), term)
        self.lengths = tuple(sorted({len(key) for key in self.index}))
        self.first_chars = frozenset(key[0] for key in self.index)

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Spans ``(start, end, term)`` whose characters sound like ``term``."""
        canon = text.translate(self.table)
        found: list[tuple[int, int, str]] = []
        first_chars, index = self.first_chars, self.index
        for start, char in enumerate(canon):
            if char not in first_chars:
                continue
            for length in self.lengths:
                term = index.get(canon[start : start + length])
                if term is not None:
                    found.append((start, start + length, term))
        return found
