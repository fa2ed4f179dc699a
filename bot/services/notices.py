"""Announcements (通知): compose, queue to the outbox at bulk priority, cancel or stop, and
report how delivery went. Who may do what is `bot.domain.policy`; the words are rendered by
the handlers' layer, which queues one row per recipient under `notice:<id>:<telegram id>`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.policy import (
    NOTICE_HISTORY,
    Actor,
    may_address_all_properties,
    may_manage_notice,
    may_send_notice,
    may_send_safety_notice,
    notice_reaches,
)
from bot.domain.vocabulary import OPEN_STATUSES, NoticeAudience, NoticeStatus
from bot.services.desk import Desk, uow_of
from bot.services.staff import NotAllowed, StaffService
from storage.models import Notice, Resident

BATCH = 50
UNIT_SEPARATOR = "/"


def recipient_key(notice_id: int, telegram_id: int) -> str:
    """The outbox key of one resident's copy (queued once per notice and resident)."""
    return f"{key_prefix(notice_id)}{telegram_id}"


def key_prefix(notice_id: int) -> str:
    return f"notice:{notice_id}:"


def report_key(notice_id: int) -> str:
    return f"notice-report:{notice_id}"  # not under the prefix: it is not a recipient's row


@dataclass(frozen=True)
class Audience:
    kind: NoticeAudience
    property_id: int | None = None
    building: str = ""
    unit: str = ""
    category: str = ""

    @property
    def value(self) -> str:
        if self.kind == NoticeAudience.UNIT:
            return f"{self.building}{UNIT_SEPARATOR}{self.unit}"
        if self.kind == NoticeAudience.BUILDING:
            return self.building
        return self.category if self.kind == NoticeAudience.CATEGORY else ""

    @classmethod
    def of(cls, notice: Notice) -> Audience:
        kind = NoticeAudience(notice.audience)
        value = notice.audience_value
        if kind == NoticeAudience.UNIT:
            building, _, unit = value.partition(UNIT_SEPARATOR)
            return cls(kind, notice.property_id, building, unit)
        if kind == NoticeAudience.BUILDING:
            return cls(kind, notice.property_id, building=value)
        if kind == NoticeAudience.CATEGORY:
            return cls(kind, notice.property_id, category=value)
        return cls(kind, notice.property_id)


@dataclass(frozen=True)
class NoticeCounts:
    delivered: int = 0
    blocked: int = 0
    failed: int = 0
    cancelled: int = 0
    pending: int = 0

    @property
    def total(self) -> int:
        return self.delivered + self.blocked + self.failed + self.cancelled + self.pending


@dataclass(frozen=True)
class Started:
    notice: Notice
    residents: Sequence[Resident]


class NoticeService:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.uow = uow_of(desk)

    # who may ---------------------------------------------------------------------------
    async def composer(self, telegram_id: int) -> Actor:
        """The person as a composer of notices; NotAllowed when policy says no."""
        actor = await StaffService(self.desk).actor(telegram_id, None)
        if not may_send_notice(actor):
            raise NotAllowed("notice.not_allowed")
        return actor

    async def may_compose(self, telegram_id: int) -> bool:
        actor = await StaffService(self.desk).actor(telegram_id, None)
        return may_send_notice(actor)

    def check_audience(self, actor: Actor, audience: Audience) -> None:
        if audience.kind == NoticeAudience.ALL:
            if not may_address_all_properties(actor):
                raise NotAllowed("notice.not_allowed")
        elif not actor.is_admin and audience.property_id != actor.property_id:
            raise NotAllowed("notice.not_allowed")

    # audience --------------------------------------------------------------------------
    async def recipients(self, audience: Audience, safety: bool) -> list[Resident]:
        """Reachable residents of the audience, less those who turned notices off."""
        everyone = await self.uow.notices.residents(
            None if audience.kind == NoticeAudience.ALL else audience.property_id,
            building=audience.building or None,
            unit=audience.unit or None,
            category=audience.category or None,
            open_statuses=tuple(OPEN_STATUSES),
        )
        off = await self.uow.notices.opted_out()
        return [r for r in everyone if notice_reaches(safety, r.telegram_id in off)]

    # compose ---------------------------------------------------------------------------
    async def create(
        self,
        actor: Actor,
        audience: Audience,
        text: str,
        photo: str | None,
        safety: bool,
        send_at: datetime | None = None,
    ) -> Notice:
        """A notice waiting for its time (now, when `send_at` is None)."""
        self.check_audience(actor, audience)
        if safety and not may_send_safety_notice(actor):
            raise NotAllowed("notice.safety_managers_only")
        now = self.desk.now()
        notice = Notice(
            property_id=None if audience.kind == NoticeAudience.ALL else audience.property_id,
            author_id=actor.telegram_id,
            author_name=actor.name[:64],
            audience=str(audience.kind),
            audience_value=audience.value[:80],
            text=text,
            photo=photo,
            safety=safety,
            status=NoticeStatus.SCHEDULED,
            send_at=send_at or now,
            created_at=now,
            recipients=0,
        )
        return await self.uow.notices.add(notice)

    async def start(self, notice_id: int) -> Started | None:
        """A scheduled notice starts: its recipients are fixed now. None when it had
        started already, or was cancelled (of two starters exactly one wins)."""
        if not await self.uow.notices.move(notice_id, NoticeStatus.SCHEDULED, NoticeStatus.SENDING):
            return None
        notice = await self.uow.notices.get(notice_id)
        if notice is None:
            return None
        await self.uow.session.refresh(notice)
        residents = await self.recipients(Audience.of(notice), notice.safety)
        notice.started_at = self.desk.now()
        notice.recipients = len(residents)
        await self.uow.notices.add_recipients(notice.id, [r.telegram_id for r in residents])
        return Started(notice, residents)

    # cancel and stop -------------------------------------------------------------------
    async def _managed(self, actor: Actor, notice_id: int) -> Notice:
        notice = await self.uow.notices.get(notice_id)
        if notice is None or not may_manage_notice(actor, notice.author_id, notice.property_id):
            raise NotAllowed("notice.not_yours")
        return notice

    async def cancel(self, actor: Actor, notice_id: int) -> Notice:
        """Call off a notice that has not started."""
        notice = await self._managed(actor, notice_id)
        moved = await self.uow.notices.move(
            notice_id, NoticeStatus.SCHEDULED, NoticeStatus.CANCELLED
        )
        await self.uow.session.refresh(notice)
        if not moved:
            cancelled = notice.status == NoticeStatus.CANCELLED
            raise NotAllowed("notice.already_cancelled" if cancelled else "notice.already_started")
        notice.finished_at = self.desk.now()
        # the work it announced is off: reports in its window are tickets again
        await self.uow.incidents.close_planned(notice.id, self.desk.now())
        return notice

    async def stop(self, actor: Actor, notice_id: int) -> int:
        """Stop a notice while it is sending: rows still waiting are cancelled (the number)."""
        notice = await self._managed(actor, notice_id)
        if not await self.uow.notices.move(notice_id, NoticeStatus.SENDING, NoticeStatus.STOPPED):
            raise NotAllowed("notice.not_sending")
        # a stopped notice was (most likely) wrong: it must not answer reports either
        await self.uow.incidents.close_planned(notice.id, self.desk.now())
        reason = f"notice stopped by {actor.telegram_id}"
        return await self.uow.outbox.cancel_pending(notice.id, reason, self.desk.now())

    # reports ---------------------------------------------------------------------------
    async def counts(self, notice_id: int) -> NoticeCounts:
        outcomes = await self.uow.outbox.outcomes(notice_id)
        failed, blocked = outcomes.get("failed", (0, 0))
        return NoticeCounts(
            delivered=outcomes.get("sent", (0, 0))[0],
            blocked=blocked,
            failed=failed - blocked,
            cancelled=outcomes.get("cancelled", (0, 0))[0],
            pending=outcomes.get("pending", (0, 0))[0],
        )

    async def to_report(self) -> list[int]:
        """Notices sending or stopped whose report may be due (the sweep checks each)."""
        now = self.desk.now()
        sending = await self.uow.notices.due(NoticeStatus.SENDING, now, BATCH)
        stopped = await self.uow.notices.due(NoticeStatus.STOPPED, now, BATCH, unreported=True)
        return [*sending, *stopped]

    async def due(self) -> Sequence[int]:
        return await self.uow.notices.due(NoticeStatus.SCHEDULED, self.desk.now(), BATCH)

    async def finish(self, notice_id: int) -> tuple[Notice, NoticeCounts] | None:
        """When no row waits any more, the notice is done: (notice, counts) for the report,
        once; None while rows wait or when it was reported already."""
        notice = await self.uow.notices.get(notice_id)
        if notice is None or notice.finished_at is not None:
            return None
        counts = await self.counts(notice_id)
        if counts.pending:
            return None
        if notice.status == NoticeStatus.SENDING and not await self.uow.notices.move(
            notice_id, NoticeStatus.SENDING, NoticeStatus.DONE
        ):
            return None
        await self.uow.session.refresh(notice)
        notice.finished_at = self.desk.now()
        await self.uow.session.flush()
        return notice, counts

    # lists -----------------------------------------------------------------------------
    async def history(self, actor: Actor) -> list[tuple[Notice, NoticeCounts]]:
        """Recent notices of the actor's property (every property for an admin), counted."""
        scope = None if may_address_all_properties(actor) else actor.property_id
        notices = await self.uow.notices.recent(scope, NOTICE_HISTORY)
        return [(n, await self.counts(n.id)) for n in notices]

    async def received(self, telegram_id: int) -> Sequence[Notice]:
        return await self.uow.notices.received_by(telegram_id, NOTICE_HISTORY)

    async def opted_out(self, telegram_id: int) -> bool:
        return await self.uow.notices.is_opted_out(telegram_id)

    async def set_notices(self, telegram_id: int, on: bool) -> None:
        if on:
            await self.uow.notices.opt_in(telegram_id)
        else:
            await self.uow.notices.opt_out(telegram_id, self.desk.now())

    async def property_name(self, property_id: int | None) -> str:
        prop = await self.desk.property(property_id) if property_id is not None else None
        return prop.name if prop is not None else ""
