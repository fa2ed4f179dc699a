"""Loading and validating the classifier lexicon (``data/lexicon.toml`` plus optional extras)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.nlp.codes import CATEGORIES, HAZARDS

BUILTIN_PATH = Path(__file__).with_name("data") / "lexicon.toml"
ENV_VAR = "PROPDESK_LEXICON"
CUE_KINDS: tuple[str, ...] = (
    "negation",
    "finished",
    "ongoing",
    "hypothetical",
    "question",
    "question_start",
    "howto",
    "past",
    "planned",
    "request",
    "low",
    "intensifier",
    "calm",
    "contrast",
)
RULE_URGENCIES = ("emergency", "high", "low")
RULE_KINDS = ("problem", "topic")
RULE_KEYS = {
    "category",
    "weight",
    "terms",
    "all",
    "kind",
    "urgency",
    "hazard",
    "weak",
    "window",
    "unless",
    "unless_window",
}
DEFAULT_WINDOW = 8
DEFAULT_UNLESS_WINDOW = 4


class LexiconError(ValueError):
    """A lexicon file is malformed; the message names the file and the offending entry."""


@dataclass(frozen=True)
class Rule:
    """One lexicon rule: single terms (``groups`` of length 1) or co-occurring word groups."""

    category: str
    weight: float
    groups: tuple[frozenset[str], ...]
    kind: str = "problem"
    urgency: str | None = None
    hazard: str | None = None
    weak: bool = False
    window: int = DEFAULT_WINDOW
    # Words that, within ``unless_window`` tokens of a match, mean this rule does not apply
    # (a smoke alarm chirping for its battery, a stopped lift with nobody inside).
    unless: frozenset[str] = frozenset()
    unless_window: int = DEFAULT_UNLESS_WINDOW
    # From a property company's own lexicon file: its routing decision, which the category
    # model never overrules (the model never saw the company's words).
    own: bool = False

    @property
    def is_combo(self) -> bool:
        return len(self.groups) > 1


@dataclass(frozen=True)
class Lexicon:
    """Validated, normalised lexicon: cue word sets and rules."""

    cues: Mapping[str, frozenset[str]]
    rules: tuple[Rule, ...]
    sources: tuple[str, ...] = field(default=())

    def terms(self) -> set[str]:
        """Every word any rule or cue mentions (used for the jieba dictionary)."""
        words: set[str] = set()
        for rule in self.rules:
            for group in rule.groups:
                words |= group
            words |= rule.unless
        for cue in self.cues.values():
            words |= cue
        return words

    def category_terms(self, category: str) -> set[str]:
        """Words that already point to ``category`` (used by the suggestion tool)."""
        words: set[str] = set()
        for rule in self.rules:
            if rule.category == category and rule.weight > 0:
                for group in rule.groups:
                    words |= group
        return words


Normaliser = Callable[[str], str]


def _identity(text: str) -> str:
    return text.strip().casefold()


def _fail(source: str, where: str, problem: str) -> LexiconError:
    return LexiconError(f"{source}: {where}: {problem}")


def _words(value: Any, source: str, where: str, norm: Normaliser) -> frozenset[str]:
    if not isinstance(value, list) or not value:
        raise _fail(source, where, "expected a non-empty list of strings")
    out: set[str] = set()
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise _fail(source, where, f"expected non-empty strings, got {item!r}")
        word = " ".join(norm(item).split())
        if not word:
            raise _fail(source, where, f"{item!r} is empty after normalisation")
        out.add(word)
    return frozenset(out)


def _parse_cues(data: Any, source: str, norm: Normaliser) -> dict[str, frozenset[str]]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _fail(source, "[cues]", "expected a table")
    cues: dict[str, frozenset[str]] = {}
    for kind, value in data.items():
        if kind not in CUE_KINDS:
            raise _fail(source, f"[cues].{kind}", f"unknown cue kind; use one of {CUE_KINDS}")
        cues[kind] = _words(value, source, f"[cues].{kind}", norm)
    return cues


def _parse_groups(raw: dict[str, Any], source: str, where: str, norm: Normaliser) -> tuple:
    has_terms, has_all = "terms" in raw, "all" in raw
    if has_terms == has_all:
        raise _fail(source, where, "give exactly one of 'terms' or 'all'")
    if has_terms:
        return (_words(raw["terms"], source, f"{where}.terms", norm),)
    groups = raw["all"]
    if not isinstance(groups, list) or len(groups) < 2:
        raise _fail(source, f"{where}.all", "expected a list of at least two word lists")
    return tuple(_words(g, source, f"{where}.all[{i}]", norm) for i, g in enumerate(groups))


def _check_choice(value: Any, allowed: Iterable[str], source: str, where: str) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise _fail(source, where, f"{value!r} is not one of {allowed}")


def _parse_rule(raw: Any, index: int, source: str, norm: Normaliser) -> Rule:
    where = f"[[rule]] #{index + 1}"
    if not isinstance(raw, dict):
        raise _fail(source, where, "expected a table")
    unknown = set(raw) - RULE_KEYS
    if unknown:
        raise _fail(source, where, f"unknown keys {sorted(unknown)}")
    category = raw.get("category")
    _check_choice(category, CATEGORIES, source, f"{where}.category")
    weight = raw.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
        raise _fail(source, f"{where}.weight", f"expected a number >= 0, got {weight!r}")
    kind = raw.get("kind", "problem")
    _check_choice(kind, RULE_KINDS, source, f"{where}.kind")
    urgency, hazard = raw.get("urgency"), raw.get("hazard")
    if urgency is not None:
        _check_choice(urgency, RULE_URGENCIES, source, f"{where}.urgency")
    if urgency == "emergency":
        _check_choice(hazard, HAZARDS, source, f"{where}.hazard")
    elif hazard is not None:
        raise _fail(source, f"{where}.hazard", "only emergency rules name a hazard")
    weak, window = raw.get("weak", False), raw.get("window", DEFAULT_WINDOW)
    if not isinstance(weak, bool):
        raise _fail(source, f"{where}.weak", "expected true or false")
    unless_window = raw.get("unless_window", DEFAULT_UNLESS_WINDOW)
    for key, value in (("window", window), ("unless_window", unless_window)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _fail(source, f"{where}.{key}", "expected a positive integer")
    groups = _parse_groups(raw, source, where, norm)
    unless = _words(raw["unless"], source, f"{where}.unless", norm) if "unless" in raw else None
    return Rule(
        str(category),
        float(weight),
        groups,
        kind,
        urgency,
        hazard,
        weak,
        window,
        unless or frozenset(),
        unless_window,
    )


def parse_lexicon(data: Any, source: str, norm: Normaliser = _identity) -> Lexicon:
    """Validate one decoded lexicon document; raise LexiconError naming the first problem."""
    if not isinstance(data, dict):
        raise _fail(source, "top level", "expected a table")
    unknown = set(data) - {"version", "cues", "rule"}
    if unknown:
        raise _fail(source, "top level", f"unknown keys {sorted(unknown)}")
    if data.get("version", 1) != 1:
        raise _fail(source, "version", f"unsupported version {data.get('version')!r}")
    rules_raw = data.get("rule", [])
    if not isinstance(rules_raw, list):
        raise _fail(source, "[[rule]]", "expected an array of tables")
    rules = tuple(_parse_rule(raw, i, source, norm) for i, raw in enumerate(rules_raw))
    return Lexicon(_parse_cues(data.get("cues"), source, norm), rules, (source,))


def read_lexicon_file(path: str | os.PathLike[str], norm: Normaliser = _identity) -> Lexicon:
    """Read and validate a TOML lexicon file."""
    source = str(path)
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise LexiconError(f"{source}: cannot read: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise LexiconError(f"{source}: invalid TOML: {exc}") from exc
    return parse_lexicon(data, source, norm)


def merge(base: Lexicon, extra: Lexicon) -> Lexicon:
    """Lay ``extra`` over ``base``: cue lists add up, rules append, weight 0 disables terms."""
    cues = {
        kind: base.cues.get(kind, frozenset()) | extra.cues.get(kind, frozenset())
        for kind in CUE_KINDS
    }
    disabled = {(r.category, w) for r in extra.rules if r.weight == 0 for g in r.groups for w in g}
    rules = [_without(rule, disabled) for rule in base.rules]
    rules += [replace(rule, own=True) for rule in extra.rules if rule.weight > 0]
    kept = tuple(rule for rule in rules if rule is not None)
    return Lexicon(cues, kept, base.sources + extra.sources)


def _without(rule: Rule, disabled: set[tuple[str, str]]) -> Rule | None:
    if not disabled or rule.is_combo:
        return rule
    words = frozenset(w for w in rule.groups[0] if (rule.category, w) not in disabled)
    if not words:
        return None
    return Rule(
        rule.category,
        rule.weight,
        (words,),
        rule.kind,
        rule.urgency,
        rule.hazard,
        rule.weak,
        rule.window,
        rule.unless,
        rule.unless_window,
    )


def load_lexicon(
    extra_path: str | os.PathLike[str] | None = None, norm: Normaliser = _identity
) -> Lexicon:
    """Built-in lexicon merged with ``extra_path`` (or $PROPDESK_LEXICON when None)."""
    lexicon = read_lexicon_file(BUILTIN_PATH, norm)
    path = extra_path if extra_path is not None else os.environ.get(ENV_VAR) or None
    if path:
        lexicon = merge(lexicon, read_lexicon_file(path, norm))
    return lexicon
