"""A report being written is not dropped by a button of something else: stars for an old
ticket are recorded but the next words still go to the draft; "not solved" or "add
information" for an old ticket wait until the draft is submitted or cancelled, and say so."""

from __future__ import annotations

from bot.clock import FixedClock
from tests.support.world import (
    ENG_GROUP,
    WANG,
    World,
    accepted,
    complete,
    confirmed,
    report,
    staffed,
)

WAITING = "还有一份报修没有提交"


async def test_stars_for_an_old_ticket_keep_the_draft_being_written(world: World) -> None:
    ticket_id, rating_id = await confirmed(world)
    clock = world.app.clock
    assert isinstance(clock, FixedClock)
    clock.advance(seconds=31 * 60)
    await world.app.periodic().rating_sweep()
    wang = world.person(WANG, WANG, "王女士")
    await wang.say("阳台的灯不亮了")
    await wang.press(f"rt:{rating_id}:5")
    await wang.say("是客厅阳台那一盏")  # more for the draft, not a comment on the rating
    assert "客厅阳台" in wang.texts()
    await wang.press(wang.button("确认"))
    await world.flush()
    newest = (await world.tickets())[-1]
    assert newest.id != ticket_id
    assert "阳台的灯不亮了" in newest.description and "客厅阳台" in newest.description
    async with world.app.uow_factory() as uow:
        rating = await uow.ratings.get(rating_id)
    assert rating is not None and rating.stars == 5 and not rating.comment


async def test_not_solved_for_an_old_ticket_waits_for_the_draft(world: World) -> None:
    await staffed(world)
    wang, li, ticket_id = await accepted(world)
    await complete(world, li, ticket_id)
    await wang.say("阳台也在漏水")
    await wang.press(f"rs:{ticket_id}:no")
    assert WAITING in wang.last_toast()
    assert wang.button("确认")  # the draft shown again
    assert (await world.ticket(ticket_id)).status == "resolved"
    await wang.press(wang.button("确认"))
    assert len(await world.tickets()) == 2
    await wang.press(f"rs:{ticket_id}:no")  # now it asks why
    await wang.say("还在漏")
    assert (await world.ticket(ticket_id)).status != "resolved"


async def test_adding_to_an_old_ticket_waits_for_the_draft(world: World) -> None:
    await staffed(world)
    wang, ticket_id = await report(world)
    await wang.say("阳台也在漏水")
    await wang.say("/my")  # a command: the draft stays open
    await wang.press(f"my:{ticket_id}")
    await wang.press(wang.button("补充说明"))
    assert WAITING in wang.last_toast()
    await wang.say("是客厅阳台那一盏")
    assert "阳台也在漏水" in wang.texts() and "客厅阳台" in wang.texts()


async def test_visitor_command_waits_for_the_draft(world: World) -> None:
    await staffed(world)
    wang, _ = await report(world)
    await wang.say("阳台也在漏水")
    said = "\n".join(o.text for o in await wang.say("/visitor"))
    assert WAITING in said and "阳台也在漏水" in said  # told, and the draft shown again
    await wang.say("客厅也有")
    assert "阳台也在漏水" in wang.texts() and "客厅也有" in wang.texts()


async def test_more_information_asked_a_day_ago_is_over(world: World) -> None:
    """A side step left open lapses: a day later the message is a new report, not more
    information for the old ticket."""
    await staffed(world)
    wang, ticket_id = await report(world)
    await wang.say("/my")
    await wang.press(f"my:{ticket_id}")
    await wang.press(wang.button("补充说明"))
    clock = world.app.clock
    assert isinstance(clock, FixedClock)
    clock.advance(seconds=25 * 3600)
    await wang.say("阳台也在漏水")
    assert wang.button("确认")  # a new draft
    await world.flush()
    assert "阳台" not in world.sender.text_to(ENG_GROUP)


async def test_more_information_within_the_day_still_goes_to_the_ticket(world: World) -> None:
    await staffed(world)
    wang, ticket_id = await report(world)
    await wang.say("/my")
    await wang.press(f"my:{ticket_id}")
    await wang.press(wang.button("补充说明"))
    clock = world.app.clock
    assert isinstance(clock, FixedClock)
    clock.advance(seconds=23 * 3600)
    await wang.say("晚上八点后家里有人")
    await world.flush()
    assert "晚上八点后家里有人" in world.sender.text_to(ENG_GROUP)  # under the card
