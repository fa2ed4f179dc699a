"""The composition root: settings -> engine -> services -> transport."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock, SystemClock
from bot.config import Settings, SettingsError
from bot.dialog import WRITER_OUTBOX, DialogEngine
from bot.handlers.base import Classifier
from bot.handlers.notices import HandlerNotifier
from bot.messages import ApiUnreachable, Core, PollingConflict, TokenRefused
from bot.services.desk import Desk
from bot.services.health import health_report
from bot.services.leadership import Leadership
from bot.services.outbox import OutboxSender
from bot.services.pacing import UNLIMITED, Limits, Pacer, RealTimer, Timer
from bot.services.sweeps import Periodic
from bot.transports.delivery import InFlight
from bot.transports.webhook import Health, ListenFailed, WebhookRefused, WebhookSpec
from scheduler.jobs import core_jobs
from scheduler.jobs_digest import digest_jobs
from scheduler.runner import JobSpec, Scheduler
from storage.db import (
    PoolSettings,
    create_engine,
    is_sqlite,
    session_factory,
    sqlite_threads_finished,
)
from storage.leadership import PgLeaderLock, is_postgres, process_name
from storage.migrate import upgrade
from storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)
T = TypeVar("T")

# The part of the shutdown time that updates being handled may take; the rest is for sending,
# less what closing connections needs at the end.
HANDLING_SHARE = 0.6
CLOSING_SHARE = 0.1
# A new leader releases the outbox rows the previous one held only after this many seconds:
# a leader that lost its lock's connection (but not its process) stops claiming within a
# second or two, and lets the sends it has in progress finish and be recorded first.
HANDOVER_SETTLE = 2.0
# Seconds to release the lead at the end (one statement, then the connection closes).
CLOSING_TIMEOUT = 5.0


class LeadershipLost(Exception):
    """A polling process lost the lead (its lock's database connection ended): it stops, so
    that the new leader polls alone; a supervisor starts it again as a follower."""


class Transport(Protocol):
    name: str
    in_flight: InFlight

    async def identify(self) -> str: ...

    async def prepare(self) -> None: ...

    async def run(self) -> None: ...

    def expect_former_poller(self) -> None: ...

    async def stop(self, timeout: float = 10.0) -> None: ...

    async def close(self) -> None: ...


def default_classifier() -> Classifier:
    from bot.nlp import classify

    return classify


def make_transport(settings: Settings, core: Core, webhook: WebhookSpec | None = None) -> Transport:
    token = settings.telegram_token.get_secret_value() if settings.telegram_token else ""
    if settings.transport == "ptb":
        from bot.transports.ptb_transport import PtbTransport

        return PtbTransport(token, settings.telegram_api_base, core, webhook)
    from bot.transports.aiogram_transport import AiogramTransport

    return AiogramTransport(token, settings.telegram_api_base, core, webhook)


def webhook_spec(settings: Settings, health: Health | None = None) -> WebhookSpec | None:
    """Webhook mode when a webhook URL is set; None: long polling."""
    if not settings.webhook_url or settings.webhook_secret is None:
        return None
    return WebhookSpec(
        url=settings.webhook_url,
        secret=settings.webhook_secret.get_secret_value(),
        listen=settings.webhook_listen,
        port=settings.webhook_port,
        max_connections=settings.webhook_max_connections,
        health=health,
    )


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    uow_factory: UnitOfWorkFactory
    dialog: DialogEngine
    clock: Clock
    transport: Transport | None = None
    outbox: OutboxSender | None = None
    _outbox_task: asyncio.Task[None] | None = None
    _outbox_stop: asyncio.Event | None = None
    scheduler: Scheduler | None = None
    # Telegram's flood limits as the outbox keeps them, and the time they are kept in
    # (tests travel through waits instead of sleeping).
    limits: Limits = field(default_factory=Limits)
    timer: Timer = field(default_factory=RealTimer)
    # Which process of those sharing the database runs the outbox sender and the sweeps.
    leader: Leadership | None = None
    _leader_task: asyncio.Task[None] | None = None
    _leader_stop: asyncio.Event | None = None
    _settle_task: asyncio.Task[None] | None = None

    @classmethod
    async def create(
        cls, settings: Settings, clock: Clock | None = None, classify: Classifier | None = None
    ) -> App:
        engine = await _open_database(settings)
        uow_factory = UnitOfWorkFactory(session_factory(engine))
        clock = clock or SystemClock()
        classify = classify or await _warm_classifier()
        if settings.faq_file:  # jieba and the FAQ index, off the event loop, before updates
            from bot.services.faq import matcher_for

            await asyncio.to_thread(matcher_for, settings)
        dialog = DialogEngine(uow_factory, settings, clock, classify)
        app = cls(settings, engine, uow_factory, dialog, clock)
        if not settings.flood_limits:
            app.limits = UNLIMITED
        await app.sync_properties()
        return app

    async def sync_properties(self) -> None:
        async with self.uow_factory() as uow:
            await Desk(uow, self.settings, self.clock).sync_properties()
            await uow.commit()

    async def health(self) -> dict[str, Any]:
        """/healthz: the database, the outbox, the last send, the leader."""
        report = await health_report(self.uow_factory, self.clock)
        status = self.leader.status() if self.leader is not None else None
        report["leader"] = status.leader if status is not None else None
        report["leadership"] = status.as_dict() if status is not None else None
        report["transport"] = self.settings.transport
        return report

    async def start_transport(self) -> Transport:
        webhook = webhook_spec(self.settings, self.health)
        self.transport = make_transport(self.settings, self.dialog, webhook)
        await telegram_checked(self.transport.prepare(), self.settings)
        self._make_outbox(self.transport)
        await self._start_leadership()
        return self.transport

    def make_leadership(self) -> Leadership:
        """PostgreSQL: an advisory lock decides; SQLite: this process leads (one per file)."""
        name = process_name()
        lock = PgLeaderLock(self.engine, name=name) if is_postgres(self.engine) else None
        return Leadership(lock, self.clock, name)

    async def _start_leadership(self) -> None:
        """The first try is made here, so a process that can lead does so before updates
        come in; then a loop tries again (follower) or checks the lock (leader)."""
        self.leader = leader = self.make_leadership()
        self._leader_stop = stop = asyncio.Event()
        await leader.step(self._lead, self._follow)
        self._leader_task = asyncio.create_task(leader.run(self._lead, self._follow, stop))

    async def _lead(self) -> None:
        """Become the one process that sends the outbox and runs the sweeps."""
        if self.outbox is not None:
            self.outbox.active = True
            self._outbox_stop = asyncio.Event()
            self._outbox_task = asyncio.create_task(
                self._run_outbox(self.outbox, self._outbox_stop)
            )
        await self.start_scheduler()
        log.info("leading: outbox sender running, sweeps scheduled")

    async def _follow(self) -> None:
        """Another process may lead now: stop the sweeps and claiming rows; sends already
        in progress end and are recorded."""
        if self.scheduler is not None:
            self.scheduler.shutdown()
            self.scheduler = None
        if self.outbox is not None:
            self.outbox.active = False
            await self.outbox.wait_idle(HANDOVER_SETTLE / 2)
        await self._stop_outbox()

    def notifier(self) -> HandlerNotifier:
        return HandlerNotifier()

    def periodic(self) -> Periodic:
        after = self.outbox.nudge if self.outbox is not None else None
        return Periodic(self.uow_factory, self.settings, self.clock, self.notifier(), after)

    def jobs(self) -> list[JobSpec]:
        digests = digest_jobs(self.uow_factory, self.settings, self.clock, self.notifier())
        return [*core_jobs(self.periodic()), *digests]

    async def start_scheduler(self) -> None:
        """Catch up once on what fell due while we were down, then sweep on a timer."""
        self.scheduler = Scheduler(self.jobs(), self.settings.tz)
        await self.scheduler.run_all_once()
        self.scheduler.start()

    def _make_outbox(self, transport: Transport) -> None:
        """Messages to other chats (cards, resident updates) leave through the outbox; its
        sender runs while this process leads."""
        sender = getattr(transport, "sender", None)
        if sender is None:
            return
        pacer = Pacer(self.limits, self.timer)
        # At most half the pool's connections: handlers must always find one.
        slots = max(1, self.settings.db_pool_size // 2)
        self.outbox = OutboxSender(
            self.uow_factory,
            sender,
            self.clock,
            pacer=pacer,
            db_slots=slots,
            writer=self.dialog.writer,
            writer_priority=WRITER_OUTBOX,
        )
        self.outbox.active = False  # until this process leads
        self.dialog.after_commit = self._committed

    def _committed(self, chat_ids: Iterable[int]) -> None:
        """A handler committed: the leader sends at once; a follower's rows are found by the
        leader's next look (every second)."""
        if self.outbox is not None and self.outbox.active:
            self.outbox.committed(chat_ids)

    async def _run_outbox(self, outbox: OutboxSender, stop: asyncio.Event) -> None:
        """One sender per database (the leader's): rows a dead sender held are ours once it
        is surely gone (at once when no other process can share the database)."""
        shared = self.leader is not None and self.leader.shared
        leading_since = self.clock.now()
        self._settle_task = asyncio.create_task(
            self._release_claims(outbox, leading_since, HANDOVER_SETTLE if shared else 0.0)
        )
        if not shared:
            await self._settle_task  # as before: held rows are free before the first look
        await outbox.run(stop)

    async def _release_claims(
        self, outbox: OutboxSender, leading_since: datetime, settle: float
    ) -> None:
        if settle:
            await asyncio.sleep(settle)
        if not outbox.active:
            return  # led for less than the settling time
        try:
            # only claims made before we led: ours, made while settling, are live sends
            released = await outbox.release_claims(made_before=leading_since)
        except Exception:  # sending must start anyway; held rows come back at their lease
            log.exception("outbox: claims of an earlier run not released")
            return
        if released:
            log.info("outbox: %s messages held by an earlier sender are sent again", released)
            outbox.nudge()

    async def _stop_outbox(self) -> None:
        if self._settle_task is not None:
            self._settle_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._settle_task
            self._settle_task = None
        if self._outbox_stop is not None:
            self._outbox_stop.set()
        if self._outbox_task is not None:
            self._outbox_task.cancel()  # stop() already gave it its time
            with contextlib.suppress(asyncio.CancelledError):
                await self._outbox_task
        self._outbox_task = self._outbox_stop = None

    async def run(self) -> None:
        transport = await self.start_transport()
        log.info("PropDesk running with %s", transport.name)
        leader = self.leader
        # A transport without `polls = False` (webhook mode sets it) takes updates by long
        # polling, which Telegram allows one process at a time: only the leader polls.
        try:
            if leader is None or not leader.shared or not getattr(transport, "polls", True):
                await transport.run()
                return
            await self._poll_while_leading(transport, leader)
        except PollingConflict as exc:
            raise SettingsError(
                "setting PROPDESK_TELEGRAM_TOKEN: another process is polling this bot "
                f"(Telegram: {exc}); one polling process per bot, or several workers "
                "sharing one PostgreSQL database"
            ) from exc

    async def _poll_while_leading(self, transport: Transport, leader: Leadership) -> None:
        """Telegram lets one process poll a token: the leader polls, the others stand by
        and take over (polling, outbox, sweeps) when it dies."""
        if not leader.leading:
            log.warning(
                "standing by: %s leads (polls, sends, sweeps); taking over when it stops",
                leader.leader or "another process",
            )
            await leader.wait_leading()
            log.warning("taking over from the previous leader: polling")
            # Its last long polls may still reach Telegram for a moment (it checks its lock
            # every second): their 409s must not stop us.
            transport.expect_former_poller()
        polling = asyncio.create_task(transport.run())
        lost = asyncio.create_task(leader.wait_following())
        try:
            await asyncio.wait({polling, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
        if polling.done():
            polling.result()
            return
        await transport.stop(self.settings.shutdown_seconds * HANDLING_SHARE)
        polling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
        raise LeadershipLost(
            "lost the lead (the database connection holding it ended); stopping so that "
            "the new leader polls alone"
        )

    async def stop(self, grace: float | None = None) -> None:
        """An orderly stop within `grace` s (default: the shutdown setting): take no more
        updates, let those taken finish (what does not finish is not confirmed, so Telegram
        sends it again), then send what the outbox holds until the time is up."""
        grace = self.settings.shutdown_seconds if grace is None else grace
        deadline = asyncio.get_running_loop().time() + grace * (1 - CLOSING_SHARE)
        if self.scheduler is not None:
            self.scheduler.shutdown()
        if self.transport is not None:
            await self.transport.stop(grace * HANDLING_SHARE)
        await self._flush_outbox(deadline)
        await self._stop_outbox()
        await self._stop_leadership()  # a follower takes over at its next try

    async def _stop_leadership(self) -> None:
        if self._leader_stop is not None:
            self._leader_stop.set()
        if self._leader_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._leader_task, CLOSING_TIMEOUT)
        self._leader_task = self._leader_stop = None

    async def _flush_outbox(self, deadline: float) -> None:
        """Send what is due until nothing is left or the time is up; rows left over stay
        in the database for the next start."""
        if self.outbox is None or self._outbox_stop is None:
            return
        self._outbox_stop.set()  # the loop finishes its current pass; we drain the rest
        loop = asyncio.get_running_loop()
        try:
            if self._outbox_task is not None:
                with contextlib.suppress(Exception):  # a failed loop must not skip the flush
                    await asyncio.wait_for(
                        asyncio.shield(self._outbox_task), deadline - loop.time()
                    )
            while loop.time() < deadline:
                if await asyncio.wait_for(self.outbox.drain(), deadline - loop.time()) == 0:
                    break
        except TimeoutError:
            log.info("shutdown: outbox rows left for the next start")
        except Exception:  # stopping must not fail: what is left is still in the database
            log.exception("shutdown: outbox flush failed")

    async def close(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown()
        await self._stop_outbox()
        await self._stop_leadership()
        if self.transport is not None:
            await self.transport.close()
        await self.engine.dispose()


async def telegram_checked(step: Awaitable[T], settings: Settings) -> T:
    """A refused token, an unreachable Bot API, a refused webhook or a port that cannot be
    listened on, as one line naming the setting."""
    try:
        return await step
    except TokenRefused as exc:
        raise SettingsError(
            "setting PROPDESK_TELEGRAM_TOKEN: Telegram refused the token "
            "(401; copy it again from @BotFather)"
        ) from exc
    except ApiUnreachable as exc:
        raise SettingsError(
            f"setting PROPDESK_TELEGRAM_API_BASE: cannot reach {settings.telegram_api_base} ({exc})"
        ) from exc
    except WebhookRefused as exc:
        raise SettingsError(f"setting PROPDESK_WEBHOOK_URL: Telegram refused it ({exc})") from exc
    except ListenFailed as exc:
        raise SettingsError(f"setting PROPDESK_WEBHOOK_PORT: cannot listen on {exc}") from exc


async def _open_database(settings: Settings) -> AsyncEngine:
    """The engine, at the schema's head; a database that cannot be opened (a bad URL, a
    server that is down, a database that does not exist) is one line naming the setting."""
    engine = open_engine(settings)
    await reach_database(engine, settings, lambda: upgrade(engine))
    return engine


def open_engine(settings: Settings) -> AsyncEngine:
    """The engine for the configured URL (connects lazily); a URL no driver reads is one line."""
    try:
        return create_engine(settings.database_url, pool_settings(settings))
    except (ArgumentError, ImportError, ValueError) as exc:
        raise SettingsError(f"setting PROPDESK_DATABASE_URL: {_first_line(exc)}") from exc


async def reach_database(
    engine: AsyncEngine, settings: Settings, step: Callable[[], Awaitable[T]]
) -> T:
    """`step()` on the database, tried again with backoff for PROPDESK_DB_CONNECT_SECONDS;
    then one line naming the setting (the engine is disposed)."""
    try:
        return await with_retry(step, settings.db_connect_seconds)
    except (DBAPIError, OSError) as exc:
        await engine.dispose()
        if is_sqlite(settings.database_url):
            await sqlite_threads_finished()
        raise SettingsError(
            f"setting PROPDESK_DATABASE_URL: cannot open the database ({_first_line(exc)})"
        ) from exc


# PostgreSQL answers that no wait will change: no such database, a refused password or role.
PERMANENT_SQLSTATES = frozenset({"3D000", "28P01", "28000"})
FIRST_RETRY, MAX_RETRY = 0.5, 5.0


async def with_retry(
    attempt: Callable[[], Awaitable[T]],
    seconds: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> T:
    """`attempt()` until it succeeds or `seconds` have passed (backoff 0.5 s doubling to 5 s):
    a database server still starting after a reboot is waited for, not reported."""
    deadline = monotonic() + seconds
    wait = FIRST_RETRY
    while True:
        try:
            return await attempt()
        except (DBAPIError, OSError) as exc:
            left = deadline - monotonic()
            if left <= 0 or _permanent(exc):
                raise
            log.warning(
                "database not reachable (%s); trying again in %.1f s", _first_line(exc), wait
            )
            await sleep(min(wait, left))
            wait = min(wait * 2, MAX_RETRY)


def _permanent(exc: BaseException) -> bool:
    cause = getattr(exc, "orig", None) or exc
    state = getattr(cause, "sqlstate", None) or getattr(
        getattr(cause, "__cause__", None), "sqlstate", None
    )
    return state in PERMANENT_SQLSTATES


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


def pool_settings(settings: Settings) -> PoolSettings:
    return PoolSettings(
        size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        timeout=settings.db_pool_timeout,
        lock_timeout=settings.db_lock_timeout,
        ping_after_idle=settings.db_ping_after_idle,
    )


async def _warm_classifier() -> Classifier:
    """jieba loads its dictionary on first use (~0.5 s) and libphonenumber compiles its
    patterns on the first number (a few ms): both now, off the event loop."""
    classify = default_classifier()
    from bot import nlp
    from bot.services import phones

    await asyncio.to_thread(phones.warm_up)

    warm_up = getattr(nlp, "warm_up", None)
    if warm_up is not None:
        await asyncio.to_thread(warm_up)
    return classify
