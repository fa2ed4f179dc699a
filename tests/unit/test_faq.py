"""The FAQ file is validated at start (file and entry named), and the matcher answers
only when confident: measured on a labelled set of questions the file does not contain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import Settings
from bot.nlp.faq import FaqError, FaqMatcher, evaluate, load_faq
from tests.support.apps import demo_properties

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "faq.toml"
EXAMPLE_YAML = ROOT / "examples" / "faq.yaml"
LABELLED = ROOT / "tests" / "data" / "faq_questions.jsonl"

GOOD = """
[[entries]]
id = "a"
property = "sunshine"
question = "Q"
answer = "A"
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD + GOOD, "entry 'a': duplicate id"),
        (GOOD.replace('answer = "A"', 'answer = " "'), "entry 'a': empty answer"),
        (GOOD.replace("sunshine", "moon"), "entry 'a': unknown property 'moon'"),
        ("[[entries]]\nquestion = 'Q'\n", "entry #1: no id"),
        ("[[entries]\n", "not valid TOML"),
    ],
)
def test_a_bad_file_names_the_file_and_the_entry(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "faq.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FaqError, match=message) as caught:
        load_faq(path, {"sunshine"})
    assert str(path) in str(caught.value)
    with pytest.raises(ValidationError, match=message):  # stops start-up
        Settings(faq_file=str(path), properties=demo_properties())


GOOD_YAML = """
entries:
  - id: a
    property: sunshine
    question: Q
    answer: A
"""
GOOD_YAML_ENTRY = GOOD_YAML.split("entries:\n", 1)[1]


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD_YAML + GOOD_YAML_ENTRY, "entry 'a': duplicate id"),
        (GOOD_YAML.replace("answer: A", "answer: ' '"), "entry 'a': empty answer"),
        (GOOD_YAML.replace("answer: A", "answer:"), "entry 'a': empty answer"),
        (GOOD_YAML.replace("sunshine", "moon"), "entry 'a': unknown property 'moon'"),
        ("entries:\n  - question: Q\n", "entry #1: no id"),
        (GOOD_YAML + "    keywords: [1, 2]\n", "entry 'a': keywords must be a list of strings"),
        ("entries: [a\n", "not valid YAML"),
        ("- a\n- b\n", "expected a mapping"),
        ("entries: {a: 1}\n", "entries must be a list"),
        # safe_load builds no Python objects: a tag that would run code is refused
        ("entries: !!python/object/apply:os.system ['true']\n", "not valid YAML"),
    ],
)
def test_a_bad_yaml_file_names_the_file_and_the_entry(
    tmp_path: Path, text: str, message: str, suffix: str
) -> None:
    path = tmp_path / f"faq{suffix}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FaqError, match=message) as caught:
        load_faq(path, {"sunshine"})
    assert str(path) in str(caught.value)
    with pytest.raises(ValidationError, match=message):  # stops start-up
        Settings(faq_file=str(path), properties=demo_properties())


def test_a_yaml_file_is_read_as_yaml_and_a_toml_one_as_toml(tmp_path: Path) -> None:
    (tmp_path / "faq.yaml").write_text(GOOD_YAML, encoding="utf-8")
    (tmp_path / "faq.toml").write_text(GOOD_YAML, encoding="utf-8")  # YAML in a .toml file
    [entry] = load_faq(tmp_path / "faq.yaml", {"sunshine"})
    assert (entry.id, entry.property, entry.question, entry.answer) == ("a", "sunshine", "Q", "A")
    with pytest.raises(FaqError, match="not valid TOML"):
        load_faq(tmp_path / "faq.toml", {"sunshine"})


def test_the_yaml_example_holds_the_toml_example_s_entries() -> None:
    assert load_faq(EXAMPLE_YAML) == load_faq(EXAMPLE)
    settings = Settings(faq_file=str(EXAMPLE_YAML), properties=demo_properties())
    assert settings.faq_file == str(EXAMPLE_YAML)


def test_the_example_file_is_valid_in_settings() -> None:
    settings = Settings(faq_file=str(EXAMPLE), properties=demo_properties())
    assert settings.faq_file == str(EXAMPLE)


def test_precision_on_questions_the_file_does_not_contain() -> None:
    entries = load_faq(EXAMPLE)
    rows = [json.loads(line) for line in LABELLED.read_text("utf-8").splitlines() if line]
    known = {e.question for e in entries} | {x for e in entries for x in e.examples}
    assert len(rows) >= 150 and not known & {r["text"] for r in rows}  # paraphrases only
    assert sum(1 for r in rows if r["id"] is None) >= 30  # and questions it cannot answer
    figures = evaluate(FaqMatcher(entries), rows)
    assert figures["precision"] >= 0.9
    assert figures["answered_share"] >= 0.75
    assert figures["unanswerable_answered"] <= 0.05


def test_only_the_property_s_own_entries_answer(tmp_path: Path) -> None:
    path = tmp_path / "faq.toml"
    text = EXAMPLE.read_text(encoding="utf-8").replace('property = "*"', 'property = "sunshine"')
    path.write_text(text, encoding="utf-8")
    matcher = FaqMatcher(load_faq(path))
    assert matcher.match("游泳池几点开门", "sunshine") is not None
    assert matcher.match("游泳池几点开门", "other") is None
