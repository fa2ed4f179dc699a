"""A technician with two prompts open in the group (完成 on one ticket, then 备注 on another)
who replies to the older one: the text is not filed on the newer step's ticket; they are told
which reply is awaited. A reply to the newer prompt goes on as before."""

from __future__ import annotations

from tests.support.world import ENG_GROUP, World, accepted, report, staffed

PROMPT_CLOSED = "已被后来的操作取代"


async def test_a_reply_to_an_older_prompt_is_not_filed_on_another_ticket(world: World) -> None:
    await staffed(world)
    _, li, first = await accepted(world)
    _, second = await report(world, "厨房也在漏水")
    card_one = await world.card_message(first, ENG_GROUP)
    card_two = await world.card_message(second, ENG_GROUP)
    await li.press(f"tk:{second}:acc", card_two)
    await li.press(f"tk:{first}:st", card_one)
    await li.press(f"tk:{first}:done", card_one)
    [complete_prompt] = [o for o in li.last if "处理说明" in o.text]
    await li.press(f"tk:{second}:note", card_two)
    [note_prompt] = [o for o in li.last if "备注" in o.text]
    one, two = await world.ticket(first), await world.ticket(second)

    said = "\n".join(
        o.text for o in await li.reply("已更换楼上的排水管", to=9001, quoting=complete_prompt)
    )
    assert PROMPT_CLOSED in said and one.number in said and two.number in said
    assert not [e for e in await world.events(second) if e.kind == "note"]
    assert (await world.ticket(first)).status == "in_progress"  # not completed either

    await li.reply("明天带配件来", to=9002, quoting=note_prompt)
    [note] = [e for e in await world.events(second) if e.kind == "note"]
    assert note.note == "明天带配件来"


async def test_a_reply_quoting_no_ticket_number_still_answers_the_open_step(
    world: World,
) -> None:
    await staffed(world)
    _, li, ticket_id = await accepted(world)
    await li.press(f"tk:{ticket_id}:note", await world.card_message(ticket_id, ENG_GROUP))
    await li.reply("楼上住户不在家", to=9003)  # a reply to a colleague's message, say
    [note] = [e for e in await world.events(ticket_id) if e.kind == "note"]
    assert note.note == "楼上住户不在家"
