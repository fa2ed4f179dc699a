"""Consultations answered from a property's own FAQ (常见问题).

`load_faq(path, property_codes)` reads and validates the file named by PROPDESK_FAQ_FILE
(TOML, or YAML when it ends in .yaml or .yml)
(a bad entry stops start-up with the file and the entry named, as the lexicon does);
`FaqMatcher.match(text, property_code)` ranks the property's entries for a question with
Okapi BM25 over jieba tokens of each entry's question, keywords and example questions,
and returns the best entry only when it is confident: an auto-answer that is wrong is worse
than asking staff. The thresholds were tuned on `tests/data/faq_questions.jsonl`
(`python -m bot.nlp.faq examples/faq.toml tests/data/faq_questions.jsonl` prints the figures).
"""

from __future__ import annotations

import json
import math
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import jieba

from bot.nlp.normalize import normalize

ANY_PROPERTY = "*"
_STOPWORDS_FILE = Path(__file__).with_name("data") / "faq_stopwords.txt"
# BM25's usual constants.
K1 = 1.5
B = 0.75
# A match is confident when the best entry scores at least MIN_SCORE and leads the
# runner-up by MIN_LEAD (a share of its own score); tuned for precision >= 0.9.
MIN_SCORE = 4.0
MIN_LEAD = 0.25
KEYWORD_BONUS = 2.0


class FaqError(ValueError):
    """An invalid FAQ file; the message names the file and the entry."""


@dataclass(frozen=True)
class FaqEntry:
    id: str
    property: str
    question: str
    answer: str
    keywords: tuple[str, ...]
    examples: tuple[str, ...]


@dataclass(frozen=True)
class FaqMatch:
    entry: FaqEntry
    score: float


YAML_SUFFIXES = (".yaml", ".yml")


def load_faq(path: str | Path, property_codes: set[str] | None = None) -> list[FaqEntry]:
    """Entries of the file (TOML, or YAML by its suffix), validated the same way either
    way: unique ids, a question and an answer each, and a property that settings list
    (or "*")."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise FaqError(f"{where}: file not found") from exc
    data = (
        _parse_yaml(where, text)
        if where.lower().endswith(YAML_SUFFIXES)
        else _parse_toml(where, text)
    )
    raw_entries = data.get("entries", [])
    if not isinstance(raw_entries, list):
        raise FaqError(f"{where}: entries must be a list")
    entries: list[FaqEntry] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_entries):
        entry = _entry(where, index, raw)
        if entry.id in seen:
            raise FaqError(f"{where}: entry {entry.id!r}: duplicate id")
        if property_codes is not None and entry.property not in {*property_codes, ANY_PROPERTY}:
            raise FaqError(f"{where}: entry {entry.id!r}: unknown property {entry.property!r}")
        seen.add(entry.id)
        entries.append(entry)
    return entries


def _parse_toml(where: str, text: str) -> dict[str, object]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FaqError(f"{where}: not valid TOML: {exc}") from exc


def _parse_yaml(where: str, text: str) -> dict[str, object]:
    """`yaml.safe_load`: plain data only, never a Python object built from a tag."""
    import yaml  # only a property with a YAML file pays for the import

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FaqError(f"{where}: not valid YAML: {' '.join(str(exc).split())}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FaqError(f"{where}: expected a mapping with a list of entries")
    return data


def _entry(where: str, index: int, raw: object) -> FaqEntry:
    if not isinstance(raw, dict):
        raise FaqError(f"{where}: entry #{index + 1}: not a table")
    name = _text(raw, "id")
    if not name:
        raise FaqError(f"{where}: entry #{index + 1}: no id")
    for key in ("question", "answer"):
        if not _text(raw, key):
            raise FaqError(f"{where}: entry {name!r}: empty {key}")
    # YAML gives None for a key without a value (`keywords:`): the same as leaving it out
    lists = {key: raw.get(key) or [] for key in ("keywords", "examples")}
    for key, value in lists.items():
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise FaqError(f"{where}: entry {name!r}: {key} must be a list of strings")
    return FaqEntry(
        id=name,
        property=ANY_PROPERTY if raw.get("property") is None else _text(raw, "property"),
        question=_text(raw, "question"),
        answer=_text(raw, "answer"),
        keywords=tuple(k.strip() for k in lists["keywords"] if k.strip()),
        examples=tuple(e.strip() for e in lists["examples"] if e.strip()),
    )


def _text(raw: dict[str, object], key: str) -> str:
    """A field as stripped text; YAML's None (`answer:` with nothing after it) is empty."""
    value = raw.get(key)
    return "" if value is None else str(value).strip()


class FaqMatcher:
    """BM25 over every entry's question, keywords and examples (one document each)."""

    def __init__(self, entries: list[FaqEntry]) -> None:
        self.entries = entries
        self._stop = frozenset(_STOPWORDS_FILE.read_text(encoding="utf-8").split())
        self._docs: list[tuple[FaqEntry, Counter[str], int]] = []
        for entry in entries:
            texts = [entry.question, " ".join(entry.keywords), *entry.examples]
            for text in texts:
                tokens = self.tokens(text)
                if tokens:
                    self._docs.append((entry, Counter(tokens), len(tokens)))
        self._average = sum(n for _, _, n in self._docs) / max(len(self._docs), 1)
        frequency: Counter[str] = Counter()
        for _, counts, _ in self._docs:
            frequency.update(counts.keys())
        total = len(self._docs)
        self._idf = {
            term: math.log(1 + (total - n + 0.5) / (n + 0.5)) for term, n in frequency.items()
        }

    def tokens(self, text: str) -> list[str]:
        words = jieba.lcut_for_search(normalize(text))
        return [w for w in words if len(w.strip()) > 1 and w not in self._stop]

    def rank(self, text: str, property_code: str) -> list[FaqMatch]:
        """The property's entries by score, best first (entries scoring 0 left out)."""
        query = self.tokens(text)
        folded = normalize(text)
        best: dict[str, FaqMatch] = {}
        for entry, counts, length in self._docs:
            if entry.property not in (property_code, ANY_PROPERTY):
                continue
            score = self._score(query, counts, length)
            if any(k in folded for k in entry.keywords):
                score += KEYWORD_BONUS
            if score > 0 and (entry.id not in best or score > best[entry.id].score):
                best[entry.id] = FaqMatch(entry, score)
        return sorted(best.values(), key=lambda m: -m.score)

    def match(self, text: str, property_code: str) -> FaqMatch | None:
        """The confident answer, or None (staff answer instead)."""
        ranked = self.rank(text, property_code)
        if not ranked or ranked[0].score < MIN_SCORE:
            return None
        if len(ranked) > 1 and ranked[0].score - ranked[1].score < MIN_LEAD * ranked[0].score:
            return None
        return ranked[0]

    def _score(self, query: list[str], counts: Counter[str], length: int) -> float:
        score = 0.0
        norm = K1 * (1 - B + B * length / self._average)
        for term in query:
            f = counts.get(term, 0)
            if f:
                score += self._idf[term] * f * (K1 + 1) / (f + norm)
        return score


def evaluate(matcher: FaqMatcher, labelled: list[dict[str, str | None]]) -> dict[str, float]:
    """Precision of auto-answers, the share of answerable questions answered, and the
    share of unanswerable ones wrongly answered."""
    answered = correct = answerable = answerable_hit = wrong_on_none = none = 0
    for row in labelled:
        found = matcher.match(str(row["text"]), str(row.get("property") or ANY_PROPERTY))
        expected = row.get("id")
        if expected:
            answerable += 1
        else:
            none += 1
        if found is None:
            continue
        answered += 1
        if found.entry.id == expected:
            correct += 1
            answerable_hit += 1
        elif not expected:
            wrong_on_none += 1
    return {
        "questions": len(labelled),
        "answered": answered,
        "precision": correct / answered if answered else 1.0,
        "answered_share": answerable_hit / answerable if answerable else 0.0,
        "unanswerable_answered": wrong_on_none / none if none else 0.0,
    }


def main(argv: list[str]) -> int:
    faq, questions = argv[0], argv[1]
    matcher = FaqMatcher(load_faq(faq))
    rows = [json.loads(line) for line in Path(questions).read_text("utf-8").splitlines() if line]
    for key, value in evaluate(matcher, rows).items():
        print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
