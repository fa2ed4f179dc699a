"""The managers' spreadsheet: every ticket reported in a period, its timeline, its rating and
return visit, the surveys sent in the period, and the period's performance per team and per
staff member (bot/services/performance.py), written as an .xlsx workbook.

openpyxl's write-only mode streams rows to disk as they come from the database (which
streams them in batches too), so a period of any size is written in bounded memory. Times
are the property's local time (Excel has no time zones; the header names the zone). Phone
numbers, the registered one and any typed into a text, are masked unless the settings allow
full numbers in exports (`export.full_phones`), and always in a workbook sent to a group.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.policy import export_masks_phones
from bot.services.desk import Desk, uow_of
from bot.services.digest import day_period, month_period, so_far
from bot.services.performance import GroupFigures, Performance, performance_of
from bot.services.phones import mask_phone, mask_phones_in
from storage.models import Property
from storage.reports import ExportRepo, Window

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

# A locale key -> its plain text (no HTML), in the reader's language.
Label = Callable[[str], str]
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONTH_ARG = re.compile(r"^(\d{4})-(\d{2})$")
# Months a desk can hold tickets for: `0000-01` is no date, and `9999-12` ends past the
# last date Python has, so both would fail instead of being answered as unreadable.
MONTH_YEARS = range(2000, 3000)
# Control characters other than tab and newlines cannot be stored in an xlsx cell.
ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
DATE_FORMAT = "yyyy-mm-dd hh:mm"


@dataclass(frozen=True)
class Span:
    """Property-local days `first_day..last_day` as UTC-comparable bounds `[start, end)`."""

    first_day: date
    last_day: date
    start: datetime
    end: datetime


def span_of(arg: str, now: datetime, tz: ZoneInfo) -> Span | None:
    """`today`, `week`, `month` (so far, as `/stats`), or a whole month `YYYY-MM`; None if
    the argument is none of these."""
    arg = arg.strip().lower() or "month"
    if arg in ("today", "week", "month"):
        p = so_far(arg, now, tz)
        return Span(p.first_day, p.last_day, p.start, p.end)
    month = _month_of(arg)
    if month is None:
        return None
    p = month_period(month, tz)
    return Span(p.first_day, p.last_day, p.start, p.end)


def _month_of(arg: str) -> date | None:
    """The first day of the month `YYYY-MM`; None if it is not one a desk can hold."""
    match = MONTH_ARG.match(arg)
    if match is None:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if year not in MONTH_YEARS or not 1 <= month <= 12:
        return None
    return date(year, month, 1)


def days_span(first: date, last: date, tz: ZoneInfo) -> Span:
    """From the start of `first` to the end of `last`, property-local."""
    return Span(first, last, day_period(first, tz).start, day_period(last, tz).end)


@dataclass(frozen=True)
class Column:
    key: str  # locale key of the header, under [export]
    width: int


TICKET_COLUMNS = (
    Column("col_number", 15),
    Column("col_property", 12),
    Column("col_created", 17),
    Column("col_accepted", 17),
    Column("col_resolved", 17),
    Column("col_closed", 17),
    Column("col_category", 10),
    Column("col_urgency", 8),
    Column("col_hazard", 8),
    Column("col_channel", 10),
    Column("col_registered_by", 12),
    Column("col_address", 20),
    Column("col_contact", 12),
    Column("col_phone", 15),
    Column("col_team", 10),
    Column("col_assignee", 12),
    Column("col_status", 10),
    Column("col_response_due", 17),
    Column("col_response_sla", 10),
    Column("col_resolution_due", 17),
    Column("col_resolution_sla", 10),
    Column("col_rating", 6),
    Column("col_reopened", 8),
    Column("col_description", 50),
)
EVENT_COLUMNS = (
    Column("col_number", 15),
    Column("col_at", 17),
    Column("col_actor", 10),
    Column("col_event", 14),
    Column("col_old", 14),
    Column("col_new", 14),
    Column("col_note", 50),
)
RATING_COLUMNS = (
    Column("col_number", 15),
    Column("col_rating_status", 10),
    Column("col_rating", 6),
    Column("col_reasons", 24),
    Column("col_comment", 40),
    Column("col_asked", 17),
    Column("col_answered", 17),
    Column("col_visit", 10),
    Column("col_visit_outcome", 40),
    Column("col_visit_recorded", 17),
)
SURVEY_COLUMNS = (
    Column("col_survey_period", 10),
    Column("col_property", 12),
    Column("col_sent", 17),
    Column("col_rating", 6),
    Column("col_comment", 40),
    Column("col_answered", 17),
)


PERFORMANCE_COLUMNS = (
    Column("col_accepted_n", 8),
    Column("col_resolved_n", 8),
    Column("col_response_median", 12),
    Column("col_response_p90", 12),
    Column("col_resolution_median", 12),
    Column("col_resolution_p90", 12),
    Column("col_sla_met", 8),
    Column("col_sla_due", 8),
    Column("col_sla_share", 8),
    Column("col_ratings", 8),
    Column("col_rating_average", 8),
    Column("col_low_ratings", 8),
    Column("col_reopened_n", 8),
    Column("col_visits_done", 8),
)
VISITOR_COLUMNS = (
    Column("col_property", 12),
    Column("col_visitor_kind", 10),
    Column("col_status", 10),
    Column("col_visitor", 14),
    Column("col_people", 6),
    Column("col_plate", 12),
    Column("col_address", 20),
    Column("col_window_start", 17),
    Column("col_window_end", 17),
    Column("col_arrived", 17),
    Column("col_left", 17),
    Column("col_registered", 17),
)
TEAM_COLUMNS = (Column("col_team", 14), *PERFORMANCE_COLUMNS)
STAFF_COLUMNS = (Column("col_staff", 14), Column("col_staff_id", 14), *PERFORMANCE_COLUMNS)


@dataclass(frozen=True)
class ExportSummary:
    tickets: int
    events: int
    ratings: int
    surveys: int


def deadline_outcome(done_at: datetime | None, due_at: datetime, now: datetime) -> str:
    """`met`, `missed`, or `pending` (not done and not yet due) for one deadline."""
    if done_at is not None:
        return "met" if done_at <= due_at else "missed"
    return "missed" if now > due_at else "pending"


class _Writer:
    """One workbook: converts values (local times, masked phones, labels) and counts rows."""

    def __init__(self, tz: ZoneInfo, label: Label, now: datetime, mask: bool) -> None:
        self.tz, self.label, self.now, self.mask = tz, label, now, mask
        self.book = _openpyxl().Workbook(write_only=True)

    def sheet(self, key: str, columns: Sequence[Column]) -> WriteOnlyWorksheet:
        ws: WriteOnlyWorksheet = self.book.create_sheet(self.label(f"export.{key}")[:31])
        ws.freeze_panes = "A2"
        for i, column in enumerate(columns, start=1):
            ws.column_dimensions[_openpyxl().get_column_letter(i)].width = column.width
        header = []
        for column in columns:
            cell = _openpyxl().WriteOnlyCell(ws, self.label(f"export.{column.key}"))
            cell.font = _openpyxl().Font(bold=True)
            header.append(cell)
        ws.append(header)
        return ws

    @staticmethod
    def close_sheet(ws: WriteOnlyWorksheet, columns: Sequence[Column], rows: int) -> None:
        ws.auto_filter.ref = f"A1:{_openpyxl().get_column_letter(len(columns))}{rows + 1}"

    def time(self, moment: datetime | None) -> datetime | None:
        # Excel keeps no zone: the property's wall-clock time, as managers read it.
        return None if moment is None else moment.astimezone(self.tz).replace(tzinfo=None)

    def text(self, ws: WriteOnlyWorksheet, value: str | None) -> Any:
        if not value:
            return None
        value = ILLEGAL.sub("", mask_phones_in(value) if self.mask else value)
        if value.startswith("="):
            # Typed text must never become a formula in the manager's spreadsheet.
            cell = _openpyxl().WriteOnlyCell(ws, value)
            cell.data_type = "s"
            return cell
        return value

    def phone(self, value: str | None) -> str | None:
        if not value:
            return None
        return mask_phone(value) if self.mask else value

    def code(self, group: str, value: str | None) -> str | None:
        return None if value is None else self.label(f"{group}.{value}")

    def outcome(self, done_at: datetime | None, due_at: datetime) -> str:
        return self.label(f"export.sla_{deadline_outcome(done_at, due_at, self.now)}")


async def _write_rows(
    writer: _Writer,
    key: str,
    columns: Sequence[Column],
    rows: AsyncIterator[Any],
    convert: Callable[[WriteOnlyWorksheet, Any], list[Any]],
) -> int:
    ws = writer.sheet(key, columns)
    count = 0
    async for row in rows:
        ws.append(convert(ws, row))
        count += 1
    writer.close_sheet(ws, columns, count)
    return count


def _ticket_row(w: _Writer) -> Callable[[WriteOnlyWorksheet, Any], list[Any]]:
    def convert(ws: WriteOnlyWorksheet, r: Any) -> list[Any]:
        return [
            r.number,
            r.code,
            w.time(r.created_at),
            w.time(r.accepted_at),
            w.time(r.resolved_at),
            w.time(r.closed_at),
            w.code("category", r.category),
            w.code("urgency", r.urgency),
            r.hazard,
            w.code("channel", r.channel),
            w.text(ws, r.registered_by_name),
            w.text(ws, r.address),
            w.text(ws, r.contact_name),
            w.phone(r.contact_phone),
            w.code("team", r.team),
            w.text(ws, r.assignee_name),
            w.code("status", r.status),
            w.time(r.response_due_at),
            w.outcome(r.accepted_at, r.response_due_at),
            w.time(r.resolution_due_at),
            w.outcome(r.resolved_at, r.resolution_due_at),
            r.stars,
            int(r.reopened or 0),
            w.text(ws, r.description),
        ]

    return convert


def _event_row(w: _Writer) -> Callable[[WriteOnlyWorksheet, Any], list[Any]]:
    def convert(ws: WriteOnlyWorksheet, r: Any) -> list[Any]:
        return [
            r.number,
            w.time(r.at),
            r.actor_kind,
            r.kind,
            w.text(ws, r.old_value),
            w.text(ws, r.new_value),
            w.text(ws, r.note),
        ]

    return convert


def _rating_row(w: _Writer) -> Callable[[WriteOnlyWorksheet, Any], list[Any]]:
    def convert(ws: WriteOnlyWorksheet, r: Any) -> list[Any]:
        number, status, stars, reasons, comment, asked, answered, visit, outcome, recorded = r
        words = "; ".join(w.label(f"rating.reason_{reason}") for reason in reasons or ())
        return [
            number,
            status,
            stars,
            words or None,
            w.text(ws, comment),
            w.time(asked),
            w.time(answered),
            visit,
            w.text(ws, outcome),
            w.time(recorded),
        ]

    return convert


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _performance_cells(g: GroupFigures) -> list[Any]:
    share = g.sla_share
    return [
        g.accepted,
        g.resolved,
        _minutes(g.response_median),
        _minutes(g.response_p90),
        _minutes(g.resolution_median),
        _minutes(g.resolution_p90),
        g.sla_met,
        g.sla_due,
        None if share is None else round(share, 4),
        g.rating_count,
        None if g.rating_average is None else round(g.rating_average, 2),
        g.low_ratings,
        g.reopened,
        g.visits_done,
    ]


def _write_performance(w: _Writer, result: Performance) -> None:
    """The Teams and Staff sheets: few rows (one per team or person), already aggregated."""
    teams = w.sheet("sheet_teams", TEAM_COLUMNS)
    for g in result.teams:
        teams.append([w.code("team", g.key), *_performance_cells(g)])
    w.close_sheet(teams, TEAM_COLUMNS, len(result.teams))
    staff = w.sheet("sheet_staff", STAFF_COLUMNS)
    for g in result.staff:
        staff.append([g.name or None, int(g.key), *_performance_cells(g)])
    w.close_sheet(staff, STAFF_COLUMNS, len(result.staff))


def _survey_row(w: _Writer) -> Callable[[WriteOnlyWorksheet, Any], list[Any]]:
    def convert(ws: WriteOnlyWorksheet, r: Any) -> list[Any]:
        return [
            r.period,
            r.code,
            w.time(r.sent_at),
            r.stars,
            w.text(ws, r.comment),
            w.time(r.answered_at),
        ]

    return convert


def _visitor_row(w: _Writer) -> Callable[[WriteOnlyWorksheet, Any], list[Any]]:
    def convert(ws: WriteOnlyWorksheet, r: Any) -> list[Any]:
        return [
            r.code,
            w.code("export.visitor_kind", r.kind),
            w.code("export.visitor_status", r.status),
            w.text(ws, r.name),
            r.people,
            r.plate or None,
            w.text(ws, r.host_address),
            w.time(r.starts_at),
            w.time(r.ends_at),
            w.time(r.arrived_at),
            w.time(r.left_at),
            w.time(r.created_at),
        ]

    return convert


async def write_export(
    session: AsyncSession,
    window: Window,
    target: str | Path | IO[bytes],
    *,
    tz: ZoneInfo,
    label: Label,
    now: datetime,
    masked: bool,
) -> ExportSummary:
    """Write the workbook of `window` (tickets reported in it) to `target`; `masked`: phone
    numbers masked (`policy.export_masks_phones`)."""
    writer = _Writer(tz, label, now, masked)
    repo = ExportRepo(session)
    tickets = await _write_rows(
        writer, "sheet_tickets", TICKET_COLUMNS, repo.tickets(window), _ticket_row(writer)
    )
    events = await _write_rows(
        writer, "sheet_events", EVENT_COLUMNS, repo.events(window), _event_row(writer)
    )
    ratings = await _write_rows(
        writer, "sheet_ratings", RATING_COLUMNS, repo.ratings(window), _rating_row(writer)
    )
    surveys = await _write_rows(
        writer, "sheet_surveys", SURVEY_COLUMNS, repo.surveys(window), _survey_row(writer)
    )
    _write_performance(writer, await performance_of(session, window))
    await _write_rows(
        writer, "sheet_visitors", VISITOR_COLUMNS, repo.visitors(window), _visitor_row(writer)
    )
    writer.book.save(target)
    return ExportSummary(tickets, events, ratings, surveys)


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content: bytes
    summary: ExportSummary


def export_filename(code: str, span: Span) -> str:
    return f"propdesk-{code}-{span.first_day.isoformat()}_{span.last_day.isoformat()}.xlsx"


class Exports:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def _window(self, span: Span, property_id: int | None) -> Window:
        return Window(span.start, span.end, property_id)

    async def workbook(
        self, prop: Property, span: Span, label: Label, *, chat_type: str | None = None
    ) -> ExportFile:
        """The workbook of one property's period, in memory (to send as a document to a chat
        of `chat_type`: a group's is always masked)."""
        buffer = BytesIO()
        summary = await self.write(prop.id, span, buffer, label, chat_type=chat_type)
        return ExportFile(export_filename(prop.code, span), buffer.getvalue(), summary)

    async def write(
        self,
        property_id: int | None,
        span: Span,
        target: str | Path | IO[bytes],
        label: Label,
        *,
        chat_type: str | None = None,
    ) -> ExportSummary:
        """`chat_type`: the chat the workbook goes to; None is the terminal."""
        settings = self.desk.settings
        return await write_export(
            uow_of(self.desk).session,
            self._window(span, property_id),
            target,
            tz=settings.tz,
            label=label,
            now=self.desk.now(),
            masked=export_masks_phones(settings.export.full_phones, chat_type),
        )


class _OpenPyXL:
    """openpyxl, imported at the first export: a bot that never exports never loads it."""

    def __init__(self) -> None:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        self.Workbook = Workbook
        self.WriteOnlyCell = WriteOnlyCell
        self.Font = Font
        self.get_column_letter = get_column_letter


_loaded: list[_OpenPyXL] = []


def _openpyxl() -> _OpenPyXL:
    if not _loaded:
        _loaded.append(_OpenPyXL())
    return _loaded[0]
