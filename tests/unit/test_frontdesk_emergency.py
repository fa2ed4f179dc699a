"""The front desk and emergencies: the first registration of an emergency is filed at once,
after the safety advice; a second clerk taking the same caller's alarm is shown the ticket
already filed and chooses, instead of raising a second alarm blind."""

from __future__ import annotations

from tests.support.world import GroupPerson, World, staffed

CLERK, CLERK2 = 2101, 2102
GAS = "厨房煤气味很重"


async def take_call(world: World, clerk: int, name: str) -> GroupPerson:
    """/new by phone for 张大爷 (no Telegram) of 3栋2单元602, who smells gas."""
    person = world.person(clerk, clerk, name)
    await person.say("/new")
    await person.press(person.button("电话"))
    await person.say("13900001111")
    await person.say("张大爷")
    await person.press(person.button("3栋"))
    await person.press(person.button("2单元"))
    await person.say("602")
    await person.say(GAS)
    return person


async def test_a_second_clerk_on_the_same_emergency_is_shown_the_first(world: World) -> None:
    await staffed(world)
    await world.add_member(CLERK, "service", "staff", "前台小陈")
    await world.add_member(CLERK2, "service", "staff", "前台小李")
    first = await take_call(world, CLERK, "前台小陈")
    assert "紧急工单" in first.texts() and len(await world.tickets()) == 1

    second = await take_call(world, CLERK2, "前台小李")
    told = second.texts()
    assert "紧急情况" in told  # the advice still comes first
    [ticket] = await world.tickets()
    assert ticket.number in told and "前台小陈" in told and "同类紧急工单" in told

    await second.press(second.button("仍然登记新工单"))  # a different emergency after all
    tickets = await world.tickets()
    assert len(tickets) == 2 and {t.urgency for t in tickets} == {"emergency"}
    assert f"紧急工单 <b>{tickets[1].number}</b> 已登记" in second.texts()
