"""Duty (值班): the policy's rules (business hours, shifts past midnight, marks over the rota,
who answers a handover), and the services over a real database: who is on duty, the night
emergency's private card and its button, SLA reminders at night, the handover answers, the
digest line, and nothing new without a rota."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.app import App
from bot.clock import FixedClock
from bot.config import DutyRotaConfig, Settings, SettingsError, ShiftConfig, load_settings
from bot.domain.policy import (
    Actor,
    calls_duty_for_card,
    calls_duty_for_sla,
    in_business_hours,
    may_hand_over,
    may_set_duty,
    on_duty,
    shift_covers,
    shift_meets,
)
from bot.domain.vocabulary import DutyCall
from bot.handlers.digests import digest_text
from bot.i18n import Translator
from bot.services.desk import Desk
from bot.services.digest import digest_for
from bot.services.duty import DutyService
from bot.services.staff import NotAllowed, StaffService
from storage.models import Property
from tests.support.apps import settings_for
from tests.support.world import (
    ADMIN,
    ENG_GROUP,
    LI,
    MGR_GROUP,
    WANG,
    ZHANG,
    ZHAO_LEAD,
    World,
    report,
    staffed,
)

NIGHT = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)  # Sunday 02:00 in Shanghai
DAY = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
GAS = "楼道里好大一股煤气味"


def rota() -> DutyRotaConfig:
    """Engineering: 李师傅 (by name) at night, 张师傅 (by id) by day."""
    return DutyRotaConfig(
        team="engineering",
        shifts=[
            ShiftConfig(name="night", start="18:00", end="08:30", staff=["李师傅"]),
            ShiftConfig(name="day", start="08:30", end="18:00", staff=[ZHANG]),
        ],
    )


@pytest.fixture
def start_at() -> datetime:
    return NIGHT


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"duty": [rota()]})


@pytest.fixture
async def world(world: World) -> World:
    await staffed(world)
    return world


# -- the policy ----------------------------------------------------------------------------
def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026 given in Shanghai time (UTC+8)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def test_business_hours_and_weekdays() -> None:
    settings = Settings()
    assert in_business_hours(shanghai(29, 10), settings)
    assert not in_business_hours(shanghai(29, 2), settings)
    assert not in_business_hours(shanghai(29, 18), settings)  # the end is open
    weekdays = settings.model_copy(
        update={"business_hours": settings.business_hours.model_copy(update={"weekdays": [0]})}
    )
    assert not in_business_hours(shanghai(29, 10), weekdays)  # a Sunday
    assert in_business_hours(shanghai(30, 10), weekdays)  # a Monday


def test_a_night_shift_belongs_to_the_day_it_started() -> None:
    settings = Settings()
    sunday_night = ShiftConfig(start="18:00", end="08:30", weekdays=[6])
    assert shift_covers(sunday_night, shanghai(29, 23), settings)  # Sunday 23:00
    assert shift_covers(sunday_night, shanghai(30, 2), settings)  # Monday 02:00
    assert not shift_covers(sunday_night, shanghai(29, 2), settings)  # Saturday's night
    assert not shift_covers(sunday_night, shanghai(30, 20), settings)  # Monday's night
    day = ShiftConfig(start="08:30", end="18:00", weekdays=[6])
    assert shift_covers(day, shanghai(29, 8, 30), settings)
    assert not shift_covers(day, shanghai(29, 18), settings)


def test_a_shift_meets_a_span_it_is_on_in_or_begins_in() -> None:
    settings = Settings()
    monday_night = ShiftConfig(start="18:00", end="08:30", weekdays=[0])
    twelve_hours = timedelta(hours=12)
    evening = shanghai(30, 17, 50)  # Monday
    assert not shift_covers(monday_night, evening, settings)
    assert shift_meets(monday_night, evening, evening + twelve_hours, settings)  # at 18:00
    assert shift_meets(monday_night, shanghai(30, 23), shanghai(30, 23, 30), settings)  # on
    assert not shift_meets(monday_night, evening, shanghai(30, 18), settings)  # [start, end)
    sunday_evening = shanghai(29, 17, 50)  # Sunday's night is not its shift
    assert not shift_meets(monday_night, sunday_evening, sunday_evening + twelve_hours, settings)
    nothing = ShiftConfig(start="18:00", end="18:00")
    assert not shift_meets(nothing, evening, evening + twelve_hours, settings)


def test_marks_win_over_the_rota() -> None:
    assert on_duty({1, 2}, set(), set()) == {1, 2}
    assert on_duty({1, 2}, {3}, {2}) == {1, 3}
    assert on_duty(set(), set(), {1}) == set()


def test_who_is_called_and_when() -> None:
    settings = Settings()
    assert calls_duty_for_card("emergency", shanghai(29, 2), settings)
    assert not calls_duty_for_card("emergency", shanghai(29, 10), settings)
    assert not calls_duty_for_card("high", shanghai(29, 2), settings)
    assert calls_duty_for_sla(shanghai(29, 2), settings)
    assert not calls_duty_for_sla(shanghai(29, 10), settings)


class _Ticket:
    property_id, team, assignee_id = 1, "engineering", LI


def test_who_answers_a_handover_and_sets_duty() -> None:
    holder = Actor(LI, "李", 1, {"engineering": "staff"})
    teammate = Actor(ZHANG, "张", 1, {"engineering": "staff"})
    lead = Actor(ZHAO_LEAD, "赵", 1, {"engineering": "lead"})
    elsewhere = Actor(ZHAO_LEAD, "赵", 2, {"engineering": "lead"})
    assert may_hand_over(holder, _Ticket()) and may_hand_over(lead, _Ticket())
    assert not may_hand_over(teammate, _Ticket()) and not may_hand_over(elsewhere, _Ticket())
    assert may_set_duty(lead, "engineering") and not may_set_duty(teammate, "engineering")
    assert not may_set_duty(lead, "security")


@pytest.mark.parametrize(
    ("duty", "message"),
    [
        ([{"team": "engineering", "property": "nope"}], "PROPDESK_DUTY: unknown property 'nope'"),
        ([{"team": "engineering"}, {"team": "engineering"}], "two rotas for team"),
        ([{"team": "plumbers"}], "PROPDESK_DUTY (0.team): unknown team 'plumbers'"),
        (
            [{"team": "security", "shifts": [{"start": "25:00", "end": "08:00"}]}],
            "(0.shifts.0.start): '25:00' is not a HH:MM time",
        ),
        (
            [{"team": "security", "shifts": [{"start": "20:00", "end": "08:00", "weekdays": [7]}]}],
            "weekdays are 0 (Monday) to 6 (Sunday)",
        ),
    ],
)
def test_a_bad_rota_stops_start_up_with_one_line(duty: list[object], message: str) -> None:
    with pytest.raises(SettingsError, match=None) as caught:
        load_settings(duty=duty)
    assert message in str(caught.value)


# -- who is on duty ----------------------------------------------------------------------
async def on_duty_now(world: World) -> list[int]:
    async with world.app.uow_factory() as uow:
        desk = Desk(uow, world.app.settings, world.app.clock)
        [prop] = await uow.properties.all()
        return [m.telegram_id for m in await DutyService(desk).on_duty(prop, "engineering")]


def clock(app: App) -> FixedClock:
    assert isinstance(app.clock, FixedClock)
    return app.clock


async def test_the_rota_and_the_marks_decide_who_is_on_duty(world: World) -> None:
    assert await on_duty_now(world) == [LI]  # the night shift, named by name
    li = world.person(LI, LI, "李师傅")
    await li.say("/offduty")
    assert "下岗" in li.texts()
    assert await on_duty_now(world) == []
    zhang = world.person(ZHANG, ZHANG, "张师傅")
    await zhang.say("/onduty")
    assert "上岗" in zhang.texts()
    assert await on_duty_now(world) == [ZHANG]

    await zhang.say("/duty engineering 李师傅")  # not a lead
    assert "没有执行这个命令的权限" in zhang.texts()
    await zhang.say("/duty engineering 无名氏")  # nor told who is a member
    assert "没有执行这个命令的权限" in zhang.texts() and "不是" not in zhang.texts()
    lead = world.person(ZHAO_LEAD, ENG_GROUP, "赵组长")
    await lead.say("/duty 李师傅")  # the group's team
    assert "李师傅" in lead.texts()
    assert await on_duty_now(world) == [LI]
    await lead.say("/duty engineering nobody")
    assert "不是" in lead.texts()
    await lead.say("/duty engineering <b>Tom&Jerry</b>" + "x" * 500)
    assert "&lt;b&gt;Tom&amp;Jerry" in lead.texts() and len(lead.texts()) < 300
    await lead.say("/duty")
    assert "李师傅" in lead.texts()

    clock(world.app).advance(hours=13)  # the marks end; Sunday 15:00 is the day shift
    assert await on_duty_now(world) == [ZHANG]


async def test_duty_set_before_a_shift_change_replaces_the_next_shift_too(
    world: World,
) -> None:
    """At 17:50 on a Monday the lead puts himself on duty "until 05:50": 李师傅's night shift
    from 18:00 is his too, so 李师傅 is neither listed nor called at 18:10."""
    clock(world.app).set(datetime(2026, 11, 30, 9, 50, tzinfo=UTC))  # Monday 17:50
    assert await on_duty_now(world) == [ZHANG]  # the day shift
    zhao = world.person(ZHAO_LEAD, ENG_GROUP, "赵组长")
    await zhao.say("/duty engineering 赵组长")
    assert "05:50" in zhao.texts()
    clock(world.app).advance(minutes=20)  # 18:10, the night shift's time
    assert await on_duty_now(world) == [ZHAO_LEAD]
    await zhao.say("/duty")
    assert "赵组长" in zhao.texts() and "李师傅" not in zhao.texts()
    await report(world, GAS)
    assert world.sender.to(LI) == [] and world.sender.to(ZHAO_LEAD)  # only he is called
    clock(world.app).advance(hours=11, minutes=50)  # Tuesday 06:00: the mark ended
    assert await on_duty_now(world) == [LI]


async def test_setting_duty_is_refused_to_staff(world: World) -> None:
    async with world.app.uow_factory() as uow:
        desk = Desk(uow, world.app.settings, world.app.clock)
        [prop] = await uow.properties.all()
        actor = await StaffService(desk).actor(ZHANG, prop.id)
        with pytest.raises(NotAllowed):
            await DutyService(desk).set_duty(actor, prop, "engineering", [])


# -- the night emergency -------------------------------------------------------------------
async def test_a_night_emergency_reaches_the_person_on_duty_who_accepts_privately(
    world: World,
) -> None:
    wang, ticket_id = await report(world, GAS)
    assert "值班维修工程师" in wang.texts() and "李师傅" not in wang.texts()
    [card] = world.sender.to(LI)
    assert "您正在值班" in card.text and "13812345678" not in card.text
    assert f"tk:{ticket_id}:acc" in [b.data for row in card.buttons for b in row]
    assert world.sender.to(ZHANG) == []  # not on duty
    assert world.sender.to(ENG_GROUP) and world.sender.to(MGR_GROUP)

    li = world.person(LI, LI, "李师傅")
    await li.press(f"tk:{ticket_id}:acc", await world.card_message(ticket_id, LI))
    await world.flush()
    ticket = await world.ticket(ticket_id)
    assert (ticket.status, ticket.assignee_id) == ("accepted", LI)
    assert any(o.edit_message_id for o in li.last)  # the private card shows it at once
    assert "李师傅 已接单" in world.sender.to(ENG_GROUP)[-1].text  # the group's follows

    async with world.app.uow_factory() as uow:  # called once, whatever runs again
        desk = Desk(uow, world.app.settings, world.app.clock)
        again = await DutyService(desk).to_call(ticket, DutyCall.CARD)
        assert again == []
        digest = await digest_for(
            desk, await _prop(desk), NIGHT.astimezone(desk.settings.tz).date()
        )
    [figures] = digest.duty
    assert (figures.name, figures.emergencies, figures.accepted_in_time) == ("李师傅", 1, 1)
    assert figures.accepted_by_them == 1
    text = digest_text(Translator("zh-CN"), digest)
    assert "值班 李师傅" in text  # his emergencies
    [roster] = [line for line in text.splitlines() if line.startswith("🌙 值班:")]
    assert "工程部 李师傅" in roster and "张师傅" in roster  # night and day shifts that day


async def _prop(desk: Desk) -> Property:
    prop = await StaffService(desk).property_for(None)
    assert prop is not None
    return prop


async def test_an_emergency_by_day_and_an_ordinary_ticket_at_night_stay_in_the_groups(
    world: World,
) -> None:
    await report(world)  # repair, high, at night
    assert world.sender.to(LI) == []
    clock(world.app).set(DAY)
    await report(world, GAS)
    assert world.sender.to(LI) == [] and world.sender.to(ZHANG) == []


async def test_sla_reminders_at_night_reach_the_person_on_duty(world: World) -> None:
    await report(world)  # repair/high: respond within 30 minutes
    assert world.sender.to(LI) == []
    clock(world.app).advance(minutes=15)
    await world.app.periodic().sla_sweep()
    await world.flush()
    [card] = world.sender.to(LI)  # half time: the card privately, the reminder on it
    assert "响应时限的一半" in card.text and card.buttons
    clock(world.app).advance(minutes=15)
    await world.app.periodic().sla_sweep()
    await world.flush()
    later = world.sender.to(LI)[1:]
    assert any(o.edit_message_id for o in later)  # his card shows it is overdue
    [reply] = [o for o in later if o.reply_to_message_id]  # a note under the card he has
    assert "超时" in reply.text


async def test_without_a_rota_nothing_changes(app_factory: object, settings: Settings) -> None:
    app = await app_factory(settings_for(settings.database_url), NIGHT)  # type: ignore[operator]
    world = World(app)
    await staffed(world)
    wang, _ = await report(world, GAS)
    assert "值班维修" not in wang.texts()
    assert world.sender.to(LI) == [] and world.sender.to(ZHANG) == []
    li = world.person(LI, LI, "李师傅")
    await li.say("/duty")
    assert "无人值班" in li.texts()
    async with app.uow_factory() as uow:
        desk = Desk(uow, app.settings, app.clock)
        digest = await digest_for(
            desk, await _prop(desk), NIGHT.astimezone(desk.settings.tz).date()
        )
    assert (digest.on_duty, digest.duty) == ((), ())
    assert "值班" not in digest_text(Translator("zh-CN"), digest)
    await li.say("/onduty")  # by hand, without a rota
    async with app.uow_factory() as uow:
        desk = Desk(uow, app.settings, app.clock)
        digest = await digest_for(
            desk, await _prop(desk), NIGHT.astimezone(desk.settings.tz).date()
        )
    assert digest.on_duty == (("engineering", ("李师傅",)),)


# -- handover ------------------------------------------------------------------------------
async def test_off_duty_answers_pool_keep_and_refusals(world: World) -> None:
    _, ticket_id = await report(world)
    li_group = world.person(LI, ENG_GROUP, "李师傅")
    await li_group.press(f"tk:{ticket_id}:acc", await world.card_message(ticket_id, ENG_GROUP))
    li = world.person(LI, LI, "李师傅")
    await li.say("/offduty")
    assert "1 张" in li.texts()
    keep, pool = li.button("我继续处理"), li.button("退回待接单")
    assert li.button("张师傅") == f"ho:{ticket_id}:give:{ZHANG}"

    await li.press(keep)
    assert "由您继续处理" in li.texts()
    assert (await world.ticket(ticket_id)).assignee_id == LI
    zhang = world.person(ZHANG, ZHANG, "张师傅")
    await zhang.press(pool)
    assert "只有工单的处理人" in zhang.last_toast()
    await li.press(f"ho:{ticket_id}:give:{WANG}")  # forged: not a member
    assert "不能接手" in li.last_toast()
    await li.press(f"ho:{ticket_id}:give:abc")
    assert li.last_toast()  # unknown action, answered
    await li.press(pool)
    await world.flush()
    ticket = await world.ticket(ticket_id)
    assert (ticket.status, ticket.assignee_id) == ("new", None)
    assert "李师傅 已下岗" in world.sender.to(ENG_GROUP)[-1].text
    await li.press(pool)  # pressed twice
    assert "只有工单的处理人" in li.last_toast()


async def test_an_old_removal_question_never_takes_a_ticket_from_whoever_accepted_it(
    world: World,
) -> None:
    """/remove sends 李's two tickets back to the pool with a question each; 张 accepts the
    first meanwhile: its old question changes nothing and says who has it, while the second,
    still in the pool, is handed as asked."""
    _, first = await report(world)
    _, second = await report(world, "厨房水管也在漏")
    li = world.person(LI, ENG_GROUP, "李师傅")
    for ticket_id in (first, second):
        await li.press(f"tk:{ticket_id}:acc", await world.card_message(ticket_id, ENG_GROUP))
    admin = world.person(ADMIN, ENG_GROUP, "Admin")
    await admin.say(f"/remove {LI}")
    asked = [b.data for o in admin.last for row in o.buttons for b in row]
    give_first, leave_first = f"ho:{first}:pgive:{ZHAO_LEAD}", f"ho:{first}:left"
    give_second = f"ho:{second}:pgive:{ZHAO_LEAD}"
    assert {give_first, leave_first, give_second} <= set(asked), asked
    zhang = world.person(ZHANG, ENG_GROUP, "张师傅")
    await zhang.press(f"tk:{first}:acc", await world.card_message(first, ENG_GROUP))
    events = len(await world.events(first))

    for stale in (give_first, leave_first):
        await admin.press(stale, 1)
        assert "已由 张师傅 接单" in admin.last_toast() and admin.answers[-1].alert
        [question] = admin.last
        assert question.edit_message_id == 1 and not question.buttons
        ticket = await world.ticket(first)
        assert (ticket.status, ticket.assignee_id) == ("accepted", ZHANG)
    assert len(await world.events(first)) == events  # nothing recorded either

    await admin.press(give_second, 2)
    handed = await world.ticket(second)
    assert (handed.status, handed.assignee_id) == ("accepted", ZHAO_LEAD)
    await admin.press(give_second, 2)  # pressed twice: it is 赵组长's now
    assert "已由 赵组长 接单" in admin.last_toast()


async def test_removed_staff_private_cards_go_quiet(world: World) -> None:
    """The night emergency's private card of someone then removed from every team loses
    its buttons and no longer follows the ticket (what others do to it stays in the groups)."""
    _, ticket_id = await report(world, GAS)
    card_id = await world.card_message(ticket_id, LI)
    zhao = world.person(ZHAO_LEAD, ENG_GROUP, "赵组长")
    await zhao.say(f"/remove {LI}")
    await world.flush()
    [ended] = [o for o in world.sender.to(LI) if o.edit_message_id == card_id]
    assert "不再更新" in ended.text and not ended.buttons
    seen = len(world.sender.to(LI))
    zhang = world.person(ZHANG, ENG_GROUP, "张师傅")
    await zhang.press(f"tk:{ticket_id}:acc", await world.card_message(ticket_id, ENG_GROUP))
    await world.flush()
    assert (await world.ticket(ticket_id)).status == "accepted"
    assert len(world.sender.to(LI)) == seen  # his card is not edited any more
