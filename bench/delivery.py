"""Delivery under load: a mixed burst through the real transport, Telegram's limits on.

Run: ``.venv/bin/python bench/delivery.py [--transport ptb] [--database-url URL]``

The bot runs in this process on the real aiogram (default) or python-telegram-bot stack,
over HTTP, against the project's Bot API emulator with its flood limits on (about one
message a second per private chat, 20 a minute per group, 30 a second overall; 429 with
`retry_after`), on the real clock, with a SQLite database in a temporary folder (or an
empty database given with ``--database-url``). The emulator runs in the same process and
event loop, so its own work is part of what is measured.

The burst, queued in one transaction at the start of the window:

* 500 cards to 5 group chats (CARD priority): at 20 a minute per group these take five
  minutes to drain, longer than the run: only the first minutes of them are sent;
* 2,000 notices to 2,000 private chats (BULK priority), each chat's only message;
* meanwhile 20 registered residents each send /help every 2 s for the first minute and the
  bench times each answer from the send to the moment the emulator stored it;
* half a minute in, one emergency card to the managers' group (URGENT priority), timed from
  its commit to the moment the emulator stored it.

The window runs from the burst's commit to the last bulk notice delivered; the run stops
then (the cards left over are not waited for). Prints, with their targets:

* messages Telegram accepted per second over the window, as a share of its 30 a second;
* the residents' reply latency while the bulk runs: median and worst;
* the emergency card's delay from commit to delivery;
* 429s received as a share of sends.

Also prints where each kind of message spent its time (the sender's steps timed from
outside: claim, overall budget, HTTP send, finish), how late the event loop woke, and how
long this process waited for a core (the machine may be shared). Exits 1 when a target is
missed, naming it. The window is about 2,800 messages: two to three minutes in all.
For a CPU profile, run it under a sampling profiler, e.g.
``py-spy record --nonblocking --format raw -o spy.txt -- .venv/bin/python bench/delivery.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import App  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.domain.vocabulary import SendPriority  # noqa: E402
from bot.messages import Outgoing  # noqa: E402
from bot.services.desk import Desk  # noqa: E402
from emulator import BotAPIEmulator, SimGroup, SimUser  # noqa: E402
from storage.models import OutboxMessage, Resident  # noqa: E402

TOKEN = "123456:BENCH"
TELEGRAM_PER_SECOND = 30.0
# Targets (issue "Never lose or delay a word", last "Done when" point).
TARGET_SHARE = 0.9  # of Telegram's 30 a second, while the backlog saturates it
TARGET_WORST_REPLY = 3.0  # seconds, while the bulk runs
TARGET_EMERGENCY = 2.0  # seconds from commit to delivery
TARGET_REFUSED = 0.01  # 429s received per send
ANSWER_TIMEOUT = 30.0  # a reply later than this counts as never answered
DRAIN_TIMEOUT = 300.0  # the bulk not drained by then: the run stops and says so


# what Telegram saw ----------------------------------------------------------------------
class Recorder:
    """Every message the emulator stored, with the moment it did, and every sending call
    it refused with 429: the bench reads Telegram's side, not the bot's own account."""

    def __init__(self, emu: BotAPIEmulator) -> None:
        self.times: dict[int, list[float]] = {}  # chat id -> moments its messages arrived
        self.all: list[float] = []
        self.edits: list[float] = []  # moments of the edits it made (they spend the budget too)
        self.checked = 0  # sending calls that reached the flood check
        self.refused = 0  # ... and were answered 429
        self._arrived: dict[int, asyncio.Event] = {}
        world = emu.world
        stored, checked = world.bot_event, world.rate_check

        def bot_event(kind: str, message: Any) -> None:
            stored(kind, message)
            if kind == "message":
                self._note(message.chat_id, time.monotonic())
            elif kind == "edit":
                self.edits.append(time.monotonic())

        def rate_check(chat: Any, count: int = 1) -> None:
            self.checked += 1
            try:
                checked(chat, count)
            except Exception:
                self.refused += 1
                raise

        world.bot_event = bot_event  # type: ignore[method-assign,assignment]
        world.rate_check = rate_check  # type: ignore[method-assign]

    def _note(self, chat_id: int, moment: float) -> None:
        self.times.setdefault(chat_id, []).append(moment)
        self.all.append(moment)
        event = self._arrived.get(chat_id)
        if event is not None:
            event.set()

    def count(self, chat_id: int) -> int:
        return len(self.times.get(chat_id, ()))

    async def wait_new(self, chat_id: int, seen: int, timeout: float) -> float | None:
        """The moment of the chat's message number `seen + 1`; None when it did not come."""
        event = self._arrived.setdefault(chat_id, asyncio.Event())
        deadline = time.monotonic() + timeout
        while self.count(chat_id) <= seen:
            event.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)
        return self.times[chat_id][seen]


class Phases:
    """Where each message's time goes: the sender's steps timed from outside (wrapped on
    this instance only, nothing changed in them), by kind of message."""

    def __init__(self, app: App, kind_of: Callable[[int], str], asked: dict[int, float]) -> None:
        assert app.outbox is not None and app.dialog.after_commit is not None
        self.spans: dict[tuple[str, str], list[float]] = {}
        self._kind_of = kind_of
        self._asked = asked  # chat -> moment its resident sent the message now being answered
        self._committed: dict[int, float] = {}
        self._row_chat: dict[int, int] = {}
        outbox, after = app.outbox, app.dialog.after_commit

        def after_commit(chats: Any) -> None:
            now, chats = time.monotonic(), list(chats)
            for chat in chats:
                if chat in asked:
                    self.add(chat, "1 inbound: sent to committed", now - asked.pop(chat))
                self._committed.setdefault(chat, now)
            after(chats)

        app.dialog.after_commit = after_commit
        claim, take, send, finish, look = (
            outbox._claim_head,
            outbox.pacer.take,
            outbox._sender.send,
            outbox._finish,
            outbox._look,
        )

        async def claim_head(chat_id: int) -> Any:
            started = time.monotonic()
            if chat_id in self._committed:
                waited = started - self._committed.pop(chat_id)
                self.add(chat_id, "2 committed to claiming", waited)
            claimed = await claim(chat_id)
            self.add(chat_id, "3 claim (database)", time.monotonic() - started)
            if claimed is not None:
                self._row_chat[claimed.row_id] = chat_id
            return claimed

        async def take_slot(chat_id: int, priority: int) -> float:
            started = time.monotonic()
            taken = await take(chat_id, priority)  # (the moment the sender hands to `landed`)
            self.add(chat_id, "4 overall budget (pacer.take)", time.monotonic() - started)
            return taken

        async def send_out(out: Outgoing) -> Any:
            started = time.monotonic()
            try:
                return await send(out)
            finally:
                self.add(out.chat_id, "5 send (HTTP)", time.monotonic() - started)

        async def finish_row(claimed: Any, **kwargs: Any) -> None:
            started = time.monotonic()
            await finish(claimed, **kwargs)
            chat = self._row_chat.pop(claimed.row_id, 0)
            self.add(chat, "6 finish (database)", time.monotonic() - started)

        async def look_heads() -> None:
            started = time.monotonic()
            await look()
            self.spans.setdefault(("loop", "look for due chats (database)"), []).append(
                time.monotonic() - started
            )

        outbox._claim_head = claim_head  # type: ignore[method-assign]
        outbox.pacer.take = take_slot  # type: ignore[method-assign]
        outbox._sender.send = send_out  # type: ignore[method-assign]
        outbox._finish = finish_row  # type: ignore[method-assign]
        outbox._look = look_heads  # type: ignore[method-assign]

    def committed(self, chat_id: int, moment: float) -> None:
        self._committed[chat_id] = moment

    def add(self, chat_id: int, phase: str, seconds: float) -> None:
        self.spans.setdefault((self._kind_of(chat_id), phase), []).append(seconds)

    def table(self) -> list[str]:
        lines = []
        for (kind, phase), spans in sorted(self.spans.items()):
            ordered = sorted(spans)
            p95 = ordered[int(0.95 * (len(ordered) - 1))]
            median = statistics.median(ordered)
            lines.append(
                f"    {kind:9} {phase:32} n={len(ordered):5}  median {median:6.3f}"
                f"  p95 {p95:6.3f}  max {ordered[-1]:6.3f}  total {sum(ordered):7.1f} s"
            )
        return lines


class LoopLag:
    """How late the event loop wakes a 50 ms sleep: how busy the one thread that runs the
    bot, its sender and the emulator is."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.05)
            self.lags.append(time.monotonic() - before - 0.05)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


def schedstat() -> tuple[float, float]:
    """Seconds this process's threads ran, and waited for a core while runnable (Linux)."""
    ran = waited = 0.0
    with contextlib.suppress(OSError):
        for task in Path("/proc/self/task").iterdir():
            with contextlib.suppress(OSError, ValueError):
                run_ns, wait_ns, _ = (task / "schedstat").read_text().split()
                ran += int(run_ns) / 1e9
                waited += int(wait_ns) / 1e9
    return ran, waited


# the people and chats --------------------------------------------------------------------
@dataclass
class Cast:
    chatters: list[SimUser]
    recipients: list[SimUser]  # one bulk notice each
    card_groups: list[SimGroup]
    managers: SimGroup


async def cast(app: App, emu: BotAPIEmulator, chatters: int, recipients: int) -> Cast:
    """Registered residents who chat, people who started the bot once and get a notice,
    and the groups (the bot is in each)."""
    talkers = [emu.user(f"住户{i}", language_code="zh-hans") for i in range(chatters)]
    others = [emu.user(f"业主{i}", language_code="zh-hans") for i in range(recipients)]
    for person in others:
        person.state.started = True  # they pressed Start some day: the bot may write
    now = app.clock.now()
    async with app.uow_factory() as uow:
        prop = (await uow.properties.all())[0]
        for i, person in enumerate(talkers):
            await uow.residents.add(
                Resident(
                    telegram_id=person.id,
                    property_id=prop.id,
                    name=f"住户{i}",
                    phone=f"+86138{i:08d}",
                    room=str(100 + i),
                    locale="zh-CN",
                    registered=True,
                    active=True,
                    created_at=now,
                    updated_at=now,
                )
            )
        await uow.commit()
    groups = [emu.group(f"{team} team") for team in ("工程", "环境", "保安", "财务", "客服")]
    return Cast(talkers, others, groups, emu.group("managers team"))


async def queue_burst(app: App, people: Cast, cards: int) -> None:
    async with app.uow_factory() as uow:
        desk = Desk(uow, app.settings, app.clock)
        for n in range(cards):
            group = people.card_groups[n % len(people.card_groups)]
            card = Outgoing(chat_id=group.id, text=f"🔧 新工单 #{n:04d}:卫生间天花板滴水")
            await desk.enqueue(f"bench:card:{n}", card, priority=SendPriority.CARD)
        for n, person in enumerate(people.recipients):
            notice = Outgoing(chat_id=person.id, text=f"📋 请为本月物业服务打分(问卷 {n})")
            await desk.enqueue(f"bench:bulk:{n}", notice, priority=SendPriority.BULK)
        await uow.commit()


async def queue_emergency(app: App, managers: SimGroup, phases: Phases) -> float:
    """The emergency card, committed; returns the moment of the commit."""
    async with app.uow_factory() as uow:
        alarm = Outgoing(chat_id=managers.id, text="🚨 紧急:3栋燃气泄漏")
        await Desk(uow, app.settings, app.clock).enqueue(
            "bench:emergency", alarm, priority=SendPriority.URGENT
        )
        await uow.commit()
    committed = time.monotonic()
    phases.committed(managers.id, committed)
    assert app.outbox is not None
    app.outbox.nudge()  # as the scheduler's sweeps do after they queue
    return committed


# the chatting residents ------------------------------------------------------------------
@dataclass
class Reply:
    sent_at: float
    latency: float | None  # None: not answered within ANSWER_TIMEOUT


async def chatter(
    person: SimUser,
    recorder: Recorder,
    interval: float,
    phase: float,
    until: float,
    replies: list[Reply],
    asked: dict[int, float],
) -> None:
    """Send /help every `interval` s until `until`; each send waits for its answer first
    (a person reads before writing again)."""
    await asyncio.sleep(phase)
    next_at = time.monotonic()
    while next_at < until:
        seen = recorder.count(person.id)
        sent_at = asked[person.id] = time.monotonic()
        await person.send_text("/help")
        arrived = await recorder.wait_new(person.id, seen, ANSWER_TIMEOUT)
        replies.append(Reply(sent_at, None if arrived is None else arrived - sent_at))
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


# the run ---------------------------------------------------------------------------------
@dataclass
class Options:
    transport: str
    database_url: str | None
    chatters: int = 20
    interval: float = 2.0
    chat_seconds: float = 60.0
    cards: int = 500
    bulk: int = 2000
    emergency_at: float = 30.0
    per_second: int | None = None  # the pacer's overall budget; None: the app's default


@dataclass
class Outcome:
    start: float = 0.0
    end: float | None = None  # the last bulk notice delivered
    stopped: float = 0.0  # when the bench stopped waiting for it
    emergency_committed: float | None = None
    emergency_delivered: float | None = None
    replies: list[Reply] = field(default_factory=list)
    stats: Any = None
    budget: int = 0
    queued_in: float = 0.0
    cpu: float = 0.0
    rows_left: dict[str, int] = field(default_factory=dict)
    asked: dict[int, float] = field(default_factory=dict)
    phases: Phases | None = None
    lag: LoopLag = field(default_factory=LoopLag)
    ran: float = 0.0  # seconds this process's threads ran over the window
    waited: float = 0.0  # ... and were runnable but waited for a core


async def run(opts: Options, folder: str) -> tuple[Outcome, Recorder, Cast]:
    emu = BotAPIEmulator(token=TOKEN, bot_username="propdesk_bench_bot", rate_limits=True)
    await emu.start()
    url = opts.database_url or f"sqlite+aiosqlite:///{folder}/bench.db"
    settings = Settings(
        database_url=url,
        telegram_token=SecretStr(TOKEN),
        telegram_api_base=emu.base_url,
        transport=opts.transport,  # type: ignore[arg-type]
    )
    app = await App.create(settings)
    outcome = Outcome()
    recorder = Recorder(emu)
    try:
        if await rows(app) != {}:
            raise SystemExit("the database's outbox is not empty: give an empty database")
        people = await cast(app, emu, opts.chatters, opts.bulk)
        if opts.per_second is not None:
            app.limits = replace(app.limits, per_second=opts.per_second)
        outcome.budget = app.limits.per_second
        await app.start_transport()
        assert app.transport is not None and app.outbox is not None
        outcome.phases = Phases(app, kind_map(people), outcome.asked)
        polling = asyncio.create_task(app.transport.run())
        await emu.wait_polling()
        await measure(app, emu, recorder, people, opts, outcome)
        outcome.stats = app.outbox.stats
        await app.stop(grace=3.0)  # the cards left over stay in the database
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(polling, 10)
        outcome.rows_left = await rows(app)
    finally:
        await app.close()
        await emu.stop()
    return outcome, recorder, people


async def measure(
    app: App, emu: BotAPIEmulator, recorder: Recorder, people: Cast, opts: Options, o: Outcome
) -> None:
    assert app.outbox is not None and o.phases is not None
    started = time.monotonic()
    await queue_burst(app, people, opts.cards)
    o.start = time.monotonic()
    o.queued_in = o.start - started
    for chat_id in [g.id for g in people.card_groups] + [p.id for p in people.recipients]:
        o.phases.committed(chat_id, o.start)
    app.outbox.nudge()
    cpu_before = time.process_time()
    ran, waited = schedstat()
    o.lag.start()
    until = o.start + opts.chat_seconds
    talk = [
        asyncio.create_task(
            chatter(
                p,
                recorder,
                opts.interval,
                opts.interval * i / opts.chatters,
                until,
                o.replies,
                o.asked,
            )
        )
        for i, p in enumerate(people.chatters)
    ]
    await asyncio.sleep(opts.emergency_at)
    o.emergency_committed = await queue_emergency(app, people.managers, o.phases)
    o.emergency_delivered = await recorder.wait_new(people.managers.id, 0, ANSWER_TIMEOUT)
    o.end = await bulk_drained(recorder, people, o.start + DRAIN_TIMEOUT)
    o.stopped = time.monotonic()
    o.cpu = time.process_time() - cpu_before
    o.lag.stop()
    ran_after, waited_after = schedstat()
    o.ran, o.waited = ran_after - ran, waited_after - waited
    await asyncio.gather(*talk)


def kind_map(people: Cast) -> Callable[[int], str]:
    kinds = {p.id: "reply" for p in people.chatters}
    kinds.update({g.id: "card" for g in people.card_groups})
    kinds.update({p.id: "bulk" for p in people.recipients})
    kinds[people.managers.id] = "emergency"
    return lambda chat_id: kinds.get(chat_id, "other")


async def bulk_drained(recorder: Recorder, people: Cast, deadline: float) -> float | None:
    """The moment the last bulk notice arrived; None when they were not all in by then."""
    for person in people.recipients:
        remaining = deadline - time.monotonic()
        if await recorder.wait_new(person.id, 0, max(remaining, 0.0)) is None:
            return None
    return max(recorder.times[p.id][0] for p in people.recipients)


async def rows(app: App) -> dict[str, int]:
    async with app.uow_factory() as uow:
        found = await uow.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return {str(status): int(n) for status, n in found}


# the report ------------------------------------------------------------------------------
def report(opts: Options, o: Outcome, rec: Recorder, people: Cast, load: float) -> int:
    missed: list[str] = []
    database = "PostgreSQL" if opts.database_url else "SQLite"
    print(
        f"Delivery under load: {opts.transport} on {database}, emulator limits on, real clock"
        f" (load average {load:.1f} at start, {os.cpu_count()} cores)"
    )
    print(
        f"  burst: {opts.cards} cards to {len(people.card_groups)} groups (CARD), {opts.bulk}"
        f" notices to private chats (BULK), queued in {o.queued_in:.1f} s; {opts.chatters}"
        f" residents sending /help every {opts.interval:g} s for {opts.chat_seconds:g} s;"
        f" pacer budget {o.budget}/s"
    )
    if o.end is None:
        print(f"  bulk NOT drained within {DRAIN_TIMEOUT:g} s")
        missed.append("bulk not drained")
        end = o.stopped
    else:
        end = o.end
    window = end - o.start
    delivered = sum(o.start <= t <= end for t in rec.all)
    rate = delivered / window if window > 0 else 0.0
    share = rate / TELEGRAM_PER_SECOND
    print(f"  window (commit to last bulk notice): {window:.1f} s, {delivered} messages delivered")
    print(f"    by kind: {kinds(rec, people, o.start, end)}")
    print(f"    per 10 s: {per_slice(rec.all, o.start, end)}")
    print(
        f"  throughput: {rate:.1f} messages/s = {share:.2f} of {TELEGRAM_PER_SECOND:g}/s"
        f" (target >= {TARGET_SHARE})"
    )
    if share < TARGET_SHARE:
        missed.append(f"throughput {share:.2f} of 30/s < {TARGET_SHARE}")
    missed += report_replies(o, end)
    missed += report_emergency(o)
    share_429 = rec.refused / rec.checked if rec.checked else 0.0
    print(
        f"  429s: {rec.refused} of {rec.checked} sends = {share_429:.2%}"
        f" (target < {TARGET_REFUSED:.0%}); the sender counted {sender(o.stats)}"
    )
    if share_429 >= TARGET_REFUSED:
        missed.append(f"429s {share_429:.2%} >= {TARGET_REFUSED:.0%}")
    print(f"  CPU of this process over the window: {o.cpu:.1f} s ({o.cpu / window:.0%} of a core)")
    print(f"  outbox rows at the end: {o.rows_left}")
    print(
        f"  this process's threads over the window: ran {o.ran:.1f} s, runnable but waiting for"
        f" a core {o.waited:.1f} s (the machine is shared)"
    )
    if o.lag.lags:
        lags = sorted(o.lag.lags)
        print(
            f"  event loop lag (a 50 ms sleep woken late): median {statistics.median(lags):.3f} s,"
            f" p95 {lags[int(0.95 * (len(lags) - 1))]:.3f} s, max {lags[-1]:.3f} s"
        )
    if o.phases is not None:
        print("  where the time goes, per message (s):")
        print("\n".join(o.phases.table()))
    for line in missed:
        print(f"MISSED: {line}")
    return 1 if missed else 0


def report_replies(o: Outcome, end: float) -> list[str]:
    during = [r for r in o.replies if r.sent_at <= end]
    answered = sorted(r.latency for r in during if r.latency is not None)
    lost = len(during) - len(answered)
    if not answered:
        print("  replies: none answered")
        return ["no reply answered"]
    median, worst = statistics.median(answered), answered[-1]
    p95 = answered[int(0.95 * (len(answered) - 1))]
    print(
        f"  reply latency while the bulk runs ({len(during)} sends): median {median:.2f} s,"
        f" p95 {p95:.2f} s, worst {worst:.2f} s (target: worst < {TARGET_WORST_REPLY:g} s)"
        + (f"; {lost} NOT answered within {ANSWER_TIMEOUT:g} s" if lost else "")
    )
    missed = []
    if worst >= TARGET_WORST_REPLY or lost:
        missed.append(f"worst reply {worst:.2f} s (unanswered: {lost})")
    return missed


def report_emergency(o: Outcome) -> list[str]:
    if o.emergency_delivered is None or o.emergency_committed is None:
        print(f"  emergency card: NOT delivered within {ANSWER_TIMEOUT:g} s")
        return ["emergency card not delivered"]
    delay = o.emergency_delivered - o.emergency_committed
    print(
        f"  emergency card: {delay:.2f} s from commit to delivery (target < {TARGET_EMERGENCY:g} s)"
    )
    return [f"emergency card {delay:.2f} s"] if delay >= TARGET_EMERGENCY else []


def sender(stats: Any) -> str:
    names = ("sent", "rate_limited", "transient", "uncertain", "failed")
    return ", ".join(f"{name} {getattr(stats, name)}" for name in names)


def kinds(rec: Recorder, people: Cast, start: float, end: float) -> str:
    def within(chats: list[int]) -> int:
        return sum(start <= t <= end for c in chats for t in rec.times.get(c, ()))

    counts = {
        "replies": within([p.id for p in people.chatters]),
        "cards": within([g.id for g in people.card_groups]),
        "bulk": within([p.id for p in people.recipients]),
        "emergency": within([people.managers.id]),
    }
    return ", ".join(f"{name} {n}" for name, n in counts.items())


def per_slice(moments: list[float], start: float, end: float, width: float = 10.0) -> str:
    """Messages per second in each `width` s of the window (the last slice may be shorter)."""
    slices = [0] * max(1, int((end - start) // width) + 1)
    for t in moments:
        if start <= t <= end:
            slices[int((t - start) // width)] += 1
    widths = [min(width, end - start - i * width) for i in range(len(slices))]
    return " ".join(f"{n / w:.1f}" for n, w in zip(slices, widths, strict=True) if w > 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transport", choices=("aiogram", "ptb"), default="aiogram")
    parser.add_argument("--database-url", help="an empty database (default: SQLite, temp dir)")
    parser.add_argument("--per-second", type=int, help="the pacer's overall budget per second")
    parser.add_argument("--bulk", type=int, default=2000, help="notices to private chats")
    parser.add_argument("--cards", type=int, default=500, help="cards to the 5 groups")
    parser.add_argument("--chat-seconds", type=float, default=60.0, help="how long residents chat")
    parser.add_argument("--emergency-at", type=float, default=30.0, help="s into the window")
    args = parser.parse_args()
    opts = Options(
        args.transport,
        args.database_url,
        chat_seconds=args.chat_seconds,
        cards=args.cards,
        bulk=args.bulk,
        emergency_at=args.emergency_at,
        per_second=args.per_second,
    )
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        outcome, recorder, people = asyncio.run(run(opts, folder))
    return report(opts, outcome, recorder, people, load)


if __name__ == "__main__":
    raise SystemExit(main())
