"""`propdesk run --webhook URL` as an operator starts it: a child process that sets the
webhook, answers what the emulator posts, serves /healthz naming itself as the leader, and
on SIGTERM stops in order with exit status 0, leaving the webhook set for the next start."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp

from bot.config import Settings
from emulator import BotAPIEmulator
from tests.support.botprocess import bot_environment

ROOT = Path(__file__).resolve().parents[2]
SECRET = "process_secret_1"
START = 120.0  # a loaded machine imports slowly


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_run_with_webhook_serves_and_stops_on_sigterm(
    emulator: BotAPIEmulator, settings: Settings, transport: str, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    env = bot_environment(
        settings.database_url,
        emulator.base_url,
        transport,
        PROPDESK_WEBHOOK_SECRET=SECRET,
        PROPDESK_WEBHOOK_PORT=str(port),
        PROPDESK_FLOOD_LIMITS="false",
        PROPDESK_SHUTDOWN_SECONDS="5",
    )
    log = (tmp_path / "bot.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--webhook", url,
        env=env, cwd=ROOT, stdout=log, stderr=log,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + START
        while emulator.world.webhook.get("url") != url:
            assert process.returncode is None, (tmp_path / "bot.log").read_text()
            assert time.monotonic() < deadline, "setWebhook never called"
            await asyncio.sleep(0.1)
        wang = emulator.user("王", language_code="zh-hans")
        await wang.send_text("/help")
        await emulator.wait_for_bot_message(wang, timeout=30)
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/healthz") as answer,
        ):
            assert answer.status == 200
            report = await answer.json()
        assert report["leader"].endswith(f":{process.pid}")
        assert report["database"]["reachable"] is True

        process.send_signal(signal.SIGTERM)
        status = await asyncio.wait_for(process.wait(), 15)
        assert status == 0, (tmp_path / "bot.log").read_text()
        assert emulator.world.webhook.get("url") == url, "stopping keeps the webhook"
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        log.close()
