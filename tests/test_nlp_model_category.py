"""Round 23: the category model decides a message that is no emergency where it is sure
(``MODEL_CATEGORY``), over rule words that mislead: a hazard word in chatter, a question mark
on a request or an idea. Messages written for these tests (not from the corpus)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.nlp import Classifier, load_lexicon
from bot.nlp import classifier as module


@pytest.fixture(scope="module")
def both() -> tuple[Classifier, Classifier]:
    lexicon = load_lexicon()
    return Classifier(lexicon), Classifier(lexicon, models=False)


@pytest.mark.parametrize(
    ("text", "category", "urgency"),
    [
        ("今天股市崩了 心态爆炸", "other", "low"),  # a hazard word as a figure of speech
        ("周末一起去吃火锅吗 老地方", "other", "low"),  # a question to a friend, misdirected
        ("停电那天物业费能少收点吗 帮我算一下账单", "billing", "low"),  # a fee question
        ("能不能在每栋楼门口放个灭火器 上次着火找不到", "suggestion", "low"),  # an idea
    ],
)
def test_the_model_settles_the_category(
    both: tuple[Classifier, Classifier], text: str, category: str, urgency: str
) -> None:
    learned, rules = both
    result = learned.classify(text)
    assert (result.category, result.urgency) == (category, urgency), result
    assert rules.classify(text).category != category  # the rules alone file it elsewhere


def test_without_a_sure_model_the_rules_keep_their_category(
    both: tuple[Classifier, Classifier], monkeypatch: pytest.MonkeyPatch
) -> None:
    learned, rules = both
    text = "停电那天物业费能少收点吗 帮我算一下账单"
    monkeypatch.setattr(module, "MODEL_CATEGORY", 1.01)
    monkeypatch.setattr(module, "MODEL_OTHER", 1.01)
    assert learned.classify(text).category == "inquiry" == rules.classify(text).category


def test_a_question_what_to_do_if_stays_an_inquiry(both: tuple[Classifier, Classifier]) -> None:
    learned, _ = both
    result = learned.classify("万一着火了怎么办")
    assert (result.category, result.urgency) == ("inquiry", "low")


def test_an_alarm_keeps_its_team(both: tuple[Classifier, Classifier]) -> None:
    learned, _ = both
    result = learned.classify("楼道里煤气味很浓 快来人")
    assert (result.category, result.urgency, result.hazard) == ("repair", "emergency", "gas")


def test_a_complaint_needs_a_surer_model(
    both: tuple[Classifier, Classifier], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Explicit dissatisfaction makes a complaint (the taxonomy): the model moves one only at
    ``COMPLAINT_KEEP``."""
    learned, _ = both
    text = "前台踢皮球 让我找工程部 工程部又让我找前台"
    assert learned.classify(text).category == "complaint"
    monkeypatch.setattr(module, "COMPLAINT_KEEP", 0.0)
    assert learned.classify(text).category != "complaint"


@pytest.mark.parametrize(
    "text",
    [
        "我爸在楼下突然说不出话 半边身子没劲",
        "奶奶突然口齿不清 右手抬不起来",
        "老人嘴歪了 口角歪斜",
        "my dad suddenly can't speak and his face is drooping on one side",
    ],
)
def test_signs_of_a_stroke_are_an_emergency(both: tuple[Classifier, Classifier], text: str) -> None:
    for classifier in both:
        result = classifier.classify(text)
        assert (result.urgency, result.hazard) == ("emergency", "medical"), result


@pytest.mark.parametrize("text", ["气得我说不出话", "淋雨淋得半边身子都湿了", "脚发麻 坐久了"])
def test_one_sign_told_as_a_figure_of_speech_is_not(
    both: tuple[Classifier, Classifier], text: str
) -> None:
    assert all(c.classify(text).urgency != "emergency" for c in both)


def test_a_companys_own_word_is_never_overruled(tmp_path: Path) -> None:
    extra = tmp_path / "company.toml"
    extra.write_text('[[rule]]\ncategory = "parking"\nweight = 4\nterms = ["CARPORT"]\n')
    lexicon = load_lexicon(extra)
    assert [r.own for r in lexicon.rules if "carport" in r.groups[0]] == [True]
    assert not any(r.own for r in load_lexicon().rules)
    assert Classifier(lexicon).classify("the carport roof").category == "parking"
