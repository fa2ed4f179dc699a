"""The declared flow tables and button codecs: complete, reachable, and safe to rename."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest

from bot.handlers import buttons, flows
from bot.handlers.flow import CALLBACK_LIMIT, Flow, FlowStep
from bot.i18n import LOCALES
from bot.services.ratings import REASONS

ROOT = Path(__file__).resolve().parents[2]

# Every (flow, step) a released version may have stored in `dialogs`. A step renamed or
# removed must stay resolvable (`Flow.moved`), or people in the middle of it are stranded.
# New steps are added here when they ship.
RELEASED_STEPS: frozenset[tuple[str, str]] = frozenset(
    {
        ("reg", "property"),
        ("reg", "name"),
        ("reg", "phone"),
        ("reg", "phone_confirm"),
        ("reg", "building"),
        ("reg", "unit"),
        ("reg", "room"),
        ("reg", "address"),
        ("report", "describe"),
        ("report", "confirm"),
        ("report", "category"),
        ("report", "photos"),
        ("addinfo", ""),
        ("addinfo", "adding"),
        ("reopen", "reason"),
        ("feedback", "comment"),
        ("feedback_done", ""),
        ("feedback_done", "offered"),
        ("staff", "complete"),
        ("staff", "reassign"),
        ("staff", "note"),
        ("staff", "eta"),
        ("visit", "outcome"),
        ("forget", "confirm"),
        ("desk", "channel"),
        ("desk", "phone"),
        ("desk", "match"),
        ("desk", "name"),
        ("desk", "building"),
        ("desk", "unit"),
        ("desk", "room"),
        ("desk", "describe"),
        ("desk", "confirm"),
        ("report", "faq"),
        ("visitor", "name"),
        ("visitor", "people"),
        ("visitor", "plate"),
        ("visitor", "window"),
        ("notice", "audience"),
        ("notice", "unit"),
        ("notice", "text"),
        ("notice", "preview"),
        ("notice", "when"),
        ("faqdraft", "answer"),
        ("faqdraft", "question"),
        ("faqdraft", "keywords"),
        ("report", "danger"),
    }
)


def stranded(released: frozenset[tuple[str, str]], known: dict[str, Flow]) -> set[str]:
    """Stored steps that no table would handle any more."""
    return {
        f"{flow}.{step}"
        for flow, step in released
        if flow not in known or known[flow].resolve(step) is None
    }


def test_every_released_step_still_resolves() -> None:
    assert stranded(RELEASED_STEPS, flows.FLOWS) == set()


def test_every_current_step_is_on_the_released_list() -> None:
    current = {(f.name, str(step.value)) for f in flows.ALL_FLOWS for step in f.steps}
    assert current - RELEASED_STEPS == set(), "add new steps to RELEASED_STEPS when they ship"


class RenamedReportStep(FlowStep):
    """The report flow's steps as a careless rename would leave them."""

    __flow__ = "report"
    DESCRIBE = "describe"
    CONFIRM = "confirm"
    CATEGORY = "category"
    ADD_PHOTOS = "add_photos"  # was "photos"
    FAQ = "faq"
    DANGER = "danger"


def test_renaming_a_step_without_moving_stored_dialogs_is_caught() -> None:
    reporting = flows.FLOWS["report"]
    new_name = {"photos": "add_photos"}
    table = {
        RenamedReportStep(new_name.get(step.value, step.value)): spec
        for step, spec in reporting.table.items()
    }
    renamed = replace(reporting, steps=RenamedReportStep, table=table)
    assert stranded(RELEASED_STEPS, {**flows.FLOWS, "report": renamed}) == {"report.photos"}
    healed = replace(renamed, moved={"photos": RenamedReportStep.ADD_PHOTOS})
    assert stranded(RELEASED_STEPS, {**flows.FLOWS, "report": healed}) == set()


def test_every_step_has_a_row_and_flow_names_are_unique() -> None:
    assert len(flows.FLOWS) == len(flows.ALL_FLOWS)
    for flow in flows.ALL_FLOWS:
        assert set(flow.table) == set(flow.steps), flow.name
        for spec in flow.table.values():
            assert spec.on_text is not None or spec.prompt is not None or spec.free_text


def _goto_targets() -> set[str]:
    """`Step.X` arguments of every `ctx.goto(...)` call in the handlers."""
    targets = set()
    for path in (ROOT / "bot" / "handlers").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "goto":
                arg = node.args[0]
                if isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name):
                    targets.add(f"{path.stem}.{arg.value.id}.{arg.attr}")
    return targets


def test_every_step_is_reachable() -> None:
    targets = _goto_targets()
    for flow in flows.ALL_FLOWS:
        module = flow.steps.__module__.rsplit(".", 1)[-1]
        for step in flow.steps:
            assert f"{module}.{flow.steps.__name__}.{step.name}" in targets, step


def test_codecs_have_unique_prefixes_and_round_trip() -> None:
    prefixes = [codec.prefix for codec in flows.ALL_CODECS]
    assert len(prefixes) == len(set(prefixes))
    subjects = {"id": "123456", "token": "a1b2c3", "period": "2026-12-01", None: None}
    for codec in flows.ALL_CODECS:
        for action in codec.actions:
            allowed = codec.arguments.get(action)
            argument = "" if allowed is None else ("7" if allowed == "id" else allowed[0])
            data = codec.encode(action, subjects[codec.subject], argument)
            assert len(data.encode()) <= CALLBACK_LIMIT
            press = codec.decode(data)
            assert press is not None, data
            assert (press.action, press.argument) == (action, argument)


@pytest.mark.parametrize(
    "data",
    [
        "tk:12:zz",  # unknown action
        "tk:abc:acc",  # subject not an id
        "tk:12:acc:extra",  # trailing part
        "tk:12:c:lava",  # category outside the taxonomy
        "tk:12:rt",  # reassign without a team
        "rp:ZZZZZZ:ok",  # token not hex
        "rg:p:x",  # property id not a number
        "rt:5:9",  # nine stars
        "sv:2026-13:3",  # not a period
        "lang:fr",
        "my",
        "",
    ],
)
def test_forged_callback_data_decodes_to_nothing(data: str) -> None:
    codec = next((c for c in flows.ALL_CODECS if c.prefix == data.partition(":")[0]), None)
    assert codec is None or codec.decode(data) is None


def test_button_enums_match_their_sources() -> None:
    assert {r.value for r in buttons.ReasonButton} == {*REASONS, "skip"}
    assert tuple(buttons.Language) == LOCALES


def test_flow_docs_are_current() -> None:
    document = (ROOT / "docs" / "flows.md").read_text(encoding="utf-8")
    assert document == flows.describe(), "regenerate: python -m bot.handlers.flows > docs/flows.md"
