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

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MODEL_PATH = Path(__file__).with_name("data") / "model.json"
MAX_NGRAM = 3
_PUNCT = frozenset(",.!?;:。、…~()[]{}\"'-_/\\|*#@&+=<>")


def features(norm: str) -> dict[str, float]:
    """Binary features of a normalised message: character 1-3 grams inside runs of non-ASCII
    text, and English words and word pairs. The same function feeds training and scoring."""
    found: dict[str, float] = {}
    for run in _runs(norm, ascii_run=False):
        for size in range(1, MAX_NGRAM + 1):
            for start in range(len(run) - size + 1):
                found["c:" + run[start : start + size]] = 1.0
    for run in _runs(norm, ascii_run=True):
        words = [w for w in run.split() if w]
        for i, word in enumerate(words):
            found["w:" + word] = 1.0
            if i + 1 < len(words):
                found["w:" + word + "_" + words[i + 1]] = 1.0
    return found


def _runs(norm: str, ascii_run: bool) -> Iterable[str]:
    """Maximal stretches of ASCII letters/digits/spaces (``ascii_run``) or of other characters,
    split at spaces and punctuation (an n-gram never spans a clause break)."""
    current: list[str] = []
    for ch in norm:
        keep = ch.isascii() and (ch.isalnum() or ch == " ") if ascii_run else not ch.isascii()
        if keep and ch not in _PUNCT and (ascii_run or not ch.isspace()):
            current.append(ch)
            continue
        if current:
            yield "".join(current)
            current = []
    if current:
        yield "".join(current)


def _explains(name: str) -> bool:
    """Whether a feature reads as a reason: a word, or two Chinese characters or more."""
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
            p = 1 / (1 + math.exp(-scores[0]))
            return {self.classes[0]: 1 - p, self.classes[1]: p}
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {c: e / total for c, e in zip(self.classes, exps, strict=True)}

    def reasons(
        self, feats: dict[str, float], label: str, norm: str, limit: int = 3
    ) -> tuple[str, ...]:
        """The stretches of ``norm`` whose n-grams (two characters or more, or English words)
        pushed hardest toward ``label``; overlapping n-grams merge (着伙 + 伙了 -> 着伙了)."""
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


@dataclass(frozen=True)
class Models:
    emergency: LinearModel
    hazard: LinearModel
    category: LinearModel
    threshold: float  # P(emergency) at which the model alone raises the alarm


def load_models(path: Path = MODEL_PATH) -> Models | None:
    """The shipped models, or None when the file is absent (rules alone then decide)."""
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return Models(
        emergency=LinearModel.from_dict(data["emergency"]),
        hazard=LinearModel.from_dict(data["hazard"]),
        category=LinearModel.from_dict(data["category"]),
        threshold=float(data["threshold"]),
    )
