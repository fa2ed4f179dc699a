"""Homophone-typo matching: 楼水 for 漏水, 电题 for 电梯, 枚气味 for 煤气味.

Phone keyboards type pinyin and residents pick the wrong character in a hurry. Every character is
mapped to one representative character of its toneless syllable; a term is found when a span of
the message maps to the same representatives as the term.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Generic, TypeVar

import ahocorasick

PINYIN_PATH = Path(__file__).with_name("data") / "pinyin.json"
_PARTICLES = frozenset("了的着过吗呢吧啊")
V = TypeVar("V")


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


class SpanFinder(Generic[V]):
    """Leftmost-longest, non-overlapping occurrences of keys in a text, as a greedy regex trie
    finds them. The automaton reports every occurrence in one pass in C (its plain ``iter``:
    the library's ``iter_long`` is known upstream to miss matches); few survive, so choosing
    among them in Python is cheap. Read-only after construction, so thread-safe."""

    def __init__(self, keys: Mapping[str, V]) -> None:
        self._automaton: ahocorasick.Automaton | None = None
        if keys:
            self._automaton = ahocorasick.Automaton()
            for key, value in keys.items():
                self._automaton.add_word(key, (len(key), value))
            self._automaton.make_automaton()

    def find(self, text: str) -> list[tuple[int, int, V]]:
        """``(start, end, value)`` per chosen occurrence, left to right."""
        if self._automaton is None:
            return []
        found = [
            (last - size + 1, size, value) for last, (size, value) in self._automaton.iter(text)
        ]
        if not found:
            return []
        found.sort(key=lambda hit: (hit[0], -hit[1]))  # by start, the longest first
        chosen: list[tuple[int, int, V]] = []
        cursor = 0
        for start, size, value in found:
            if start >= cursor:
                chosen.append((start, start + size, value))
                cursor = start + size
        return chosen


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
        # Matches do not overlap and the longest term wins at each start, as with the regex
        # trie the typo rules were tuned with.
        self._spans: SpanFinder[str] = SpanFinder(self.index)

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Spans ``(start, end, term)`` whose characters sound like ``term``."""
        return self._spans.find(text.translate(self.table))
