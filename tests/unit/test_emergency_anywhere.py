"""An emergency is heard wherever the resident types it: in a draft already open (at the
category question, after a category picked by hand, waiting for Submit) it gets the safety
advice and pages at once instead of waiting for Submit; typed where a rating comment, more
information for a ticket or a visitor's details are asked for, it leaves that step and is
reported as an emergency."""

from __future__ import annotations

from sqlalchemy import select, update

from bot.app import App
from bot.clock import FixedClock
from bot.config import Settings
from bot.handlers.base import Classification
from bot.nlp import Classification as Result
from storage.models import DialogState, Ticket
from tests.support.apps import AppFactory
from tests.support.people import Person, fake_classify, register
from tests.support.world import WANG, World, accepted, complete, confirmed, report, staffed

GAS = "楼道里好大一股煤气味!!"
HOTLINE = "96777"  # the gas company's line in the test property's hotlines


async def _tickets(app: App) -> list[Ticket]:
    async with app.uow_factory() as uow:
        return list((await uow.session.scalars(select(Ticket).order_by(Ticket.id))).all())


async def _flow(app: App, person: Person) -> str:
    async with app.uow_factory() as uow:
        state = await uow.session.get(DialogState, (person.user_id, person.user_id))
        return state.flow if state is not None else ""


def _said(replies: list[object]) -> str:
    return "\n".join(str(getattr(r, "text", "")) for r in replies)


UNCLEAR = "阳台那边有点问题"  # nothing to classify: a draft asks for its category


async def test_gas_after_an_unclear_first_line_pages_at_once(app: App) -> None:
    wang = await register(app)
    await wang.say(UNCLEAR)
    assert wang.button("报修")  # the category question
    assert await _tickets(app) == []
    said = _said(await wang.say(GAS))
    assert HOTLINE in said  # the advice with the hotline, not a draft to confirm
    [ticket] = await _tickets(app)
    assert (ticket.urgency, ticket.hazard) == ("emergency", "gas")
    assert ticket.number in said
    assert await _flow(app, wang) == ""


async def test_gas_added_to_a_draft_waiting_for_submit_pages_at_once(app: App) -> None:
    wang = await register(app)
    await wang.say("卫生间天花板一直在滴水")
    assert wang.button("确认")  # a high repair, shown to confirm
    said = _said(await wang.say("现在楼道里还有煤气味"))
    assert HOTLINE in said
    [ticket] = await _tickets(app)
    assert ticket.urgency == "emergency"
    assert "滴水" in ticket.description and "煤气" in ticket.description


async def test_gas_after_a_category_picked_by_hand_pages_at_once(app: App) -> None:
    wang = await register(app)
    await wang.say(UNCLEAR)
    await wang.press(wang.button("报修"))
    assert await _tickets(app) == []
    said = _said(await wang.say(GAS))
    assert HOTLINE in said
    [ticket] = await _tickets(app)
    assert ticket.urgency == "emergency"


async def test_more_words_in_a_calm_draft_still_wait_for_submit(app: App) -> None:
    wang = await register(app)
    await wang.say("卫生间天花板一直在滴水")
    await wang.say("楼上好像漏了")
    assert await _tickets(app) == []
    await wang.press(wang.button("确认"))
    [ticket] = await _tickets(app)
    assert ticket.urgency == "high"


UNSURE = "电梯停在两层中间"
MODEL_ALONE = Result("repair", "emergency", "lift", 0.8, ("电梯",), False, "high")


def unsure_classify(text: str) -> Classification:
    return MODEL_ALONE if UNSURE in text and "煤气" not in text else fake_classify(text)


async def test_an_unsure_emergency_answered_no_is_not_asked_again(
    settings: Settings, app_factory: AppFactory
) -> None:
    app = await app_factory(settings, classify=unsure_classify)
    wang = await register(app)
    await wang.say(UNSURE)
    await wang.press(wang.button("没有"))
    said = _said(await wang.say("门也打不开"))
    assert "危险" not in said and wang.button("确认")  # the draft again, no second question
    assert "紧急" not in said and "加急" in said  # still the calm urgency the answer gave it
    assert await _tickets(app) == []
    # a sure emergency added afterwards still pages
    said = _said(await wang.say(GAS))
    assert HOTLINE in said
    [ticket] = await _tickets(app)
    assert ticket.urgency == "emergency"


# side steps ------------------------------------------------------------------------------


async def _newest(world: World) -> Ticket:
    return (await world.tickets())[-1]


async def test_gas_typed_as_a_rating_comment_is_reported(world: World) -> None:
    ticket_id, rating_id = await confirmed(world)
    clock = world.app.clock
    assert isinstance(clock, FixedClock)
    clock.advance(seconds=31 * 60)
    await world.app.periodic().rating_sweep()
    await world.flush()
    wang = world.person(WANG, WANG, "王女士")
    await wang.press(f"rt:{rating_id}:5")
    await wang.say(GAS)
    await world.flush()
    assert HOTLINE in wang.texts()
    newest = await _newest(world)
    assert newest.id != ticket_id and newest.urgency == "emergency"
    async with world.app.uow_factory() as uow:
        rating = await uow.ratings.get(rating_id)
    assert rating is not None and rating.stars == 5 and not rating.comment


async def test_a_calm_rating_comment_is_still_a_comment(world: World) -> None:
    _, rating_id = await confirmed(world)
    clock = world.app.clock
    assert isinstance(clock, FixedClock)
    clock.advance(seconds=31 * 60)
    await world.app.periodic().rating_sweep()
    wang = world.person(WANG, WANG, "王女士")
    await wang.press(f"rt:{rating_id}:5")
    await wang.say("师傅很耐心")
    async with world.app.uow_factory() as uow:
        rating = await uow.ratings.get(rating_id)
    assert rating is not None and rating.comment == "师傅很耐心"


async def test_gas_typed_while_adding_to_a_ticket_is_reported(world: World) -> None:
    await staffed(world)
    wang, ticket_id = await report(world)
    await wang.say("/my")
    await wang.press(f"my:{ticket_id}")
    await wang.press(wang.button("补充说明"))
    await wang.say(GAS)
    await world.flush()
    assert HOTLINE in wang.texts()
    newest = await _newest(world)
    assert newest.id != ticket_id and newest.urgency == "emergency"
    assert "煤气" not in (await world.ticket(ticket_id)).description


async def test_gas_typed_as_the_not_solved_reason_is_reported(world: World) -> None:
    await staffed(world)
    wang, li, ticket_id = await accepted(world)
    await complete(world, li, ticket_id)
    await wang.press(f"rs:{ticket_id}:no")
    await wang.say(GAS)
    await world.flush()
    assert HOTLINE in wang.texts()
    newest = await _newest(world)
    assert newest.id != ticket_id and newest.urgency == "emergency"
    assert (await world.ticket(ticket_id)).status == "resolved"  # not reopened by it


async def test_more_for_a_ticket_closed_meanwhile_is_kept_in_a_draft(world: World) -> None:
    await staffed(world)
    wang, ticket_id = await report(world)
    await wang.say("/my")
    await wang.press(f"my:{ticket_id}")
    await wang.press(wang.button("补充说明"))
    async with world.app.uow_factory() as uow:  # the ticket is cancelled meanwhile
        await uow.session.execute(
            update(Ticket).where(Ticket.id == ticket_id).values(status="cancelled")
        )
        await uow.commit()
    await wang.say("阳台也在漏水")
    assert "阳台也在漏水" in wang.texts()  # in the draft now shown
    assert wang.button("确认")


async def test_gas_typed_as_a_visitors_name_is_reported(app: App) -> None:
    wang = await register(app)
    await wang.say("/visitor")
    said = _said(await wang.say(GAS))
    assert HOTLINE in said
    [ticket] = await _tickets(app)
    assert ticket.urgency == "emergency"
    assert await _flow(app, wang) == ""  # the visitor's questions are left
