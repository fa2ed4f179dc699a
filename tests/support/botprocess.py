"""`propdesk run` as a child process against the emulator in the test process, for tests
that kill it (-9) or stop it (SIGTERM) the way an operating system or supervisor would."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.app import App
from bot.config import Settings
from bot.handlers.base import Classifier
from emulator import BotAPIEmulator
from storage.models import OutboxMessage
from storage.uow import UnitOfWorkFactory
from tests.support.apps import TOKEN

# setMyCommands calls one start makes: (default, zh, en) x (private, groups).
COMMAND_CALLS = 6
# Seconds the fork server may take to import everything (a loaded CI machine is slow).
SERVER_START = 300.0
# A pending outbox row due this far ahead is held by a sender's lease (claimed mid-send).
LEASED = timedelta(minutes=1)


def bot_environment(
    database_url: str, api_base: str, transport: str, **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROPDESK_")}
    env.update(
        PROPDESK_TELEGRAM_TOKEN=TOKEN,
        PROPDESK_TELEGRAM_API_BASE=api_base,
        PROPDESK_DATABASE_URL=database_url,
        PROPDESK_TRANSPORT=transport,
        PROPDESK_ADMIN_IDS="900001",
        **extra,
    )
    return env


class BotProcess:
    """One `propdesk run` at a time, forked by tests/e2e/forkserver.py so a restart costs
    no imports; `start` again after `kill` or `terminate`."""

    def __init__(self, emulator: BotAPIEmulator, env: dict[str, str], log: Path) -> None:
        self.emulator = emulator
        self.env = env
        self.log = log
        self.pid: int | None = None
        self.starts = 0
        self._server: asyncio.subprocess.Process | None = None

    async def _command(self, line: str, timeout: float = 60.0) -> str:
        if self._server is None:
            root = Path(__file__).resolve().parents[2]
            self._server = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.support.forkserver",
                env=self.env,
                cwd=root,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            await self._answer(SERVER_START)  # "ready": imports done, classifier data loaded
        assert self._server.stdin is not None
        self._server.stdin.write(f"{line}\n".encode())
        await self._server.stdin.drain()
        return await self._answer(timeout)

    async def _answer(self, timeout: float) -> str:
        assert self._server is not None and self._server.stdout is not None
        line = await asyncio.wait_for(self._server.stdout.readline(), timeout)
        if not line:
            raise RuntimeError(f"fork server ended\n{self.describe()}")
        return line.decode().strip()

    async def start(self) -> None:
        answer = await self._command(f"start {self.log}")
        self.pid = int(answer.removeprefix("started "))
        self.starts += 1

    async def ready(self, timeout: float = 120.0) -> None:
        """The process has set its commands: it is about to poll."""
        target = self.starts * COMMAND_CALLS

        def started() -> bool:
            return len(self.emulator.calls_to("setMyCommands")) >= target

        await until(self.emulator, started, timeout, self.describe)

    async def _wait(self, timeout: float) -> int:
        assert self.pid is not None
        answer = await self._command(f"wait {self.pid}", timeout)
        self.pid = None
        return int(answer.removeprefix("exited "))

    async def kill(self) -> None:
        assert self.pid is not None
        os.kill(self.pid, signal.SIGKILL)
        assert await self._wait(10) == -signal.SIGKILL

    async def exited(self, timeout: float) -> int:
        """Until the process ends by itself: its exit status."""
        return await self._wait(timeout)

    async def terminate(self, timeout: float) -> int:
        """SIGTERM; the exit status (TimeoutError if it takes longer than `timeout`)."""
        assert self.pid is not None
        os.kill(self.pid, signal.SIGTERM)
        return await self._wait(timeout)

    async def close(self) -> None:
        if self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
            self.pid = None
        if self._server is not None:
            if self._server.returncode is None:
                self._server.kill()
            await self._server.wait()
            self._server = None

    def describe(self) -> str:
        if not self.log.exists():
            return ""
        return self.log.read_text(encoding="utf-8", errors="replace")[-3000:]


async def until(
    emulator: BotAPIEmulator, condition: object, timeout: float, describe: object = None
) -> None:
    """Wait for `condition()` on every change the emulator sees."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():  # type: ignore[operator]
        remaining = deadline - loop.time()
        if remaining <= 0:
            detail = describe() if callable(describe) else ""
            raise TimeoutError(f"condition not met in {timeout}s\n{detail}")
        await emulator.world.wait_change(min(remaining, 0.2))


async def prepared_app(settings: Settings) -> App:
    """Migrated database with the settings' properties (and no classifier warm-up)."""

    def unused(text: str) -> object:
        raise AssertionError("the seeding app classifies nothing")

    classify: Classifier = unused  # type: ignore[assignment]
    return await App.create(settings, classify=classify)


async def outbox_rows(uow_factory: UnitOfWorkFactory) -> tuple[int, set[int]]:
    """(rows due or soon due, ids of rows a sender held: their send may have been cut off)."""
    now = datetime.now(UTC)
    async with uow_factory() as uow:
        due = await uow.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now + LEASED)
        )
        held = await uow.session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.status == "pending", OutboxMessage.claimed_until.is_not(None)
            )
        )
        return int(due or 0), set(held)
