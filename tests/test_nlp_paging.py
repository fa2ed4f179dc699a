"""Sure and unsure emergencies (issue 15): which alarms page at once and which ask the resident
one question first, and the paging view `propdesk eval` reports beside the classifier's figures."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from bot.nlp import Classification, Classifier, classify, load_lexicon
from bot.nlp.evaluate import Report, evaluate, format_report
from bot.nlp.learned import load_models


@pytest.fixture(scope="module")
def always_alarmed() -> Classifier:
    """The shipped models with the alarm threshold at zero: the model alone raises an alarm
    on every message the rules leave calm."""
    models = load_models()
    assert models is not None
    return Classifier(load_lexicon(), models=dataclasses.replace(models, threshold=0.0))


def test_ordinary_results_are_sure_and_carry_no_calm_urgency() -> None:
    result = classify("楼道灯坏了")
    assert result.urgency != "emergency"
    assert result.sure and result.calm_urgency is None


@pytest.mark.parametrize(
    "text",
    ["厨房着火了 好大的烟", "电梯困人了 快来", "救命 有人被捆在电梯里", "煤气泄漏了 好大的味道"],
)
def test_a_clear_rule_emergency_is_sure(text: str) -> None:
    result = classify(text)
    assert result.urgency == "emergency", result.matched
    assert result.sure, result.matched
    assert result.calm_urgency is None


def test_an_alarm_of_the_model_alone_is_unsure(always_alarmed: Classifier) -> None:
    result = always_alarmed.classify("楼道灯坏了 晚上很黑")
    assert (result.category, result.urgency) == ("repair", "emergency")
    assert not result.sure
    # "No danger" leaves what the rules said of it: an ordinary repair.
    assert result.calm_urgency == "normal"


def test_an_unsure_alarm_keeps_a_high_calm_urgency(always_alarmed: Classifier) -> None:
    # The rules say "a whole flat without power" is high; the model alone would page.
    rules = Classifier(load_lexicon(), models=False).classify("全屋停电了 什么都用不了")
    assert rules.urgency == "high"
    result = always_alarmed.classify("全屋停电了 什么都用不了")
    if result.urgency == "emergency":  # a confident model overrules a rule's high
        assert not result.sure and result.calm_urgency == "high"
    else:
        assert result.sure and result.urgency == "high"


def test_a_rule_emergency_on_the_model_is_still_sure(always_alarmed: Classifier) -> None:
    result = always_alarmed.classify("厨房着火了 好大的烟")
    assert result.urgency == "emergency" and result.sure


@pytest.mark.parametrize(
    ("text", "typo"),
    [
        ("燃气灶一个火眼打不着", "火眼≈火焰"),  # a burner that will not light
        ("访客车位常年被同一辆车占着", "被同≈被捅"),  # a parking space always taken
    ],
)
def test_a_homophone_alone_is_unsure(text: str, typo: str) -> None:
    result = classify(text)
    if result.urgency != "emergency":
        return  # the rules no longer read it as an alarm at all: better still
    assert typo in result.matched
    assert not result.sure
    assert result.calm_urgency in ("low", "normal", "high")


def test_a_homophone_beside_a_cry_for_help_is_sure() -> None:
    result = classify("救命 有人被捆在电梯里 快来")
    assert result.urgency == "emergency" and result.sure


# the paging view ---------------------------------------------------------------------------
def _alarm(sure: bool, calm: str | None = None) -> Classification:
    return Classification("repair", "emergency", "lift", 0.9, (), sure=sure, calm_urgency=calm)


def _calm(urgency: str) -> Classification:
    return Classification("repair", urgency, None, 0.9, ())


def test_paging_view_counts_each_path(tmp_path: Path) -> None:
    rows = [
        ("e1", "emergency", _alarm(True)),  # paged at once
        ("e2", "emergency", _alarm(False, "normal")),  # asked, caught by "yes" or silence
        ("e3", "emergency", _calm("high")),  # missed
        ("o1", "normal", _alarm(True)),  # a false immediate page
        ("o2", "high", _alarm(False, "high")),  # asked; "no" leaves a correct high
        ("o3", "normal", _alarm(False, "low")),  # asked; "no" leaves a wrong low
        ("o4", "normal", _calm("normal")),
        ("o5", "low", _calm("low")),
    ]
    path = tmp_path / "mix.jsonl"
    lines = []
    for text, urgency, _ in rows:
        row = {"text": text, "category": "repair", "urgency": urgency}
        if urgency == "emergency":
            row["hazard"] = "lift"
        lines.append(json.dumps(row))
    path.write_text("\n".join(lines), encoding="utf-8")
    answers = {text: result for text, _, result in rows}
    report = evaluate(path, lambda text: answers[text])
    # the classifier's figures are unchanged: every alarm counts
    assert (report.emergency_true, report.emergency_predicted) == (2, 5)
    assert report.emergency_recall == pytest.approx(2 / 3)
    # the paging view
    assert (report.paged_true, report.asked_true, report.missed) == (1, 1, 1)
    assert (report.paged_false, report.asked_false) == (1, 2)
    assert report.immediate_precision == pytest.approx(0.5)
    assert report.immediate_false_share == pytest.approx(0.5)
    assert report.question_rate == pytest.approx(2 / 5)
    assert report.caught_recall == pytest.approx(2 / 3)
    # once answered truly: e1, e2 (emergency), o2 (high), o4, o5 right; e3, o1, o3 wrong
    assert report.answered_urgency_accuracy == pytest.approx(5 / 8)
    assert report.urgency_accuracy == pytest.approx(4 / 8)  # e1, e2, o4, o5
    text = format_report(report)
    for needle in ("paged at once 1", "asked first 1", "missed 1", "asked 2 of 5"):
        assert needle in text, text


def test_immediate_false_share_at_a_desk_mix() -> None:
    # 30 emergencies: 20 paged at once, 10 asked; 70 ordinary: 2 paged at once, 5 asked.
    report = Report("x", total=100, emergency_labelled=30)
    report.paged_true, report.asked_true = 20, 10
    report.paged_false, report.asked_false = 2, 5
    false = 2 / 70 * 0.96
    true = 20 / 30 * 0.04
    assert report.immediate_false_share_at(0.04) == pytest.approx(false / (false + true))
    assert report.caught_recall == 1.0
    assert report.question_rate == pytest.approx(5 / 70)
    assert "at a desk mix of 4%" in format_report(report)


def test_a_result_without_the_field_counts_as_sure(tmp_path: Path) -> None:
    """A classifier from before the field (or a stub) pages at once, as it always did."""

    @dataclasses.dataclass
    class Old:
        category: str = "repair"
        urgency: str = "emergency"
        hazard: str | None = "lift"

    path = tmp_path / "one.jsonl"
    row = {"text": "x", "category": "repair", "urgency": "emergency", "hazard": "lift"}
    path.write_text(json.dumps(row), encoding="utf-8")
    report = evaluate(path, lambda _: Old())
    assert (report.paged_true, report.asked_true, report.missed) == (1, 0, 0)


# round 21: a rule's alarm is sure only with a sign of live danger ----------------------------
@pytest.fixture(scope="module")
def rules_alone() -> Classifier:
    return Classifier(load_lexicon(), models=False)


@pytest.mark.parametrize(
    "text",
    [
        "这个折扣太炸了 简直爆炸",  # a bargain, not an explosion
        "救命 这道题太难了",  # a cry with no hazard beside it
    ],
)
def test_chatter_the_model_reads_as_other_raises_nothing(
    text: str, rules_alone: Classifier
) -> None:
    # Round 23: no backing, no live sign, and the category model reads "other" (CHATTER_ALARM):
    # chatter, not asked about. Without the model the rules still page at once.
    result = classify(text)
    assert result.urgency != "emergency" and result.category == "other", result
    assert rules_alone.classify(text).urgency == "emergency"


@pytest.mark.parametrize(
    "text",
    [
        "火灾都过去一个月了 墙还是黑的 管不管",  # a fire over long ago, a complaint now
    ],
)
def test_a_bare_hazard_word_the_model_does_not_back_is_asked(
    text: str, rules_alone: Classifier
) -> None:
    result = classify(text)
    assert result.urgency == "emergency", result.matched  # still caught if "yes" or silence
    assert not result.sure
    assert result.calm_urgency in ("low", "normal", "high")
    # Without the model the rules cannot tell, and the fallback keeps paging at once.
    assert rules_alone.classify(text).sure


@pytest.mark.parametrize(
    "text",
    [
        "厨房着火了 好大的烟",
        "楼下着火了 快来人 好大的烟",
        "电梯困人了",
        "煤气味很重",
        "the kitchen is on fire, help",
        "someone collapsed and is not breathing",
    ],
)
def test_a_clear_emergency_stays_sure(text: str) -> None:
    result = classify(text)
    assert result.urgency == "emergency" and result.sure, result.matched


@pytest.fixture(scope="module")
def never_alarmed() -> Classifier:
    """The shipped models with the alarm threshold above one: the model backs no alarm, so
    only the words' live signs can make a rule's alarm sure."""
    models = load_models()
    assert models is not None
    return Classifier(load_lexicon(), models=dataclasses.replace(models, threshold=1.1))


@pytest.mark.parametrize(
    "text",
    [
        "昨天晚上电梯困人了 现在还困着",  # still trapped
        "电梯困人了 我们还在里面",
        "楼道的烟越来越大",  # a hazard growing
        "有人晕倒了 没有呼吸",  # a life in danger now
        "煤气泄漏了 厨房着火了 快",  # an intensifier beside two alarm rules
    ],
)
def test_a_live_sign_makes_a_rule_alarm_sure_without_the_model(
    text: str, never_alarmed: Classifier
) -> None:
    result = never_alarmed.classify(text)
    assert result.urgency == "emergency" and result.sure, result.matched


@pytest.mark.parametrize(
    "text",
    [
        "厨房着火了",  # a bare hazard word: the model must back it
        "煤气泄漏了 厨房着火了 是吗",  # two rules and no intensifier, in a question
        "我被这道数学题困住了 救命",  # the cry is no second rule
    ],
)
def test_no_live_sign_and_no_model_means_asked(text: str, never_alarmed: Classifier) -> None:
    result = never_alarmed.classify(text)
    if result.urgency == "emergency":
        assert not result.sure, result.matched


# Round 21 (tests/data/README.md, 21): per development set, rules + learned, the emergencies
# caught (paged at once or asked: silence pages), at most this many ordinary messages paged at
# once, and at most this many emergencies asked rather than paged. Measured after round 21.
# The last figure: at most this many ordinary messages the rules alone page (their context cues,
# the same with or without the model). Round 23 retrained the model with v17-v19 and desk v3-v5
# (so their figures flatter it) and pinned v18, v19, desk v4 and desk v5; its model catches
# one more v13 emergency, asked first (10 -> 11 asked), and pages none of those sets' false alarms.
# With the training sets of round 23 the model backs one v16 line it did not before, so it pages
# at once (someone burning leaves beside the bin room, the smoke drifting into a flat: filed as
# cleaning by its author; a fire by the model), 0 -> 1.
PAGING = {
    "corpus_unseen_v11.jsonl": (114, 0, 17, 1),
    "corpus_unseen_v12.jsonl": (103, 0, 10, 2),
    "corpus_unseen_v13.jsonl": (111, 0, 11, 0),
    "corpus_unseen_v14.jsonl": (104, 1, 5, 2),
    "corpus_unseen_v15.jsonl": (128, 0, 13, 8),
    "corpus_unseen_v16.jsonl": (128, 1, 6, 21),
    "corpus_unseen_v17.jsonl": (129, 2, 13, 15),
    "corpus_unseen_v18.jsonl": (129, 0, 10, 17),
    "corpus_unseen_v19.jsonl": (128, 0, 4, 22),
    "corpus_unseen_desk_v1.jsonl": (26, 1, 1, 6),
    "corpus_unseen_desk_v2.jsonl": (22, 0, 0, 16),
    "corpus_unseen_desk_v3.jsonl": (25, 1, 1, 6),
    "corpus_unseen_desk_v4.jsonl": (25, 0, 1, 11),
    "corpus_unseen_desk_v5.jsonl": (25, 0, 0, 13),
}


@pytest.mark.parametrize("name", sorted(PAGING))
def test_round_21_paging_holds(name: str, rules_alone: Classifier) -> None:
    caught, paged_false, asked_true, rules_false = PAGING[name]
    path = Path(__file__).parents[1] / "bot" / "nlp" / "corpus" / name
    report = evaluate(path)
    figures = (report.paged_true, report.paged_false, report.asked_true, report.asked_false)
    assert report.paged_true + report.asked_true >= caught, figures
    assert report.paged_false <= paged_false, figures
    assert report.asked_true <= asked_true, figures
    assert evaluate(path, rules_alone.classify).paged_false <= rules_false


@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        ("建议每个单元放个灭火器 着火的时候能用", None),  # a suggestion
        ("进户门锁芯转不动了 人在外面进不去", None),  # a lock, not a collapse
        ("保洁阿姨把拖把水倒在花坛里", None),  # pouring, not falling
        ("烟感一直嘀嘀叫 家里没有烟 是不是没电了", None),  # a battery a clause later
        ("燃气报警器一直响 燃气公司来测了说没漏气", None),  # tested: the detector is at fault
        ("燃气报警器一直在响", "emergency"),  # a detector going off untested
        ("有人倒在地上 钥匙掉在旁边", "emergency"),  # still a collapse
        ("有人倒在水泥地上不动了", "emergency"),
        ("老人倒在门口 叫不醒", "emergency"),
        # round 22: feared, the combination's last word is hypothetical
        ("楼上阳台栏杆外面挂着好几个花盆 风大怕掉下来", None),
        ("刚才看新闻 外地有个小区电梯掉下去了 好吓人", None),  # seen on the news
        ("阳台的花盆掉下来了 砸到人了", "emergency"),  # the fall itself
        ("电梯掉下去了 我妈在里面", "emergency"),
    ],
)
def test_context_cues_of_rounds_21_and_22(
    text: str, urgency: str | None, rules_alone: Classifier
) -> None:
    # The rules' own context cues: no alarm at all, with or without the model.
    for result in (rules_alone.classify(text), classify(text)):
        if urgency is None:
            assert result.urgency != "emergency", result.matched
        else:
            assert result.urgency == urgency and result.sure, result.matched
