"""The managers' spreadsheet, opened with openpyxl after it is written, on both databases.

The dataset is the digest's (tests/unit/test_digest_figures.py, local times in Asia/Shanghai)
plus one ticket X reported on the 27th at 20:00 with a phone number in its texts, a formula-
like address and two reopenings. The export of the 27th holds the tickets reported that day,
in the order reported: T1 09:00, T2 10:00, T3 11:00, T4 12:00, T8 13:00, T10 15:00, X 20:00,
T5 22:00. The export runs at 08:30 on the 28th (the fixed clock), so:

- T1 accepted 09:10 (due 09:30) and resolved 11:00 (due 17:00): met, met; 5 stars
- T2 accepted 10:40 (due 10:30): missed; resolved 12:00 (due 18:00): met; 2 stars
- T4 not resolved, due the 28th at 12:00, which is still ahead: pending
- T5 never accepted (due 22:30) nor resolved (due 06:00 on the 28th): missed, missed
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from bot.app import App
from bot.cli import main
from bot.config import ExportConfig, Settings
from bot.handlers.digests import plain_labels
from bot.i18n import Translator
from bot.messages import Outgoing
from bot.services.desk import Desk
from bot.services.export import Exports, days_span, deadline_outcome, span_of
from storage.models import Property, Ticket, TicketEvent
from storage.uow import UnitOfWorkFactory
from tests.support.apps import build_app
from tests.support.digest_data import NOW, at, seed
from tests.support.world import ADMIN, MGR_GROUP, World

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 27)
PHONE = "13987654321"


async def add_ticket_with_phone(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        prop = await uow.properties.by_code("sunshine")
        assert prop is not None
        ticket = Ticket(
            number="20261127-0077",
            property_id=prop.id,
            category="repair",
            urgency="high",
            team="engineering",
            description=f"水管爆了 请打我电话 {PHONE}",
            address="=HYPERLINK(1)",
            contact_name="王女士",
            contact_phone=f"+86{PHONE}",
            status="accepted",
            assignee_name="李师傅",
            created_at=at(27, 20),
            updated_at=at(27, 20),
            accepted_at=at(27, 20, 5),
            response_due_at=at(27, 20, 30),
            resolution_due_at=at(28, 20),
        )
        await uow.tickets.add(ticket)
        # two reopens, recorded as Dispatch records them: resolved -> new
        for minute, kind in ((1, "created"), (5, "accept"), (30, "status"), (40, "status")):
            reopen = kind == "status"
            uow.session.add(
                TicketEvent(
                    ticket_id=ticket.id,
                    at=at(27, 20, minute),
                    actor_kind="staff",
                    kind=kind,
                    old_value="resolved" if reopen else None,
                    new_value="new" if reopen else None,
                    note=f"call {PHONE}" if kind == "accept" else None,
                )
            )
        await uow.commit()


@pytest.fixture
async def app(digest_app: App) -> App:
    """The digest dataset with ticket X (a phone number in its texts)."""
    await add_ticket_with_phone(digest_app.uow_factory)
    return digest_app


async def _export(
    app: App, first: date, last: date, out: Path, *, everywhere: bool = False
) -> None:
    async with app.uow_factory() as uow:
        desk = Desk(uow, app.settings, app.clock)
        prop = await desk.property_by_code("sunshine")
        assert isinstance(prop, Property)
        await Exports(desk).write(
            None if everywhere else prop.id,
            days_span(first, last, TZ),
            out,
            plain_labels(Translator("en")),
        )


def _rows(ws: Worksheet) -> list[dict[str, object]]:
    values = list(ws.iter_rows(values_only=True))
    header = [str(v) for v in values[0]]
    return [dict(zip(header, row, strict=True)) for row in values[1:]]


async def test_sheets_values_types_and_local_times(app: App, tmp_path: Path) -> None:
    out = tmp_path / "export.xlsx"
    await _export(app, DAY, DAY, out)
    book = load_workbook(out)
    assert book.sheetnames == [
        "Tickets", "Timeline", "Ratings", "Surveys", "Teams", "Staff", "Visitors"
    ]  # fmt: skip
    tickets = book["Tickets"]
    assert tickets.freeze_panes == "A2"
    assert tickets.auto_filter.ref == "A1:X9"  # 24 columns, a header and 8 tickets
    assert tickets.column_dimensions["X"].width == 50
    assert tickets["A1"].font.bold
    rows = _rows(tickets)
    assert [str(r["Number"])[-4:] for r in rows] == [
        "0001", "0002", "0003", "0004", "0008", "0010", "0077", "0005"
    ]  # fmt: skip
    t1, t2, t4, x, t5 = rows[0], rows[1], rows[3], rows[6], rows[7]
    # Wall-clock time in Asia/Shanghai, not UTC (01:00 UTC is 09:00 there).
    assert t1["Reported"] == datetime(2026, 11, 27, 9, 0)
    assert isinstance(t1["Accepted"], datetime) and t1["Accepted"] == datetime(2026, 11, 27, 9, 10)
    assert t1["Resolved"] == datetime(2026, 11, 27, 11, 0) and t1["Closed"] is None
    assert (t1["Response deadline"], t1["Resolution deadline"], t1["Stars"]) == ("met", "met", 5)
    assert (t2["Response deadline"], t2["Resolution deadline"], t2["Stars"]) == ("missed", "met", 2)
    assert t4["Resolution deadline"] == "pending"
    assert (t5["Response deadline"], t5["Resolution deadline"]) == ("missed", "missed")
    assert (t1["Category"], t1["Team"], t1["Status"]) == ("Repair", "engineering team", "Done")
    assert t1["Property"] == "sunshine" and t1["Reopened"] == 0
    assert (t1["Channel"], t1["Registered by"]) == ("Telegram", None)  # the resident's own
    assert x["Reopened"] == 2 and isinstance(x["Reopened"], int)
    assert x["Assignee"] == "李师傅" and x["Urgency"] == "High"
    # The formula-like address stays text.
    assert x["Address"] == "=HYPERLINK(1)" and tickets["J8"].data_type == "s"


async def test_team_performance_sheet(app: App, tmp_path: Path) -> None:
    """The digest's figures per team (tests/unit/test_performance.py has them by hand), with
    X: engineering, accepted after 5 minutes, reopened twice on the 27th (one ticket)."""
    out = tmp_path / "teams.xlsx"
    await _export(app, DAY, DAY, out)
    book = load_workbook(out)
    teams = {str(r["Team"]): r for r in _rows(book["Teams"])}
    engineering = teams["engineering team"]
    # responses 5, 10, 30, 40 min: median rank 2 = 10, P90 rank ⌈3.6⌉ = 4 = 40
    assert (engineering["Accepted"], engineering["Resolved"]) == (4, 2)
    assert (engineering["Response median (min)"], engineering["Response P90 (min)"]) == (10, 40)
    assert (engineering["SLA met"], engineering["SLA due"]) == (1, 3)
    assert engineering["SLA met share"] == pytest.approx(0.3333, abs=1e-4)
    assert (engineering["Ratings"], engineering["Average stars"]) == (2, 3.5)
    assert (engineering["Reopened tickets"], engineering["Return visits done"]) == (1, 1)
    assert teams["service desk"]["Resolution median (min)"] == 660
    assert book["Teams"].freeze_panes == "A2" and book["Staff"].max_row == 1


async def test_phones_masked_unless_the_settings_allow(app: App, tmp_path: Path) -> None:
    out = tmp_path / "masked.xlsx"
    await _export(app, DAY, DAY, out)
    book = load_workbook(out)
    x = _rows(book["Tickets"])[6]
    everything = " ".join(
        str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row
    )
    assert PHONE not in everything
    assert str(x["Phone"]).startswith("139") and "****" in str(x["Phone"])
    assert "139****4321" in str(x["Description"])
    note = [r["Note"] for r in _rows(book["Timeline"]) if r["Event"] == "accept"]
    assert note == ["call 139****4321"]

    app.settings.export = ExportConfig(full_phones=True)
    full = tmp_path / "full.xlsx"
    await _export(app, DAY, DAY, full)
    x = _rows(load_workbook(full)["Tickets"])[6]
    assert PHONE in str(x["Phone"]) and PHONE in str(x["Description"])


def _cells(replies: list[Outgoing]) -> str:
    [out] = [o for o in replies if o.document is not None]
    assert out.document is not None
    book = load_workbook(BytesIO(out.document.content))
    return " ".join(
        str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row
    )


async def test_full_phones_only_in_a_private_chat_never_in_a_group(world: World) -> None:
    """`[export] full_phones = true` shows full numbers privately; the managers' group,
    shared by many, gets the workbook masked all the same."""
    world.app.settings.export = ExportConfig(full_phones=True)
    await world.bind("managers", MGR_GROUP)
    in_group = await world.person(ADMIN, MGR_GROUP, "Admin").say("/export 2026-11")
    cells = _cells(in_group)
    assert PHONE not in cells and "139****4321" in cells
    privately = await world.person(ADMIN, ADMIN, "Admin").say("/export 2026-11")
    assert PHONE in _cells(privately)


@pytest.mark.parametrize("command", ["/export 9999-12", "/export 0000-01", "/stats staff 9999-12"])
async def test_a_month_out_of_range_is_answered_with_the_usage(world: World, command: str) -> None:
    await world.bind("managers", MGR_GROUP)
    manager = world.person(ADMIN, MGR_GROUP, "Admin")
    replies = await manager.say(command)
    assert [o.document for o in replies] == [None]
    assert "用法：" in manager.texts() and "YYYY-MM" in manager.texts()


async def test_timeline_ratings_and_surveys(app: App, tmp_path: Path) -> None:
    out = tmp_path / "week.xlsx"
    await _export(app, date(2026, 11, 23), date(2026, 11, 29), out)
    book = load_workbook(out)
    events = _rows(book["Timeline"])
    assert [e["Event"] for e in events] == ["created", "accept", "status", "status"]
    assert events[0]["When"] == datetime(2026, 11, 27, 20, 1)
    ratings = {str(r["Number"])[-4:]: r for r in _rows(book["Ratings"])}
    # every rating row of the week's tickets; T10's request is unanswered
    assert set(ratings) == {"0001", "0002", "0003", "0007", "0009", "0010"}
    assert ratings["0002"]["Stars"] == 2 and ratings["0002"]["Return visit"] == "done"
    assert ratings["0003"]["Return visit"] == "open"
    assert ratings["0010"]["Stars"] is None and ratings["0010"]["Answered"] is None
    surveys = _rows(book["Surveys"])
    assert sorted(int(str(s["Stars"])) for s in surveys) == [3, 4, 5]
    assert surveys[0]["Sent"] == datetime(2026, 11, 25, 10, 0)
    # the week's tickets: all ten of the property, not the other property's one
    assert len(_rows(book["Tickets"])) == 11


async def test_every_property_when_none_is_named(app: App, tmp_path: Path) -> None:
    out = tmp_path / "all.xlsx"
    await _export(app, DAY, DAY, out, everywhere=True)
    props = [r["Property"] for r in _rows(load_workbook(out)["Tickets"])]
    assert props.count("other") == 1 and props.count("sunshine") == 8


async def test_an_empty_period_has_headers_and_filters_only(app: App, tmp_path: Path) -> None:
    out = tmp_path / "empty.xlsx"
    await _export(app, date(2026, 10, 1), date(2026, 10, 31), out)
    ws = load_workbook(out)["Tickets"]
    assert ws.max_row == 1 and ws.auto_filter.ref == "A1:X1"


def test_deadline_outcomes() -> None:
    due = datetime(2026, 11, 27, 10, tzinfo=TZ)
    before, after = datetime(2026, 11, 27, 9, tzinfo=TZ), datetime(2026, 11, 27, 11, tzinfo=TZ)
    assert deadline_outcome(before, due, after) == "met"
    assert deadline_outcome(due, due, after) == "met"  # on the minute is in time
    assert deadline_outcome(after, due, after) == "missed"
    assert deadline_outcome(None, due, after) == "missed"
    assert deadline_outcome(None, due, before) == "pending"


def test_periods_of_the_command() -> None:
    now = datetime(2026, 11, 28, 0, 30, tzinfo=ZoneInfo("UTC"))  # 08:30 on the 28th there
    month = span_of("", now, TZ)
    assert month is not None and (month.first_day, month.last_day) == (
        date(2026, 11, 1),
        DAY.replace(day=28),
    )
    assert month.end == now
    week = span_of("week", now, TZ)
    assert week is not None and week.first_day == date(2026, 11, 23)
    whole = span_of("2026-10", now, TZ)
    assert whole is not None and (whole.first_day, whole.last_day) == (
        date(2026, 10, 1),
        date(2026, 10, 31),
    )
    assert whole.start == datetime(2026, 10, 1, tzinfo=TZ)
    for wrong in ("2026-13", "yesterday", "2026/10", "9999-12", "0000-01", "1999-12"):
        assert span_of(wrong, now, TZ) is None


def test_the_command_line_writes_the_same_workbook(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    async def prepare() -> None:
        app = await build_app(settings, NOW)
        await seed(app.uow_factory)
        await add_ticket_with_phone(app.uow_factory)
        await app.close()

    asyncio.run(prepare())
    monkeypatch.delenv("PROPDESK_CONFIG", raising=False)
    monkeypatch.setenv("PROPDESK_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PROPDESK_LOCALE", "zh-CN")
    out = tmp_path / "nov27.xlsx"
    args = ["export", "--from", "2026-11-27", "--to", "2026-11-27", "--out", str(out)]
    assert main([*args, "--property", "sunshine"]) == 0
    assert "8 tickets" in capsys.readouterr().out
    rows = _rows(load_workbook(out)["工单"])
    assert len(rows) == 8 and rows[0]["报修时间"] == datetime(2026, 11, 27, 9, 0)
    assert PHONE not in str(rows[6]["描述"])
    assert main(args) == 0  # every property
    assert len(_rows(load_workbook(out)["工单"])) == 9
    assert main([*args, "--property", "nope"]) == 1
    assert "unknown property 'nope'" in capsys.readouterr().err
    backwards = ["export", "--from", "2026-11-27", "--to", "2026-11-26", "--out", str(out)]
    assert main(backwards) == 1
