"""The learned layer of the classifier (bot.nlp.learned, bot.nlp.train)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from bot.cli import main as cli_main
from bot.nlp import HAZARDS, Classifier, classify, load_lexicon
from bot.nlp.classifier import OVERRULE_HIGH
from bot.nlp.evaluate import CORPUS_DIR, load_examples
from bot.nlp.learned import (
    MODEL_ENV,
    MODEL_PATH,
    LinearModel,
    ModelError,
    Models,
    features,
    load_models,
)
from bot.nlp.normalize import normalize
from bot.nlp.train import HELD_OUT, TRAINING_FILES, train


@pytest.fixture(scope="module")
def rules_only() -> Classifier:
    return Classifier(load_lexicon(), models=False)


@pytest.fixture(scope="module")
def always_alarmed() -> Classifier:
    """The shipped models with the alarm threshold at zero: the model wants an alarm on
    every message, so only the rules' context can keep one calm."""
    models = load_models()
    assert models is not None
    return Classifier(load_lexicon(), models=dataclasses.replace(models, threshold=0.0))


def test_features_are_ngrams_and_words() -> None:
    found = features(normalize("電梯 stuck 了!! Help me, the lift is not moving"))
    assert {"c:电", "c:电梯", "c:了"} <= set(found)
    assert {"w:stuck", "w:help", "w:lift_not", "w:not_moving"} <= set(found)
    # function words are left out, so they neither count nor join pairs ("no"/"not" stay)
    assert not {"w:me", "w:the", "w:is", "w:the_lift", "w:help_me"} & set(found)
    assert not any(" " in name or "!" in name for name in found)  # no n-gram spans a break
    assert features("") == {}


def test_linear_model_scores_and_explains() -> None:
    model = LinearModel(
        classes=("no", "yes"),
        bias=(-1.0,),
        weights={"c:着伙": (2.0,), "c:伙了": (1.5,), "c:快": (0.1,), "w:7": (3.0,)},
    )
    norm = "着伙了 7栋 快"
    feats = features(norm)
    p = model.probabilities(feats)["yes"]
    assert p == pytest.approx(1 / (1 + pow(2.718281828459045, -(-1.0 + 2.0 + 1.5 + 0.1 + 3.0))))
    # Overlapping n-grams merge into one stretch of the text; bare numbers are no reason.
    assert model.reasons(feats, "yes", norm) == ("着伙了",)
    assert model.probabilities({})["yes"] == pytest.approx(1 / (1 + pow(2.718281828459045, 1)))


def test_model_file_with_mismatched_rows_is_rejected(tmp_path: Path) -> None:
    bad = {"classes": ["a", "b", "c"], "bias": [0, 0, 0], "weights": {"c:x": [1, 2]}}
    with pytest.raises(ValueError):
        LinearModel.from_dict(bad)
    with pytest.raises(ModelError):  # a named file must exist; only the shipped one may not
        load_models(tmp_path / "absent.json")


def test_a_model_the_scorer_cannot_use_is_refused(tmp_path: Path) -> None:
    # scikit-learn stores a two-class model as one column: a category model trained on two
    # categories would load and then fail on every message, so it is refused at start.
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    data["category"] = {"classes": ["other", "repair"], "bias": [0.1], "weights": {"c:电": [1.0]}}
    path = tmp_path / "two.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelError):
        load_models(path)


def test_only_english_features_still_score(tmp_path: Path) -> None:
    # A model with no Chinese n-gram of two characters has no automaton to search.
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    for part in ("emergency", "hazard", "category"):
        weights = data[part]["weights"]
        data[part]["weights"] = {k: v for k, v in weights.items() if k.startswith("w:")}
    path = tmp_path / "english.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    models = load_models(path)
    assert models is not None
    assert 0 < models.score(normalize("煤气味 gas smell")).p_emergency < 1


def test_a_failing_model_leaves_the_rules_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    clf = Classifier(load_lexicon())
    assert clf.models is not None

    def broken(self: Models, norm: str) -> list[int]:
        raise RuntimeError("model bug")

    monkeypatch.setattr(Models, "row_ids", broken)
    result = clf.classify("楼道里好大一股煤气味")
    assert (result.urgency, result.hazard) == ("emergency", "gas")


@pytest.mark.parametrize("text", ["车棚那边着伙了 怎么办", "车棚那边着伙了 你们能来吗?"])
def test_an_alarm_raised_by_the_model_is_no_inquiry(rules_only: Classifier, text: str) -> None:
    assert rules_only.classify(text).urgency != "emergency"
    result = classify(text)
    assert result.urgency == "emergency"
    assert result.category not in ("inquiry", "suggestion", "other")


def test_learned_layer_catches_what_the_rules_miss(rules_only: Classifier) -> None:
    text = "车棚那边着伙了 快来"  # a homophone typo of 着火 the rules do not know
    assert rules_only.classify(text).urgency != "emergency"
    result = classify(text)
    assert (result.urgency, result.hazard) == ("emergency", "fire")
    assert any("着伙" in word for word in result.matched)  # the evidence is shown


def test_rules_alone_when_models_are_off(rules_only: Classifier) -> None:
    assert rules_only.models is None
    assert rules_only.classify("你好") == classify("你好")


@pytest.mark.parametrize(
    "text",
    [
        "煤气味已经没有了 燃气公司来看过了",  # finished
        "万一电梯里困了人怎么办",  # hypothetical
        "昨天晚上楼道冒烟的事处理了吗",  # a question about a past event
        "现在已经闻不到煤气味了",  # the rule's alarm word is negated
    ],
)
def test_rules_context_keeps_the_model_calm(always_alarmed: Classifier, text: str) -> None:
    assert always_alarmed.classify(text).urgency != "emergency"


@pytest.mark.parametrize(
    "text", ["这个月电费怎么多扣了两百 家里就老人一个人住", "物业费多收了一个月 我要退"]
)
def test_a_billing_matter_is_no_learned_alarm(always_alarmed: Classifier, text: str) -> None:
    # Round 20: the model, at threshold 0, wants an alarm; a fee the rules file with billing
    # is never an emergency (as a mess filed with cleaning).
    result = always_alarmed.classify(text)
    assert (result.category, result.urgency) == ("billing", "normal")


def test_a_live_high_rule_needs_a_confident_model(always_alarmed: Classifier) -> None:
    # "the whole flat is dark" is high by TAXONOMY; a model that is only somewhat sure of an
    # emergency does not overrule it, a sure one would (threshold 0 is not sure of anything).
    models = always_alarmed.models
    assert models is not None
    text = "家里突然没电了 全屋都黑了"
    assert models.emergency.probabilities(features(normalize(text)))["yes"] < OVERRULE_HIGH
    assert always_alarmed.classify(text).urgency == "high"


def test_shipped_model_was_trained_on_the_training_sets() -> None:
    # A corpus change without `propdesk lexicon train` leaves a stale model: this catches it.
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert data["trained_on"] == list(TRAINING_FILES)
    assert data["lines"] == sum(len(load_examples(CORPUS_DIR / n)) for n in TRAINING_FILES)
    assert not set(data["trained_on"]) & set(HELD_OUT)
    assert 0.05 < data["threshold"] < 0.95


def test_train_writes_a_model_the_classifier_loads(tmp_path: Path) -> None:
    out = tmp_path / "model.json"
    summary = train([CORPUS_DIR / "corpus_tune.jsonl"], out)
    assert summary["lines"] == len(load_examples(CORPUS_DIR / "corpus_tune.jsonl"))
    models = load_models(out)
    assert models is not None
    assert set(models.hazard.classes) == set(HAZARDS)
    clf = Classifier(load_lexicon(), models=models)
    assert clf.classify("厨房煤气味很重").urgency == "emergency"


def test_cli_train(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.json"
    args = ["lexicon", "train", str(CORPUS_DIR / "corpus_fresh.jsonl"), "--out", str(out)]
    assert cli_main(args) == 0
    assert "threshold" in capsys.readouterr().out
    assert load_models(out) is not None
    assert cli_main(["lexicon", "train", str(tmp_path / "missing.jsonl"), "--out", str(out)]) == 2


def test_fast_scoring_equals_the_reference_models() -> None:
    # Models.score (automaton + matrix) must give what the plain LinearModels give on the
    # same features, or the figures measured in training would not hold.
    models = load_models()
    assert models is not None
    texts = [e.text for path in sorted(CORPUS_DIR.glob("*.jsonl")) for e in load_examples(path)]
    for text in [*texts, "", "lift 坏了 help!!", "🔥🔥🔥"]:
        norm = normalize(text)
        p_emergency, probabilities, top = models.score(norm)
        feats = features(norm)
        assert p_emergency == pytest.approx(models.emergency.probabilities(feats)["yes"])
        reference = models.category.probabilities(feats)
        assert probabilities == pytest.approx([reference[c] for c in models.category.classes])
        assert top == max(reference, key=reference.__getitem__)
        ids = models.row_ids(norm)
        urgency = models.urgency_scores(models.sums(ids))
        assert models.urgency is not None and urgency is not None
        assert urgency == pytest.approx(models.urgency.probabilities(feats))


def test_a_company_model_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A property company exports its staff corrections, trains with them on top of the
    # shipped sets and points $PROPDESK_MODEL at the result.
    extra = tmp_path / "corrections.jsonl"
    extra.write_text(
        '{"text": "车库卷帘门的遥控又失灵了", "category": "parking", "urgency": "normal"}\n',
        encoding="utf-8",
    )
    out = tmp_path / "company.json"
    assert cli_main(["lexicon", "train", "--add", str(extra), "--out", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["trained_on"][-1] == "corrections.jsonl"
    assert data["lines"] == 1 + sum(len(load_examples(CORPUS_DIR / n)) for n in TRAINING_FILES)
    capsys.readouterr()
    monkeypatch.setenv(MODEL_ENV, str(out))
    models = load_models()
    assert models is not None and models.threshold == data["threshold"]
    monkeypatch.setenv(MODEL_ENV, str(tmp_path / "missing.json"))
    with pytest.raises(ModelError):
        load_models()
    with pytest.raises(ModelError):  # so warm_up() stops the start
        Classifier(load_lexicon())


@pytest.mark.parametrize(
    ("text", "rules", "learned"),
    [
        # Round 20: high / normal / low from the urgency model where the rules cannot tell.
        ("大堂的墙纸有点褪色了", "normal", "low"),  # cosmetic
        ("装修押金什么时候能退 验收都过了两个月了", "low", "normal"),  # money owed
    ],
)
def test_the_urgency_model_decides_high_normal_low(
    rules_only: Classifier, text: str, rules: str, learned: str
) -> None:
    assert rules_only.classify(text).urgency == rules
    assert classify(text).urgency == learned


def test_the_urgency_model_never_turns_a_rules_high_into_low() -> None:
    # "the smoke has stopped, but the whole home is without power": the model reads the
    # finished smoke and says low; the rules' high stands.
    text = "刚才冒烟的那个电表箱已经不冒了 但是现在全家停电"
    models = load_models()
    assert models is not None
    urgency = models.urgency_scores(models.sums(models.row_ids(normalize(text))))
    assert urgency is not None and max(urgency, key=urgency.__getitem__) == "low"
    assert classify(text).urgency == "high"


def test_a_model_file_without_urgency_leaves_urgency_to_the_rules(
    tmp_path: Path, rules_only: Classifier
) -> None:
    # Company model files trained before round 20 have no urgency model.
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    del data["urgency"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    models = load_models(path)
    assert models is not None and models.urgency is None
    text = "大堂的墙纸有点褪色了"
    assert Classifier(load_lexicon(), models=models).classify(text).urgency == "normal"
    assert rules_only.classify(text).urgency == "normal"
