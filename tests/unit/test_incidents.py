"""Incidents below the transports: how alike two reports are (topic, then Jaccard on content
words), the window found in a notice's text, and over a real database: thirty reports of
one outage make one card, staff turn it into a notice to the building in two taps (refused
politely for a technician) and only once however often [send] is pressed, and the digest
counts the incident once with its households."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.config import IncidentConfig
from bot.handlers.inputs import find_local_window
from bot.nlp import get_classifier
from bot.nlp.incidents import report_words, score
from bot.services.digest import compute, day_period
from storage.models import Notice, NoticeRecipient, OutboxMessage, TicketCard
from tests.support.outages import report_outage, seed
from tests.support.world import ENG_GROUP, LI, MANAGER, ZHAO_LEAD, GroupPerson, World

TZ = ZoneInfo("Asia/Shanghai")
CONFIG = IncidentConfig()
# Alike enough to be suggested for the outage's incident, not enough to join it.
SUGGESTED = "水压很小,水龙头出水很细,有点漏"
CLEANER = 2101
SERVICE_LEAD = 2105


def words(text: str):  # type: ignore[no-untyped-def]
    return report_words(text, get_classifier().tokens(text))


def test_the_same_outage_in_other_words_is_a_confident_match() -> None:
    first = words("3栋停水了")
    for text in ("家里没水了", "我家没水了,整栋楼都停水", "停水了什么时候来水"):
        assert score(first, words(text)) >= CONFIG.join_score, text


def test_a_related_complaint_is_only_a_suggestion() -> None:
    alike = score(words("3栋停水了"), words("水压很小,水龙头出水很细"))
    assert CONFIG.suggest_score <= alike < CONFIG.join_score


def test_another_service_or_a_flats_own_problem_never_matches() -> None:
    assert score(words("3栋停水了"), words("电梯坏了,按钮没反应")) == 0
    leak = words("卫生间天花板一直在滴水")
    assert leak.topic == "" and score(leak, leak) == 0  # one flat's leak is never shared


def test_a_window_in_a_notices_text() -> None:
    now = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    start, end = find_local_window("明天 9:00-12:00 1栋停水检修", now, TZ) or (None, None)
    assert start == datetime(2026, 12, 8, 9, 0, tzinfo=TZ)
    assert end == datetime(2026, 12, 8, 12, 0, tzinfo=TZ)
    assert find_local_window("今天 14:00-16:30 停电", now, TZ) is not None
    assert find_local_window("今天 08:00-08:30 停电", now, TZ) is None  # over already
    assert find_local_window("1栋停水检修,请提前储水", now, TZ) is None
    assert find_local_window("今天 16:00-12:00", now, TZ) is None


# -- over a real database ---------------------------------------------------------------------
async def test_thirty_reports_one_card_and_a_notice_in_two_taps(world: World) -> None:
    ids = await seed(world, 30)
    await report_outage(world, ids)
    tickets = await world.tickets()
    assert len(tickets) == 30 and len({t.incident_id for t in tickets}) == 1
    async with world.app.uow_factory() as uow:
        cards = list((await uow.session.scalars(select(TicketCard))).all())
    assert [c.ticket_id for c in cards] == [tickets[0].id]
    card = world.sender.text_to(ENG_GROUP)
    assert "3栋 停水 · 30 户报告" in card, card

    lead, message_id = tickets[0], await world.card_message(tickets[0].id, ENG_GROUP)
    li = world.person(LI, ENG_GROUP, "李师傅")
    await li.press(f"ic:{lead.id}:a", message_id)
    assert "经理或客服主管" in li.last_toast()
    manager = GroupPerson(world.app.dialog, MANAGER, ENG_GROUP, "周经理")
    await manager.press(f"ic:{lead.id}:a", message_id)
    await manager.press(f"ic:{lead.id}:as", message_id)
    await world.flush()
    async with world.app.uow_factory() as uow:
        notice = (await uow.session.scalars(select(Notice))).one()
    assert (notice.audience, notice.audience_value, notice.recipients) == ("building", "3栋", 30)
    assert all("3栋停水" in world.sender.text_to(i) for i in ids)


async def test_a_building_name_with_an_ampersand_is_escaped_once(world: World) -> None:
    """The notice from an incident's card is plain words, escaped once when shown: "A&B座"
    reaches residents (and the preview) as A&amp;B座 in HTML, never as A&amp;amp;B座."""
    ids = await seed(world, 2, building="A&B座")
    await report_outage(world, ids)
    lead = (await world.tickets())[0]
    message_id = await world.card_message(lead.id, ENG_GROUP)
    manager = GroupPerson(world.app.dialog, MANAGER, ENG_GROUP, "周经理")
    await manager.press(f"ic:{lead.id}:a", message_id)
    assert "A&amp;B座" in manager.texts() and "&amp;amp;" not in manager.texts()
    await manager.press(f"ic:{lead.id}:as", message_id)
    await world.flush()
    async with world.app.uow_factory() as uow:
        notice = (await uow.session.scalars(select(Notice))).one()
    assert notice.text.startswith("A&B座")
    for resident in ids:
        sent = world.sender.text_to(resident)
        assert "A&amp;B座停水" in sent and "&amp;amp;" not in sent, sent


async def test_the_digest_counts_the_incident_once(world: World) -> None:
    ids = await seed(world, 4)
    await report_outage(world, ids)
    lead = (await world.tickets())[0]
    li = world.person(LI, ENG_GROUP, "李师傅")
    message_id = await world.card_message(lead.id, ENG_GROUP)
    await li.press(f"tk:{lead.id}:acc", message_id)
    await li.press(f"tk:{lead.id}:done", message_id)
    await li.reply("水泵已修复", to=1)
    await world.flush()
    assert {t.status for t in await world.tickets()} == {"resolved"}
    day = world.app.clock.now().astimezone(TZ).date()
    async with world.app.uow_factory() as uow:
        prop = (await uow.properties.all())[0]
        digest = await compute(uow.session, prop, day_period(day, TZ))
    assert (digest.new, digest.resolved) == (4, 4)  # every report is counted as a report
    assert (digest.sla_due, digest.sla_met) == (1, 1)  # one promise, kept once
    assert (digest.incidents, digest.incident_households) == (1, 4)


async def test_the_incident_moves_to_another_team_with_all_its_reports(world: World) -> None:
    ids = await seed(world, 3)
    await report_outage(world, ids)
    lead = (await world.tickets())[0]
    li = world.person(LI, ENG_GROUP, "李师傅")
    message_id = await world.card_message(lead.id, ENG_GROUP)
    await li.press(f"tk:{lead.id}:acc", message_id)
    await li.press(f"tk:{lead.id}:rt:environment", message_id)
    await li.reply("是保洁部的水箱", to=1)
    await world.flush()
    tickets = await world.tickets()
    assert {(t.team, t.status) for t in tickets} == {("environment", "new")}
    for telegram_id in ids:  # each reporter: accepted once, moved once
        said = world.sender.text_to(telegram_id)
        assert said.count("已接单") == 1 and said.count("已转交") == 1, said


async def test_a_lead_taking_over_the_incident_takes_its_reports(world: World) -> None:
    ids = await seed(world, 3)
    await report_outage(world, ids)
    lead = (await world.tickets())[0]
    li = world.person(LI, ENG_GROUP, "李师傅")
    await li.press(f"tk:{lead.id}:acc", await world.card_message(lead.id, ENG_GROUP))
    zhao = world.person(ZHAO_LEAD, ENG_GROUP, "赵组长")
    await zhao.say(f"/takeover {lead.number}")
    await world.flush()
    assert {t.assignee_name for t in await world.tickets()} == {"赵组长"}


async def test_only_the_reports_team_or_a_manager_merges_or_keeps_it_apart(
    world: World,
) -> None:
    """A suggested report's [merge] / [not the same] are its card's buttons: another team's
    staff are refused as on the card, and nothing changes."""
    ids = await seed(world, 2)
    await report_outage(world, ids[:1])
    neighbour = world.person(ids[1], ids[1], "住户")
    await neighbour.say(SUGGESTED)
    await neighbour.press(neighbour.button("确认"))
    await world.flush()
    _, suggested = await world.tickets()
    assert (suggested.team, suggested.incident_role) == ("engineering", "suggested")
    await world.add_member(CLEANER, "environment", "staff", "保洁")
    message_id = await world.card_message(suggested.id, ENG_GROUP)
    for chat in (ENG_GROUP, CLEANER):  # on the card, or a forged press privately
        cleaner = world.person(CLEANER, chat, "保洁")
        for action in ("m", "n"):
            await cleaner.press(f"ic:{suggested.id}:{action}", message_id)
            assert "只有本组工作人员" in cleaner.last_toast(), action
            assert cleaner.last == []
    assert (await world.ticket(suggested.id)).incident_role == "suggested"

    li = world.person(LI, ENG_GROUP, "李师傅")
    await li.press(f"ic:{suggested.id}:m", message_id)
    assert "已合并到" in li.last_toast()
    assert (await world.ticket(suggested.id)).incident_role == "member"


async def notices_sent(world: World) -> tuple[int, int, int]:
    """Notices, their recipients, and the residents' copies queued in the outbox."""
    async with world.app.uow_factory() as uow:
        notices = len((await uow.session.scalars(select(Notice))).all())
        recipients = len((await uow.session.scalars(select(NoticeRecipient))).all())
        copies = (
            await uow.session.scalars(
                select(OutboxMessage).where(OutboxMessage.notice_id.is_not(None))
            )
        ).all()
    return notices, recipients, len(copies)


async def test_the_building_is_notified_once_per_incident(world: World) -> None:
    """A double tap on [send], the same preview pressed by someone else, a new preview:
    one notice, one copy per resident; the others are told who sent it."""
    ids = await seed(world, 3)
    await world.add_member(SERVICE_LEAD, "service", "lead", "客服主管")
    await report_outage(world, ids)
    lead = (await world.tickets())[0]
    message_id = await world.card_message(lead.id, ENG_GROUP)
    manager = GroupPerson(world.app.dialog, MANAGER, ENG_GROUP, "周经理")
    await manager.press(f"ic:{lead.id}:a", message_id)
    await manager.press(f"ic:{lead.id}:as", message_id)
    assert "已发送通知" in manager.last_toast()
    await manager.press(f"ic:{lead.id}:as", message_id)  # a double tap
    assert "3栋已由 周经理 通知过" in manager.last_toast()
    service_lead = world.person(SERVICE_LEAD, ENG_GROUP, "客服主管")
    await service_lead.press(f"ic:{lead.id}:as", message_id)  # the same preview
    assert "3栋已由 周经理 通知过" in service_lead.last_toast()
    [card] = service_lead.last
    assert card.edit_message_id == message_id and "ic:" in str(card.buttons)  # [send] gone
    assert f"ic:{lead.id}:as" not in str(card.buttons)
    await service_lead.press(f"ic:{lead.id}:a", message_id)  # a new preview: told at once
    assert "通知过" in service_lead.last_toast() and service_lead.last == []
    await world.flush()
    assert await notices_sent(world) == (1, 3, 3)


async def test_two_presses_at_once_send_one_notice(world: World) -> None:
    """Two people press [send] at the same moment (side by side on PostgreSQL): both pass
    the first check, one records the notice, the other's is dropped unsent."""
    ids = await seed(world, 3)
    await world.add_member(SERVICE_LEAD, "service", "lead", "客服主管")
    await report_outage(world, ids)
    lead = (await world.tickets())[0]
    message_id = await world.card_message(lead.id, ENG_GROUP)
    manager = GroupPerson(world.app.dialog, MANAGER, ENG_GROUP, "周经理")
    service_lead = world.person(SERVICE_LEAD, ENG_GROUP, "客服主管")
    await manager.press(f"ic:{lead.id}:a", message_id)
    await asyncio.gather(
        manager.press(f"ic:{lead.id}:as", message_id),
        service_lead.press(f"ic:{lead.id}:as", message_id),
    )
    toasts = [manager.last_toast(), service_lead.last_toast()]
    assert sum("已发送通知" in t for t in toasts) == 1, toasts
    assert sum("通知过" in t for t in toasts) == 1, toasts
    await world.flush()
    assert await notices_sent(world) == (1, 3, 3)
