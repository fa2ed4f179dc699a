"""Two real `propdesk run` processes against the emulator (tests/support/botprocess.py).

On PostgreSQL they share one database: the first leads (it alone polls, sends the outbox and
runs the sweeps), the second stands by; kill -9 of the leader hands everything to the other
within 10 s, and no ticket or card is lost or doubled. The two run different transports
(aiogram and python-telegram-bot), so the emulator can tell their requests apart by their
User-Agent; the parameter is the transport of the process that leads first.

On SQLite a second process on the same file is refused with one line (exit 2); a second
process polling the same token (another database) stops with one line (exit 2) and the first
goes on answering.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.app import App
from bot.config import Settings
from emulator import BotAPIEmulator, SimUser
from storage.db import is_sqlite
from storage.models import OutboxMessage
from tests.support.botprocess import BotProcess, bot_environment, outbox_rows, prepared_app, until
from tests.support.crowd import SUBMIT, cards_per_ticket, seed_residents, ticket_counts

pytestmark = pytest.mark.e2e

PEOPLE = 24
TAKEOVER_LIMIT = 10.0  # seconds from the leader's death to the other polling and sending
DRAIN_SECONDS = 180.0  # every row sent after the handover, however loaded the machine
NUMBER = re.compile(r"\d{8}-\d{4}")
START_UP = {"getme", "getwebhookinfo", "deletewebhook", "setmycommands"}
OTHER = {"aiogram": "ptb", "ptb": "aiogram"}


def log_of(bot: BotProcess) -> str:
    return bot.log.read_text(encoding="utf-8", errors="replace") if bot.log.exists() else ""


def agent_of(user_agent: str) -> str:
    return "ptb" if "python-telegram-bot" in user_agent else "aiogram"


def requests_by(emulator: BotAPIEmulator, transport: str, since: int = 0) -> Counter[str]:
    """Bot API methods the process with `transport` called (from request number `since`)."""
    return Counter(
        method for method, agent in emulator.world.requests[since:] if agent_of(agent) == transport
    )


@pytest.fixture
async def seeded(quiet_emulator: BotAPIEmulator, settings: Settings) -> AsyncIterator[App]:
    app = await prepared_app(settings)
    yield app
    await app.close()


async def bind_teams(app: App, emulator: BotAPIEmulator) -> dict[str, int]:
    groups: dict[str, int] = {}
    async with app.uow_factory() as uow:
        prop = (await uow.properties.all())[0]
        for code in ("engineering", "environment", "security", "finance", "service"):
            group = emulator.group(f"{code} team")
            team = await uow.teams.ensure(prop.id, code)
            team.chat_id = groups[code] = group.id
        await uow.commit()
    return groups


async def report(emulator: BotAPIEmulator, person: SimUser, text: str, pressed: set[int]) -> None:
    """Write, wait for the draft, press Submit and wait for its answer."""
    await person.send_text(text)
    draft = await emulator.wait_for_bot_message(
        person, lambda m: SUBMIT in m.button_texts and text[-6:] in m.body, timeout=60
    )
    press = await person.press(draft, SUBMIT)
    pressed.add(person.id)
    await press.wait_answer(timeout=60)


def start_bot(
    emulator: BotAPIEmulator, settings: Settings, transport: str, log: Path
) -> BotProcess:
    env = bot_environment(
        settings.database_url,
        emulator.base_url,
        transport,
        PROPDESK_SHUTDOWN_SECONDS="10",
        PROPDESK_FLOOD_LIMITS="false",
    )
    return BotProcess(emulator, env, log)


async def started(emulator: BotAPIEmulator, transport: str, bot: BotProcess) -> None:
    """The process with `transport` set its commands (6 calls): it is up."""
    await until(
        emulator,
        lambda: requests_by(emulator, transport)["setmycommands"] >= 6,
        120,
        bot.describe,
    )


async def numbers_in_rows(app: App, row_ids: set[int]) -> set[str]:
    """Ticket numbers in the outbox rows given (the cards a kill may have cut off)."""
    if not row_ids:
        return set()
    async with app.uow_factory() as uow:
        rows = await uow.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(row_ids)))
        return {n for row in rows for n in NUMBER.findall(str(row.payload.get("text", "")))}


async def drained(emulator: BotAPIEmulator, app: App, bot: BotProcess) -> None:
    """Until no row waits (the new leader may be slow to reach them on a loaded machine)."""
    deadline = asyncio.get_running_loop().time() + DRAIN_SECONDS
    while asyncio.get_running_loop().time() < deadline:
        await emulator.wait_for_idle(quiet=0.6, timeout=60)
        due, _ = await outbox_rows(app.uow_factory)
        if due == 0:
            return
    raise AssertionError(f"the outbox never drained\n{bot.describe()}")


async def rows_about(app: App, numbers: set[str]) -> list[tuple[object, ...]]:
    """The outbox rows whose text names one of `numbers`: what became of them."""
    async with app.uow_factory() as uow:
        rows = await uow.session.scalars(select(OutboxMessage))
        return [
            (r.id, r.chat_id, r.status, r.next_attempt_at, r.claimed_until, r.error)
            for r in rows
            if any(n in str(r.payload.get("text", "")) for n in numbers)
        ]


def posted_numbers(emulator: BotAPIEmulator, groups: dict[str, int]) -> Counter[str]:
    return Counter(
        number
        for chat in groups.values()
        for message in emulator.bot_messages(chat)
        for number in set(NUMBER.findall(message.body))
    )


@pytest.mark.parametrize("transport", ["aiogram", "ptb"])
async def test_one_leader_and_kill_9_hands_over_within_10_seconds(
    quiet_emulator: BotAPIEmulator,
    settings: Settings,
    seeded: App,
    transport: str,
    tmp_path: Path,
) -> None:
    if is_sqlite(settings.database_url):
        pytest.skip("several processes share PostgreSQL only (SQLite: see the next tests)")
    emulator, follower = quiet_emulator, OTHER[transport]
    people = await seed_residents(seeded.uow_factory, emulator, PEOPLE)
    groups = await bind_teams(seeded, emulator)
    first = start_bot(emulator, settings, transport, tmp_path / "first.log")
    second = start_bot(emulator, settings, follower, tmp_path / "second.log")
    try:
        await first.start()
        await started(emulator, transport, first)
        await until(emulator, lambda: requests_by(emulator, transport)["getupdates"] > 0, 30)
        await second.start()
        await started(emulator, follower, second)
        await until(emulator, lambda: "standing by" in log_of(second), 30, second.describe)

        # Round 1: the first process leads; the second stands by, calling nothing.
        pressed: set[int] = set()
        half = people[: PEOPLE // 2]
        await asyncio.gather(
            *(report(emulator, p, f"楼道灯坏了(第1轮{p.id})", pressed) for p in half)
        )
        await emulator.wait_for_idle(quiet=0.6, timeout=60)
        assert set(requests_by(emulator, follower)) <= START_UP, requests_by(emulator, follower)
        assert requests_by(emulator, transport)["sendmessage"] > 0
        assert "leading: outbox sender running" in log_of(first)
        assert "leading:" not in log_of(second)

        # Round 2: the leader dies with kill -9 in the middle of the reports.
        rest = people[PEOPLE // 2 :]
        mark = len(emulator.world.requests)
        stop_at = mark + random.Random(transport).randint(5, 3 * len(rest))
        tasks = [
            asyncio.create_task(report(emulator, p, f"楼道灯坏了(第2轮{p.id})", pressed))
            for p in rest
        ]
        await until(emulator, lambda: len(emulator.world.requests) >= stop_at, 60)
        loop = asyncio.get_running_loop()
        await first.kill()
        killed_at = loop.time()
        _, cut_off = await outbox_rows(seeded.uow_factory)  # sends the kill may have cut off
        since = len(emulator.world.requests)
        await until(emulator, lambda: requests_by(emulator, follower, since)["getupdates"] > 0, 30)
        polling_after = loop.time() - killed_at
        await until(emulator, lambda: requests_by(emulator, follower, since)["sendmessage"] > 0, 30)
        sending_after = loop.time() - killed_at
        took_over = "leading: outbox sender running, sweeps scheduled"
        await until(emulator, lambda: took_over in log_of(second), 30)  # the sweeps caught up
        sweeping_after = loop.time() - killed_at
        print(
            f"took over: polling {polling_after:.1f} s, sending {sending_after:.1f} s, "
            f"sweeps {sweeping_after:.1f} s after kill -9; {len(cut_off)} sends cut off"
        )
        assert polling_after < TAKEOVER_LIMIT, (polling_after, second.describe())
        assert sending_after < TAKEOVER_LIMIT, (sending_after, second.describe())
        assert sweeping_after < TAKEOVER_LIMIT, (sweeping_after, second.describe())
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
        await drained(emulator, seeded, second)
        assert set(requests_by(emulator, transport, since)) == set()  # the dead one is dead

        # Every report once: one ticket, one card row, posted once (a send the kill cut off
        # is the one exception allowed: its outcome was unknown).
        tickets = await ticket_counts(seeded.uow_factory)
        assert tickets == {person: 1 for person in pressed}, second.describe()
        cards = await cards_per_ticket(seeded.uow_factory)
        assert set(cards.values()) == {1}
        posted = posted_numbers(emulator, groups)
        doubled = {number for number, count in posted.items() if count > 1}
        cut_numbers = await numbers_in_rows(seeded, cut_off)
        print(f"cards doubled: {len(doubled)} (cut off mid-send: {len(cut_numbers)})")
        assert doubled <= cut_numbers, (doubled - cut_numbers, second.describe())
        never = set(cards) - set(posted)
        assert not never, (never, await rows_about(seeded, never), second.describe())

        # The first comes back and stands by; the leader's lock connection is cut (as by a
        # network failure): it exits 1 with one line, and the first takes over polling.
        await first.start()
        await until(emulator, lambda: "standing by" in log_of(first), 60, first.describe)
        since = len(emulator.world.requests)
        async with seeded.engine.connect() as connection:
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name LIKE 'propdesk leader %'"
                )
            )
            await connection.commit()
        assert await second.exited(timeout=30) == 1, second.describe()
        said = [line for line in log_of(second).splitlines() if line.startswith("propdesk:")]
        assert len(said) == 1 and "lost the lead" in said[0], said
        await until(emulator, lambda: requests_by(emulator, transport, since)["getupdates"] > 0, 15)
        assert await first.terminate(timeout=20) == 0
    finally:
        await first.close()
        await second.close()


async def test_a_second_process_on_one_sqlite_file_is_refused_with_one_line(
    quiet_emulator: BotAPIEmulator, settings: Settings, seeded: App, tmp_path: Path
) -> None:
    if not is_sqlite(settings.database_url):
        pytest.skip("SQLite only: on PostgreSQL the second process follows")
    first = start_bot(quiet_emulator, settings, "aiogram", tmp_path / "first.log")
    second = start_bot(quiet_emulator, settings, "aiogram", tmp_path / "second.log")
    try:
        await first.start()
        await started(quiet_emulator, "aiogram", first)
        await second.start()
        assert await second.exited(timeout=60) == 2
        lines = [line for line in log_of(second).splitlines() if line.strip()]
        assert len(lines) == 1, lines
        assert lines[0].startswith("propdesk: setting PROPDESK_DATABASE_URL: the SQLite")
        assert "in use by PropDesk process" in lines[0]
        assert requests_by(quiet_emulator, "aiogram")["getme"] == 1  # it never got that far
        # The first goes on answering.
        wang = quiet_emulator.user("王", language_code="zh-hans")
        await wang.send_text("/help")
        await quiet_emulator.wait_for_bot_message(wang, lambda m: True, timeout=30)
    finally:
        await first.close()
        await second.close()


@pytest.mark.parametrize("transport", ["aiogram", "ptb"])
async def test_a_second_process_polling_the_same_token_stops_with_one_line(
    quiet_emulator: BotAPIEmulator,
    settings: Settings,
    seeded: App,
    transport: str,
    tmp_path: Path,
) -> None:
    if not is_sqlite(settings.database_url):
        pytest.skip("two deployments with their own SQLite files on one token")
    other = settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'staging.db'}"}
    )
    first = start_bot(quiet_emulator, settings, transport, tmp_path / "first.log")
    second = start_bot(quiet_emulator, other, transport, tmp_path / "second.log")
    try:
        await first.start()
        wang = quiet_emulator.user("王", language_code="zh-hans")
        await wang.send_text("/help")  # answered: the first has polled successfully
        await quiet_emulator.wait_for_bot_message(wang, lambda m: True, timeout=120)
        await second.start()
        assert await second.exited(timeout=60) == 2
        lines = [
            line
            for line in log_of(second).splitlines()
            if " ERROR " in line or line.startswith(("propdesk:", "Traceback"))
        ]
        assert len(lines) == 1, second.describe()
        assert lines[0].startswith("propdesk: setting PROPDESK_TELEGRAM_TOKEN: another process")
        assert "409" in lines[0] or "Conflict" in lines[0]
        # The first one polls on and answers.
        li = quiet_emulator.user("李", language_code="zh-hans")
        await li.send_text("/help")
        await quiet_emulator.wait_for_bot_message(li, lambda m: True, timeout=30)
        assert "polling again so the newer process stops" in log_of(first)
    finally:
        await first.close()
        await second.close()
