"""Round 23: the category model decides a message that is no emergency where it is sure
(``MODEL_CATEGORY``), over rule words that mislead: a hazard word in chatter, a question mark
on a request or an idea. Messages written for these tests (not from the corpus)."""

from __future__ import annotations

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
    assert result.confidence >= module.MODEL_CATEGORY
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
