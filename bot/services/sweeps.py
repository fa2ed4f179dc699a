"""The scheduler's work: each sweep looks only at rows that are due, one short transaction
per row, and reports through the injected Notifier. Safe to run twice or in two processes:
every step is recorded in the same transaction as the notices it queues. A row that fails is
logged (by id) and, where it has a due time, tried again later, so it never heads every
batch and holds up the rows behind it."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.exc import InterfaceError, OperationalError

from bot.clock import Clock
from bot.config import PlanConfig, Settings
from bot.cron import crontab_trigger
from bot.domain.vocabulary import RatingState
from bot.services.desk import Desk
from bot.services.dispatch import Conflict, Dispatch
from bot.services.lifecycle import IllegalTransition
from bot.services.notices import NoticeService
from bot.services.notify import Notifier
from bot.services.privacy import PersonalData
from bot.services.ratings import Ratings
from bot.services.timers import take_due, working_hours
from bot.services.visitors import Visitors
from storage.models import SurveyResponse
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)
BATCH = 100
LATE_GRACE = timedelta(days=1)
UPDATE_MEMORY = timedelta(days=7)
RETENTION_BATCHES = 50  # at most 5,000 tickets a run; the next run takes the rest
RETRY_AFTER = timedelta(minutes=5)  # a row that failed waits this long before another try
DANGER_RETRY_AFTER = timedelta(seconds=30)  # an unanswered emergency is worth trying soon

# Moves one failed row's due time (now, until) so that the next batches start after it.
Postpone = Callable[[UnitOfWork, datetime, datetime], Awaitable[object]]


class Periodic:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        settings: Settings,
        clock: Clock,
        notifier: Notifier,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.settings = settings
        self.clock = clock
        self.notifier = notifier
        self.after_commit = after_commit or (lambda: None)

    def _desk(self, uow: UnitOfWork) -> Desk:
        return Desk(uow, self.settings, self.clock)

    async def _commit(self, uow: UnitOfWork) -> None:
        await uow.commit()
        self.after_commit()

    async def _each(
        self,
        sweep: str,
        item: object,
        work: Callable[[], Awaitable[int | None]],
        postpone: Postpone | None = None,
        retry: timedelta = RETRY_AFTER,
    ) -> int:
        """One row's work in its own transaction. A failure (rolled back) is logged and the
        row postponed, and the sweep goes on: one bad row must not stop the others."""
        try:
            return int(await work() or 0)
        except (OperationalError, InterfaceError):
            # the database itself (gone, locked): no row would fare better; the sweep stops
            # and its next tick tries again, with one line in the log instead of one per row
            raise
        except Exception as exc:  # any other fault of one row is that row's alone
            _log_failure(sweep, item, exc)
        if postpone is not None:
            await self._postpone(sweep, item, postpone, retry)
        return 0

    async def _postpone(
        self, sweep: str, item: object, postpone: Postpone, retry: timedelta
    ) -> None:
        now = self.clock.now()
        try:
            async with self.uow_factory() as uow:
                await postpone(uow, now, now + retry)
                await uow.commit()
        except Exception as exc:  # the database itself may be what failed
            _log_failure(f"{sweep} (postponing)", item, exc)

    # SLA -------------------------------------------------------------------------------
    async def sla_sweep(self) -> int:
        async with self.uow_factory() as uow:
            due = await uow.tickets.due_for_sla(self.clock.now(), BATCH)
        for ticket_id in due:
            await self._each(
                "sla", ticket_id, partial(self._sla_one, ticket_id), _later_sla(ticket_id)
            )
        return len(due)

    async def _sla_one(self, ticket_id: int) -> None:
        async with self.uow_factory() as uow:
            ticket = await uow.tickets.locked(ticket_id)
            if ticket is None:
                return  # another worker has it
            desk = self._desk(uow)
            found = take_due(
                ticket, desk.now(), self.settings.escalation, working_hours(self.settings)
            )
            if found.staff is not None and found.staff.kind == "remind":
                await self.notifier.sla_reminder(desk, ticket)
            elif found.staff is not None:
                await self.notifier.sla_escalation(
                    desk, ticket, found.staff.kind, found.staff.repeat
                )
            if found.resident_warning:
                await self.notifier.resident_delay(desk, ticket)
            await self._commit(uow)

    # ratings ---------------------------------------------------------------------------
    async def rating_sweep(self) -> int:
        async with self.uow_factory() as uow:
            due = await uow.ratings.due(self.clock.now(), BATCH)
        for rating_id in due:
            await self._each(
                "ratings", rating_id, partial(self._rating_one, rating_id), _later_rating(rating_id)
            )
        return len(due)

    async def _rating_one(self, rating_id: int) -> None:
        async with self.uow_factory() as uow:
            rating = await uow.ratings.locked(rating_id)
            if rating is None or rating.due_at > self.clock.now():
                return
            desk = self._desk(uow)
            step = Ratings(desk).advance(rating, desk.now())
            ticket = await uow.tickets.get(rating.ticket_id)
            if step is not None and ticket is not None:
                await self.notifier.rating_request(desk, rating, ticket, step == "remind")
            elif rating.status == RatingState.EXPIRED and ticket is not None:
                await desk.record(ticket, "unrated", actor_kind="system")
            await self._commit(uow)

    # resolved but never confirmed --------------------------------------------------------
    async def close_sweep(self) -> int:
        """Resolved tickets the resident neither confirmed nor disputed close by themselves."""
        now = self.clock.now()
        cutoff = now - timedelta(hours=self.settings.rating.auto_close_hours)
        async with self.uow_factory() as uow:
            due = await uow.tickets.unconfirmed(cutoff, BATCH)
        closed = 0
        for ticket_id in due:
            closed += await self._each("auto-close", ticket_id, partial(self._close_one, ticket_id))
        return closed

    async def _close_one(self, ticket_id: int) -> int:
        async with self.uow_factory() as uow:
            desk = self._desk(uow)
            ticket = await desk.ticket(ticket_id)
            if ticket is None:
                return 0
            try:
                await Dispatch(desk).auto_close(ticket)
            except (Conflict, IllegalTransition):
                return 0  # the resident answered meanwhile
            await self.notifier.auto_closed(desk, ticket)
            await self._commit(uow)
            return 1

    # housekeeping ----------------------------------------------------------------------
    async def prune_updates(self) -> int:
        async with self.uow_factory() as uow:
            removed = await uow.updates.prune(self.clock.now() - UPDATE_MEMORY)
            await uow.commit()
        return removed

    # retention -------------------------------------------------------------------------
    async def retention_sweep(self) -> int:
        """Closed tickets past `retention.closed_ticket_days` lose their descriptions and
        photos, one short transaction each; batch after batch until none is due."""
        redacted = 0
        for _ in range(RETENTION_BATCHES):
            async with self.uow_factory() as uow:
                due = await PersonalData(self._desk(uow)).due_for_retention(BATCH)
            done = [
                await self._each("retention", ticket_id, partial(self._redact_one, ticket_id))
                for ticket_id in due
            ]
            redacted += sum(done)
            if len(due) < BATCH or not any(done):
                break  # all due are done, or another worker holds the rest
        return redacted

    async def _redact_one(self, ticket_id: int) -> int:
        async with self.uow_factory() as uow:
            if not await PersonalData(self._desk(uow)).apply_retention(ticket_id):
                return 0
            await self._commit(uow)
            return 1

    async def visitor_purge(self) -> int:
        """Visitor records older than `visitors.keep_days` are deleted (one statement)."""
        async with self.uow_factory() as uow:
            removed = await Visitors(self._desk(uow)).purge()
            await self._commit(uow)
        return removed

    async def visitor_answer_sweep(self) -> int:
        """Walk-ins whose host did not answer in `visitors.host_answer_minutes`: the guard
        who registered them is told the decision is theirs (once, in the same transaction)."""
        async with self.uow_factory() as uow:
            due = await Visitors(self._desk(uow)).unanswered(BATCH)
        told = 0
        for visitor_id in due:
            told += await self._each(
                "visitor-answers", visitor_id, partial(self._visitor_timed_out, visitor_id)
            )
        return told

    async def _visitor_timed_out(self, visitor_id: int) -> int:
        async with self.uow_factory() as uow:
            desk = self._desk(uow)
            visitor = await Visitors(desk).answer_timed_out(visitor_id)
            if visitor is None:
                return 0
            await self.notifier.visitor_no_answer(desk, visitor)
            await self._commit(uow)
            return 1

    # unsure emergencies ----------------------------------------------------------------
    async def danger_sweep(self) -> int:
        """Residents who left "is anyone in danger right now?" unanswered for
        `danger_answer_minutes`: their report opens as an emergency and pages (once: the
        question is cleared in the same transaction)."""
        async with self.uow_factory() as uow:
            due = await uow.dialogs.due(self.clock.now(), BATCH)
        paged = 0
        for chat_id, user_id in due:
            # Each page on its own: another question's fault must never hold one up.
            paged += await self._each(
                "danger",
                (chat_id, user_id),
                partial(self._danger_one, chat_id, user_id),
                _later_danger(chat_id, user_id),
                DANGER_RETRY_AFTER,
            )
        return paged

    async def _danger_one(self, chat_id: int, user_id: int) -> int:
        async with self.uow_factory() as uow:
            state = await uow.dialogs.locked(chat_id, user_id)
            now = self.clock.now()
            if state is None or state.due_at is None or state.due_at > now:
                return 0  # answered meanwhile, or another worker paged it
            opened = await self.notifier.danger_unanswered(
                self._desk(uow), user_id, dict(state.data)
            )
            await uow.dialogs.clear(chat_id, user_id)  # the question is over either way
            await self._commit(uow)
            return int(opened)

    # surveys ---------------------------------------------------------------------------
    async def survey_tick(self) -> int:
        """Once per cron period, ask every active resident for an overall score."""
        survey = self.settings.survey
        if not survey.enabled:
            return 0
        now = self.clock.now()
        fired = last_fire(survey.cron, now, self.settings)
        if fired is None:
            return 0
        period = fired.astimezone(self.settings.tz).strftime("%Y-%m-%d")
        async with self.uow_factory() as uow:
            desk = self._desk(uow)
            if Ratings(desk).quiet_until(now) is not None:
                return 0  # the claim waits too: the survey goes out in the morning
            if not await uow.runs.claim("survey", period, now):
                return 0
            sent = 0
            for telegram_id, property_id in await uow.residents.active_with_property():
                # The property, so that the answer counts in that property's digests.
                row = SurveyResponse(
                    period=period,
                    property_id=property_id,
                    resident_telegram_id=telegram_id,
                    sent_at=now,
                )
                if await uow.surveys.add(row):
                    await self.notifier.survey(desk, telegram_id, period)
                    sent += 1
            await self._commit(uow)
        return sent

    # inspection plans ------------------------------------------------------------------
    async def plan_tick(self) -> int:
        opened = 0
        for plan in self.settings.plans:
            opened += await self._each("plans", plan.code, partial(self._plan_one, plan))
        return opened

    async def _plan_one(self, plan: PlanConfig) -> int:
        now = self.clock.now()
        fired = last_fire(plan.cron, now, self.settings)
        if fired is None:
            return 0
        period = fired.astimezone(self.settings.tz).strftime("%Y-%m-%dT%H:%M")
        async with self.uow_factory() as uow:
            if not await uow.runs.claim(f"plan:{plan.code}", period, now):
                return 0
            desk = self._desk(uow)
            opened = 0
            for prop in await desk.properties():
                if plan.property is not None and prop.code != plan.property:
                    continue
                ticket = await desk.open_plan_ticket(prop.id, plan, fired)
                await self.notifier.plan_ticket(desk, ticket)
                opened += 1
            await self._commit(uow)
        return opened

    # announcements ---------------------------------------------------------------------
    async def notice_sweep(self) -> int:
        """Scheduled notices whose time came go out; notices with no row left waiting are
        reported to their sender, once. Returns how many of either."""
        async with self.uow_factory() as uow:
            service = NoticeService(self._desk(uow))
            due, sending = list(await service.due()), await service.to_report()
        for notice_id in due:
            start = partial(self._notice_start, notice_id)
            await self._each("notices", notice_id, start, _later_notice(notice_id))
        reported = 0
        for notice_id in sending:
            report = partial(self._notice_report, notice_id)
            reported += await self._each("notices", notice_id, report, _later_notice(notice_id))
        return len(due) + reported

    async def _notice_start(self, notice_id: int) -> None:
        async with self.uow_factory() as uow:
            desk = self._desk(uow)
            started = await NoticeService(desk).start(notice_id)
            if started is None:
                return  # another worker started it, or it was cancelled
            await self.notifier.notice_due(desk, started.notice, started.residents)
            await self._commit(uow)

    async def _notice_report(self, notice_id: int) -> int:
        async with self.uow_factory() as uow:
            desk = self._desk(uow)
            finished = await NoticeService(desk).finish(notice_id)
            if finished is None:
                return 0
            await self.notifier.notice_report(desk, *finished)
            await self._commit(uow)
            return 1


def _later_sla(ticket_id: int) -> Postpone:
    async def postpone(uow: UnitOfWork, now: datetime, until: datetime) -> None:
        await uow.tickets.postpone_sla(ticket_id, now, until)

    return postpone


def _later_rating(rating_id: int) -> Postpone:
    async def postpone(uow: UnitOfWork, now: datetime, until: datetime) -> None:
        await uow.ratings.postpone(rating_id, now, until)

    return postpone


def _later_danger(chat_id: int, user_id: int) -> Postpone:
    async def postpone(uow: UnitOfWork, now: datetime, until: datetime) -> None:
        await uow.dialogs.postpone(chat_id, user_id, now, until)

    return postpone


def _later_notice(notice_id: int) -> Postpone:
    async def postpone(uow: UnitOfWork, now: datetime, until: datetime) -> None:
        await uow.notices.postpone(notice_id, now, until)

    return postpone


def _log_failure(sweep: str, item: object, exc: Exception) -> None:
    """The row's id, the exception's type and where it was raised; not its message, which
    may quote a statement's parameters (a resident's description, a phone number)."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error(
        "%s sweep: %s failed (%s); tried again later\n%s", sweep, item, type(exc).__name__, frames
    )


def last_fire(
    cron: str, now: datetime, settings: Settings, grace: timedelta = LATE_GRACE
) -> datetime | None:
    """The latest time `cron` fired at or before `now`, if no longer ago than `grace`
    (a run missed during downtime still happens once; one from last month does not)."""
    trigger = crontab_trigger(cron, settings.tz)
    moment = now - grace
    latest: datetime | None = None
    previous: datetime | None = None
    while True:
        upcoming = trigger.get_next_fire_time(previous, moment)
        if upcoming is None or upcoming > now:
            return latest
        latest = previous = upcoming
        moment = upcoming + timedelta(seconds=1)
