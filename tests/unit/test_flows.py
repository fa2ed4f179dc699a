"""Registration and reporting flows through the dialog engine, on both databases."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from bot.app import App
from bot.config import Settings
from bot.messages import CallbackAnswer, Incoming
from storage.models import Ticket
from tests.support.apps import AppFactory
from tests.support.people import FakeClassification, Person, register


async def tickets(app: App) -> list[Ticket]:
    async with app.uow_factory() as uow:
        return list((await uow.session.scalars(select(Ticket).order_by(Ticket.id))).all())


async def test_registration_stores_resident_and_masks_phone(app: App) -> None:
    wang = await register(app)
    assert "王女士 138****5678" in wang.texts()
    assert "3栋2单元501" in wang.texts()
    async with app.uow_factory() as uow:
        resident = await uow.residents.by_telegram_id(1001)
    assert resident is not None and resident.registered
    assert (resident.phone, resident.building, resident.unit, resident.room) == (
        "+8613812345678",
        "3栋",
        "2单元",
        "501",
    )


async def test_report_confirm_creates_numbered_ticket(app: App) -> None:
    wang = await register(app)
    await wang.say("卫生间天花板一直在滴水")
    assert "滴水" in wang.texts()
    await wang.press(wang.button("确认"))
    assert "20261128-0001" in wang.texts()
    assert "30 分钟" in wang.texts()
    [ticket] = await tickets(app)
    assert ticket.number == "20261128-0001"
    assert (ticket.category, ticket.urgency, ticket.team) == ("repair", "high", "engineering")
    assert ticket.address == "3栋2单元501"


async def test_first_message_before_registration_becomes_the_report(app: App) -> None:
    li = Person(app.dialog, 1002)
    await li.say("厨房水管漏了")
    await li.say("李先生")
    await li.say("13912345678")
    await li.press(li.button("2栋"))
    await li.say("1202")
    assert "漏" in li.texts()
    await li.press(li.button("确认"))
    [ticket] = await tickets(app)
    assert ticket.description == "厨房水管漏了"


async def test_emergency_gives_safety_advice_and_opens_ticket_at_once(app: App) -> None:
    wang = await register(app)
    replies = await wang.say("楼道里好大一股煤气味!!")
    said = "\n".join(r.text for r in replies)
    assert said.index("96777") < said.index("20261128-0001")  # the hotline comes first
    [ticket] = await tickets(app)
    assert (ticket.urgency, ticket.hazard) == ("emergency", "gas")


async def test_invalid_phone_and_unknown_building_are_asked_again(app: App) -> None:
    zhao = Person(app.dialog, 1003)
    await zhao.say("/start")
    await zhao.say("赵")
    await zhao.say("12345")
    assert "13812345678" in zhao.texts()
    await zhao.say("010-65529988")
    await zhao.say("99栋")
    assert "1栋" in zhao.texts()
    async with app.uow_factory() as uow:
        state = await uow.dialogs.get(1003, 1003)
    assert state is not None and state.step == "building"


async def test_someone_elses_contact_is_confirmed_first(app: App) -> None:
    qian = Person(app.dialog, 1004)
    await qian.say("/start")
    await qian.say("钱")
    await qian.contact("+8613700000000", owner=555)
    assert "13700000000" in qian.texts()
    await qian.press("rg:c:y")
    assert "138" not in qian.texts() and "137****0000" in qian.texts()


async def test_a_phone_book_contact_without_telegram_is_confirmed_first(app: App) -> None:
    qian = Person(app.dialog, 1004)
    await qian.say("/start")
    await qian.say("钱")
    await qian.contact("+8613700000000", on_telegram=False)
    assert "13700000000" in qian.texts() and "137****0000" not in qian.texts()
    await qian.press("rg:c:n")
    assert "137****0000" not in qian.texts()  # not taken: the phone is asked for again


async def test_duplicate_update_is_processed_once(app: App) -> None:
    wang = await register(app)
    await wang.say("水管漏了")
    press = Incoming(
        update_id=424242,
        chat_id=1001,
        user_id=1001,
        callback_id="dup",
        callback_data=wang.button("确认"),
        message_id=7,
    )
    first = await app.dialog.handle(press)
    second = await app.dialog.handle(replace(press))
    assert first.actions and first.queued
    # Delivered again (the process died before answering it): only the spinner is stopped.
    assert second.actions == [CallbackAnswer("dup", "")] and second.queued == []
    assert len(await tickets(app)) == 1


async def test_stale_and_forged_buttons_do_nothing(app: App) -> None:
    wang = await register(app)
    await wang.say("水管漏了")
    confirm = wang.button("确认")
    await wang.press(confirm)
    await wang.press(confirm)  # pressed twice
    await wang.press("rp:zzzzzz:ok")  # forged draft id
    await wang.press("../../etc")  # junk
    await wang.press("my:999999")  # someone else's / missing ticket
    assert len(await tickets(app)) == 1
    assert all(a.text for a in wang.answers[-4:])


async def test_unsupported_input_keeps_the_step(app: App) -> None:
    sun = Person(app.dialog, 1005)
    await sun.say("/start")
    await sun.say("孙")
    for kind in ("sticker", "voice", "video", "document", "location"):
        replies = await sun.other(kind)
        assert replies, kind
    await sun.say("   ")
    async with app.uow_factory() as uow:
        state = await uow.dialogs.get(1005, 1005)
    assert state is not None and state.step == "phone"


async def test_long_description_is_stored_whole_and_echoed_short(app: App) -> None:
    wang = await register(app)
    long_text = "楼上漏水" + "很严重" * 2000
    await wang.say(long_text)
    assert all(len(o.text) < 4096 for o in wang.last)
    await wang.press(wang.button("确认"))
    [ticket] = await tickets(app)
    assert ticket.description == long_text


async def test_html_in_names_is_escaped(app: App) -> None:
    tom = Person(app.dialog, 1006)
    await tom.say("/start")
    await tom.say("<b>Tom & Jerry</b>")
    await tom.say("13812345678")
    await tom.press(tom.button("2栋"))
    await tom.say("101")
    assert "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in tom.texts()


async def test_cancel_leaves_flow_and_my_lists_tickets(app: App) -> None:
    wang = await register(app)
    await wang.say("水管漏了")
    await wang.say("/cancel")
    async with app.uow_factory() as uow:
        assert await uow.dialogs.get(1001, 1001) is None
    await wang.say("水管又漏了")
    await wang.press(wang.button("确认"))
    await wang.say("/my")
    assert "20261128-0001" in wang.texts()
    await wang.press(wang.button("20261128-0001"))
    assert "已提交" in wang.texts()


async def test_lang_switches_to_english(app: App) -> None:
    wang = await register(app)
    await wang.say("/lang")
    await wang.press("lang:en")
    assert "English" in wang.texts()
    await wang.say("/help")
    assert "Help" in wang.texts()


async def test_registration_asks_which_compound_when_there_are_several(
    settings: Settings, app_factory: AppFactory
) -> None:
    from bot.config import PropertyConfig

    two = settings.model_copy(
        update={"properties": [*settings.properties, PropertyConfig(code="river", name="滨江苑")]}
    )
    application = await app_factory(two, clock=None)
    zhou = Person(application.dialog, 1010)
    await zhou.say("/start")
    await zhou.press(zhou.button("滨江苑"))
    await zhou.say("周")
    await zhou.say("13812345678")
    await zhou.say("6号楼 3单元 302")  # no buildings configured there: typed address
    async with application.uow_factory() as uow:
        resident = await uow.residents.by_telegram_id(1010)
        river = await uow.properties.by_code("river")
    assert resident is not None and river is not None
    assert resident.property_id == river.id and resident.room == "6号楼 3单元 302"


async def test_resident_can_mark_a_report_as_an_emergency(app: App) -> None:
    """A missed emergency is the worst error: the resident can overrule the keywords."""
    wang = await register(app)
    await wang.say("卫生间天花板一直在滴水")  # classified high by the stand-in classifier
    replies = await wang.press(wang.button("紧急情况"))
    assert any("⚠️" in o.text for o in replies)
    assert any("20261128-0001" in o.text for o in replies)
    [ticket] = await tickets(app)
    assert ticket.urgency == "emergency"
    async with app.uow_factory() as uow:
        kinds = [e.kind for e in await uow.tickets.events(ticket.id)]
    assert "marked_emergency" in kinds


async def test_forged_numbers_in_buttons_get_a_short_answer(app: App) -> None:
    wang = await register(app)
    forged = [
        "my:²",
        "my:99999999999999999999",
        "rs:9999999999:ok",
        "rt:²:5",
        "rr:4294967296:slow",
        "tk:99999999999:acc",
        "tk:1:back",  # a resident pressing a staff button from a private chat
        "rg:b:١",
        "sv:2026-13-99:5",
        "rv:1",
    ]
    for data in forged:
        before = len(wang.answers)
        await wang.press(data)
        assert len(wang.answers) == before + 1, data  # answered, so the client stops spinning
        assert wang.answers[-1].text, data


async def test_an_unexpected_failure_answers_politely_and_commits_nothing(
    settings: Settings, app_factory: AppFactory
) -> None:
    def broken(text: str) -> FakeClassification:
        raise RuntimeError("lexicon exploded")

    application = await app_factory(settings, clock=None, classify=broken)
    await register(application)
    wang = Person(application.dialog, 1001)
    replies = await wang.say("水管漏了")
    assert replies and "出了点问题" in replies[0].text
    assert await tickets(application) == []


async def test_an_app_given_no_classifier_warms_up_the_real_one(
    settings: Settings, app_factory: AppFactory
) -> None:
    """Other tests hand the app a classifier; at start-up it builds the real one itself."""
    application = await app_factory(settings, classify=None)
    wang = await register(application)
    replies = await wang.say("楼道里好大一股煤气味!!")
    assert any("⚠️" in o.text and "96777" in o.text for o in replies)


async def _store_step(app: App, user_id: int, flow: str, step: str) -> None:
    """What a database left by an older release may hold for someone mid-dialog."""
    async with app.uow_factory() as uow:
        row = await uow.dialogs.get(user_id, user_id)
        data = dict(row.data) if row is not None else {}
        await uow.dialogs.save(user_id, user_id, flow, step, data, app.clock.now())
        await uow.commit()


async def _stored_step(app: App, user_id: int) -> tuple[str, str] | None:
    async with app.uow_factory() as uow:
        row = await uow.dialogs.get(user_id, user_id)
    return (row.flow, row.step) if row is not None else None


async def test_a_step_that_no_longer_exists_starts_the_flow_over_politely(app: App) -> None:
    wang = await register(app)
    await wang.say("卫生间一直在滴水")
    assert await _stored_step(app, 1001) == ("report", "confirm")
    await _store_step(app, 1001, "report", "retired_step")
    await wang.say("还有楼下也湿了")
    assert "流程已更新" in wang.texts()
    assert "滴水" in wang.texts()  # the draft kept, shown again at its confirm step
    assert await _stored_step(app, 1001) == ("report", "confirm")
    await wang.press(wang.button("确认"))
    assert len(await tickets(app)) == 1


async def test_an_unknown_flow_is_left_and_the_next_message_works(app: App) -> None:
    wang = await register(app)
    await _store_step(app, 1001, "retired_flow", "x")
    await wang.say("你好")
    assert "流程已更新" in wang.texts()
    assert await _stored_step(app, 1001) is None
    await wang.say("厨房水管漏水")
    assert await _stored_step(app, 1001) == ("report", "confirm")


async def test_a_renamed_step_carries_on_under_its_new_name(app: App) -> None:
    wang = await register(app)
    await wang.say("卫生间一直在滴水")
    await wang.press(wang.button("确认"))
    await wang.say("/my")
    await wang.press(wang.button("20261128-0001"))
    await wang.press(wang.button("补充"))
    assert await _stored_step(app, 1001) == ("addinfo", "adding")
    await _store_step(app, 1001, "addinfo", "")  # as releases before named steps stored it
    await wang.say("楼下也在滴")
    assert "流程已更新" not in wang.texts()
    assert await _stored_step(app, 1001) == ("addinfo", "adding")


async def test_a_message_of_only_invisible_characters_opens_no_draft(app: App) -> None:
    wang = await register(app)
    await wang.say(" \u200b\u3000\ufeff ")
    assert "没有收到内容" in wang.texts()
    assert await _stored_step(app, 1001) is None
    await wang.say("卫生间一直在滴水")
    async with app.uow_factory() as uow:
        row = await uow.dialogs.get(1001, 1001)
    assert row is not None
    assert row.data["draft"]["description"] == "卫生间一直在滴水"
