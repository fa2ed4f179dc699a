"""Digests on schedule (time travel, never twice, one late catch-up, weekly on Monday), the
chart PNG, the outbox upload field, and `/stats` and `/ticket` authorisation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.charts import ChartDay, ChartLabels, render_chart
from bot.clock import FixedClock
from bot.config import PropertyConfig, Settings
from bot.handlers import digests
from bot.handlers.digests import DigestNotices, chart_translator
from bot.i18n import Translator
from bot.messages import Outgoing
from bot.services.digest_schedule import digest_tick, latest_daily, latest_weekly
from bot.services.outbox import from_payload, to_payload
from scheduler.jobs_digest import digest_jobs
from storage.models import FaqGap, ScheduledRun, StaffMember, Ticket
from tests.support.apps import AppFactory
from tests.support.world import (
    ADMIN,
    ENG_GROUP,
    ENV_GROUP,
    LI,
    MANAGER,
    MGR_GROUP,
    WANG,
    ZHANG,
    World,
    report,
    staffed,
)

TZ = ZoneInfo("Asia/Shanghai")
PNG = b"\x89PNG\r\n\x1a\n"
ENV_STAFF = 2101
REGIONAL = 2102  # a manager of both compounds
RIVER_MGR_GROUP = -1002009


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ).astimezone(UTC)


MONDAY = date(2026, 11, 30)
assert MONDAY.weekday() == 0


@pytest.fixture(autouse=True)
def charts_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digests, "default_folder", lambda: tmp_path / "charts")


@pytest.fixture
def start_at() -> datetime:
    return local(MONDAY, 8, 0)


def clock_of(world: World) -> FixedClock:
    clock = world.app.clock
    assert isinstance(clock, FixedClock)
    return clock


async def tick(world: World) -> list[str]:
    sent = await digest_tick(
        world.app.uow_factory, world.app.settings, world.app.clock, DigestNotices()
    )
    await world.flush()
    return sent


def digests_to_managers(world: World) -> list[Outgoing]:
    return [o for o in world.sender.to(MGR_GROUP) if "📊" in o.text]


async def runs(world: World) -> list[ScheduledRun]:
    async with world.app.uow_factory() as uow:
        query = select(ScheduledRun).order_by(ScheduledRun.id)
        return list((await uow.session.scalars(query)).all())


# when ------------------------------------------------------------------------------------
def test_latest_moments(settings: Settings) -> None:
    before = local(date(2026, 12, 2), 7, 59)  # Wednesday, a minute early
    assert latest_daily(settings, before) == (date(2026, 11, 30), local(date(2026, 12, 1), 8))
    at = local(date(2026, 12, 2), 8, 0)
    assert latest_daily(settings, at) == (date(2026, 12, 1), at)
    assert latest_weekly(settings, at) == (date(2026, 11, 23), local(MONDAY, 8))
    assert latest_weekly(settings, local(MONDAY, 7, 59))[0] == date(2026, 11, 16)


def test_digest_jobs_cron_at_daily_time(settings: Settings) -> None:
    jobs = digest_jobs(None, settings, FixedClock(local(MONDAY, 0)), DigestNotices())  # type: ignore[arg-type]
    cron = jobs[0].trigger
    nxt = cron.get_next_fire_time(None, local(MONDAY, 9).astimezone(TZ))
    assert nxt == local(MONDAY + timedelta(days=1), 8).astimezone(TZ)
    assert {j.id for j in jobs} == {"digest", "digest.catchup"}


# sending ---------------------------------------------------------------------------------
async def test_daily_digest_at_its_time_never_twice(world: World) -> None:
    await staffed(world)
    clock = clock_of(world)
    clock.set(local(date(2026, 12, 1), 8, 0))  # Tuesday 08:00
    sent = await tick(world)
    assert "digest.daily.sunshine/2026-11-30" in sent
    [first] = [o for o in digests_to_managers(world) if "服务日报" in o.text]
    assert "11月30日" in first.text and "补发" not in first.text
    assert first.upload is not None and Path(first.upload).read_bytes().startswith(PNG)
    for minutes in (1, 30, 23 * 60 + 59):  # later ticks the same day and just before the next
        clock.set(local(date(2026, 12, 1), 8, 0) + timedelta(minutes=minutes))
        assert await tick(world) == []
    clock.set(local(date(2026, 12, 2), 8, 0))
    assert await tick(world) == ["digest.daily.sunshine/2026-12-01"]
    daily = [o for o in digests_to_managers(world) if "服务日报" in o.text]
    assert len(daily) == 2
    assert [r.late for r in await runs(world) if r.job == "digest.daily.sunshine"] == [False] * 2


async def test_missed_digest_after_downtime_sent_once_marked_late(world: World) -> None:
    await staffed(world)
    clock = clock_of(world)
    assert "digest.daily.sunshine/2026-11-29" in await tick(world)  # Monday 08:00
    clock.set(local(date(2026, 12, 3), 15, 0))  # down from Monday until Thursday 15:00
    assert await tick(world) == ["digest.daily.sunshine/2026-12-02"]  # no backlog of Mon, Tue
    late = [o for o in digests_to_managers(world) if "12月2日" in o.text]
    assert len(late) == 1 and "补发" in late[0].text
    assert await tick(world) == []  # a second start or tick: never twice
    clock.set(local(date(2026, 12, 4), 8, 0))
    assert await tick(world) == ["digest.daily.sunshine/2026-12-03"]
    on_time = [o for o in digests_to_managers(world) if "12月3日" in o.text]
    assert len(on_time) == 1 and "补发" not in on_time[0].text
    flags = {r.period: r.late for r in await runs(world) if r.job.startswith("digest.daily")}
    assert flags == {"2026-11-29": False, "2026-12-02": True, "2026-12-03": False}


async def test_weekly_digest_on_monday_with_changes(world: World) -> None:
    await staffed(world)
    clock = clock_of(world)
    clock.set(local(date(2026, 11, 25), 10, 0))  # a ticket in the week before
    await report(world)
    clock.set(local(MONDAY, 8, 0))
    sent = await tick(world)
    assert "digest.weekly.sunshine/2026-11-23..2026-11-29" in sent
    [weekly] = [o for o in digests_to_managers(world) if "服务周报" in o.text]
    assert "11月23日–11月29日" in weekly.text
    assert "环比上周:新增 +1" in weekly.text and "新增 1 ·" in weekly.text
    assert weekly.upload is not None
    # a line per team and the hot spots, in the weekly digest only
    assert "本周各班组" in weekly.text and "重复问题（近 30 天）" in weekly.text
    daily = [o for o in digests_to_managers(world) if "服务周报" not in o.text]
    assert daily and all("本周各班组" not in o.text for o in daily)
    clock.set(local(date(2026, 12, 1), 8, 0))  # Tuesday: the daily one only
    assert await tick(world) == ["digest.daily.sunshine/2026-11-30"]
    assert len([o for o in digests_to_managers(world) if "服务周报" in o.text]) == 1


async def test_no_managers_group_waits_without_claiming(world: World) -> None:
    assert await tick(world) == []
    assert await runs(world) == []
    await world.bind("managers", MGR_GROUP)
    clock_of(world).set(local(MONDAY, 9, 0))
    assert len(await tick(world)) == 2  # daily and weekly, now that there is a group


async def test_digest_text_escapes_and_shapes(world: World) -> None:
    await staffed(world)
    clock = clock_of(world)
    clock.set(local(date(2026, 11, 29), 10, 0))
    await report(world, "地库积水漏水 <b>&")
    clock.set(local(MONDAY, 8, 0))
    await tick(world)
    [daily] = [o for o in digests_to_managers(world) if "服务日报" in o.text]
    lines = daily.text.splitlines()
    assert lines[0] == "📊 <b>阳光花园</b> 11月29日 服务日报"
    assert lines[1] == "新增 1 · 完成 0 · 未结 1(超时 1)"  # not accepted in time
    assert lines[2].startswith("响应 中位 — / P90 —")
    assert lines[3] == "时限达标率 0% · 完结率 0%"  # its resolution deadline passed that day
    assert "按类别:报修 1" in daily.text and "按部门:工程部 1" in daily.text
    assert "地库积水漏水 &lt;b&gt;&amp;" in daily.text and "(14 小时)" in daily.text


async def test_weekly_digest_masks_faq_questions_before_shortening_them(world: World) -> None:
    """A question the FAQ could not answer, with a phone number at its 50th character: cut
    at 60 before masking, the number was too short to be found and showed 9 of 11 digits."""
    await staffed(world)
    question = (
        "请问停车月卡在哪里办理,需要带什么材料,办好以后多久能生效呢?"
        "谢谢,有事情请您直接打我本人的手机电话13987654321"
    )
    assert question.index("139") == 50 and len(question) > 60
    async with world.app.uow_factory() as uow:
        [prop] = await uow.properties.all()
        when = local(date(2026, 11, 25), 10, 0)
        uow.session.add(FaqGap(property_id=prop.id, kind="unanswered", question=question, at=when))
        await uow.commit()
    await tick(world)
    [weekly] = [o for o in digests_to_managers(world) if "服务周报" in o.text]
    [line] = [line for line in weekly.text.splitlines() if line.startswith("• 请问停车月卡")]
    assert "手机电话139****" in line and line.endswith("…")
    assert "1398765" not in line and len(line) <= len("• ") + 60


# the chart -------------------------------------------------------------------------------
def test_chart_is_a_real_png(tmp_path: Path) -> None:
    days = [
        ChartDay(date(2026, 11, 21) + timedelta(days=i), {"repair": i, "cleaning": 2}, 0.1 * i)
        for i in range(7)
    ]
    days[3] = ChartDay(days[3].day, {}, None)  # a day with nothing due: a gap in the line
    labels = ChartLabels("Tickets", "Tickets", "SLA", {"repair": "Repair"})
    path = render_chart(days, labels, tmp_path / "sub" / "chart.png", ("repair", "cleaning"))
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > 10_000
    assert data[12:16] == b"IHDR"


def test_chart_falls_back_to_english_without_a_cjk_font(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digests, "cjk_font", lambda: None)
    labels = digests.chart_labels(chart_translator(Translator("zh-CN")))
    assert labels.categories["repair"] == "Repair" and labels.compliance == "SLA compliance"
    monkeypatch.setattr(digests, "cjk_font", lambda: "Noto Sans CJK SC")
    labels = digests.chart_labels(chart_translator(Translator("zh-CN")))
    assert labels.categories["repair"] == "报修"


def test_upload_survives_the_outbox_payload(tmp_path: Path) -> None:
    image = tmp_path / "c.png"
    image.write_bytes(PNG)
    out = Outgoing(chat_id=1, text="x", upload=str(image))
    assert from_payload(1, to_payload(out)).upload == str(image)
    image.unlink()  # a temp folder cleaned since: the text still goes out
    assert from_payload(1, to_payload(out)).upload is None


# /stats and /ticket ------------------------------------------------------------------------
async def test_stats_for_managers_and_admins_only(world: World) -> None:
    await staffed(world)
    await world.add_member(ENV_STAFF, "environment", "staff", "保洁")
    await report(world)
    clock_of(world).advance(minutes=5)
    manager = world.person(MANAGER, MANAGER, "周经理")
    await manager.say("/stats")
    assert "今日" in manager.texts() and "新增 1" in manager.texts()
    await manager.say("/stats month")
    assert "服务月报" in manager.texts() and "2026年11月" in manager.texts()
    await manager.say("/stats year")
    assert "/stats [today|week|month]" in manager.texts()
    in_group = world.person(MANAGER, MGR_GROUP, "周经理")
    await in_group.say("/stats week")
    assert "服务周报" in in_group.texts()
    wrong_group = world.person(MANAGER, ENG_GROUP, "周经理")
    await wrong_group.say("/stats")
    assert "管理层群" in wrong_group.texts()
    admin = world.person(ADMIN, ADMIN, "Admin")
    await admin.say("/stats today")
    assert "新增 1" in admin.texts()
    for user in (LI, WANG, 4242):  # a technician, a resident, a stranger
        person = world.person(user, user, "x")
        await person.say("/stats")
        assert "只有管理人员和管理员" in person.texts()


async def test_ticket_lookup_by_role_and_phone_masking(world: World) -> None:
    await staffed(world)
    await world.add_member(ENV_STAFF, "environment", "staff", "保洁")
    await report(world)
    [ticket] = await world.tickets()
    phone_tail = ticket.contact_phone[-4:]
    li_group = world.person(LI, ENG_GROUP, "李师傅")
    await li_group.say(f"/ticket {ticket.number}")
    text = li_group.texts()
    assert ticket.number in text and "****" + phone_tail in text and "报修" in text
    li_private = world.person(LI, LI, "李师傅")
    await li_private.say(f"/ticket {ticket.number.replace('-', '')}")
    assert ticket.contact_phone.lstrip("+")[-8:] in li_private.texts()
    manager = world.person(MANAGER, MGR_GROUP, "周经理")
    await manager.say(f"/ticket {ticket.number}")
    assert ticket.number in manager.texts() and "****" in manager.texts()
    for user in (ENV_STAFF, WANG):  # another team's staff, the resident
        person = world.person(user, user, "x")
        await person.say(f"/ticket {ticket.number}")
        assert "只有该工单所属部门" in person.texts()
    await manager.say("/ticket 20991231-0001")
    assert "没有找到工单" in manager.texts()
    await manager.say("/ticket abc")
    assert "用法" in manager.texts()
    in_other_group = world.person(MANAGER, ENV_GROUP, "周经理")
    await in_other_group.say(f"/ticket {ticket.number}")  # not this ticket's team's group
    assert "只有该工单所属部门" in in_other_group.texts()
    zhang = world.person(ZHANG, ENG_GROUP, "张师傅")
    await zhang.press(f"tk:{ticket.id}:acc", await world.card_message(ticket.id, ENG_GROUP))
    await li_private.say(f"/ticket {ticket.number}")  # taken by someone else: masked now
    assert ticket.contact_phone.lstrip("+")[-8:] not in li_private.texts()


async def test_ticket_lookup_in_a_group_of_the_tickets_own_compound_only(
    settings: Settings, app_factory: AppFactory, start_at: datetime
) -> None:
    """A regional manager of two compounds, in the managers' group of the other one, is
    refused another compound's ticket; in its own compound's group they read it."""
    river = PropertyConfig(code="river", name="滨江苑")
    two = settings.model_copy(update={"properties": [*settings.properties, river]})
    world = World(await app_factory(two, start_at))
    for chat, compound in ((MGR_GROUP, "sunshine"), (RIVER_MGR_GROUP, "river")):
        admin = world.person(ADMIN, chat, "Admin")
        await admin.say(f"/bind managers {compound}")
        assert "已绑定" in admin.texts()
    async with world.app.uow_factory() as uow:
        props = {p.code: p for p in await uow.properties.all()}
        now = world.app.clock.now()
        for prop in props.values():
            uow.session.add(
                StaffMember(
                    property_id=prop.id, team="managers", telegram_id=REGIONAL, name="区域经理",
                    role="manager", created_at=now, updated_at=now,
                )
            )  # fmt: skip
        uow.session.add(
            Ticket(
                number="20261130-0001", property_id=props["sunshine"].id, category="repair",
                urgency="high", team="engineering", description="卫生间漏水",
                address="3栋2单元501", contact_name="王女士", contact_phone="+8613812345678",
                status="new", created_at=now, updated_at=now,
                response_due_at=now, resolution_due_at=now,
            )
        )  # fmt: skip
        await uow.commit()
    other = world.person(REGIONAL, RIVER_MGR_GROUP, "区域经理")
    await other.say("/ticket 20261130-0001")
    assert "只有该工单所属部门" in other.texts() and "卫生间漏水" not in other.texts()
    own = world.person(REGIONAL, MGR_GROUP, "区域经理")
    await own.say("/ticket 20261130-0001")
    assert "卫生间漏水" in own.texts() and "138****5678" in own.texts()
