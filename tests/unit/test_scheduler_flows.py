"""The scheduler's sweeps with a travelling clock: SLA reminders and escalation (each once),
downtime catch-up, pauses, ratings with quiet hours and return visits, surveys, plans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.clock import FixedClock
from bot.config import PlanConfig, Settings, SurveyConfig
from storage.models import Rating, ReturnVisit, SurveyResponse, Ticket
from tests.support.apps import START
from tests.support.world import (
    ENG_GROUP,
    LI,
    MANAGER,
    MGR_GROUP,
    SERVICE_GROUP,
    WANG,
    ZHAO_LEAD,
    World,
    accepted,
    complete,
    confirmed,
    report,
    staffed,
)


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "survey": SurveyConfig(cron="0 10 1 * *"),
            "plans": [
                PlanConfig(code="fire", title="消防设施巡检", team="security", cron="0 9 * * 1")
            ],
        }
    )


def clock(world: World) -> FixedClock:
    assert isinstance(world.app.clock, FixedClock)
    return world.app.clock


async def at(world: World, moment: datetime) -> None:
    """Travel to `moment`, run every sweep, deliver what they queued."""
    clock(world).set(moment)
    periodic = world.app.periodic()
    await periodic.sla_sweep()
    await periodic.rating_sweep()
    await periodic.survey_tick()
    await periodic.plan_tick()
    await periodic.close_sweep()
    await world.flush()


def texts(world: World, chat: int) -> list[str]:
    return [o.text for o in world.sender.to(chat)]


def count(world: World, chat: int, part: str) -> int:
    return sum(part in text for text in texts(world, chat))


async def test_unaccepted_ticket_reminder_then_escalation_each_once(world: World) -> None:
    await staffed(world)
    _, ticket_id = await report(world)  # repair/high: respond in 30 min, resolve in 8 h
    await at(world, START + timedelta(minutes=14))
    assert count(world, ENG_GROUP, "响应时限的一半") == 0
    await at(world, START + timedelta(minutes=15))
    await at(world, START + timedelta(minutes=16))
    assert count(world, ENG_GROUP, "响应时限的一半") == 1
    await at(world, START + timedelta(minutes=30))
    await at(world, START + timedelta(minutes=31))
    assert count(world, MGR_GROUP, "超时未接单") == 1
    assert count(world, ZHAO_LEAD, "超时未接单") == 1  # the team lead, privately
    assert count(world, MANAGER, "超时未接单") == 1  # the duty manager, privately
    assert count(world, LI, "超时未接单") == 0  # plain staff are not paged
    assert "已超过响应时限" in world.sender.to(ENG_GROUP)[-1].text  # the card shows it
    ticket = await world.ticket(ticket_id)
    assert ticket.sla_stage == "response_overdue"


async def test_resolution_overdue_repeats_then_stops_and_resident_is_warned(
    world: World,
) -> None:
    await staffed(world)
    _, _, ticket_id = await accepted(world)
    ticket = await world.ticket(ticket_id)
    due = ticket.resolution_due_at
    await at(world, due - timedelta(minutes=31))
    assert count(world, WANG, "可能无法在") == 0
    await at(world, due - timedelta(minutes=30))
    await at(world, due - timedelta(minutes=29))
    assert count(world, WANG, "可能无法在") == 1  # told before the deadline passes
    for hours in (0, 1, 2, 4, 6, 8, 10, 24):
        await at(world, due + timedelta(hours=hours))
    # first escalation plus the configured repeats (every 2 h, at most 3), never more
    assert count(world, MGR_GROUP, "超时未完成") == 4
    assert (await world.ticket(ticket_id)).next_sla_check_at is None


async def test_downtime_sends_one_catch_up_per_ticket_not_a_storm(world: World) -> None:
    await staffed(world)
    ids = [(await report(world, f"{n}号楼道灯漏电"))[1] for n in range(3)]
    before = len(world.sender.sent)
    await at(world, START + timedelta(hours=24))  # the bot was down for a day
    sent = world.sender.sent[before:]
    to_managers_group = [o for o in sent if o.chat_id == MGR_GROUP]
    assert len(to_managers_group) == len(ids)  # one catch-up per overdue ticket
    assert all("超时未完成" in o.text for o in to_managers_group)
    assert not any("响应时限的一半" in o.text for o in sent)  # stale reminders skipped
    await at(world, START + timedelta(hours=24, minutes=1))
    assert len([o for o in world.sender.sent if o.chat_id == MGR_GROUP]) == len(ids)


async def test_waiting_for_resident_pauses_the_clock(world: World) -> None:
    await staffed(world)
    wang, li, ticket_id = await accepted(world)
    due = (await world.ticket(ticket_id)).resolution_due_at
    await li.press(f"tk:{ticket_id}:wt", await world.card_message(ticket_id, ENG_GROUP))
    await world.flush()
    assert "需要您的配合" in world.sender.text_to(WANG)
    await at(world, due + timedelta(hours=3))
    assert count(world, MGR_GROUP, "超时未完成") == 0  # paused: no escalation
    await wang.press(f"my:{ticket_id}:add")
    await wang.say("明天上午在家")
    await world.flush()
    ticket = await world.ticket(ticket_id)
    assert ticket.status == "in_progress"
    assert ticket.resolution_due_at > due + timedelta(hours=3)  # pushed by the pause


async def test_estimate_reaches_the_resident_and_the_delay_notice(world: World) -> None:
    await staffed(world)
    _, li, ticket_id = await accepted(world)
    message = await world.card_message(ticket_id, ENG_GROUP)
    await li.press(f"tk:{ticket_id}:eta", message)
    await li.reply("明天", message)
    assert "时间格式不对" in li.texts()
    await li.reply("11-29 20:00", message)
    await world.flush()
    assert "11-29 20:00" in world.sender.text_to(WANG)
    due = (await world.ticket(ticket_id)).resolution_due_at
    await at(world, due - timedelta(minutes=30))
    assert "预计 11-29 20:00 完成" in world.sender.to(WANG)[-1].text


async def test_rating_asked_after_delay_then_low_score_opens_return_visit(world: World) -> None:
    await world.bind("service", SERVICE_GROUP)
    ticket_id, rating_id = await confirmed(world)
    now = clock(world).now()
    await at(world, now + timedelta(minutes=29))
    assert count(world, WANG, "请为这次服务打分") == 0
    await at(world, now + timedelta(minutes=30))
    await at(world, now + timedelta(minutes=31))
    assert count(world, WANG, "请为这次服务打分") == 1
    wang = world.person(WANG, WANG, "王女士")
    await wang.press(f"rt:{rating_id}:2")
    await wang.press(f"rr:{rating_id}:slow")
    await wang.say("等了三天才来")
    await world.flush()
    async with world.app.uow_factory() as uow:
        rating = await uow.ratings.get(rating_id)
        visits = list(await uow.visits.for_ticket(ticket_id))
    assert rating is not None and (rating.stars, rating.reasons) == (2, ["slow"])
    assert rating.comment == "等了三天才来"
    assert [v.reason for v in visits] == ["low_rating"]
    assert count(world, SERVICE_GROUP, "待回访") == 1
    await wang.press(f"rt:{rating_id}:5")  # a second press changes nothing
    async with world.app.uow_factory() as uow:
        assert (await uow.ratings.get(rating_id)).stars == 2  # type: ignore[union-attr]

    await world.add_member(MANAGER, "service", "manager", "周经理")
    manager = world.person(MANAGER, SERVICE_GROUP, "周经理")
    stranger_staff = world.person(LI, SERVICE_GROUP, "李师傅")
    await stranger_staff.press(f"rv:{visits[0].id}")
    assert "只有" in stranger_staff.last_toast()
    await manager.press(f"rv:{visits[0].id}")
    await manager.reply("已电话回访,住户表示理解", 1)
    async with world.app.uow_factory() as uow:
        visit = await uow.visits.get(visits[0].id)
    assert visit is not None and visit.status == "done" and visit.recorded_by == MANAGER


async def test_no_answer_one_reminder_then_closed_unrated(world: World) -> None:
    _, rating_id = await confirmed(world)
    now = clock(world).now()
    for hours in (1, 25, 49, 73):
        await at(world, now + timedelta(hours=hours))
    assert count(world, WANG, "请为这次服务打分") == 1
    assert count(world, WANG, "还没有为工单") == 1
    async with world.app.uow_factory() as uow:
        rating = await uow.ratings.get(rating_id)
    assert rating is not None and rating.status == "expired" and rating.stars is None


async def test_quiet_hours_hold_the_rating_until_morning(world: World) -> None:
    clock(world).set(datetime(2026, 11, 28, 13, 0, tzinfo=UTC))  # 21:00 in Shanghai
    await confirmed(world)
    await at(world, datetime(2026, 11, 28, 13, 45, tzinfo=UTC))  # 21:45: quiet
    await at(world, datetime(2026, 11, 28, 23, 0, tzinfo=UTC))  # 07:00: still quiet
    assert count(world, WANG, "请为这次服务打分") == 0
    await at(world, datetime(2026, 11, 29, 0, 30, tzinfo=UTC))  # 08:30: morning
    assert count(world, WANG, "请为这次服务打分") == 1


async def test_not_solved_opens_a_return_visit(world: World) -> None:
    await world.bind("service", SERVICE_GROUP)
    await staffed(world)
    wang, li, ticket_id = await accepted(world)
    await complete(world, li, ticket_id)
    await wang.press(f"rs:{ticket_id}:no")
    await wang.say("还是在滴水")
    await world.flush()
    async with world.app.uow_factory() as uow:
        reasons = [v.reason for v in await uow.visits.for_ticket(ticket_id)]
    assert reasons == ["not_solved"]
    assert count(world, SERVICE_GROUP, "住户反馈没解决") == 1


async def test_monthly_survey_once_and_answers_recorded(world: World) -> None:
    await staffed(world)
    await report(world)  # registers Wang
    await at(world, datetime(2026, 12, 1, 1, 59, tzinfo=UTC))  # 09:59 local
    assert count(world, WANG, "满意度调查") == 0
    await at(world, datetime(2026, 12, 1, 2, 0, tzinfo=UTC))  # 10:00 local
    await at(world, datetime(2026, 12, 1, 2, 5, tzinfo=UTC))
    assert count(world, WANG, "满意度调查") == 1
    wang = world.person(WANG, WANG, "王女士")
    await wang.press("sv:2026-12-01:4")
    await wang.press("sv:2026-12-01:1")  # twice: the first answer stands
    async with world.app.uow_factory() as uow:
        rows = (await uow.session.scalars(select(SurveyResponse))).all()
    assert [(r.resident_telegram_id, r.stars) for r in rows] == [(WANG, 4)]


async def test_inspection_plan_opens_one_ticket_per_run(world: World) -> None:
    await world.bind("security", -1001003)
    monday_nine = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
    await at(world, monday_nine - timedelta(minutes=1))
    await at(world, monday_nine)
    await at(world, monday_nine + timedelta(minutes=5))
    async with world.app.uow_factory() as uow:
        plan_tickets = (
            await uow.session.scalars(select(Ticket).where(Ticket.resident_id.is_(None)))
        ).all()
    assert [(t.team, t.description) for t in plan_tickets] == [("security", "消防设施巡检")]
    assert "消防设施巡检" in world.sender.to(-1001003)[-1].text


async def test_processed_update_ids_are_forgotten_after_a_week(world: World) -> None:
    await staffed(world)
    await report(world)
    periodic = world.app.periodic()
    assert await periodic.prune_updates() == 0
    clock(world).set(START + timedelta(days=8))
    assert await periodic.prune_updates() > 0
    assert await periodic.prune_updates() == 0


async def test_sweeps_are_idempotent_across_two_workers(world: World) -> None:
    await staffed(world)
    await report(world)
    clock(world).set(START + timedelta(minutes=15))
    first, second = world.app.periodic(), world.app.periodic()
    await first.sla_sweep()
    await second.sla_sweep()
    await world.flush()
    assert count(world, ENG_GROUP, "响应时限的一半") == 1
    async with world.app.uow_factory() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Rating)) == 0
        assert await uow.session.scalar(select(func.count()).select_from(ReturnVisit)) == 0


async def test_urgency_raised_to_emergency_alerts_the_managers_group(world: World) -> None:
    await staffed(world)
    _, ticket_id = await report(world)
    li = world.person(LI, ENG_GROUP, "李师傅")
    message = await world.card_message(ticket_id, ENG_GROUP)
    await li.press(f"tk:{ticket_id}:u:emergency", message)
    await li.press(f"tk:{ticket_id}:u:emergency", message)  # twice: still one card
    await world.flush()
    to_managers = world.sender.to(MGR_GROUP)
    cards = [o for o in to_managers if "20261128-0001" in o.text and o.edit_message_id is None]
    assert len(cards) == 1 and "紧急" in cards[0].text
    ticket = await world.ticket(ticket_id)
    assert ticket.response_due_at == ticket.created_at + timedelta(minutes=5)


async def test_unconfirmed_fix_closes_by_itself_after_three_days(world: World) -> None:
    await staffed(world)
    wang, li, ticket_id = await accepted(world)
    await complete(world, li, ticket_id)
    resolved_at = (await world.ticket(ticket_id)).resolved_at
    assert resolved_at is not None
    await at(world, resolved_at + timedelta(hours=71))
    assert (await world.ticket(ticket_id)).status == "resolved"
    await at(world, resolved_at + timedelta(hours=72))
    ticket = await world.ticket(ticket_id)
    assert ticket.status == "closed" and ticket.closed_at is not None
    assert "auto_closed" in [e.kind for e in await world.events(ticket_id)]
    assert not world.sender.to(ENG_GROUP)[-1].buttons  # the card is retired
    await wang.press(f"rs:{ticket_id}:ok")  # a late answer changes nothing
    assert (await world.ticket(ticket_id)).status == "closed"


async def test_reply_to_another_cards_ticket_is_a_note_there_not_the_open_step(
    world: World,
) -> None:
    await staffed(world)
    _, li, first = await accepted(world)
    _, second = await report(world, "楼道水管也漏了")
    await world.flush()
    first_card = await world.card_message(first, ENG_GROUP)
    second_card = await world.card_message(second, ENG_GROUP)
    await li.press(f"tk:{first}:done", first_card)  # the completion step for the first
    await li.reply("灯泡型号是E27", second_card)  # but a reply to the second ticket's card
    assert (await world.ticket(first)).status == "accepted"  # not completed by accident
    notes = [e for e in await world.events(second) if e.kind == "note"]
    assert notes and notes[-1].note == "灯泡型号是E27"
    await li.reply("已更换排水管", first_card)  # a reply to its own card finishes the step
    assert (await world.ticket(first)).status == "resolved"
