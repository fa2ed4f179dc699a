"""Visitors below the transports, on both databases: the headcount step reads ASCII and
full-width digits and asks again for anything else, and a visitor's Arrived / Left buttons
are for guards of the visitor's own compound only (two compounds: 阳光花园 and 滨江苑)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import App
from bot.config import PropertyConfig, Settings
from storage.models import StaffMember, Visitor
from tests.support.people import Person
from tests.support.world import ADMIN, SEC_GROUP, WANG, World

SUN_GUARD, RIVER_GUARD, REGIONAL = 4001, 4002, 4003


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    river = PropertyConfig(code="river", name="滨江苑")
    return settings.model_copy(update={"properties": [*settings.properties, river]})


async def resident(app: App) -> Person:
    """王女士 registers at 阳光花园 3栋2单元501 (the compound is asked first)."""
    wang = Person(app.dialog, WANG)
    await wang.say("/start")
    await wang.press(wang.button("阳光花园"))
    await wang.say("王女士")
    await wang.contact("+8613812345678")
    await wang.press(wang.button("3栋"))
    await wang.press(wang.button("2单元"))
    await wang.say("501")
    return wang


async def add_staff(world: World, telegram_id: int, compound: str, team: str, role: str) -> None:
    async with world.app.uow_factory() as uow:
        prop = await uow.properties.by_code(compound)
        assert prop is not None
        now = world.app.clock.now()
        await uow.staff.add(
            StaffMember(
                property_id=prop.id,
                team=team,
                telegram_id=telegram_id,
                name=f"员工{telegram_id}",
                role=role,
                created_at=now,
                updated_at=now,
            )
        )
        await uow.commit()


async def visitors(world: World) -> list[Visitor]:
    async with world.app.uow_factory() as uow:
        return list((await uow.session.scalars(select(Visitor).order_by(Visitor.id))).all())


async def announce(wang: Person, people: str = "2") -> None:
    await wang.say("/visitor")
    await wang.say("张三")
    await wang.say(people)
    await wang.press(wang.button("没有车"))
    await wang.say("16:00-18:00")
    assert "通行码" in wang.texts()


@pytest.mark.parametrize("typed", ["²", "٣", "0", "51", "2人", "-1"])
async def test_a_headcount_that_is_no_number_is_asked_again(world: World, typed: str) -> None:
    wang = await resident(world.app)
    await wang.say("/visitor")
    await wang.say("张三")
    replies = await wang.say(typed)
    assert [o.text for o in replies] == ["请输入 1 到 50 之间的人数。"]
    await wang.say("２")  # full-width, as a Chinese keyboard types it
    assert "车牌" in wang.texts()
    await wang.press(wang.button("没有车"))
    await wang.say("16:00-18:00")
    [visitor] = await visitors(world)
    assert visitor.people == 2


async def test_a_guard_of_another_compound_cannot_mark_a_visitor(world: World) -> None:
    wang = await resident(world.app)
    admin = world.person(ADMIN, SEC_GROUP, "Admin")
    await admin.say("/bind security sunshine")
    await announce(wang)
    await world.flush()
    [visitor] = await visitors(world)
    await add_staff(world, RIVER_GUARD, "river", "security", "staff")
    await add_staff(world, SUN_GUARD, "sunshine", "security", "staff")
    for compound in ("river", "sunshine"):  # a regional manager of both compounds
        await add_staff(world, REGIONAL, compound, "managers", "manager")

    stranger = world.person(RIVER_GUARD, RIVER_GUARD, "滨江苑门岗")
    for action in ("in", "out"):
        replies = await stranger.press(f"vg:{visitor.id}:{action}")
        assert "只有安保部员工" in stranger.last_toast(), action
        assert replies == []  # no card with the visitor's name, plate and pass code
    await world.flush()
    assert "已到达门岗" not in world.sender.text_to(WANG)  # the host is not told
    assert [v.status for v in await visitors(world)] == ["expected"]

    guard = world.person(SUN_GUARD, SEC_GROUP, "阳光花园门岗")
    await guard.press(f"vg:{visitor.id}:in")
    assert "已到达" in guard.texts()
    await world.flush()
    assert "已到达门岗" in world.sender.text_to(WANG)
    regional = world.person(REGIONAL, REGIONAL, "区域经理")  # a manager there too
    await regional.press(f"vg:{visitor.id}:out")
    assert [v.status for v in await visitors(world)] == ["left"]
