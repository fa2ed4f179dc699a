"""The danger question through the dialog engine (issue 15): the English resident's path, the
configured waiting time, and which typed answers count as a clear no."""

from __future__ import annotations

import pytest

from bot.clock import FixedClock
from bot.config import Settings
from bot.handlers.reporting import is_no
from tests.support.apps import AppFactory
from tests.support.danger import UNSURE, english_resident, tickets, unsure_classify


@pytest.mark.parametrize(
    "answer",
    ["没有", "没有!", "没事。", "没有危险", "不用了", "No", "no.", " NOPE ", "No one", "I'm fine"],
)
def test_clear_noes(answer: str) -> None:
    assert is_no(answer)


@pytest.mark.parametrize(
    "answer",
    ["有", "有人在里面", "没有人来", "不知道", "not sure", "no, my dad is inside", "help", "", "?"],
)
def test_anything_else_is_yes(answer: str) -> None:
    assert not is_no(answer)


async def test_english_resident_says_no_and_gets_a_high_repair(
    settings: Settings, app_factory: AppFactory
) -> None:
    app = await app_factory(settings, classify=unsure_classify)
    tom = await english_resident(app)
    asked = "\n".join(o.text for o in await tom.say(UNSURE))
    assert "Is anyone in danger right now?" in asked and "2 min" in asked
    assert tom.button("Yes, send someone now") and tom.button("No danger")
    assert await tickets(app) == []

    await tom.say("No.")
    assert "High" in tom.texts() and "Emergency" not in tom.texts()
    await tom.press(tom.button("Submit"))
    [ticket] = await tickets(app)
    assert (ticket.urgency, ticket.hazard) == ("high", None)


async def test_the_waiting_time_is_a_setting(settings: Settings, app_factory: AppFactory) -> None:
    five = settings.model_copy(update={"danger_answer_minutes": 5})
    app = await app_factory(five, classify=unsure_classify)
    tom = await english_resident(app)
    asked = "\n".join(o.text for o in await tom.say(UNSURE))
    assert "5 min" in asked
    assert isinstance(app.clock, FixedClock)
    app.clock.advance(seconds=4 * 60)
    assert await app.periodic().danger_sweep() == 0
    app.clock.advance(seconds=61)
    assert await app.periodic().danger_sweep() == 1
    [ticket] = await tickets(app)
    assert ticket.urgency == "emergency"
    late = await tom.press(tom.button("No danger"))
    assert late == [] and "closed" in tom.answers[-1].text
