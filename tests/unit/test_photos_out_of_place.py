"""Photos sent where a step asks for words: during registration they join the report that
waits for it (a caption is no answer to "your name?"); elsewhere the person is told and
asked again, and the step's answer is still awaited."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import App
from storage.models import Resident, Ticket
from tests.support.people import Person
from tests.support.world import World, accepted, complete, staffed


async def _finish_registration(person: Person) -> None:
    await person.say("李先生")
    await person.say("13912345678")
    await person.press(person.button("2栋"))
    await person.say("1202")


async def test_a_captioned_photo_at_the_name_question_joins_the_report(app: App) -> None:
    li = Person(app.dialog, 1002)
    await li.say("/start")
    said = "\n".join(o.text for o in await li.photo("kitchen-1", caption="厨房漏水了"))
    assert "照片已收到" in said and "称呼" in said  # kept, and the question asked again
    await _finish_registration(li)
    async with app.uow_factory() as uow:
        [resident] = (await uow.session.scalars(select(Resident))).all()
    assert resident.name == "李先生"  # not the caption
    assert "厨房漏水了" in li.texts() and "1 张" in li.texts()  # the draft shows both
    await li.press(li.button("确认"))
    async with app.uow_factory() as uow:
        [ticket] = (await uow.session.scalars(select(Ticket))).all()
    assert ticket.description == "厨房漏水了" and ticket.photo_file_ids == ["kitchen-1"]


async def test_an_album_before_registration_keeps_every_photo(app: App) -> None:
    li = Person(app.dialog, 1002)
    await li.photo("leak-1", caption="厨房水管漏了")  # the first starts registration
    await li.photo("leak-2")
    await li.photo("leak-3")
    await _finish_registration(li)
    await li.press(li.button("确认"))
    async with app.uow_factory() as uow:
        [ticket] = (await uow.session.scalars(select(Ticket))).all()
    assert ticket.photo_file_ids == ["leak-1", "leak-2", "leak-3"]


async def test_a_photo_as_the_not_solved_reason_is_refused_politely(world: World) -> None:
    await staffed(world)
    wang, li, ticket_id = await accepted(world)
    await complete(world, li, ticket_id)
    await wang.press(f"rs:{ticket_id}:no")
    said = "\n".join(o.text for o in await wang.photo("still-leaking", caption="还在漏"))
    assert "照片没有保存" in said
    assert (await world.ticket(ticket_id)).status == "resolved"  # still waiting for the words
    await wang.say("还在漏水")
    assert (await world.ticket(ticket_id)).status != "resolved"
