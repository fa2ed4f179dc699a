"""A resident's own data through the dialog engine, on both databases: /mydata sends a JSON
file with profile, tickets (timeline) and ratings; /forgetme, confirmed with a button,
anonymises the profile and the tickets but keeps the figures; the retention sweep blanks
closed tickets' descriptions and photos after the configured days, and records it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.clock import FixedClock
from bot.config import RetentionConfig, Settings
from bot.messages import Document, Outgoing
from bot.services.outbox import from_payload, to_payload
from storage.models import Correction, Rating, SurveyResponse, Ticket
from tests.unit.dispatch_kit import ENG_GROUP, GroupPerson, World
from tests.unit.sim import fake_classify
from tests.unit.test_dispatch_flows import WANG, staffed
from tests.unit.test_scheduler_flows import accepted, complete, confirmed

START = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    configured = settings.model_copy(update={"retention": RetentionConfig(closed_ticket_days=30)})
    app = await App.create(configured, clock=FixedClock(START), classify=fake_classify)
    yield World(app)
    await app.close()


def clock(world: World) -> FixedClock:
    assert isinstance(world.app.clock, FixedClock)
    return world.app.clock


def document_of(replies: list[Outgoing]) -> dict[str, Any]:
    [out] = [o for o in replies if o.document is not None]
    assert out.document is not None
    assert out.document.filename.endswith(".json")
    loaded: dict[str, Any] = json.loads(out.document.content.decode("utf-8"))
    return loaded


async def rated(world: World) -> tuple[GroupPerson, int]:
    """Wang's leak fixed, confirmed, rated 2 stars (slow) with a comment."""
    ticket_id, rating_id = await confirmed(world)
    clock(world).advance(minutes=31)
    await world.app.periodic().rating_sweep()
    wang = world.person(WANG, WANG, "王女士")
    await wang.press(f"rt:{rating_id}:2")
    await wang.press(f"rr:{rating_id}:slow")
    await wang.say("等了三天才来,电话 13987654321")
    await world.flush()
    return wang, ticket_id


# /mydata -------------------------------------------------------------------------------------
async def test_mydata_sends_profile_tickets_timeline_and_ratings(world: World) -> None:
    wang, _ = await rated(world)
    replies = await wang.say("/mydata")
    assert "全部个人信息" in replies[0].text
    data = document_of(replies)
    assert data["profile"]["name"] == "王女士"
    assert data["profile"]["phone"] == "13812345678"  # their own number, in full
    assert data["profile"]["building"] == "3栋" and data["profile"]["room"] == "501"
    [ticket] = data["tickets"]
    assert ticket["number"] == "20261128-0001"
    assert ticket["description"] == "卫生间天花板一直在滴水"
    assert ticket["created_at"] == "2026-11-28T14:00:00+08:00"  # property-local time
    assert ticket["status"] == "已关闭" and ticket["category"] == "报修"
    whats = [event["what"] for event in ticket["timeline"]]
    assert whats[0] == "已提交" and any("李师傅" in what for what in whats)
    assert ticket["rating"]["stars"] == 2
    assert ticket["rating"]["comment"] == "等了三天才来,电话 13987654321"
    assert ticket["rating"]["reasons"] == ["太慢"]


async def test_mydata_in_english_and_before_registering(world: World) -> None:
    stranger = world.person(4242, 4242, "Stranger")
    replies = await stranger.say("/mydata")
    assert [o.document for o in replies] == [None]
    assert "没有保存" in replies[0].text
    await stranger.say("/forgetme")
    assert "没有保存" in stranger.texts()


# /forgetme -----------------------------------------------------------------------------------
async def test_forgetme_keep_changes_nothing_and_old_questions_are_stale(world: World) -> None:
    wang, _ = await rated(world)
    await wang.say("/forgetme")
    assert "确定要删除" in wang.texts()
    old_yes = wang.button("确认删除")
    await wang.press(wang.button("保留"))
    assert "保持不变" in wang.texts()
    await wang.press(old_yes)
    assert "过期" in wang.answers[-1].text
    async with world.app.uow_factory() as uow:
        assert await uow.residents.by_telegram_id(WANG) is not None
    [ticket] = await world.tickets()
    assert ticket.contact_name == "王女士"


async def test_forgetme_anonymises_keeps_figures_and_allows_a_fresh_start(world: World) -> None:
    wang, closed_id = await rated(world)
    await wang.say("水管又漏了,打 13987654321")
    await wang.press(wang.button("确认"))
    await world.flush()
    open_id = (await world.tickets())[-1].id
    before = await figures(world)

    await wang.say("/forgetme")
    assert "1 张未完成的工单" in wang.texts()
    await wang.press(wang.button("确认删除"))
    assert "已删除您的个人信息" in wang.texts() and "撤销了 1 张" in wang.texts()
    await world.flush()

    async with world.app.uow_factory() as uow:
        assert await uow.residents.by_telegram_id(WANG) is None
        tickets = list((await uow.session.scalars(select(Ticket).order_by(Ticket.id))).all())
        ratings = list((await uow.session.scalars(select(Rating))).all())
        corrections = list((await uow.session.scalars(select(Correction))).all())
        events = {t.id: list(await uow.tickets.events(t.id)) for t in tickets}
    for ticket in tickets:
        assert (ticket.contact_name, ticket.contact_phone, ticket.address) == ("", "", "")
        assert (ticket.description, ticket.photo_file_ids) == ("", [])
        assert ticket.resident_id is None and ticket.redacted_at is not None
        assert events[ticket.id][-1].kind == "anonymised"
        for event in events[ticket.id]:
            assert event.note is None and event.photo_file_ids is None
            assert event.actor_kind != "resident" or event.actor_id is None
    assert {t.id: t.status for t in tickets} == {closed_id: "closed", open_id: "cancelled"}
    [rating] = ratings
    assert (rating.stars, rating.reasons, rating.comment) == (2, ["slow"], None)
    assert rating.resident_telegram_id == 0
    assert all(c.text == "" for c in corrections)
    after = await figures(world)
    assert after == {**before, "open": 0}  # one open ticket withdrawn, nothing else moved

    # The team hears it under the open ticket's card; every card loses the personal data.
    group = world.sender.to(ENG_GROUP)
    assert any("已撤销" in o.text for o in group)
    edits = [o for o in group if o.edit_message_id is not None and "删除个人信息" in o.text]
    assert len(edits) == 2 and all(not o.buttons for o in edits)
    assert all("王女士" not in o.text and "漏" not in o.text for o in edits)

    # A newcomer again: registration starts, and nothing is kept.
    await wang.say("/mydata")
    assert "没有保存" in wang.texts()
    await wang.say("你好")
    assert "怎么称呼" in wang.texts()


async def test_forgotten_survey_answers_keep_their_stars(world: World) -> None:
    await staffed(world)
    wang, _, _ = await accepted(world)
    async with world.app.uow_factory() as uow:
        for period, stars in (("2026-11-01", 4), ("2026-12-01", 5)):
            row = SurveyResponse(
                period=period, resident_telegram_id=WANG, sent_at=START, stars=stars
            )
            row.comment, row.answered_at = "挺好,电话 13987654321", START
            uow.session.add(row)
        # someone else answered the same period: the answers must not collide
        uow.session.add(
            SurveyResponse(period="2026-11-01", resident_telegram_id=777, sent_at=START, stars=3)
        )
        await uow.commit()
    data = document_of(await wang.say("/mydata"))
    assert [s["stars"] for s in data["surveys"]] == [4, 5]
    await wang.say("/forgetme")
    await wang.press(wang.button("确认删除"))
    async with world.app.uow_factory() as uow:
        rows = list((await uow.session.scalars(select(SurveyResponse))).all())
    assert sorted((r.stars, r.comment) for r in rows) == [(3, None), (4, None), (5, None)]
    assert WANG not in {r.resident_telegram_id for r in rows}


async def figures(world: World) -> dict[str, Any]:
    async with world.app.uow_factory() as uow:
        session = uow.session
        count = func.count()
        stars = await session.scalar(select(func.sum(Rating.stars)))
        return {
            "tickets": await session.scalar(select(count).select_from(Ticket)),
            "open": await session.scalar(
                select(count).where(Ticket.status.in_(("new", "accepted", "in_progress")))
            ),
            "stars": stars,
        }


# retention ----------------------------------------------------------------------------------
async def test_retention_blanks_closed_tickets_after_the_configured_days(world: World) -> None:
    await staffed(world)
    wang, li, closed_id = await accepted(world)
    await complete(world, li, closed_id)  # a completion photo and note
    await wang.press(f"rs:{closed_id}:ok")
    await wang.say("阳台也在漏水")  # a second ticket that stays open
    await wang.press(wang.button("确认"))
    closed_at = (await world.ticket(closed_id)).closed_at
    assert closed_at is not None

    clock(world).set(closed_at + timedelta(days=30) - timedelta(minutes=1))
    assert await world.app.periodic().retention_sweep() == 0
    clock(world).set(closed_at + timedelta(days=30, minutes=1))
    assert await world.app.periodic().retention_sweep() == 1
    assert await world.app.periodic().retention_sweep() == 0  # once

    [closed, still_open] = await world.tickets()
    assert (closed.description, closed.photo_file_ids) == ("", [])
    assert closed.contact_name == "王女士"  # the setting is about descriptions and photos
    assert still_open.description == "阳台也在漏水"
    events = await world.events(closed_id)
    assert events[-1].kind == "redacted" and events[-1].actor_kind == "system"
    assert all(e.note is None and e.photo_file_ids is None for e in events)
    await wang.press(f"my:{closed_id}")
    assert "描述和照片已按保存期限删除" in wang.texts()


async def test_retention_unlimited_by_default(settings: Settings) -> None:
    app = await App.create(settings, clock=FixedClock(START), classify=fake_classify)
    try:
        world = World(app)
        await confirmed(world)
        clock(world).set(START + timedelta(days=3650))
        assert settings.retention.closed_ticket_days is None
        assert await app.periodic().retention_sweep() == 0
        [ticket] = await world.tickets()
        assert ticket.description and ticket.redacted_at is None
    finally:
        await app.close()


async def test_retention_sweep_is_a_scheduled_job(world: World) -> None:
    assert "retention" in {job.id for job in world.app.jobs()}


def test_a_document_survives_the_outbox_payload() -> None:
    content = json.dumps({"name": "王女士"}, ensure_ascii=False).encode("utf-8")
    out = Outgoing(
        chat_id=1001, text="caption", document=Document("data.json", content, "application/json")
    )
    payload = to_payload(out)
    json.dumps(payload)  # stored as JSON
    assert from_payload(1001, payload) == out
