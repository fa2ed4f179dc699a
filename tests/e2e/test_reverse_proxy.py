"""The guide's nginx example (deploy/nginx-propdesk.conf) in front of the webhook, run for
real: the emulator posts as Telegram to nginx, nginx passes the update and its secret header
to the bot (skipping a worker that is down), a wrong secret still meets 401, and /healthz is
answered through it. TLS is the one thing left out (no certificate on a test machine)."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from bot.config import Settings
from bot.handlers.base import Classifier
from bot.transports.webhook import SECRET_HEADER
from emulator import BotAPIEmulator
from tests.support.harness import FloodClock, Harness, running_harness

ROOT = Path(__file__).resolve().parents[2]
SECRET = "proxy_Secret-7"
PATH = "/telegram/webhook"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def site_config(listen: int, worker: int, dead_worker: int) -> str:
    """The example as shipped, pointed at this machine's ports, without TLS."""
    lines = []
    for line in (ROOT / "deploy" / "nginx-propdesk.conf").read_text().splitlines():
        if line.strip().startswith("ssl_certificate"):
            continue
        line = line.replace("listen 443 ssl;", f"listen 127.0.0.1:{listen};")
        line = line.replace("127.0.0.1:8081", f"127.0.0.1:{dead_worker}")  # tried first
        line = line.replace("127.0.0.1:8082", f"127.0.0.1:{worker}")
        lines.append(line)
    return "\n".join(lines)


@pytest.fixture
def ports() -> tuple[int, int, int]:
    return free_port(), free_port(), free_port()


@pytest.fixture
def nginx(tmp_path: Path, ports: tuple[int, int, int]) -> Iterator[int]:
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if binary is None:
        pytest.skip("nginx is not installed")
    listen, worker, dead = ports
    (tmp_path / "site.conf").write_text(site_config(listen, worker, dead))
    temp = tmp_path / "temp"
    temp.mkdir()
    temp.chmod(0o777)
    (tmp_path / "nginx.conf").write_text(
        f"daemon off;\nworker_processes 1;\npid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n access_log off;\n client_body_temp_path {temp};\n"
        f" proxy_temp_path {temp};\n fastcgi_temp_path {temp};\n uwsgi_temp_path {temp};\n"
        f" scgi_temp_path {temp};\n include {tmp_path}/site.conf;\n}}\n"
    )
    test = subprocess.run(
        [binary, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert test.returncode == 0, test.stderr
    process = subprocess.Popen(
        [binary, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        stderr=subprocess.PIPE,
    )
    try:
        _wait_listening(listen)
        yield listen
    finally:
        process.terminate()
        process.wait(10)


def _wait_listening(port: int) -> None:
    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        subprocess.run(["sleep", "0.05"])
    raise AssertionError(f"nginx is not listening on {port}")


@pytest.fixture
async def proxied(
    nginx: int,
    ports: tuple[int, int, int],
    emulator: BotAPIEmulator,
    settings: Settings,
    transport: str,
    flood_clock: FloodClock,
    real_classify: Classifier,
) -> AsyncIterator[Harness]:
    _, worker, _ = ports
    configured = settings.model_copy(
        update={
            "webhook_url": f"http://127.0.0.1:{nginx}{PATH}",
            "webhook_port": worker,
            "webhook_secret": SecretStr(SECRET),
        }
    )
    async with running_harness(
        emulator, configured, transport, None, flood_clock, real_classify
    ) as harness:
        yield harness


async def test_updates_reach_the_bot_through_the_proxy_with_their_secret(
    proxied: Harness, emulator: BotAPIEmulator, nginx: int
) -> None:
    wang = emulator.user("王", language_code="zh-hans")
    replies = await proxied.act(wang.send_text("/help"))
    assert replies, "posted to nginx, answered by the bot behind it"
    assert "last_error_message" not in emulator.world.webhook

    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{nginx}{PATH}"
        person = {"id": wang.id, "is_bot": False, "first_name": "王"}
        message = {"message_id": 1, "date": 0, "text": "/help", "from": person}
        message["chat"] = {"id": wang.id, "type": "private"}
        update = {"update_id": 970001, "message": message}
        async with session.post(url, json=update, headers={SECRET_HEADER: "wrong"}) as answer:
            assert answer.status == 401
        async with session.post(url, json=update) as answer:
            assert answer.status == 401
        async with session.get(f"http://127.0.0.1:{nginx}/healthz") as answer:
            assert answer.status == 200
            report = await answer.json()
        async with session.get(f"http://127.0.0.1:{nginx}/elsewhere") as answer:
            assert answer.status == 404
    assert report["database"]["reachable"] is True
    assert report["leader"]
