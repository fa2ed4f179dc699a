"""Digests and lookups for managers: the digest text and chart, `/stats`, `/ticket`.

Figures come from bot/services/digest.py; this module only words them (locale files) and
queues them (the outbox) or replies.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.charts import ChartDay, ChartLabels, cjk_font, default_folder, render_apart
from bot.config import Settings
from bot.domain.policy import (
    Actor,
    may_export,
    may_look_up_ticket,
    may_read_performance,
    may_read_stats,
    may_see_full_phone,
    performance_teams,
    ticket_readable_in_group,
)
from bot.domain.vocabulary import CATEGORIES, Channel, SendPriority
from bot.handlers.base import Ctx, shorten
from bot.handlers.cards import group_translator
from bot.handlers.presenters import (
    category_label,
    channel_label,
    local_time,
    status_label,
    team_label,
    urgency_label,
)
from bot.i18n import Raw, Translator
from bot.messages import Document, Outgoing
from bot.services.desk import Desk
from bot.services.digest import Digest, stats_for
from bot.services.dispatch import Dispatch
from bot.services.duty import DutyCallFigures
from bot.services.export import XLSX_MIME, Exports, Label, Span, span_of
from bot.services.hotspots import Hotspots, Recurrence, hotspots_for
from bot.services.performance import GroupFigures, Performance, performance_for
from bot.services.phones import mask_phone
from bot.services.ratings import Ratings
from bot.services.staff import StaffService
from storage.models import Property, Ticket

log = logging.getLogger(__name__)

STATS_KINDS = ("today", "week", "month")
STAFF_LINES = 30  # a chat message holds about this many; the export holds everyone
OLDEST_DESCRIPTION = 20
FAQ_GAP_QUESTION = 60
# A message holds 4,096 characters: each hot-spot rule shows its first lines, each line its
# first ticket numbers, and says how many more there are.
HOTSPOT_LINES = 8
HOTSPOT_NUMBERS = 6
TICKET_DESCRIPTION = 1000
TICKET_NUMBER = re.compile(r"^(\d{8})-?(\d{1,6})$")


# the digest text -------------------------------------------------------------------------
def digest_text(t: Translator, digest: Digest, *, late: bool = False) -> str:
    """The digest as Telegram HTML, in the shape of STORIES.md part 3."""
    lines = [_title(t, digest)]
    if late:
        lines.append(t("digest.late"))
    lines += [
        t(
            "digest.counts",
            new=digest.new,
            resolved=digest.resolved,
            open=digest.open,
            overdue=digest.overdue,
        ),
        t(
            "digest.times",
            response_median=_duration(t, digest.response_median),
            response_p90=_duration(t, digest.response_p90),
            resolution_median=_duration(t, digest.resolution_median),
            resolution_p90=_duration(t, digest.resolution_p90),
        ),
        t(
            "digest.rates",
            sla=_percent(t, digest.sla_compliance),
            rate=_percent(t, digest.resolution_rate),
        ),
        _ratings(t, digest),
    ]
    if digest.survey_count:
        lines.append(
            t("digest.survey", average=f"{digest.survey_average:.1f}", count=digest.survey_count)
        )
    if digest.by_category:
        pairs = [(category_label(t, code), n) for code, n in digest.by_category]
        lines.append(t("digest.by_category", items=_items(t, pairs)))
    if digest.by_team:
        pairs = [(team_label(t, code), n) for code, n in digest.by_team]
        lines.append(t("digest.by_team", items=_items(t, pairs)))
    if any(code != Channel.TELEGRAM for code, _ in digest.by_channel):
        pairs = [(channel_label(t, code), n) for code, n in digest.by_channel]
        lines.append(t("digest.by_channel", items=_items(t, pairs)))
    if digest.visitors_expected or digest.visitors_walk_in:
        lines.append(
            t(
                "digest.visitors",
                expected=digest.visitors_expected,
                walk_in=digest.visitors_walk_in,
                arrived=digest.visitors_arrived,
            )
        )
    if digest.incidents:
        lines.append(
            t(
                "incident.digest_line",
                incidents=digest.incidents,
                households=digest.incident_households,
            )
        )
    if digest.faq_gaps and digest.period.kind == "week":
        lines.append(t("digest.faq_gaps", count=digest.faq_gaps))
        # masked before shortened: a number cut short is no longer found, and shows its digits
        lines += [
            t("digest.faq_gap", question=shorten(t.redact(q), FAQ_GAP_QUESTION))
            for q in digest.faq_gap_questions
        ]
    lines.append(_oldest(t, digest))
    if digest.on_duty:
        teams = [
            t(
                "duty.digest_team",
                team=team_label(t, code),
                names=t("common.list_separator").join(names),
            )
            for code, names in digest.on_duty
        ]
        lines.append(t("duty.digest_roster", teams=Raw(t("digest.separator").join(teams))))
    lines += [_duty_line(t, f) for f in digest.duty]
    if digest.previous is not None:
        lines.append(_changes(t, digest, digest.previous))
    if digest.teams:
        lines.append(t("digest.teams_heading"))
        lines += [_team_line(t, g) for g in digest.teams]
    if digest.hotspots is not None:
        lines.append(t("digest.hotspots_heading"))
        lines += hotspot_lines(t, digest.hotspots)
    return "\n".join(lines)


def _duty_line(t: Translator, f: DutyCallFigures) -> str:
    """Who was on duty and how their emergencies went (people called privately only)."""
    return t(
        "duty.digest_line",
        name=f.name or str(f.telegram_id),
        team=team_label(t, f.team),
        emergencies=f.emergencies,
        in_time=f.accepted_in_time,
        theirs=f.accepted_by_them,
        resolved=f.resolved,
    )


def _title(t: Translator, digest: Digest) -> str:
    p = digest.period
    return t(
        f"digest.title_{p.kind}",
        name=digest.property_name,
        date=t("digest.date", month=p.first_day.month, day=p.first_day.day),
        last=t("digest.date", month=p.last_day.month, day=p.last_day.day),
        month=p.first_day.month,
        year=p.first_day.year,
    )


def _duration(t: Translator, seconds: float | None) -> str:
    if seconds is None:
        return t("digest.none")
    minutes = seconds / 60
    if abs(minutes) < 60:
        return t("digest.minutes", n=round(minutes))
    if abs(minutes) < 48 * 60:
        return t("digest.hours", n=f"{minutes / 60:.1f}")
    return t("digest.days", n=f"{minutes / 1440:.1f}")


def _age(t: Translator, age: timedelta) -> str:
    if age >= timedelta(days=1):
        return t("digest.days", n=age.days)
    return t("digest.hours", n=max(1, round(age.total_seconds() / 3600)))


def _percent(t: Translator, share: float | None) -> str:
    return t("digest.none") if share is None else f"{share * 100:.0f}%"


def _items(t: Translator, pairs: list[tuple[str, int]]) -> Raw:
    # Each item is already HTML: mark the joined list so it is not escaped a second time.
    return Raw(t("digest.separator").join(t("digest.item", name=name, n=n) for name, n in pairs))


def _ratings(t: Translator, d: Digest) -> str:
    if not d.rating_count or d.rating_average is None:
        return t("digest.no_ratings")
    line = t("digest.ratings", average=f"{d.rating_average:.1f}", count=d.rating_count)
    if d.low_ratings:
        line += t(
            "digest.low_ratings",
            low=d.low_ratings,
            visits=d.low_with_visit,
            done=d.low_visit_done,
        )
    return line


def _oldest(t: Translator, d: Digest) -> str:
    if not d.oldest_open:
        return t("digest.oldest_none")
    items = [
        t(
            "digest.oldest_item",
            number=o.number,
            text=shorten(t.redact(" ".join(o.description.split())), OLDEST_DESCRIPTION),
            age=_age(t, o.age),
        )
        for o in d.oldest_open
    ]
    return t("digest.oldest", items=Raw(t("digest.separator").join(items)))


def _changes(t: Translator, now: Digest, before: Digest) -> str:
    def points(a: float | None, b: float | None) -> Raw:
        if a is None or b is None:
            return t.raw("digest.none")
        return t.raw("digest.points", n=f"{(a - b) * 100:+.0f}")

    def stars(a: float | None, b: float | None) -> str:
        return t("digest.none") if a is None or b is None else f"{a - b:+.1f}"

    return t(
        "digest.changes",
        new=f"{now.new - before.new:+d}",
        resolved=f"{now.resolved - before.resolved:+d}",
        open=f"{now.open - before.open:+d}",
        overdue=f"{now.overdue - before.overdue:+d}",
        sla=points(now.sla_compliance, before.sla_compliance),
        rate=points(now.resolution_rate, before.resolution_rate),
        rating=stars(now.rating_average, before.rating_average),
    )


def _team_line(t: Translator, g: GroupFigures) -> str:
    """The weekly digest's line for a team: the performance figures a digest has room for."""
    return t(
        "digest.team_line",
        team=team_label(t, g.key),
        accepted=g.accepted,
        resolved=g.resolved,
        response=_duration(t, g.response_median),
        resolution=_duration(t, g.resolution_median),
        sla=_percent(t, g.sla_share),
        rating=_stars(t, g.rating_average),
        low=g.low_ratings,
        reopened=g.reopened,
    )


def _stars(t: Translator, average: float | None) -> str:
    return t("digest.none") if average is None else f"{average:.1f}"


def plain_text(text: str) -> str:
    """Telegram HTML to terminal text (the CLI prints digests)."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


# the chart -------------------------------------------------------------------------------
def chart_labels(t: Translator) -> ChartLabels:
    return ChartLabels(
        title=t("digest.chart_title"),
        tickets=t("digest.chart_tickets"),
        compliance=t("digest.chart_compliance"),
        categories={code: category_label(t, code) for code in CATEGORIES},
    )


def chart_translator(t: Translator) -> Translator:
    # Without a CJK font matplotlib draws boxes: label the chart in English instead.
    return t if t.locale == "en" or cjk_font() else Translator("en")


async def draw_chart(t: Translator, digest: Digest, folder: Path) -> Path | None:
    if not digest.days:
        return None
    days = [ChartDay(d.day, dict(d.by_category), d.compliance) for d in digest.days]
    name = f"digest-{digest.property_code}-{digest.period.kind}-{digest.period.key}.png"
    path = folder / name.replace("..", "_")
    # drawn in a child process, which also picks the English labels when it finds no CJK
    # font (chart_translator's rule): matplotlib never enters the bot's own memory
    fallback = None if t.locale == "en" else chart_labels(Translator("en"))
    return await render_apart(days, chart_labels(t), path, CATEGORIES, fallback)


def chart_folder(settings: Settings) -> Path:
    configured = getattr(settings.digest, "chart_dir", None)
    return Path(configured) if configured else default_folder()


class DigestNotices:
    """The Notifier's `digest` method; the app's notifier may inherit it."""

    async def digest_chart(self, settings: Settings, digest: Digest) -> Path | None:
        try:
            return await draw_chart(Translator(settings.locale), digest, chart_folder(settings))
        except Exception:  # a broken chart must not cost the managers their figures
            log.exception("digest chart failed for %s", digest.property_code)
            return None

    async def digest(self, desk: Desk, digest: Digest, *, late: bool, chart: Path | None) -> bool:
        bound = await StaffService(desk).team_chat(
            await _property_id(desk, digest.property_code), "managers"
        )
        if bound is None or bound.chat_id is None:
            return False
        t = group_translator(desk)
        out = Outgoing(
            chat_id=bound.chat_id,
            text=digest_text(t, digest, late=late),
            thread_id=bound.thread_id,
            upload=str(chart) if chart else None,
        )
        key = f"digest:{digest.property_code}:{digest.period.kind}:{digest.period.key}"
        return await desk.enqueue(key, out, priority=SendPriority.ROUTINE)


async def _property_id(desk: Desk, code: str) -> int:
    prop = await desk.property_by_code(code)
    return prop.id if prop else -1


# /stats and /ticket ----------------------------------------------------------------------
async def on_stats(ctx: Ctx) -> None:
    """`/stats [today|week|month]`: figures so far, for managers and admins."""
    args = ctx.inc.command_args.split()
    kind = args[0].lower() if args else "today"
    if kind == "staff":
        await on_stats_staff(ctx, " ".join(args[1:]))
        return
    if kind == "hotspots":
        await on_stats_hotspots(ctx)
        return
    if kind not in STATS_KINDS:
        ctx.say(ctx.t("digest.stats_usage"))
        return
    allowed = await _allowed_property(ctx, may_read_stats)
    if allowed is None:
        return
    digest = await stats_for(ctx.desk, allowed.prop, kind)
    ctx.say(digest_text(_reader(ctx), digest))


async def on_stats_staff(ctx: Ctx, period: str) -> None:
    """`/stats staff [today|week|month|YYYY-MM]`: per team and staff member (default: this
    month so far); managers see every team, a lead their own."""
    span = span_of(period, ctx.desk.now(), ctx.settings.tz)
    if span is None:
        ctx.say(ctx.t("perf.usage"))
        return
    allowed = await _allowed_property(ctx, may_read_performance, refused="perf.not_allowed")
    if allowed is None:
        return
    prop, teams = allowed.prop, performance_teams(allowed.actor)
    result = await performance_for(ctx.desk, prop.id, span, teams)
    ctx.say(performance_text(_reader(ctx), prop, span, result))


def performance_text(t: Translator, prop: Property, span: Span, result: Performance) -> str:
    lines = [
        t(
            "perf.title",
            name=prop.name,
            first=span.first_day.isoformat(),
            last=span.last_day.isoformat(),
        )
    ]
    if not result.teams:
        return "\n".join([*lines, t("perf.none")])
    lines.append(t("perf.teams_heading"))
    lines += [_group_line(t, team_label(t, g.key), g) for g in result.teams]
    if result.staff:
        lines.append(t("perf.staff_heading"))
        shown = result.staff[:STAFF_LINES]
        lines += [_group_line(t, g.name or t("perf.unnamed", id=g.key), g) for g in shown]
        if len(result.staff) > len(shown):
            lines.append(t("perf.more", n=len(result.staff) - len(shown)))
    return "\n".join(lines)


def _group_line(t: Translator, who: str, g: GroupFigures) -> str:
    return t(
        "perf.line",
        who=who,
        accepted=g.accepted,
        resolved=g.resolved,
        response_median=_duration(t, g.response_median),
        response_p90=_duration(t, g.response_p90),
        resolution_median=_duration(t, g.resolution_median),
        resolution_p90=_duration(t, g.resolution_p90),
        sla=_percent(t, g.sla_share),
        rating=_stars(t, g.rating_average),
        ratings=g.rating_count,
        low=g.low_ratings,
        reopened=g.reopened,
        visits=g.visits_done,
    )


async def on_stats_hotspots(ctx: Ctx) -> None:
    """`/stats hotspots`: what recurred in the last 30 days, with ticket numbers."""
    allowed = await _allowed_property(ctx, may_read_stats)
    if allowed is None:
        return
    prop = allowed.prop
    ctx.say(hotspots_text(_reader(ctx), prop, await hotspots_for(ctx.desk, prop.id)))


def hotspots_text(t: Translator, prop: Property, found: Hotspots) -> str:
    return "\n".join([t("hot.title", name=prop.name), *hotspot_lines(t, found)])


def hotspot_lines(t: Translator, found: Hotspots) -> list[str]:
    """The hot spots, each with its ticket numbers (`/stats hotspots`, the weekly digest)."""
    if found.empty:
        return [t("hot.none")]
    reopened = [t("hot.reopened_item", number=r.number, times=r.times) for r in found.reopened]
    misses = [
        t(
            "hot.misses_item",
            category=category_label(t, g.category),
            n=len(g.numbers),
            before=g.before,
            numbers=_numbers(t, g.numbers),
        )
        for g in found.misses_grew
    ]
    lines: list[str] = []
    for heading, items in (
        ("hot.places", [_recurrence_line(t, r) for r in found.places]),
        ("hot.reopened", reopened),
        ("hot.residents", [_recurrence_line(t, r) for r in found.residents]),
        ("hot.misses_grew", misses),
    ):
        if items:
            lines += [t(heading), *items[:HOTSPOT_LINES]]
            if len(items) > HOTSPOT_LINES:
                lines.append(t("hot.more", n=len(items) - HOTSPOT_LINES))
    lines.append(t("hot.open_with"))
    return lines


def _numbers(t: Translator, numbers: tuple[str, ...]) -> str:
    shown = t("common.list_separator").join(numbers[:HOTSPOT_NUMBERS])
    if len(numbers) > HOTSPOT_NUMBERS:
        shown += t("hot.more_numbers", n=len(numbers) - HOTSPOT_NUMBERS)
    return shown


def _recurrence_line(t: Translator, r: Recurrence) -> str:
    return t(
        "hot.item",
        place=r.place,
        category=category_label(t, r.category),
        n=len(r.numbers),
        numbers=_numbers(t, r.numbers),
    )


async def on_export(ctx: Ctx) -> None:
    """`/export [today|week|month|YYYY-MM]`: the period's tickets as an .xlsx document."""
    span = span_of(ctx.inc.command_args, ctx.desk.now(), ctx.settings.tz)
    if span is None:
        ctx.say(ctx.t("export.usage"))
        return
    allowed = await _allowed_property(
        ctx, may_export, where="export.where", refused="export.managers_only"
    )
    if allowed is None:
        return
    prop, t = allowed.prop, _reader(ctx)
    # full numbers (when the settings allow them) only in a private chat, never in a group
    made = await Exports(ctx.desk).workbook(
        prop, span, plain_labels(t), chat_type=ctx.inc.chat_type
    )
    caption = t(
        "export.caption",
        name=prop.name,
        first=span.first_day.isoformat(),
        last=span.last_day.isoformat(),
        tickets=made.summary.tickets,
        events=made.summary.events,
        ratings=made.summary.ratings,
        surveys=made.summary.surveys,
        zone=ctx.settings.timezone,
    )
    ctx.say(caption, document=Document(made.filename, made.content, XLSX_MIME))


def plain_labels(t: Translator) -> Label:
    """Locale texts for spreadsheet cells: plain text, not Telegram HTML."""
    return lambda key: html.unescape(t(key))


@dataclass(frozen=True)
class Allowed:
    prop: Property
    actor: Actor


async def _allowed_property(
    ctx: Ctx,
    may: Callable[[Actor], bool],
    *,
    where: str = "digest.stats_where",
    refused: str = "digest.managers_only",
) -> Allowed | None:
    """The property a managers' command reads and the person asking, when the rule `may`
    lets them; otherwise they get the `where` or `refused` answer and None."""
    prop = await _stats_property(ctx, where=where, refused=refused)
    if prop is None:
        return None
    actor = await StaffService(ctx.desk).actor(ctx.inc.user_id, prop.id, ctx.inc.user_name)
    if not may(actor):
        ctx.say(ctx.t(refused))
        return None
    return Allowed(prop, actor)


async def _stats_property(ctx: Ctx, *, where: str, refused: str) -> Property | None:
    """Private: the person's property; groups: only the managers' group, for its property."""
    service = StaffService(ctx.desk)
    if ctx.inc.is_private:
        actor = await service.actor(ctx.inc.user_id, None)
        prop = (
            await ctx.desk.property(actor.property_id)
            if actor.property_id is not None
            else await service.property_for(None)
        )
        if prop is None or not actor.is_staff:
            ctx.say(ctx.t(refused))
            return None
        return prop
    managers = [
        team for team in await service.teams_of_chat(ctx.inc.chat_id) if team.code == "managers"
    ]
    if not managers:
        ctx.say(ctx.t(where))
        return None
    return await ctx.desk.property(managers[0].property_id)


def _reader(ctx: Ctx) -> Translator:
    return ctx.t if ctx.inc.is_private else group_translator(ctx.desk)


async def on_ticket(ctx: Ctx) -> None:
    """`/ticket <number>`: for the ticket's team, managers and admins; phones masked in groups."""
    match = TICKET_NUMBER.match(ctx.inc.command_args.strip())
    if match is None:
        ctx.say(ctx.t("lookup.usage"))
        return
    service = StaffService(ctx.desk)
    if not await service.is_staff(ctx.inc.user_id):
        ctx.say(ctx.t("lookup.not_allowed"))
        return
    number = f"{match.group(1)}-{int(match.group(2)):04d}"
    ticket = await ctx.desk.ticket_by_number(number)
    if ticket is None:
        ctx.say(ctx.t("lookup.not_found", number=number))
        return
    actor = await service.actor(ctx.inc.user_id, ticket.property_id, ctx.inc.user_name)
    if not may_look_up_ticket(actor, ticket) or not await _right_room(ctx, service, ticket):
        ctx.say(ctx.t("lookup.not_allowed"))
        return
    full_phone = may_see_full_phone(actor, ticket, ctx.inc.chat_type)
    if full_phone:
        # the full number under the same rule, and the same audit, as the card's Contact button
        await Dispatch(ctx.desk).contact(actor, ticket)
    ctx.say(await ticket_text(_reader(ctx), ctx.desk, ticket, full_phone=full_phone))


async def _right_room(ctx: Ctx, service: StaffService, ticket: Ticket) -> bool:
    """In a group, only the ticket's own team group or the managers' group of the ticket's
    own property may read it (a group bound for another compound is a stranger here)."""
    if ctx.inc.is_private:
        return True
    teams = {
        team.code
        for team in await service.teams_of_chat(ctx.inc.chat_id)
        if team.property_id == ticket.property_id
    }
    return ticket_readable_in_group(teams, ticket.team)


async def ticket_text(t: Translator, desk: Desk, ticket: Ticket, *, full_phone: bool) -> str:
    tz = desk.settings.tz
    phone = ticket.contact_phone or ""
    lines = [
        t(
            "lookup.head",
            number=ticket.number,
            category=category_label(t, ticket.category),
            urgency=urgency_label(t, ticket.urgency),
            status=status_label(t, ticket.status),
        ),
        t(
            "lookup.team",
            team=team_label(t, ticket.team),
            assignee=ticket.assignee_name or t("digest.none"),
        ),
        t(
            "lookup.contact",
            address=ticket.address or t("digest.none"),
            name=ticket.contact_name,
            phone=phone if full_phone or not phone else mask_phone(phone),
        ),
        t("lookup.description", text=shorten(t.redact(ticket.description), TICKET_DESCRIPTION)),
        t(
            "lookup.times",
            created=local_time(ticket.created_at, tz),
            accepted=_when(t, ticket.accepted_at, desk),
            resolved=_when(t, ticket.resolved_at, desk),
        ),
        t(
            "lookup.deadlines",
            response=local_time(ticket.response_due_at, tz),
            resolution=local_time(ticket.resolution_due_at, tz),
        ),
    ]
    rating = await Ratings(desk).for_ticket(ticket.id)
    if rating is not None and rating.stars is not None:
        lines.append(t("lookup.rating", stars=rating.stars))
    return "\n".join(lines)


def _when(t: Translator, moment: datetime | None, desk: Desk) -> str:
    return t("digest.none") if moment is None else local_time(moment, desk.settings.tz)
