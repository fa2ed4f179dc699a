"""Homophone-typo matching: 楼水 for 漏水, 电题 for 电梯, 枚气味 for 煤气味.

Phone keyboards type pinyin and residents pick the wrong character in a hurry. Every character is
mapped to one representative character of its toneless syllable; a term is found when a span of
the message maps to the same representatives as the term.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

PINYIN_PATH = Path(__file__).with_name("data") / "pinyin.json"
_PARTICLES = frozenset("了的着过吗呢吧啊")


def load_groups(path: Path = PINYIN_PATH) -> dict[str, str]:
    """``{syllable: characters}`` for the CJK block."""
    groups: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return groups


def load_table(groups: dict[str, str]) -> dict[int, str]:
    """``str.translate`` table: character -> representative character of its syllable."""
    table: dict[int, str] = {}
    for chars in groups.values():
        if chars:
            for char in chars:
                table[ord(char)] = chars[0]
    return table


def _is_chinese(term: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" for ch in term)


def trie_pattern(keys: Iterable[str]) -> str:
    """Regex source matching any key; a trie keeps the engine from trying every key in turn."""
    trie: dict[str, dict] = {}
    for key in keys:
        node = trie
        for char in key:
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_regex(trie)


def _trie_regex(node: dict[str, dict]) -> str:
    ends = "" in node
    branches = [
        re.escape(char) + _trie_regex(child) for char, child in sorted(node.items()) if char
    ]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if ends else body


class HomophoneIndex:
    """Canonical (syllable) forms of Chinese terms, for spotting mistyped terms in a message."""

    def __init__(self, terms: Iterable[str], groups: dict[str, str]) -> None:
        self.index: dict[str, str] = {}
        table = load_table(groups)
        for term in sorted(terms):
            # A term with a particle (泡了) sounds like too many ordinary phrases (跑了).
            if 2 <= len(term) <= 5 and _is_chinese(term) and not _PARTICLES & set(term):
                self.index.setdefault(term.translate(table), term)
        # Only syllables that occur in terms matter; a small table translates faster.
        wanted = {ch for key in self.index for ch in key}
        self.table = {code: rep for code, rep in table.items() if rep in wanted}
        # Matches do not overlap (a lookahead would allow it at three times the cost); the
        # greedy trie prefers the longest term at each start.
        source = trie_pattern(self.index)
        self.pattern = re.compile(source) if source else None

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Spans ``(start, end, term)`` whose characters sound like ``term``."""
        if self.pattern is None:
            return []
        canon = text.translate(self.table)
        found: list[tuple[int, int, str]] = []
        for match in self.pattern.finditer(canon):
            term = self.index.get(match.group())
            if term is not None:
                found.append((match.start(), match.end(), term))
        return found
