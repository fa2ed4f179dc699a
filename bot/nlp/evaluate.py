"""Evaluate the classifier on labelled JSON lines (``{"text", "category", "urgency", "hazard"}``).

The labelled corpus ships with the package (``bot/nlp/corpus/``, package data), so
``propdesk eval`` and ``propdesk lexicon train`` find their default files in an installed copy
too; ``tests/data/README.md`` in the repository keeps the history of every set.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.nlp.codes import CATEGORIES, HAZARDS, URGENCIES

DESK_MIX = 0.04  # share of emergencies among a real desk's messages (a few in a hundred)

CORPUS_DIR = Path(__file__).with_name("corpus")
DEFAULT_FILES = (
    "corpus_tune.jsonl",
    "corpus_tune_ordinary.jsonl",
    "corpus_holdout.jsonl",
    "corpus_fresh.jsonl",
    "corpus_fresh_v5.jsonl",
    "corpus_fresh_v6.jsonl",
    "corpus_fresh_v7.jsonl",
    "corpus_fresh_v8.jsonl",
    "corpus_fresh_v9.jsonl",
    "corpus_fresh_v10.jsonl",
    "corpus_unseen_v11.jsonl",
    "corpus_unseen_v12.jsonl",
    "corpus_unseen_v13.jsonl",
    "corpus_unseen_v14.jsonl",
    # Spent by their one evaluation (tests/data/README.md, 18 and 19): training and development.
    "corpus_unseen_v15.jsonl",
    "corpus_unseen_v16.jsonl",
    "corpus_unseen_desk_v1.jsonl",
    "corpus_unseen_desk_v2.jsonl",
    # Spent by their one evaluation (tests/data/README.md, 20-22), joined in round 23.
    "corpus_unseen_v17.jsonl",
    "corpus_unseen_v18.jsonl",
    "corpus_unseen_v19.jsonl",
    "corpus_unseen_desk_v3.jsonl",
    "corpus_unseen_desk_v4.jsonl",
    "corpus_unseen_desk_v5.jsonl",
    # Written for training by three more authors from the taxonomy and STORIES.md alone (round
    # 23, tests/data/README.md 23); never evaluated as unseen.
    "corpus_train_desk_a.jsonl",
    "corpus_train_boundaries_b.jsonl",
    "corpus_train_alarms_c.jsonl",
)


@dataclass(frozen=True)
class Example:
    line: int
    text: str
    category: str
    urgency: str
    hazard: str | None


@dataclass(frozen=True)
class Miss:
    example: Example
    category: str
    urgency: str
    hazard: str | None
    matched: tuple[str, ...]


@dataclass(frozen=True)
class ClassScore:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Report:
    path: str
    total: int = 0
    category_correct: int = 0
    urgency_correct: int = 0
    emergency_true: int = 0  # labelled emergency and predicted emergency
    emergency_labelled: int = 0
    emergency_predicted: int = 0
    hazard_correct: int = 0
    # The paging view: a sure alarm pages at once, an unsure one asks the resident first.
    paged_true: int = 0  # emergencies paged at once
    paged_false: int = 0  # ordinary messages paged at once
    asked_true: int = 0  # emergencies asked about (caught: silence or "yes" pages)
    asked_false: int = 0  # ordinary messages asked about (a "no" keeps them ordinary)
    answered_urgency_correct: int = 0  # urgency right once every question is answered truly
    category_confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    urgency_confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    misses: list[Miss] = field(default_factory=list)

    @property
    def category_accuracy(self) -> float:
        return _ratio(self.category_correct, self.total)

    @property
    def urgency_accuracy(self) -> float:
        return _ratio(self.urgency_correct, self.total)

    @property
    def emergency_recall(self) -> float:
        return _ratio(self.emergency_true, self.emergency_labelled, empty=1.0)

    @property
    def emergency_precision(self) -> float:
        return _ratio(self.emergency_true, self.emergency_predicted, empty=1.0)

    @property
    def false_alarms(self) -> int:
        return self.emergency_predicted - self.emergency_true

    @property
    def false_alarm_share(self) -> float:
        """Share of the alarms raised on this set that were false (1 - precision)."""
        return _ratio(self.false_alarms, self.emergency_predicted)

    @property
    def false_alarm_rate(self) -> float:
        """Share of this set's non-emergencies raised as alarms."""
        return _ratio(self.false_alarms, self.total - self.emergency_labelled)

    def false_share_at(self, mix: float = DESK_MIX) -> float:
        """The share of alarms that would be false where ``mix`` of the messages are
        emergencies, from this set's false-alarm rate and recall: a set that is a third
        emergencies flatters precision, a desk sees a few in a hundred."""
        false = self.false_alarm_rate * (1 - mix)
        return _ratio(int(false * 1e9), int((false + self.emergency_recall * mix) * 1e9))

    # the paging view --------------------------------------------------------------------
    @property
    def ordinary(self) -> int:
        return self.total - self.emergency_labelled

    @property
    def missed(self) -> int:
        """Emergencies neither paged nor asked about."""
        return self.emergency_labelled - self.paged_true - self.asked_true

    @property
    def immediate_precision(self) -> float:
        """Share of immediate pages that are emergencies."""
        return _ratio(self.paged_true, self.paged_true + self.paged_false, empty=1.0)

    @property
    def immediate_false_share(self) -> float:
        """Share of immediate pages that are false, at this set's mix."""
        return _ratio(self.paged_false, self.paged_true + self.paged_false)

    def immediate_false_share_at(self, mix: float = DESK_MIX) -> float:
        """As :meth:`false_share_at`, for the pages sent without a question."""
        false = _ratio(self.paged_false, self.ordinary) * (1 - mix)
        true = _ratio(self.paged_true, self.emergency_labelled, empty=1.0) * mix
        return _ratio(int(false * 1e9), int((false + true) * 1e9))

    @property
    def question_rate(self) -> float:
        """Share of ordinary messages that get the "anyone in danger?" question."""
        return _ratio(self.asked_false, self.ordinary)

    @property
    def caught_recall(self) -> float:
        """Emergencies paged at once or asked about (an asked one pages on "yes" or silence)."""
        return _ratio(self.paged_true + self.asked_true, self.emergency_labelled, empty=1.0)

    @property
    def answered_urgency_accuracy(self) -> float:
        """Urgency accuracy once each question is answered truly (an ordinary message asked
        about takes the rules' calm urgency)."""
        return _ratio(self.answered_urgency_correct, self.total)

    @property
    def hazard_accuracy(self) -> float:
        """Share of caught emergencies whose hazard is right."""
        return _ratio(self.hazard_correct, self.emergency_true, empty=1.0)

    def category_scores(self) -> dict[str, ClassScore]:
        return _per_class(self.category_confusion, CATEGORIES)

    def urgency_scores(self) -> dict[str, ClassScore]:
        return _per_class(self.urgency_confusion, URGENCIES)


def _ratio(part: int, whole: int, empty: float = 0.0) -> float:
    return part / whole if whole else empty


def _per_class(confusion: Counter[tuple[str, str]], labels: Sequence[str]) -> dict[str, ClassScore]:
    scores = {}
    for label in labels:
        tp = confusion[(label, label)]
        predicted = sum(n for (_, p), n in confusion.items() if p == label)
        actual = sum(n for (a, _), n in confusion.items() if a == label)
        precision, recall = _ratio(tp, predicted), _ratio(tp, actual)
        f1 = _ratio(int(2 * precision * recall * 1e6), int((precision + recall) * 1e6))
        scores[label] = ClassScore(precision, recall, f1, actual)
    return scores


def _check(value: object, allowed: Sequence[str], where: str) -> str:
    if value not in allowed:
        raise ValueError(f"{where}: {value!r} is not one of {tuple(allowed)}")
    return str(value)


def load_examples(path: str | Path) -> list[Example]:
    """Read and validate a corpus file; a bad line raises ValueError naming it."""
    examples = []
    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where}: invalid JSON: {exc}") from exc
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise ValueError(f"{where}: expected an object with a 'text' string")
            category = _check(row.get("category"), CATEGORIES, f"{where} category")
            urgency = _check(row.get("urgency"), URGENCIES, f"{where} urgency")
            hazard = row.get("hazard")
            if urgency == "emergency":
                hazard = _check(hazard, HAZARDS, f"{where} hazard")
            examples.append(Example(number, row["text"], category, urgency, hazard))
    return examples


def evaluate(path: str | Path, classify: Callable[[str], object] | None = None) -> Report:
    """Classify every line of ``path`` and compare with its labels."""
    if classify is None:
        from bot.nlp import classify as default_classify

        classify = default_classify
    report = Report(str(path))
    for example in load_examples(path):
        _score(report, example, classify(example.text))
    return report


def _score(report: Report, example: Example, result: object) -> None:
    category = str(getattr(result, "category", "other"))
    urgency = str(getattr(result, "urgency", "low"))
    hazard = getattr(result, "hazard", None)
    report.total += 1
    report.category_correct += category == example.category
    report.urgency_correct += urgency == example.urgency
    report.category_confusion[(example.category, category)] += 1
    report.urgency_confusion[(example.urgency, urgency)] += 1
    labelled, predicted = example.urgency == "emergency", urgency == "emergency"
    report.emergency_labelled += labelled
    report.emergency_predicted += predicted
    if labelled and predicted:
        report.emergency_true += 1
        report.hazard_correct += hazard == example.hazard
    _score_paging(report, example, result, urgency)
    hazard_wrong = labelled and predicted and hazard != example.hazard
    if category != example.category or urgency != example.urgency or hazard_wrong:
        matched = tuple(getattr(result, "matched", ()))
        report.misses.append(Miss(example, category, urgency, hazard, matched))


def _score_paging(report: Report, example: Example, result: object, urgency: str) -> None:
    labelled = example.urgency == "emergency"
    answered = urgency
    if urgency == "emergency":
        sure = bool(getattr(result, "sure", True))
        if sure:
            report.paged_true += labelled
            report.paged_false += not labelled
        else:
            report.asked_true += labelled
            report.asked_false += not labelled
            if not labelled:  # the resident answers "no danger": the calm urgency applies
                answered = str(getattr(result, "calm_urgency", None) or urgency)
    report.answered_urgency_correct += answered == example.urgency


def _class_table(title: str, scores: dict[str, ClassScore]) -> list[str]:
    lines = [f"{title:<12} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>5}"]
    for label, s in scores.items():
        lines.append(f"{label:<12} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f} {s.support:5d}")
    return lines


def _confusion(confusion: Counter[tuple[str, str]], labels: Sequence[str]) -> list[str]:
    short = [label[:5] for label in labels]
    lines = ["actual\\pred  " + " ".join(f"{s:>5}" for s in short)]
    for actual in labels:
        cells = " ".join(f"{confusion[(actual, p)]:5d}" for p in labels)
        lines.append(f"{actual:<12} {cells}")
    return lines


def format_report(report: Report) -> str:
    """Human-readable report: headline figures, per-class scores, confusion, every miss."""
    lines = [
        f"== {report.path}: {report.total} messages",
        f"category accuracy   {report.category_accuracy:.3f}",
        f"urgency accuracy    {report.urgency_accuracy:.3f}",
        f"emergency recall    {report.emergency_recall:.3f} "
        f"({report.emergency_true}/{report.emergency_labelled})",
        f"emergency precision {report.emergency_precision:.3f} "
        f"({report.emergency_true}/{report.emergency_predicted})",
        f"false alarms        {report.false_alarm_share:.3f} of alarms at this set's mix "
        f"({report.false_alarms} of {report.emergency_predicted}; "
        f"{_ratio(report.emergency_labelled, report.total):.1%} emergencies); "
        f"{report.false_alarm_rate:.1%} of non-emergencies raised; "
        f"{report.false_share_at():.3f} of alarms at a desk mix of {DESK_MIX:.0%}",
        f"hazard accuracy     {report.hazard_accuracy:.3f} (of caught emergencies)",
        *_paging_lines(report),
        "",
        *_class_table("category", report.category_scores()),
        "",
        *_class_table("urgency", report.urgency_scores()),
        "",
        "category confusion (rows: label, columns: prediction)",
        *_confusion(report.category_confusion, CATEGORIES),
        "",
        "urgency confusion",
        *_confusion(report.urgency_confusion, URGENCIES),
        "",
        f"misclassified ({len(report.misses)}):",
    ]
    for miss in report.misses:
        ex = miss.example
        want = f"{ex.category}/{ex.urgency}" + (f"/{ex.hazard}" if ex.hazard else "")
        got = f"{miss.category}/{miss.urgency}" + (f"/{miss.hazard}" if miss.hazard else "")
        lines.append(f"  line {ex.line}: want {want} got {got} {list(miss.matched)}  {ex.text}")
    return "\n".join(lines)


def _paging_lines(report: Report) -> list[str]:
    """What the desk lives with: sure alarms page at once, unsure ones ask one question."""
    paged = report.paged_true + report.paged_false
    return [
        f"paging: emergencies paged at once {report.paged_true}, asked first "
        f"{report.asked_true}, missed {report.missed} (of {report.emergency_labelled}); "
        f"recall counting asked as caught {report.caught_recall:.3f}",
        f"paging: immediate pages {paged}, precision {report.immediate_precision:.3f}, "
        f"false {report.immediate_false_share:.3f} at this set's mix, "
        f"{report.immediate_false_share_at():.3f} at a desk mix of {DESK_MIX:.0%}",
        f"paging: ordinary messages asked {report.asked_false} of {report.ordinary} "
        f"({report.question_rate:.1%}); urgency once answered "
        f"{report.answered_urgency_accuracy:.3f}",
    ]


def default_corpus() -> list[Path]:
    """Every labelled set, in the order `propdesk eval` reports them."""
    return [CORPUS_DIR / name for name in DEFAULT_FILES]
