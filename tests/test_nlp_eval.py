"""Corpus, evaluation report and lexicon suggestions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.classifier import evaluate_files
from bot.nlp import CATEGORIES, HAZARDS, URGENCIES, Classifier, load_lexicon
from bot.nlp.evaluate import CORPUS_DIR, Report, evaluate, format_report, load_examples
from bot.nlp.suggest import suggest_terms

DATA = CORPUS_DIR
HOLDOUT = DATA / "corpus_holdout.jsonl"
TUNE = DATA / "corpus_tune.jsonl"
FRESH = DATA / "corpus_fresh.jsonl"  # v4: never tuned on (its lines were seen in diffs once)
FRESH_V5 = DATA / "corpus_fresh_v5.jsonl"  # unseen when written, then tuned on
FRESH_V6 = DATA / "corpus_fresh_v6.jsonl"  # unseen when written, tuned on in the v7 round
FRESH_V7 = DATA / "corpus_fresh_v7.jsonl"  # unseen when written, then tuned on
FRESH_V8 = DATA / "corpus_fresh_v8.jsonl"  # unseen when written, tuned on in the v8 round
# v9: written by a different author who never saw the lexicon or earlier sets; unseen when
# first evaluated, tuned on in the v9 round
FRESH_V9 = DATA / "corpus_fresh_v9.jsonl"
# v10: written by yet another author from TAXONOMY.md alone; unseen when first evaluated, then
# the development set of the learned layer, which is now trained on it
FRESH_V10 = DATA / "corpus_fresh_v10.jsonl"
# v11 and v12: two more authors, TAXONOMY.md alone; never trained or tuned on
UNSEEN_V11 = DATA / "corpus_unseen_v11.jsonl"
UNSEEN_V12 = DATA / "corpus_unseen_v12.jsonl"
# v13: one more author, evaluated once after the last change to the classifier
UNSEEN_V13 = DATA / "corpus_unseen_v13.jsonl"
# v14: a fifth author, evaluated once after the ordinary training lines were added
UNSEEN_V14 = DATA / "corpus_unseen_v14.jsonl"
# ordinary messages about the objects emergencies mention: training only
ORDINARY = DATA / "corpus_tune_ordinary.jsonl"


def test_corpus_is_large_labelled_and_disjoint() -> None:
    tune, holdout, fresh = load_examples(TUNE), load_examples(HOLDOUT), load_examples(FRESH)
    v5, v6 = load_examples(FRESH_V5), load_examples(FRESH_V6)
    v7, v8, v9 = load_examples(FRESH_V7), load_examples(FRESH_V8), load_examples(FRESH_V9)
    v10, v11, v12 = load_examples(FRESH_V10), load_examples(UNSEEN_V11), load_examples(UNSEEN_V12)
    v13, v14, ordinary = (
        load_examples(UNSEEN_V13),
        load_examples(UNSEEN_V14),
        load_examples(ORDINARY),
    )
    assert len(tune) + len(holdout) >= 500
    assert len(holdout) >= 90 and len(fresh) >= 50 and len(v5) >= 120 and len(v6) >= 120
    assert len(v7) >= 150 and len(v8) >= 150 and len(v9) >= 200 and len(v10) >= 200
    assert len(v11) >= 200 and len(v12) >= 200 and len(v13) >= 200 and len(v14) >= 200
    assert len(ordinary) >= 250
    parts = (tune, ordinary, holdout, fresh, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14)
    texts = [{e.text for e in part} for part in parts]
    for i, first in enumerate(texts):
        for second in texts[i + 1 :]:
            assert not first & second
    for part in (v5, v6, v7, v8, v9, v10, v11, v12, v13, v14):
        # every hazard, and roughly a third (v5, v6) to two fifths (v7, v8) emergencies
        assert {e.hazard for e in part if e.urgency == "emergency"} == set(HAZARDS)
        assert 0.25 <= sum(e.urgency == "emergency" for e in part) / len(part) <= 0.45
    everything = tune + holdout
    assert {e.category for e in everything} == set(CATEGORIES)
    assert {e.urgency for e in everything} == set(URGENCIES)
    assert {e.hazard for e in everything if e.urgency == "emergency"} == set(HAZARDS)


@pytest.fixture(scope="module")
def holdout_report() -> Report:
    return evaluate(HOLDOUT)


def test_holdout_meets_targets(holdout_report: Report) -> None:
    # Held-out v3 has been tuned on since (tests/data/README.md): a regression guard at the
    # targets, not an unseen figure. Plain floats, so a failure does not print its lines.
    figures = (
        round(holdout_report.category_accuracy, 3),
        round(holdout_report.urgency_accuracy, 3),
        round(holdout_report.emergency_recall, 3),
        round(holdout_report.emergency_precision, 3),
    )
    category, urgency, recall, precision = figures
    assert category >= 0.85, figures
    assert urgency >= 0.80, figures
    assert recall >= 0.95, figures
    assert precision >= 0.80, figures


def _figures(report: Report) -> tuple[float, float, float, float]:
    # Plain floats, so a failure does not print the lines of a set that must not be tuned on.
    return (
        round(report.category_accuracy, 3),
        round(report.urgency_accuracy, 3),
        round(report.emergency_recall, 3),
        round(report.emergency_precision, 3),
    )


def test_fresh_v8_after_tuning() -> None:
    # v8 (155 distinct lines) was unseen when first evaluated (0.845 / 0.819 / 0.841 / 0.946,
    # 53 of 63 emergencies caught, 3 false alarms) and was then tuned on in the v8 round
    # (danger-evidence layer), so this is a regression guard at the targets, not an unseen
    # figure.
    category, urgency, recall, precision = figures = _figures(evaluate(FRESH_V8))
    assert category >= 0.85 and urgency >= 0.80, figures
    assert recall >= 0.95 and precision >= 0.80, figures


def test_fresh_v7_and_v6_after_tuning() -> None:
    # Both were unseen when first evaluated (v6: 0.926 / 0.903 / 0.938 / 0.938; v7:
    # 0.903 / 0.836 / 0.785 / 0.911) and were then tuned on in the v7 round, so these are
    # regression guards at the targets, not unseen figures.
    for path in (FRESH_V6, FRESH_V7):
        category, urgency, recall, precision = figures = _figures(evaluate(path))
        assert category >= 0.85 and urgency >= 0.80, figures
        assert recall >= 0.95 and precision >= 0.80, figures


def test_fresh_v9_after_tuning() -> None:
    # v9 (278 distinct lines, written by another author from TAXONOMY.md alone) was unseen when
    # first evaluated (0.871 / 0.863 / 0.858 / 0.958, 91 of 106 emergencies caught, 4 false
    # alarms) and was then tuned on in the v9 round (states and signs), so this is a
    # regression guard at the targets, not an unseen figure; v10 takes over as the unseen set.
    category, urgency, recall, precision = figures = _figures(evaluate(FRESH_V9))
    assert category >= 0.85 and urgency >= 0.80, figures
    assert recall >= 0.95 and precision >= 0.80, figures


def test_fresh_v10_after_training() -> None:
    # v10 (272 distinct lines, another author) was unseen when first evaluated after the v9
    # round: 0.846 / 0.812 / 0.842 (96 of 114) / 0.960. It then served as the development set
    # of the learned layer (0.886 / 0.879 / 0.982 / 0.933 with a model trained without it) and
    # is now in its training data, so this is a regression guard, not an unseen figure.
    category, urgency, recall, precision = figures = _figures(evaluate(FRESH_V10))
    assert category >= 0.85 and urgency >= 0.80, figures
    assert recall >= 0.95 and precision >= 0.80, figures


@pytest.mark.parametrize(
    "path",
    [UNSEEN_V11, UNSEEN_V12, UNSEEN_V13, UNSEEN_V14],
    ids=["v11", "v12", "v13", "v14"],
)
def test_unseen_sets_meet_the_targets(path: Path) -> None:
    # The honest figures for unseen messages: sets by four more authors (TAXONOMY.md and
    # STORIES.md alone), never trained or tuned on (tests/data/README.md, rounds 13-15). v14
    # was evaluated once, after the last change: 0.966 / 0.899 / 1.000 / 0.881. v13 first
    # gave 0.949 / 0.883 / 0.991 / 0.873; v11 and v12 0.922 / 0.892 / 0.991 / 0.919 and
    # 0.939 / 0.890 / 0.990 / 0.912 when first evaluated. Later looks are in the README.
    category, urgency, recall, precision = figures = _figures(evaluate(path))
    assert category >= 0.85 and urgency >= 0.80, figures
    assert recall >= 0.95 and precision >= 0.80, figures


# Round 20 (tests/data/README.md, 20): the emergencies each set's first evaluation or the
# round-19 classifier caught, rules + learned and rules alone. A retraining or a rule change
# that loses one fails here (v11-v14 are never trained on; the spent sets are).
RECALL_FLOOR = {
    "corpus_unseen_v11.jsonl": (114, 101),
    "corpus_unseen_v12.jsonl": (103, 94),
    "corpus_unseen_v13.jsonl": (110, 102),
    "corpus_unseen_v14.jsonl": (104, 102),
    "corpus_unseen_v15.jsonl": (128, 115),
    "corpus_unseen_v16.jsonl": (128, 122),
    "corpus_unseen_desk_v1.jsonl": (26, 25),
    "corpus_unseen_desk_v2.jsonl": (22, 22),
    # Round 23 (README 23): in training since then; what its classifier caught.
    "corpus_unseen_v17.jsonl": (130, 120),
    "corpus_unseen_v18.jsonl": (129, 119),
    "corpus_unseen_v19.jsonl": (128, 124),
    "corpus_unseen_desk_v3.jsonl": (25, 24),
    "corpus_unseen_desk_v4.jsonl": (25, 24),
    "corpus_unseen_desk_v5.jsonl": (25, 25),
}


@pytest.mark.parametrize("name", sorted(RECALL_FLOOR))
def test_no_set_loses_an_emergency(name: str) -> None:
    path = DATA / name
    both, alone = RECALL_FLOOR[name]
    rules = Classifier(load_lexicon(), models=False)
    caught = (evaluate(path).emergency_true, evaluate(path, rules.classify).emergency_true)
    assert caught[0] >= both and caught[1] >= alone, caught


@pytest.mark.parametrize(
    ("name", "floor"),
    [
        # Trained on since round 20: development figures, well above what a new author's set
        # gets (leave-one-set-out in the README). Measured 0.933 / 0.964, 0.888 / 0.936,
        # 0.950 / 0.986, 0.963 / 0.960 (category / urgency).
        ("corpus_unseen_v15.jsonl", (0.92, 0.95)),
        ("corpus_unseen_v16.jsonl", (0.88, 0.92)),
        ("corpus_unseen_desk_v1.jsonl", (0.94, 0.97)),
        ("corpus_unseen_desk_v2.jsonl", (0.95, 0.95)),
        # Trained on since round 23 (development figures, as above): measured 0.926 / 0.955,
        # 0.964 / 0.957, 0.943 / 0.938, 0.968 / 0.987, 0.979 / 0.971, 0.968 / 0.966.
        ("corpus_unseen_v17.jsonl", (0.92, 0.95)),
        ("corpus_unseen_v18.jsonl", (0.96, 0.95)),
        ("corpus_unseen_v19.jsonl", (0.94, 0.93)),
        ("corpus_unseen_desk_v3.jsonl", (0.96, 0.98)),
        ("corpus_unseen_desk_v4.jsonl", (0.97, 0.97)),
        ("corpus_unseen_desk_v5.jsonl", (0.96, 0.96)),
        # Never trained on, looked at again in round 20 (not clean): 0.951 / 0.959,
        # 0.967 / 0.943, 0.974 / 0.967, 0.983 / 0.939.
        ("corpus_unseen_v11.jsonl", (0.94, 0.94)),
        ("corpus_unseen_v12.jsonl", (0.95, 0.93)),
        ("corpus_unseen_v13.jsonl", (0.96, 0.95)),
        ("corpus_unseen_v14.jsonl", (0.97, 0.92)),
    ],
)
def test_round_20_figures_hold(name: str, floor: tuple[float, float]) -> None:
    category, urgency, recall, _ = figures = _figures(evaluate(DATA / name))
    assert category >= floor[0] and urgency >= floor[1], figures
    assert recall >= 0.98, figures


def test_rules_alone_miss_the_recall_target_on_unseen_sets() -> None:
    # Why the learned layer exists: the hand rules alone catch 0.878 (v11), 0.904 (v12) and
    # 0.919 (v13) of the unseen emergencies (on v14 they reach 0.971, still below the 1.000
    # of rules and model together).
    rules = Classifier(load_lexicon(), models=False)
    for path in (UNSEEN_V11, UNSEEN_V12, UNSEEN_V13):
        recall = round(evaluate(path, rules.classify).emergency_recall, 3)
        assert recall < 0.95, recall


def test_fresh_v4_regression_guard() -> None:
    # v4 was never tuned on by hand; its first figures were 0.912 / 0.895 / 0.882 / 1.000. The
    # learned layer is trained on it now, so it is a regression guard at the targets.
    category, urgency, recall, precision = figures = _figures(evaluate(FRESH))
    assert category >= 0.85 and urgency >= 0.80, figures
    assert recall >= 0.95 and precision >= 0.80, figures


def test_fresh_v5_meets_targets_after_tuning() -> None:
    # v5 was unseen when first evaluated (0.910 / 0.872 / 0.788 / 0.963) and then tuned on, so
    # this is a regression guard, not an unseen figure.
    category, urgency, recall, precision = figures = _figures(evaluate(FRESH_V5))
    assert category >= 0.85 and urgency >= 0.80, figures
    assert recall >= 0.95 and precision >= 0.80, figures


def test_tune_meets_targets() -> None:
    report = evaluate(TUNE)
    assert report.category_accuracy >= 0.85
    assert report.urgency_accuracy >= 0.80
    assert report.emergency_recall >= 0.95
    assert report.emergency_precision >= 0.80


def test_format_report_sections(holdout_report: Report) -> None:
    text = format_report(holdout_report)
    for needle in (
        "category accuracy",
        "urgency accuracy",
        "emergency recall",
        "emergency precision",
        "category confusion",
        "misclassified",
        "prec",
        "f1",
    ):
        assert needle in text
    for category in CATEGORIES:
        assert category in text
    for miss in holdout_report.misses:
        assert miss.example.text in text


def test_report_on_small_file(tmp_path: Path) -> None:
    path = tmp_path / "mini.jsonl"
    rows = [
        {"text": "电梯困人了", "category": "repair", "urgency": "emergency", "hazard": "lift"},
        {"text": "你好", "category": "other", "urgency": "low"},
        {"text": "物业费怎么交", "category": "repair", "urgency": "normal"},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    report = evaluate(path)
    assert report.total == 3
    assert report.category_correct == 2
    assert report.emergency_recall == 1.0 and report.emergency_precision == 1.0
    assert len(report.misses) == 1 and report.misses[0].example.line == 3
    scores = report.category_scores()
    assert scores["repair"].precision == 1.0 and scores["repair"].recall == 0.5
    assert report.false_alarms == 0 and report.false_alarm_share == 0.0


def test_false_alarm_share_at_a_desk_mix() -> None:
    # A set a third emergencies: 30 caught of 30, 7 false alarms among 70 ordinary messages.
    report = Report("x", total=100, emergency_true=30, emergency_labelled=30)
    report.emergency_predicted = 37
    assert report.false_alarm_share == pytest.approx(7 / 37)
    assert report.false_alarm_rate == pytest.approx(0.1)
    # At 4 emergencies in 100: 9.6 false alarms beside 4 true ones.
    assert report.false_share_at(0.04) == pytest.approx(0.096 / (0.096 + 0.04))
    text = format_report(report)
    assert "false alarms" in text and "of alarms at a desk mix of 4%" in text


def test_bad_corpus_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "x", "category": "nope", "urgency": "low"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:1"):
        evaluate(path)
    path.write_text('{"text": "x", "category": "repair", "urgency": "emergency"}\n')
    with pytest.raises(ValueError, match="hazard"):
        evaluate(path)


def test_evaluate_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert evaluate_files([str(HOLDOUT)]) == 0
    out = capsys.readouterr().out
    assert "category accuracy" in out and str(HOLDOUT) in out
    assert evaluate_files([str(tmp_path / "missing.jsonl")]) == 2


def test_suggest_terms_ranks_new_words() -> None:
    corrections = [
        ("小区的喷泉不喷水了", "other", "repair"),
        ("喷泉坏了好几天", "other", "repair"),
        ("楼下的喷泉一直不开", "inquiry", "repair"),
        ("喷泉里有垃圾", "repair", "cleaning"),
        ("谢谢", "other", "other"),
    ]
    result = suggest_terms(corrections)
    assert result["repair"][0][0] == "喷泉"
    assert all(term != "坏了" for term, _ in result["repair"])  # already in the lexicon
    assert "cleaning" not in result  # one text is not enough evidence
    assert suggest_terms([]) == {}


def test_suggest_terms_ignores_bad_rows() -> None:
    rows = [("水管漏", "repair", "nonsense"), (None, "other", "repair")]
    assert suggest_terms(rows) == {}  # type: ignore[arg-type]


def test_cli_eval_takes_several_files(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main as cli_main

    assert cli_main(["eval", str(HOLDOUT), str(FRESH)]) == 0
    out = capsys.readouterr().out
    assert str(HOLDOUT) in out and str(FRESH) in out


# -- issue 15's targets on the last pair written afresh (tests/data/README.md, 24) ------------
# v20 and desk v6 were written by two more authors from the taxonomy and STORIES.md alone and
# evaluated once before round 24 and once after it; spent since (never trained on). These pin
# the figures they gave, the issue's targets, so a later change cannot slip below them unseen.
UNSEEN_V20 = DATA / "corpus_unseen_v20.jsonl"
UNSEEN_DESK_V6 = DATA / "corpus_unseen_desk_v6.jsonl"


@pytest.mark.parametrize("path", [UNSEEN_V20, UNSEEN_DESK_V6], ids=lambda p: p.stem)
def test_issue_15_targets_on_the_last_fresh_pair(path: Path) -> None:
    report = evaluate(path)
    figures = (*_figures(report), round(report.caught_recall, 3))
    assert report.category_accuracy >= 0.92 and report.urgency_accuracy >= 0.88, figures
    assert report.caught_recall >= 0.98 and report.missed <= 1, figures
    if path == UNSEEN_DESK_V6:
        # at a desk's mix: at most one false page in four pages
        assert report.immediate_false_share <= 0.25, figures
    else:
        assert report.immediate_precision >= 0.92, figures


def test_rules_alone_miss_issue_15s_targets_on_the_last_fresh_pair() -> None:
    rules = Classifier(load_lexicon(), models=False)
    v20, desk = evaluate(UNSEEN_V20, rules.classify), evaluate(UNSEEN_DESK_V6, rules.classify)
    assert v20.category_accuracy < 0.92 and v20.caught_recall < 0.98
    assert desk.immediate_false_share > 0.25
