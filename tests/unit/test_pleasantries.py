"""Thanks, a greeting or an OK on its own is answered kindly and opens no report (it used to
open a draft asking "which category?"); with a photo, or with anything to classify, it is a
report as before."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import App
from bot.handlers.reporting import is_pleasantry
from storage.models import DialogState
from tests.support.people import register

WELCOME = "不客气"


@pytest.mark.parametrize("text", ["谢谢", "谢谢！", "好的谢谢", "收到", "👍", "Thank you!", " OK "])
def test_pleasantries(text: str) -> None:
    assert is_pleasantry(text)


@pytest.mark.parametrize("text", ["谢谢,厨房还在漏水", "🔥", "?", "厨房漏水", "no"])
def test_not_pleasantries(text: str) -> None:
    assert not is_pleasantry(text)


async def test_thanks_opens_no_report(app: App) -> None:
    wang = await register(app)
    said = "\n".join(o.text for o in await wang.say("谢谢"))
    assert WELCOME in said and not any(o.buttons for o in wang.last)
    async with app.uow_factory() as uow:
        states = (await uow.session.scalars(select(DialogState))).all()
    assert [s.flow for s in states if s.user_id == wang.user_id] in ([], [""])
    await wang.say("卫生间天花板一直在滴水")  # the next words are a report as ever
    assert wang.button("确认")


async def test_thanks_with_a_photo_is_a_report(app: App) -> None:
    wang = await register(app)
    await wang.photo("ceiling", caption="谢谢")
    assert WELCOME not in wang.texts()
    assert any(o.buttons for o in wang.last)  # the draft's category question
