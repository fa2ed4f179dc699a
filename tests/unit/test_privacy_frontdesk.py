"""/mydata and /forgetme cover the front desk too, on both databases: the visitors a resident
announced (or who asked for them at the gate) and the questions they asked that the FAQ
could not answer are in the export; forgetting blanks them but keeps the counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.messages import Outgoing
from bot.services.desk import Desk
from bot.services.faq import Faq
from storage.models import FaqGap, Visitor
from tests.support.people import GroupPerson, register
from tests.support.world import WANG, World

FAQ = Path(__file__).resolve().parents[2] / "examples" / "faq.toml"


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"faq_file": str(FAQ)})


async def announced(world: World) -> GroupPerson:
    """Wang announces 张先生 (2 people, no car, 16:00-18:00 today) and asks two questions
    the FAQ could not answer; another resident asks one too."""
    await register(world.app)
    await register(world.app, user_id=WANG + 1)
    wang = world.person(WANG, WANG, "王女士")
    await wang.say("/visitor")
    await wang.say("张先生")
    await wang.press(wang.button("2"))
    await wang.press(wang.button("没有车"))
    await wang.say("16:00-18:00")
    assert "通行码" in wang.texts()
    async with world.app.uow_factory() as uow:
        desk = Desk(uow, world.app.settings, world.app.clock)
        faq = Faq(desk)
        for telegram_id, question, kind in (
            (WANG, "业委会怎么联系", "unanswered"),
            (WANG, "快递能放前台吗", "rejected"),
            (WANG + 1, "会所几点开门", "unanswered"),
        ):
            resident = await desk.resident(telegram_id)
            assert resident is not None
            await faq.record_gap(resident, question, kind, "parcel" if kind == "rejected" else None)
        await uow.commit()
    return wang


def document_of(replies: list[Outgoing]) -> dict[str, Any]:
    [out] = [o for o in replies if o.document is not None]
    assert out.document is not None
    loaded: dict[str, Any] = json.loads(out.document.content.decode("utf-8"))
    return loaded


async def rows(world: World, model: type) -> list:  # type: ignore[type-arg]
    async with world.app.uow_factory() as uow:
        return list((await uow.session.scalars(select(model).order_by(model.id))).all())


async def test_mydata_lists_visitors_and_faq_questions(world: World) -> None:
    wang = await announced(world)
    replies = await wang.say("/mydata")
    assert "1 条访客登记" in replies[0].text and "2 条常见问题" in replies[0].text
    data = document_of(replies)
    [visit] = data["visitors"]
    assert (visit["name"], visit["people"], visit["kind"], visit["status"]) == (
        "张先生",
        2,
        "预约",
        "待到达",
    )
    assert visit["window_start"] == "2026-11-28T16:00:00+08:00" and len(visit["pass_code"]) == 6
    assert visit["address"] == "3栋2单元501"
    questions = [(q["question"], q["outcome"]) for q in data["faq_questions"]]
    assert questions == [("业委会怎么联系", "未解答"), ("快递能放前台吗", "回答被拒绝(parcel)")]


async def test_forgetme_blanks_visitors_and_questions_keeping_counts(world: World) -> None:
    wang = await announced(world)
    await wang.say("/forgetme")
    assert "访客登记" in wang.texts()
    await wang.press(wang.button("确认删除"))
    assert "1 条访客登记" in wang.texts()

    [visit] = await rows(world, Visitor)
    assert (visit.name, visit.plate, visit.host_address, visit.code) == ("", "", "", "")
    assert visit.host_resident_id is None
    assert (visit.kind, visit.status, visit.people) == ("expected", "expected", 2)  # counts
    gaps = await rows(world, FaqGap)
    assert [(g.question, g.telegram_id) for g in gaps] == [
        ("", None),
        ("", None),
        ("会所几点开门", WANG + 1),  # someone else's question stays theirs
    ]
    async with world.app.uow_factory() as uow:
        desk = Desk(uow, world.app.settings, world.app.clock)
        listed = await Faq(desk).gaps(None, desk.now().replace(year=2000))
    assert [g.question for g in listed] == ["会所几点开门"]  # blanked ones are not listed
