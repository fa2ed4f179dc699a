"""Announcements (通知): the policy's rules, and the /notice flow and its service over a real
database: the audience's residents and nobody else, `/notices off` (but not for a safety
notice), bulk priority, the delivery report (blocked counted), a scheduled notice, cancel
before it starts, stop while sending, and polite refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from bot.clock import FixedClock
from bot.domain.policy import (
    Actor,
    may_address_all_properties,
    may_manage_notice,
    may_send_notice,
    may_send_safety_notice,
    notice_priority,
    notice_reaches,
    notice_time_ok,
)
from bot.domain.vocabulary import SendPriority
from bot.messages import Outgoing, RateLimited, Sent
from bot.services.desk import Desk
from bot.services.notices import NoticeService
from storage.models import Incident, Notice, OutboxMessage, Resident
from storage.plans import (
    StatementLog,
    explain,
    indexes,
    sqlite_indexes,
    sqlite_plan,
    sqlite_whole_table_reads,
    whole_table_reads,
)
from tests.support.apps import START
from tests.support.people import register
from tests.support.world import LI, MANAGER, WANG, GroupPerson, World, report, staffed

SERVICE_LEAD = 2005
BUILDING_ONE = [5101, 5102, 5103]
BUILDING_THREE = [5301, 5302]
TEXT = "明天 9:00-12:00 3栋停水检修,请提前储水 <b>&</b>"


# -- the policy ----------------------------------------------------------------------------
def actor(roles: dict[str, str], admin: bool = False) -> Actor:
    return Actor(telegram_id=1, name="x", property_id=1, roles=roles, settings_admin=admin)


def test_who_may_send_announcements() -> None:
    assert may_send_notice(actor({"managers": "manager"}))
    assert may_send_notice(actor({"service": "lead"}))
    assert may_send_notice(actor({}, admin=True))
    assert not may_send_notice(actor({"engineering": "lead"}))
    assert not may_send_notice(actor({"service": "staff"}))
    assert not may_send_notice(actor({}))


def test_only_managers_send_safety_notices() -> None:
    assert may_send_safety_notice(actor({"managers": "manager"}))
    assert not may_send_safety_notice(actor({"service": "lead"}))


def test_who_may_cancel_or_stop_and_address_every_property() -> None:
    manager = actor({"managers": "manager"})
    assert may_manage_notice(manager, author_id=99, property_id=1)
    assert not may_manage_notice(manager, author_id=99, property_id=2)
    assert may_manage_notice(actor({"service": "lead"}), author_id=1, property_id=1)
    assert not may_manage_notice(actor({"service": "lead"}), author_id=99, property_id=1)
    assert may_manage_notice(actor({}, admin=True), author_id=99, property_id=None)
    assert may_address_all_properties(actor({}, admin=True))
    assert not may_address_all_properties(manager)


def test_opt_out_priority_and_times() -> None:
    assert notice_reaches(safety=False, opted_out=False)
    assert not notice_reaches(safety=False, opted_out=True)
    assert notice_reaches(safety=True, opted_out=True)
    assert notice_priority(False) == SendPriority.BULK
    assert notice_priority(True) == SendPriority.URGENT
    assert not notice_time_ok(START, START - timedelta(minutes=1))
    assert notice_time_ok(START, START + timedelta(hours=1))
    assert not notice_time_ok(START, START + timedelta(days=40))


# -- the flow and the service ----------------------------------------------------------------
async def seed(world: World) -> None:
    await staffed(world)
    await world.add_member(SERVICE_LEAD, "service", "lead", "钱主管")
    now = datetime.now(UTC)
    async with world.app.uow_factory() as uow:
        prop = (await uow.properties.all())[0]
        for ids, building in ((BUILDING_ONE, "1栋"), (BUILDING_THREE, "3栋")):
            for telegram_id in ids:
                resident = Resident(
                    telegram_id=telegram_id,
                    property_id=prop.id,
                    name=f"住户{telegram_id}",
                    phone=f"+86138{telegram_id:08d}",
                    building=building,
                    unit="1单元",
                    room="101",
                    registered=True,
                    active=True,
                    created_at=now,
                    updated_at=now,
                )
                await uow.residents.add(resident)
        await uow.commit()


async def notice_rows(world: World) -> list[OutboxMessage]:
    async with world.app.uow_factory() as uow:
        rows = await uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.dedupe_key.like("notice:%"))
        )
        return list(rows.all())


async def compose(world: World, who: int, building: str = "1栋", text: str = TEXT) -> GroupPerson:
    """Up to the preview: /notice, the building (whole), the text."""
    person = world.person(who, who, "经理")
    await person.say("/notice")
    await person.press(person.button(building))
    await person.press(person.button("整栋"))
    await person.say(text)
    return person


async def test_a_notice_to_one_building_reaches_its_residents_and_reports(world: World) -> None:
    await seed(world)
    manager = world.person(MANAGER, MANAGER, "周经理")
    opted = world.person(BUILDING_ONE[2], BUILDING_ONE[2], "住户")
    await opted.say("/notices off")
    assert "已关闭通知" in opted.texts()
    world.sender.blocked.add(BUILDING_ONE[1])

    await manager.say("/notice")
    await manager.press(manager.button("1栋"))
    await manager.press(manager.button("整栋"))
    await manager.say(TEXT)
    assert "当前接收人数:<b>2</b>" in manager.texts()
    assert "&lt;b&gt;&amp;" in manager.texts()  # the text is escaped in the preview
    await manager.press(manager.button("立即发送"))
    assert "2 位住户" in manager.texts()

    rows = await notice_rows(world)
    assert sorted(r.chat_id for r in rows) == BUILDING_ONE[:2]
    assert {r.priority for r in rows} == {SendPriority.BULK}
    await world.flush()
    assert "3栋停水" in world.sender.text_to(BUILDING_ONE[0])
    assert not world.sender.to(BUILDING_ONE[2]) and not world.sender.to(BUILDING_THREE[0])

    await world.app.periodic().notice_sweep()
    await world.flush()
    report = world.sender.text_to(MANAGER)
    assert "送达报告" in report and "已送达:1" in report and "已屏蔽机器人:1" in report
    await world.app.periodic().notice_sweep()  # reported once
    await world.flush()
    assert world.sender.text_to(MANAGER).count("送达报告") == 1

    await manager.say("/notices")
    assert "#1" in manager.texts() and "✓1 ⛔1" in manager.texts()
    resident = world.person(BUILDING_ONE[0], BUILDING_ONE[0], "住户")
    await resident.say("/notices")
    assert "3栋停水" in resident.texts()


async def test_a_safety_notice_reaches_residents_who_turned_notices_off(world: World) -> None:
    await seed(world)
    opted = world.person(BUILDING_ONE[2], BUILDING_ONE[2], "住户")
    await opted.say("/notices off")
    manager = await compose(world, MANAGER)
    await manager.press(manager.button("标为安全通知"))
    assert "当前接收人数:<b>3</b>" in manager.texts()
    await manager.press(manager.button("立即发送"))
    rows = await notice_rows(world)
    assert sorted(r.chat_id for r in rows) == BUILDING_ONE
    assert {r.priority for r in rows} == {SendPriority.URGENT}


async def test_the_service_lead_may_send_but_not_a_safety_notice(world: World) -> None:
    await seed(world)
    lead = await compose(world, SERVICE_LEAD)
    assert "当前接收人数" in lead.texts()
    assert "安全通知" not in " ".join(b.text for o in lead.last for r in o.buttons for b in r)
    li = world.person(LI, LI, "李师傅")
    await li.say("/notice")
    assert "只有管理人员和客服主管" in li.texts()


async def test_scheduled_notice_goes_out_once_at_its_time_and_can_be_cancelled(
    world: World,
) -> None:
    await seed(world)
    manager = await compose(world, MANAGER, "3栋")
    await manager.press(manager.button("定时发送"))
    await manager.say("12:00")  # 12:00 today is past at 14:00
    assert "须在将来" in manager.texts()
    await manager.say("明天")
    assert "无法识别" in manager.texts()
    await manager.say("16:00")
    assert "将于" in manager.texts()
    periodic = world.app.periodic()
    await periodic.notice_sweep()
    assert await notice_rows(world) == []
    assert isinstance(world.app.clock, FixedClock)
    world.app.clock.advance(seconds=3 * 3600)
    await periodic.notice_sweep()
    await periodic.notice_sweep()
    assert sorted(r.chat_id for r in await notice_rows(world)) == BUILDING_THREE

    # a second one, cancelled before its time: nothing goes out
    manager = await compose(world, MANAGER, "3栋", "另一条通知")
    await manager.press(manager.button("定时发送"))
    await manager.say("20:00")
    cancel = manager.button("取消发送")
    await manager.press(cancel)
    assert "已取消" in manager.texts()
    await manager.press(cancel)  # pressed twice
    assert "已经取消" in manager.answers[-1].text
    world.app.clock.advance(seconds=6 * 3600)
    await periodic.notice_sweep()
    assert len(await notice_rows(world)) == len(BUILDING_THREE)


async def test_a_notice_on_new_years_eve_may_be_set_for_early_january(world: World) -> None:
    assert isinstance(world.app.clock, FixedClock)
    world.app.clock.set(datetime(2026, 12, 31, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai
    await seed(world)
    manager = await compose(world, MANAGER, "3栋")
    await manager.press(manager.button("定时发送"))
    await manager.say("01-02 09:00")  # no year: the coming January, not last
    assert "将于" in manager.texts()
    async with world.app.uow_factory() as uow:
        notice = await uow.session.scalar(select(Notice))
        assert notice is not None and notice.send_at is not None
        assert notice.send_at.astimezone(UTC) == datetime(2027, 1, 2, 1, 0, tzinfo=UTC)


async def test_stop_while_sending_cancels_what_waits_and_reports(world: World) -> None:
    await seed(world)
    manager = await compose(world, MANAGER)
    await manager.press(manager.button("立即发送"))
    await manager.press(manager.button("停止发送"))
    assert "3 条消息不再发送" in manager.texts()
    await world.flush()
    assert not any(world.sender.to(r) for r in BUILDING_ONE)
    await world.app.periodic().notice_sweep()
    await world.flush()
    assert "未发送(已停止):3" in world.sender.text_to(MANAGER)
    async with world.app.uow_factory() as uow:
        notice = await uow.session.scalar(select(Notice))
        assert notice is not None and notice.status == "stopped"


async def test_bad_input_is_answered_politely(world: World) -> None:
    await seed(world)
    manager = world.person(MANAGER, MANAGER, "周经理")
    await manager.say("/notice")
    await manager.say("/notice")  # a second one while composing
    assert "正在编写" in manager.texts()
    await manager.press("nt:abcdef:all")  # a forged token
    assert manager.answers[-1].text  # a stale-button toast, nothing else
    assert "正在编写" not in manager.texts()
    await manager.say("/notice")  # asks again, with the audience's buttons
    await manager.press(manager.button("1栋"))
    await manager.press(manager.button("整栋"))
    await manager.say("长" * 5000)
    assert "精简" in manager.texts()
    await manager.say("   ")
    assert await notice_rows(world) == []
    stranger = world.person(BUILDING_ONE[0], BUILDING_ONE[0], "住户")
    await stranger.press("nx:1:stop")
    assert "只有管理人员" in stranger.answers[-1].text


async def test_a_notice_with_a_photo_to_residents_with_open_repair_tickets(world: World) -> None:
    await seed(world)
    await report(world)  # 王女士 (3栋) has an open repair ticket; the seeded residents none
    manager = world.person(MANAGER, MANAGER, "周经理")
    await manager.say("/notice")
    await manager.press(manager.button("某类未完成工单"))
    await manager.press(manager.button("报修"))
    await manager.photo("photo-file-1")
    assert "图片已收到" in manager.texts()
    await manager.photo("photo-file-2", caption="维修师傅明天上门复查")
    assert "当前接收人数:<b>1</b>" in manager.texts()
    assert any(o.photos == ("photo-file-2",) for o in manager.last)
    await manager.press(manager.button("立即发送"))
    [row] = await notice_rows(world)
    assert row.chat_id == WANG and row.payload.get("photos") == ["photo-file-2"]


# -- the report reads only its notice's rows ------------------------------------------------
async def test_a_notices_report_and_stop_read_only_its_own_outbox_rows(world: World) -> None:
    """The outbox holds every message the desk ever queued; a notice's report and its stop
    find that notice's rows by an index, as the database's own plan says."""
    app = world.app
    with StatementLog(app.engine) as log:
        async with app.uow_factory() as uow:
            service = NoticeService(Desk(uow, app.settings, app.clock))
            counts = await service.counts(41)
            await uow.outbox.cancel_pending(41, "test", app.clock.now())
    assert counts.pending == 0 and counts.delivered == 0
    queries = [s for s in log.statements if "outbox" in s.sql]
    assert len(queries) == 2
    async with app.engine.connect() as connection:
        found = []
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SET enable_seqscan = off"))
            known = await indexes(connection)
            for query in queries:
                found += whole_table_reads(await explain(connection, query), known, ["outbox"])
        else:
            known = await sqlite_indexes(connection, ["outbox"])
            for query in queries:
                lines = await sqlite_plan(connection, query)
                found += sqlite_whole_table_reads(lines, known, ["outbox"])
    assert found == []


# -- a cancel or a stop is final -------------------------------------------------------------
PLANNED = "今天 15:00-18:00 3栋停水检修,请提前储水"


async def outage_report_at_15_10(world: World) -> str:
    """王女士 of 3栋 reports no water inside the planned window; what she was told."""
    assert isinstance(world.app.clock, FixedClock)
    world.app.clock.set(START + timedelta(hours=1, minutes=10))
    wang = world.person(WANG, WANG, "王女士")
    await wang.say("家里停水了,没水")
    if wang.last and any(b.text == "报修" for o in wang.last for r in o.buttons for b in r):
        await wang.press(wang.button("报修"))
    await wang.press(wang.button("确认"))
    return wang.texts()


async def test_a_cancelled_planned_notice_answers_no_report(world: World) -> None:
    await seed(world)
    await register(world.app)  # 王女士, 3栋2单元501
    manager = await compose(world, MANAGER, "3栋", PLANNED)
    await manager.press(manager.button("计划停运"))
    await manager.press(manager.button("定时发送"))
    await manager.say("14:30")
    await manager.press(manager.button("取消发送"))
    assert "已取消" in manager.texts()
    async with world.app.uow_factory() as uow:
        incident = (await uow.session.scalars(select(Incident))).one()
    assert incident.planned and incident.status == "closed"
    told = await outage_report_at_15_10(world)
    assert "已提交" in told and "储水" not in told
    assert len(await world.tickets()) == 1


async def test_a_stopped_planned_notice_answers_no_report(world: World) -> None:
    await seed(world)
    await register(world.app)
    manager = await compose(world, MANAGER, "3栋", PLANNED)
    await manager.press(manager.button("计划停运"))
    await manager.press(manager.button("立即发送"))
    await manager.press(manager.button("停止发送"))
    assert "已停止" in manager.texts()
    told = await outage_report_at_15_10(world)
    assert "已提交" in told and "储水" not in told
    assert len(await world.tickets()) == 1


@pytest.mark.parametrize("retry_after", [120, 5], ids=["back-to-wait", "held"])
async def test_a_copy_in_flight_when_stopped_is_never_sent(world: World, retry_after: int) -> None:
    """The manager stops the notice while one resident's copy is being sent; Telegram
    answers 429. Waited out in the database or held in memory, the copy is cancelled, and
    the report counts it so."""
    await seed(world)
    manager = await compose(world, MANAGER, "3栋", "误发的通知")
    await manager.press(manager.button("立即发送"))
    stop, target = manager.button("停止发送"), BUILDING_THREE[0]
    real_send, pressed = world.sender.send, []

    async def send(out: Outgoing) -> Sent:
        if out.chat_id == target and not pressed:
            pressed.append(True)
            await manager.press(stop)  # while this copy is in flight
            raise RateLimited(retry_after)
        return await real_send(out)

    world.sender.send = send  # type: ignore[method-assign]
    await world.outbox.drain()
    assert isinstance(world.app.clock, FixedClock)
    world.app.clock.advance(seconds=180)
    await world.flush()
    assert not world.sender.to(target)
    row = next(r for r in await notice_rows(world) if r.chat_id == target)
    assert row.status == "cancelled"
    await world.app.periodic().notice_sweep()
    await world.flush()
    assert "未发送(已停止):1" in world.sender.text_to(MANAGER)


async def test_a_stopped_notices_copy_a_dead_sender_held_is_dropped_when_claimed(
    world: World,
) -> None:
    """A copy held by a sender that died is skipped by the stop; the next claim drops it."""
    await seed(world)
    manager = await compose(world, MANAGER, "3栋", "误发的通知")
    await manager.press(manager.button("立即发送"))
    now = world.app.clock.now()
    async with world.app.uow_factory() as uow:
        await uow.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.chat_id == BUILDING_THREE[0])
            .values(claimed_until=now + timedelta(minutes=10))
        )
        await uow.commit()
    await manager.press(manager.button("停止发送"))
    assert "1 条消息不再发送" in manager.texts()
    assert isinstance(world.app.clock, FixedClock)
    world.app.clock.advance(seconds=11 * 60)  # the lease ran out
    await world.flush()
    assert not any(world.sender.to(r) for r in BUILDING_THREE)
    assert {r.status for r in await notice_rows(world)} == {"cancelled"}


async def test_residents_list_only_the_notices_they_were_sent(world: World) -> None:
    await seed(world)
    manager = await compose(world, MANAGER, "3栋", "误发:3栋明天停电")
    await manager.press(manager.button("立即发送"))
    await manager.press(manager.button("停止发送"))
    manager = await compose(world, MANAGER, "3栋", "3栋电梯保养通知")
    await manager.press(manager.button("立即发送"))
    await world.flush()
    resident = world.person(BUILDING_THREE[0], BUILDING_THREE[0], "住户")
    await resident.say("/notices")
    assert "电梯保养" in resident.texts() and "误发" not in resident.texts()
