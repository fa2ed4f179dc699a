"""Lexicon files: validation errors, company extensions, environment variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.nlp import Classifier, LexiconError, load_lexicon
from bot.nlp.lexicon import BUILTIN_PATH, ENV_VAR


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "company.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_builtin_lexicon_is_valid() -> None:
    lexicon = load_lexicon()
    assert lexicon.rules and lexicon.cues["negation"]
    assert str(BUILTIN_PATH) in lexicon.sources


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("this is = not toml [", "invalid TOML"),
        ('[[rule]]\ncategory = "plumbing"\nterms = ["x"]', "'plumbing' is not one of"),
        ('[[rule]]\ncategory = "repair"\nurgency = "emergency"\nterms = ["x"]', "hazard"),
        ('[[rule]]\ncategory = "repair"\nurgency = "soon"\nterms = ["x"]', "urgency"),
        ('[[rule]]\ncategory = "repair"\nhazard = "gas"\nterms = ["x"]', "only emergency"),
        ('[[rule]]\ncategory = "repair"\nterms = []', "non-empty list"),
        ('[[rule]]\ncategory = "repair"\nterms = [""]', "non-empty strings"),
        ('[[rule]]\ncategory = "repair"\nterms = [3]', "non-empty strings"),
        ('[[rule]]\ncategory = "repair"\nweight = -1\nterms = ["x"]', "weight"),
        ('[[rule]]\ncategory = "repair"\nweight = "big"\nterms = ["x"]', "weight"),
        ('[[rule]]\ncategory = "repair"\nterms = ["x"]\nall = [["a"], ["b"]]', "exactly one"),
        ('[[rule]]\ncategory = "repair"', "exactly one"),
        ('[[rule]]\ncategory = "repair"\nall = [["a"]]', "at least two"),
        ('[[rule]]\ncategory = "repair"\nterms = ["x"]\ncolour = "red"', "unknown keys"),
        ('[[rule]]\ncategory = "repair"\nterms = ["x"]\nwindow = 0', "window"),
        ('[[rule]]\ncategory = "repair"\nterms = ["x"]\nunless = []', "unless"),
        ('[[rule]]\ncategory = "repair"\nterms = ["x"]\nunless_window = 0', "unless_window"),
        ('[cues]\nmaybe = ["也许"]', "unknown cue kind"),
        ('[cues]\nnegation = "不"', "non-empty list"),
        ("version = 2", "unsupported version"),
        ("surprise = 1", "unknown keys"),
    ],
)
def test_invalid_files_name_the_problem(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(LexiconError) as info:
        load_lexicon(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match="cannot read"):
        load_lexicon(tmp_path / "nope.toml")


def test_error_names_the_rule(tmp_path: Path) -> None:
    body = '[[rule]]\ncategory = "repair"\nterms = ["a"]\n\n[[rule]]\ncategory = "x"\nterms = ["b"]'
    with pytest.raises(LexiconError, match=r"\[\[rule\]\] #2"):
        load_lexicon(write(tmp_path, body))


COMPANY = """
[cues]
negation = ["冇"]

[[rule]]
category = "cleaning"
weight = 4
terms = ["沙井", "化粪池"]

[[rule]]
category = "repair"
weight = 4
urgency = "emergency"
hazard = "water"
terms = ["水浸"]

[[rule]]
category = "repair"
weight = 0
terms = ["泳池"]
"""


def test_company_terms_merge_over_builtin(tmp_path: Path) -> None:
    lexicon = load_lexicon(write(tmp_path, COMPANY))
    classifier = Classifier(lexicon)
    assert classifier.classify("门口沙井好臭").category == "cleaning"
    flooded = classifier.classify("地下室水浸了")
    assert (flooded.urgency, flooded.hazard) == ("emergency", "water")
    assert classifier.classify("冇水浸了").urgency != "emergency"
    # built-in knowledge is still there
    assert classifier.classify("电梯困人了").hazard == "lift"
    # Written Cantonese is normalised to Standard Chinese, so the company's 冇 is stored as 没.
    assert "没" in lexicon.cues["negation"] and "不" in lexicon.cues["negation"]
    assert "冇" not in lexicon.cues["negation"]


def test_traditional_and_upper_case_terms_are_normalised(tmp_path: Path) -> None:
    body = '[[rule]]\ncategory = "parking"\nweight = 4\nterms = ["機械車位", "CARPORT"]'
    classifier = Classifier(load_lexicon(write(tmp_path, body)))
    assert classifier.classify("机械车位卡住了").category == "parking"
    assert classifier.classify("the carport roof").category == "parking"


def test_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, COMPANY)
    monkeypatch.setenv(ENV_VAR, str(path))
    assert str(path) in load_lexicon().sources
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing.toml"))
    with pytest.raises(LexiconError):
        load_lexicon()


def test_explicit_path_wins_over_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing.toml"))
    path = write(tmp_path, COMPANY)
    assert str(path) in load_lexicon(path).sources


def test_unless_words_cancel_a_rule(tmp_path: Path) -> None:
    body = (
        '[[rule]]\ncategory = "repair"\nweight = 4\nurgency = "emergency"\nhazard = "water"\n'
        'terms = ["水浸"]\nunless = ["鱼缸"]\nunless_window = 2'
    )
    classifier = Classifier(load_lexicon(write(tmp_path, body)))
    assert classifier.classify("地下室水浸了").hazard == "water"  # 水浸了 matches 水浸
    assert classifier.classify("鱼缸水浸").urgency != "emergency"
    assert classifier.classify("鱼缸在客厅 今天早上 地下室水浸").hazard == "water"  # too far
