"""End-to-end benchmark: the whole intake through `propdesk run` against a bare echo bot.

Run: ``.venv/bin/python bench/e2e.py [--people 50] [--rounds 4] [--runs 3] [--only sqlite]``
(``--profile PREFIX`` samples PropDesk with py-spy over each measured window, when installed)

Both bots are real processes polling the project's Bot API emulator (flood limits off) in
this process. 50 registered residents act at once; each one, `--rounds` times:

- PropDesk (`propdesk run -v`, a child process with tests/support/botprocess.py's
  environment; not forked from a warm parent, so its RSS is a real start's): writes a report,
  waits for the draft with its Submit button, presses Submit, waits for the confirmation
  that carries the ticket number: two updates, two replies.
- The echo bot (bench/echo_bot.py, aiogram 3, long polling): writes a message and waits for
  its echo, twice: the same two updates, two replies.

Runs interleave (echo, PropDesk, echo, PropDesk, ...) on SQLite (a temporary directory) and
PostgreSQL (a database of its own at PROPDESK_TEST_PG_DSN, skipped with a reason when
unreachable). Measured from the emulator's side: updates handled per second (replies per
second from the first update to the last reply), reply latency p50/p99 (an update's arrival
at the emulator to the reply it waits for), the bot's CPU per update, and its RSS idle (after
start) and after the run. Targets (the median of the paired runs decides): updates/s ratio
>= 0.5 on PostgreSQL and >= 0.35 on SQLite, p99 <= 3x the echo bot's, RSS idle <= 200 MB.
Exits 1 naming each missed target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.i18n import translate  # noqa: E402
from emulator import BotAPIEmulator, SimUser  # noqa: E402
from emulator.world import BotEvent, StoredMessage  # noqa: E402
from tests.support.apps import settings_for  # noqa: E402
from tests.support.botprocess import (  # noqa: E402
    COMMAND_CALLS,
    TOKEN,
    bot_environment,
    prepared_app,
)
from tests.support.crowd import SUBMIT, TEAMS_BOUND, bind_groups, seed_residents  # noqa: E402

PG_ADMIN_DSN = os.environ.get("PROPDESK_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
RATIO_TARGET = {"sqlite": 0.35, "postgres": 0.5}
P99_TARGET = 3.0  # PropDesk's p99 at most this many times the echo bot's
RSS_IDLE_TARGET_MB = 200.0
STEP_TIMEOUT = 120.0
# Clearly a repair each (never unsure, never an emergency): the draft has a Submit button.
REPORTS = (
    "卫生间天花板一直在滴水,楼上好像漏了",
    "楼道里的垃圾好几天没人收了",
    "我的车位被别人占了",
    "物业费账单金额不对请核实",
    "建议小区多装几个快递柜",
)
BUSY = translate("zh-CN", "common.busy")
BUSY_BUTTON = translate("zh-CN", "common.busy_button")
NUMBER = re.compile(r"\d{8}-\d{4}")


# -- measuring on the emulator's side --------------------------------------------------------


class Replies:
    """Every bot message or edit, stamped when the emulator stores it, queued per chat."""

    def __init__(self, emulator: BotAPIEmulator) -> None:
        self.queues: defaultdict[int, asyncio.Queue[tuple[float, BotEvent]]] = defaultdict(
            asyncio.Queue
        )
        world = emulator.world
        original = world.bot_event

        def stamped(kind: str, stored: StoredMessage) -> None:
            original(kind, stored)
            event = world.events[-1]
            self.queues[event.chat_id].put_nowait((time.perf_counter(), event))

        world.bot_event = stamped  # type: ignore[method-assign]

    def drain(self, chat_id: int) -> None:
        queue = self.queues[chat_id]
        while not queue.empty():
            queue.get_nowait()

    async def first(
        self, chat_id: int, wanted: Callable[[BotEvent], bool], timeout: float
    ) -> tuple[float, BotEvent]:
        deadline = time.perf_counter() + timeout
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(f"no awaited reply in chat {chat_id}")
            stamp, event = await asyncio.wait_for(self.queues[chat_id].get(), remaining)
            if wanted(event):
                return stamp, event


def text_of(event: BotEvent) -> str:
    return str(event.data.get("text") or event.data.get("caption") or "")


def has_submit(event: BotEvent) -> bool:
    return SUBMIT in json.dumps(event.markup or {}, ensure_ascii=False)


def echo_of(text: str) -> Callable[[BotEvent], bool]:
    return lambda event: text_of(event) == text


def draft_or_busy(marker: str) -> Callable[[BotEvent], bool]:
    """The draft of this report (its marker, a Submit button), or "busy, write again"."""
    return lambda event: (has_submit(event) and marker in text_of(event)) or text_of(event) == BUSY


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # seconds
    replies: int = 0
    busy: int = 0
    intakes: int = 0  # rounds finished (PropDesk's: confirmed with a ticket number)
    failures: list[str] = field(default_factory=list)
    last_reply: float = 0.0

    def replied(self, sent: float, stamp: float) -> None:
        self.latencies.append(stamp - sent)
        self.replies += 1
        self.last_reply = max(self.last_reply, stamp)


async def echo_resident(person: SimUser, replies: Replies, rounds: int, tally: Tally) -> None:
    for round_no in range(rounds):
        for step in range(2):
            text = f"{REPORTS[(person.id + round_no) % len(REPORTS)]} #{round_no}.{step}"
            replies.drain(person.id)
            sent = time.perf_counter()
            await person.send_text(text)
            stamp, _ = await replies.first(person.id, echo_of(text), STEP_TIMEOUT)
            tally.replied(sent, stamp)
        tally.intakes += 1


async def propdesk_resident(
    person: SimUser, replies: Replies, rounds: int, run_no: int, tally: Tally
) -> None:
    for round_no in range(rounds):
        marker = f"(第{run_no}.{round_no}次)"
        text = f"{REPORTS[(person.id + round_no) % len(REPORTS)]}{marker}"
        draft: BotEvent | None = None
        while draft is None:
            replies.drain(person.id)
            sent = time.perf_counter()
            await person.send_text(text)
            stamp, shown = await replies.first(
                person.id,
                draft_or_busy(marker),
                STEP_TIMEOUT,
            )
            tally.replied(sent, stamp)
            if text_of(shown) == BUSY:
                tally.busy += 1
            else:
                draft = shown
        await press_submit(person, replies, draft, tally)
        tally.intakes += 1


async def press_submit(person: SimUser, replies: Replies, draft: BotEvent, tally: Tally) -> None:
    """Press Submit until the confirmation with the ticket number comes (a "busy" answer to
    the press means nothing was done: press again, as a person would)."""
    while True:
        replies.drain(person.id)
        sent = time.perf_counter()
        press = await person.press(draft.message_id, SUBMIT)
        deadline = sent + STEP_TIMEOUT
        while time.perf_counter() < deadline:
            try:
                stamp, _ = await replies.first(
                    person.id, lambda e: bool(NUMBER.search(text_of(e))), 0.5
                )
            except TimeoutError:
                answer = press.answer
                if answer is not None and answer.get("text") == BUSY_BUTTON:
                    tally.replied(sent, time.perf_counter())
                    tally.busy += 1
                    break
                continue
            tally.replied(sent, stamp)
            return
        else:
            raise TimeoutError(f"no confirmation for {person.name}")


async def everyone(
    people: list[SimUser], play: Callable[[SimUser, Tally], object], tally: Tally
) -> float:
    """All residents at once; seconds from the first update to the last reply."""

    async def one(person: SimUser) -> None:
        try:
            await play(person, tally)  # type: ignore[misc]
        except (TimeoutError, LookupError) as exc:
            tally.failures.append(f"{person.name}: {type(exc).__name__} {exc}")

    started = time.perf_counter()
    await asyncio.gather(*(one(person) for person in people))
    return (tally.last_reply or time.perf_counter()) - started


# -- processes ---------------------------------------------------------------------------------


def proc_status(pid: int) -> tuple[float, float]:
    """(RSS in MB, CPU seconds used so far) of a process, from /proc (NaN once it is gone)."""
    if not Path(f"/proc/{pid}/status").exists():
        return float("nan"), float("nan")
    rss_kb = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kb = int(line.split()[1])
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    return rss_kb / 1024, ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    bot: str
    seconds: float
    updates: int
    latencies: list[float]
    rss_idle: float
    rss_after: float
    cpu: float
    busy: int
    failures: list[str]
    # Bot API calls over the measured window by method, getUpdates left out; intakes done
    api_calls: Counter[str] = field(default_factory=Counter)
    intakes: int = 0

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds > 0 else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def line(self) -> str:
        return (
            f"{self.bot:8} {self.rate:7.1f} upd/s  p50 {self.pct(0.5):7.1f} ms  "
            f"p99 {self.pct(0.99):7.1f} ms  CPU {1000 * self.cpu / max(self.updates, 1):5.2f} "
            f"ms/upd  RSS idle {self.rss_idle:5.1f} MB after {self.rss_after:5.1f} MB"
            + self.calls_per_intake()
            + (f"  busy {self.busy}" if self.busy else "")
            + (f"  FAILED {len(self.failures)}: {self.failures[0]}" if self.failures else "")
        )

    def calls_per_intake(self) -> str:
        if not self.api_calls or not self.intakes:
            return ""
        each = ", ".join(
            f"{name} {count / self.intakes:.1f}" for name, count in self.api_calls.most_common()
        )
        return f"  {self.api_calls.total() / self.intakes:.1f} calls/intake ({each})"


class Stage:
    """A fresh emulator on the same port for each run, with the same residents and groups
    (the same ids each time, so the database's residents and team groups match)."""

    def __init__(self, port: int, people: int) -> None:
        self.port = port
        self.people = people
        self.opened = 0
        self.groups: list[int] = []

    async def open(self) -> tuple[BotAPIEmulator, list[SimUser], Replies]:
        emulator = BotAPIEmulator(
            token=TOKEN, bot_username="propdesk_bot", rate_limits=False, port=self.port
        )
        # Telegram's update ids only grow: a bot that remembers the ids it handled (PropDesk
        # dedupes on them) must not see a fresh emulator's ids again.
        self.opened += 1
        emulator.world.next_update_id = 100_000_001 + self.opened * 10_000_000
        await emulator.start()
        people = [emulator.user(f"住户{i}", language_code="zh-hans") for i in range(self.people)]
        self.groups = [emulator.group(f"{code} team").id for code in TEAMS_BOUND]
        return emulator, people, Replies(emulator)


async def settle(pid: int) -> tuple[float, float]:
    await asyncio.sleep(1.0)
    return proc_status(pid)


def api_calls(emulator: BotAPIEmulator, since: int) -> Counter[str]:
    """Bot API calls since the `since`-th by method, long polls left out."""
    return Counter(name for name, _ in emulator.world.calls[since:] if name.lower() != "getupdates")


async def run_echo(stage: Stage, rounds: int, folder: Path) -> Result:
    return await run_bare("echo", stage, folder, lambda p, r, t: echo_resident(p, r, rounds, t))


async def run_floor(stage: Stage, rounds: int, folder: Path, run_no: int) -> Result:
    """bench/calls_bot.py: PropDesk's Bot API calls for an intake, nothing else."""
    return await run_bare(
        "floor", stage, folder, lambda p, r, t: propdesk_resident(p, r, rounds, run_no, t)
    )


async def run_bare(
    bot: str,
    stage: Stage,
    folder: Path,
    play: Callable[[SimUser, Replies, Tally], Awaitable[None]],
) -> Result:
    emulator, people, replies = await stage.open()
    script, extra = (
        ("echo_bot.py", []) if bot == "echo" else ("calls_bot.py", [str(stage.groups[0]), SUBMIT])
    )
    log = (folder / f"{bot}.log").open("ab")
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bench" / script), emulator.base_url, TOKEN, *extra,
        stdout=log, stderr=log,
    )  # fmt: skip
    try:
        await emulator.wait_polling(timeout=60)
        rss_idle, cpu_before = await settle(process.pid)
        calls_before = len(emulator.world.calls)
        tally = Tally()
        seconds = await everyone(people, lambda p, t: play(p, replies, t), tally)
        rss_after, cpu_after = proc_status(process.pid)
        calls = api_calls(emulator, calls_before)
    finally:
        await stop(process, 15)
        log.close()
        await emulator.stop()
    return Result(
        bot, seconds, tally.replies, tally.latencies, rss_idle, rss_after,
        cpu_after - cpu_before, tally.busy, tally.failures, calls, tally.intakes,
    )  # fmt: skip


async def stop(process: asyncio.subprocess.Process, timeout: float) -> int:
    """SIGTERM, as a supervisor stops it; SIGKILL after `timeout`. The exit status."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        return -signal.SIGKILL


async def run_propdesk(
    stage: Stage, env: dict[str, str], rounds: int, run_no: int, log: Path, profile: str | None
) -> Result:
    emulator, people, replies = await stage.open()
    command = Path(sys.executable).parent / "propdesk"
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            str(command), "run", "-v", env=env, cwd=ROOT, stdout=out, stderr=out
        )
    failures: list[str] = []
    try:
        deadline = time.monotonic() + 300
        while len(emulator.calls_to("setMyCommands")) < COMMAND_CALLS:
            if time.monotonic() > deadline or process.returncode is not None:
                raise RuntimeError(f"propdesk never started: {log.read_text()[-3000:]}")
            await emulator.world.wait_change(0.5)
        await emulator.wait_polling(timeout=60)
        rss_idle, cpu_before = await settle(process.pid)
        calls_before = len(emulator.world.calls)
        spy = await py_spy(process.pid, f"{profile}.{stage.opened}.txt") if profile else None
        tally = Tally()
        seconds = await everyone(
            people, lambda p, t: propdesk_resident(p, replies, rounds, run_no, t), tally
        )
        rss_after, cpu_after = proc_status(process.pid)
        calls = api_calls(emulator, calls_before)
        if spy is not None:
            await stop_py_spy(spy)
    finally:
        status = await stop(process, 60)
        await emulator.stop()
    if status != 0:
        failures.append(f"propdesk exited {status}: {log.read_text()[-1500:]}")
    return Result(
        "propdesk", seconds, tally.replies, tally.latencies, rss_idle, rss_after,
        cpu_after - cpu_before, tally.busy, tally.failures + failures, calls, tally.intakes,
    )  # fmt: skip


async def py_spy(pid: int, out_file: str) -> asyncio.subprocess.Process:
    """Sample the bot's stacks over the measured window only (collapsed stacks, on-CPU only:
    `py-spy` must be installed, e.g. `.venv/bin/pip install py-spy`)."""
    spy = Path(sys.executable).parent / "py-spy"
    process = await asyncio.create_subprocess_exec(
        str(spy), "record", "--pid", str(pid), "--format", "raw", "--rate", "250",
        "--output", out_file, stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await asyncio.sleep(0.5)  # attached
    return process


async def stop_py_spy(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
    await asyncio.wait_for(process.wait(), 30)


# -- one database ------------------------------------------------------------------------------


async def free_port() -> int:
    probe = BotAPIEmulator(token=TOKEN, rate_limits=False)
    await probe.start()
    port = int(probe.base_url.rsplit(":", 1)[1])
    await probe.stop()
    return port


async def bench_database(
    name: str,
    url: str,
    port: int,
    people: int,
    rounds: int,
    runs: int,
    folder: Path,
    profile: str | None = None,
    floors: list[Result] | None = None,
) -> list[tuple[Result, Result]]:
    """Paired echo and PropDesk runs; with `floors`, a run of bench/calls_bot.py after each
    pair is added to it."""
    settings = settings_for(url)
    app = await prepared_app(settings)
    try:
        seeding = BotAPIEmulator(token=TOKEN, rate_limits=False)  # ids only, never started
        await seed_residents(app.uow_factory, seeding, people)
        await bind_groups(app.uow_factory, seeding)
    finally:
        await app.close()
    stage = Stage(port, people)
    # the emulator's limits are off, so the outbox's pacing of them is off too
    env = bot_environment(url, f"http://127.0.0.1:{port}", "aiogram", PROPDESK_FLOOD_LIMITS="false")
    log = folder / f"propdesk-{name}.log"
    pairs = []
    for run_no in range(1, runs + 1):
        echo = await run_echo(stage, rounds, folder)
        print(f"  {name} run {run_no}: {echo.line()}", flush=True)
        propdesk = await run_propdesk(stage, env, rounds, run_no, log, profile)
        print(f"  {name} run {run_no}: {propdesk.line()}", flush=True)
        pairs.append((echo, propdesk))
        if floors is not None:
            floor = await run_floor(stage, rounds, folder, run_no)
            print(f"  {name} run {run_no}: {floor.line()}", flush=True)
            floors.append(floor)
    return pairs


async def pg_database() -> str | None:
    """A fresh database of our own (its name), or None with the reason printed."""
    import asyncpg

    name = f"propdesk_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        print(f"PostgreSQL skipped: not reachable at {PG_ADMIN_DSN}: {exc}")
        return None
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return name


async def drop_pg_database(name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


# -- verdict -------------------------------------------------------------------------------------


def floor_lines(name: str, pairs: list[tuple[Result, Result]], floors: list[Result]) -> None:
    """What the flow's own Bot API calls allow: information, not a target."""
    if not floors:
        return
    rates = [f.rate / e.rate for (e, _), f in zip(pairs, floors, strict=True)]
    p99s = [f.pct(0.99) / e.pct(0.99) for (e, _), f in zip(pairs, floors, strict=True)]
    shares = [p.rate / f.rate for (_, p), f in zip(pairs, floors, strict=True)]
    print(f"{name}: floor (PropDesk's Bot API calls, nothing else) updates/s ratio to echo "
          f"{', '.join(f'{r:.2f}' for r in rates)} (median {statistics.median(rates):.2f}); "
          f"p99 floor/echo median {statistics.median(p99s):.1f}x; "
          f"PropDesk/floor median {statistics.median(shares):.2f}")  # fmt: skip


def verdict(name: str, pairs: list[tuple[Result, Result]]) -> list[str]:
    ratios = [p.rate / e.rate for e, p in pairs]
    p99s = [p.pct(0.99) / e.pct(0.99) for e, p in pairs]
    rss_idle = max(p.rss_idle for _, p in pairs)
    ratio, p99 = statistics.median(ratios), statistics.median(p99s)
    cpu = [1000 * p.cpu / p.updates / (1000 * e.cpu / e.updates) for e, p in pairs if e.cpu > 0]
    print(f"{name}: updates/s ratio {', '.join(f'{r:.2f}' for r in ratios)} (median {ratio:.2f},"
          f" target >= {RATIO_TARGET[name]})")  # fmt: skip
    print(f"{name}: p99 PropDesk/echo {', '.join(f'{r:.1f}x' for r in p99s)} (median {p99:.1f}x,"
          f" target <= {P99_TARGET:.0f}x)")  # fmt: skip
    if cpu:
        print(f"{name}: CPU per update PropDesk/echo {statistics.median(cpu):.1f}x")
    print(f"{name}: RSS idle PropDesk {rss_idle:.1f} MB (target <= {RSS_IDLE_TARGET_MB:.0f} MB),"
          f" echo {max(e.rss_idle for e, _ in pairs):.1f} MB;"
          f" after the runs {max(p.rss_after for _, p in pairs):.1f} MB")  # fmt: skip
    missed = []
    if ratio < RATIO_TARGET[name]:
        missed.append(f"{name}: updates/s ratio {ratio:.2f} < {RATIO_TARGET[name]}")
    if p99 > P99_TARGET:
        missed.append(f"{name}: p99 {p99:.1f}x the echo bot's > {P99_TARGET:.0f}x")
    if rss_idle > RSS_IDLE_TARGET_MB:
        missed.append(f"{name}: RSS idle {rss_idle:.1f} MB > {RSS_IDLE_TARGET_MB:.0f} MB")
    failures = [f for e, p in pairs for f in e.failures + p.failures]
    if failures:
        missed.append(f"{name}: {len(failures)} failures, e.g. {failures[0]}")
    return missed


async def main(
    people: int,
    rounds: int,
    runs: int,
    only: str | None,
    profile: str | None = None,
    floor: bool = False,
) -> int:
    load = os.getloadavg()
    print(
        f"{people} residents x {rounds} intakes (2 updates each), {runs} interleaved runs; "
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    port = await free_port()
    missed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="propdesk-e2e-") as tmp:
        folder = Path(tmp)
        if only in (None, "sqlite"):
            url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
            floors: list[Result] | None = [] if floor else None
            pairs = await bench_database(
                "sqlite", url, port, people, rounds, runs, folder, profile, floors
            )
            missed += verdict("sqlite", pairs)
            floor_lines("sqlite", pairs, floors or [])
        if only in (None, "postgres"):
            name = await pg_database()
            if name is not None:
                url = PG_ADMIN_DSN.rsplit("/", 1)[0].replace(
                    "postgresql://", "postgresql+asyncpg://", 1
                )
                floors = [] if floor else None
                try:
                    pairs = await bench_database(
                        "postgres", f"{url}/{name}", port, people, rounds, runs, folder,
                        profile, floors,
                    )  # fmt: skip
                    missed += verdict("postgres", pairs)
                    floor_lines("postgres", pairs, floors or [])
                finally:
                    await drop_pg_database(name)
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for line in missed:
        print(f"MISSED {line}")
    if not missed:
        print("every target met")
    return 1 if missed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument(
        "--profile",
        metavar="PREFIX",
        help="sample PropDesk with py-spy over each run, PREFIX.<n>.txt (collapsed stacks)",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also run bench/calls_bot.py (PropDesk's Bot API calls and nothing else) each run",
    )
    args = parser.parse_args()
    sys.exit(
        asyncio.run(main(args.people, args.rounds, args.runs, args.only, args.profile, args.floor))
    )
