"""Linear models learned from the labelled corpus: a second opinion beside the hand rules.

Hand rules generalise poorly to wording nobody wrote down ("火越烧越大", "里面有人在拍门喊"),
so three logistic-regression models over character n-grams back them up: *is this an
emergency*, *which hazard*, and *which category*. They are trained with scikit-learn by
``propdesk lexicon train`` (a developer step, see :mod:`bot.nlp.train`) and shipped as plain
weights in ``data/model.json``; scoring is a sparse dot product, so the run time needs no
machine-learning library. A decision stays explainable: :meth:`LinearModel.reasons` names the
n-grams that pushed it, and the classifier shows them in ``matched``.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

import ahocorasick
import numpy as np

MODEL_PATH = Path(__file__).with_name("data") / "model.json"
MODEL_ENV = "PROPDESK_MODEL"
MAX_NGRAM = 3


def features(norm: str) -> dict[str, float]:
    """Binary features of a normalised message: character 1-3 grams inside runs of non-ASCII
    text, and English words and word pairs. The same function feeds training and scoring."""
    found: dict[str, float] = {}
    for run in _runs(norm, ascii_run=False):
        for size in range(1, MAX_NGRAM + 1):
            for start in range(len(run) - size + 1):
                found["c:" + run[start : start + size]] = 1.0
    for words in _english_words(norm):
        for i, word in enumerate(words):
            found["w:" + word] = 1.0
            if i + 1 < len(words):
                found["w:" + word + "_" + words[i + 1]] = 1.0
    return found


# A run is a maximal stretch of Chinese (non-ASCII) text or of English letters, digits and
# spaces; spaces and punctuation end a Chinese run, so no n-gram spans a clause break.
_CHINESE_RUN = re.compile(r"[^\x00-\x7f\s。、…]+")
_ENGLISH_RUN = re.compile(r"[A-Za-z0-9 ]+")
_ASCII_WORD = re.compile(r"[A-Za-z0-9]")  # an English run holds at least one of these


def _runs(norm: str, ascii_run: bool) -> list[str]:
    return (_ENGLISH_RUN if ascii_run else _CHINESE_RUN).findall(norm)


# English function words are left out of the features: the corpus's English lines are more
# often emergencies than the rest, and "the" or "is" would learn that share, not a meaning.
# ("no" and "not" stay: they carry negation.)
FUNCTION_WORDS = frozenset(
    {"a", "an", "the", "and", "or", "but", "of", "in", "on", "at", "to", "from", "by", "for"}
    | {"with", "is", "are", "was", "be", "it", "its", "this", "that", "there", "my", "our"}
    | {"your", "i", "we", "you", "he", "she", "they", "me", "him", "her", "them"}
)


def _english_words(norm: str) -> list[list[str]]:
    """The content words of each English run, in order (pairs are made from these)."""
    return [
        [word for word in run.split() if word not in FUNCTION_WORDS]
        for run in _runs(norm, ascii_run=True)
    ]


def _sigmoid(logit: float) -> float:
    """The logistic function, without overflow for large negative logits."""
    if logit >= 0:
        return 1 / (1 + math.exp(-logit))
    odds = math.exp(logit)
    return odds / (1 + odds)


def _explains(name: str) -> bool:
    """Whether a feature reads as a reason: a content word, or two Chinese characters or more."""
    if name.startswith("w:"):
        return not name[2:].replace("_", "").isdigit()
    return len(name) > 3


@dataclass(frozen=True)
class LinearModel:
    """One multinomial (or binary: classes ``("no", "yes")``) logistic regression."""

    classes: tuple[str, ...]
    bias: tuple[float, ...]
    weights: dict[str, tuple[float, ...]]

    def probabilities(self, feats: dict[str, float]) -> dict[str, float]:
        scores = list(self.bias)
        for name in feats:
            row = self.weights.get(name)
            if row is not None:
                for i, w in enumerate(row):
                    scores[i] += w
        if len(self.classes) == 2 and len(scores) == 1:
            p = _sigmoid(scores[0])
            return {self.classes[0]: 1 - p, self.classes[1]: p}
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {c: e / total for c, e in zip(self.classes, exps, strict=True)}

    def reasons(
        self, feats: dict[str, float], label: str, norm: str, limit: int = 3
    ) -> tuple[str, ...]:
        """Stretches of ``norm`` holding the n-grams (two characters or more, or English words)
        that pushed hardest toward ``label``, in text order; overlapping n-grams merge
        (着伙 + 伙了 -> 着伙了). English pairs that were joined across a left-out function word
        do not occur in the text and are not shown."""
        index = self.classes.index(label)
        column = 0 if len(self.bias) == 1 else index
        sign = -1.0 if len(self.bias) == 1 and index == 0 else 1.0
        pushes = sorted(
            (
                (sign * self.weights[name][column], name[2:].replace("_", " "))
                for name in feats
                if name in self.weights and _explains(name)
            ),
            reverse=True,
        )
        spans: list[tuple[int, int]] = []
        for weight, text in pushes[: limit * 2]:
            at = norm.find(text)
            if weight > 0 and at >= 0:
                spans.append((at, at + len(text)))
        merged: list[tuple[int, int]] = []
        for begin, finish in sorted(spans):
            if merged and begin <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
            else:
                merged.append((begin, finish))
        return tuple(norm[b:f] for b, f in merged[:limit])

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> LinearModel:
        classes = tuple(str(c) for c in data["classes"])  # type: ignore[attr-defined]
        bias = tuple(float(b) for b in data["bias"])  # type: ignore[attr-defined]
        raw = data["weights"]
        assert isinstance(raw, dict)
        width = len(bias)
        weights = {str(k): tuple(float(x) for x in v) for k, v in raw.items()}
        if any(len(row) != width for row in weights.values()):
            raise ValueError("model weights do not match its classes")
        return cls(classes, bias, weights)


class Scores(NamedTuple):
    p_emergency: float
    probabilities: list[float]  # of the category model's classes, in their order
    top: str  # the most likely category


@dataclass(frozen=True)
class Models:
    emergency: LinearModel
    hazard: LinearModel
    category: LinearModel
    threshold: float  # P(emergency) at which the model alone raises the alarm
    # high / normal / low of a message that is no emergency (absent from older model files).
    urgency: LinearModel | None = None
    # The emergency, category and urgency weights as one matrix, a row per feature and a
    # column per class: a message costs one dictionary lookup per n-gram, then one sum over
    # its rows gives every logit.
    _rows: dict[str, int] = field(init=False, repr=False, compare=False)
    _chinese: ahocorasick.Automaton | None = field(init=False, repr=False, compare=False)
    _matrix: np.ndarray = field(init=False, repr=False, compare=False)
    # The emergency column alone, as a list: a rule's alarm asks only whether the model backs
    # it, and a plain sum over a few dozen rows is cheaper than the matrix's (round 21).
    _alarm_column: list[float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = [self.emergency, self.category, *([self.urgency] if self.urgency else [])]
        names = sorted({name for part in parts for name in part.weights})
        matrix = np.hstack([_matrix(names, part) for part in parts])
        rows = {(name[2:] if name.startswith("c:") else name): i for i, name in enumerate(names)}
        object.__setattr__(self, "_rows", rows)
        # Characters and 2-3 grams alike: one pass of the automaton finds them all.
        grams = {key: row for key, row in rows.items() if not key.startswith("w:")}
        chinese = None
        if grams:  # an automaton without keys cannot search
            chinese = ahocorasick.Automaton()
            for key, row in grams.items():
                chinese.add_word(key, row)
            chinese.make_automaton()
        object.__setattr__(self, "_chinese", chinese)
        object.__setattr__(self, "_matrix", matrix)
        object.__setattr__(self, "_alarm_column", matrix[:, 0].tolist())

    def score(self, norm: str) -> Scores:
        """P(emergency) and the category probabilities of a normalised message; equal to
        ``emergency.probabilities`` and ``category.probabilities`` of its features."""
        sums = self.sums(self.row_ids(norm))
        probabilities, top = self.category_scores(sums)
        return Scores(self.emergency_probability(sums), probabilities, top)

    def sums(self, ids: list[int]) -> list[float]:
        """The summed weights of the rows ``ids``: the emergency column, then the category
        columns, then the urgency columns (the inputs of the three methods below)."""
        summed: list[float] = np.add.reduce(self._matrix.take(ids, axis=0)).tolist()
        return summed

    def emergency_probability(self, sums: list[float]) -> float:
        return _sigmoid(self.emergency.bias[0] + sums[0])

    def alarm_probability(self, ids: list[int]) -> float:
        """P(emergency) of the rows ``ids`` without the other models' columns."""
        column = self._alarm_column
        return _sigmoid(self.emergency.bias[0] + sum([column[i] for i in ids]))

    def category_scores(self, sums: list[float]) -> tuple[list[float], str]:
        """Probabilities of the category classes (in their order) and the most likely one."""
        logits = self._category_logits(sums)
        return _softmax(logits), self.category.classes[logits.index(max(logits))]

    def category_top(self, sums: list[float]) -> str:
        """The most likely category (no probabilities computed)."""
        logits = self._category_logits(sums)
        return self.category.classes[logits.index(max(logits))]

    def _category_logits(self, sums: list[float]) -> list[float]:
        bias = self.category.bias
        return [a + b for a, b in zip(sums[1 : 1 + len(bias)], bias, strict=True)]

    def urgency_scores(self, sums: list[float]) -> dict[str, float] | None:
        """Probabilities of high, normal and low for a message that is no emergency; None
        when the model file has no urgency model."""
        logits = self._urgency_logits(sums)
        if logits is None or self.urgency is None:
            return None
        return dict(zip(self.urgency.classes, _softmax(logits), strict=True))

    def urgency_top(self, sums: list[float]) -> tuple[str, float] | None:
        """The likeliest of high, normal and low and its probability (None as above)."""
        logits = self._urgency_logits(sums)
        if logits is None or self.urgency is None:
            return None
        top = max(logits)
        return self.urgency.classes[logits.index(top)], 1 / sum(math.exp(v - top) for v in logits)

    def _urgency_logits(self, sums: list[float]) -> list[float] | None:
        if self.urgency is None:
            return None
        start = 1 + len(self.category.bias)
        return [a + b for a, b in zip(sums[start:], self.urgency.bias, strict=True)]

    def row_ids(self, norm: str) -> list[int]:
        """Matrix rows of the features present (each once: the features are binary); the
        zero row stands for n-grams the model does not know."""
        get, unknown = self._rows.get, len(self._rows)
        # Every known Chinese character and 2-3 gram, overlaps included, in one pass in C; a
        # known n-gram holds no space, punctuation or ASCII, so a match never spans a run break.
        ids: set[int] = set()
        if self._chinese is not None:
            ids.update(map(itemgetter(1), self._chinese.iter(norm)))
        ids.add(unknown)
        if _ASCII_WORD.search(norm) is None:
            return list(ids)  # most messages: no English run to look at
        for words in _english_words(norm):
            ids.update([get("w:" + word, unknown) for word in words])
            ids.update([get(f"w:{a}_{b}", unknown) for a, b in itertools.pairwise(words)])
        return list(ids)


def _softmax(logits: list[float]) -> list[float]:
    top = max(logits)
    exps = [math.exp(v - top) for v in logits]
    whole = sum(exps)
    return [e / whole for e in exps]


def _matrix(names: list[str], model: LinearModel) -> np.ndarray:
    """The weights of ``model`` as a matrix, a row per name and a last row of zeros for
    n-grams the models do not know."""
    width = len(model.bias)  # one column for a binary model
    matrix = np.zeros((len(names) + 1, width))
    for row, name in enumerate(names):
        matrix[row] = model.weights.get(name, (0.0,) * width)
    return matrix


class ModelError(ValueError):
    """A model file named by $PROPDESK_MODEL is missing or malformed."""


def load_models(path: Path | None = None) -> Models | None:
    """The models in ``path``, else in $PROPDESK_MODEL (a property company's own, trained with
    its corrections), else the shipped ones. None only when the shipped file is absent (rules
    alone then decide); a named file that is missing or unusable raises ModelError, so the
    start fails with its name."""
    chosen = path or (Path(os.environ[MODEL_ENV]) if os.environ.get(MODEL_ENV) else None)
    if chosen is None:
        return _read_models(MODEL_PATH) if MODEL_PATH.exists() else None
    try:
        return _read_models(chosen)
    except (OSError, ValueError, KeyError, TypeError, AssertionError) as exc:
        raise ModelError(f"{chosen}: not a usable model file ({exc})") from exc


def _read_models(path: Path) -> Models:
    data = json.loads(path.read_text(encoding="utf-8"))
    models = Models(
        emergency=LinearModel.from_dict(data["emergency"]),
        hazard=LinearModel.from_dict(data["hazard"]),
        category=LinearModel.from_dict(data["category"]),
        threshold=float(data["threshold"]),
        urgency=LinearModel.from_dict(data["urgency"]) if "urgency" in data else None,
    )
    _check_shapes(models)
    models.score("电梯困人 lift stuck")  # a file that loads must also score
    return models


def _check_shapes(models: Models) -> None:
    """The scorer assumes a binary emergency model and multinomial hazard and category models
    (scikit-learn stores a two-class model as one column, which these could not use)."""
    if models.emergency.classes != ("no", "yes") or len(models.emergency.bias) != 1:
        raise ValueError("the emergency model must be binary, classes no and yes")
    named = [("hazard", models.hazard), ("category", models.category)]
    if models.urgency is not None:
        named.append(("urgency", models.urgency))
    for name, model in named:
        if len(model.classes) < 3 or len(model.bias) != len(model.classes):
            raise ValueError(f"the {name} model needs three classes or more, one column each")
    if not 0 < models.threshold < 1:
        raise ValueError("the threshold must lie between 0 and 1")
