"""Resident memory of an idle `propdesk run`, on each transport, against the local emulator.

Starts the Bot API emulator in this process and the real `propdesk run` as a child process
on a fresh SQLite database, waits until the bot is polling (and its start-up catch-up of
the scheduler has run), lets it sit, and reads the child's VmRSS from /proc. Also lists
which heavy libraries the child imported: matplotlib and scikit-learn must not be among them.

    .venv/bin/python bench/rss.py [--idle 5] [--limit-mb 0]

Exits non-zero when `--limit-mb` is given and a transport's idle RSS exceeds it, or when a
library the run never needs was imported.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from emulator import BotAPIEmulator

ROOT = Path(__file__).resolve().parent.parent
# Each has compiled modules, so /proc/<pid>/maps shows them once imported.
NEVER_IN_RUN = ("matplotlib", "sklearn", "scipy", "pandas")


def loaded_packages(pid: int) -> set[str]:
    """Packages whose compiled modules the process mapped (every heavy one has some)."""
    found = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        path = line.split()[-1] if len(line.split()) >= 6 else ""
        if "site-packages/" in path:
            found.add(path.split("site-packages/", 1)[1].split("/", 1)[0].split(".")[0])
    return found


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def measure(transport: str, idle: float, folder: Path) -> tuple[float, set[str]]:
    emu = BotAPIEmulator(token="123456:BENCH", bot_username="propdesk_bench_bot")
    await emu.start()
    env = {
        **os.environ,
        "PROPDESK_TELEGRAM_TOKEN": "123456:BENCH",
        "PROPDESK_TELEGRAM_API_BASE": emu.base_url,
        "PROPDESK_TRANSPORT": transport,
        "PROPDESK_DATABASE_URL": f"sqlite+aiosqlite:///{folder / transport}.db",
    }
    child = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=ROOT)
    try:
        await _until_polling(emu, child, timeout=60)
        await asyncio.sleep(idle)
        rss = rss_mb(child.pid)
        imported = loaded_packages(child.pid)
    finally:
        child.terminate()
        try:
            await asyncio.to_thread(child.wait, 20)
        except subprocess.TimeoutExpired:
            child.kill()
        await emu.stop()
    return rss, imported


async def _until_polling(
    emu: BotAPIEmulator, child: subprocess.Popen[bytes], timeout: float
) -> None:
    started = time.monotonic()
    # A getUpdates in progress: start-up (migrations, classifier, the scheduler's catch-up)
    # is over, since the transport polls only after it.
    while emu.server._poll is None:
        if child.poll() is not None:
            raise RuntimeError(f"propdesk run exited with {child.returncode}")
        if time.monotonic() - started > timeout:
            raise TimeoutError("the bot never polled")
        await asyncio.sleep(0.1)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--idle", type=float, default=5.0, help="seconds to sit idle")
    parser.add_argument("--limit-mb", type=float, default=0.0, help="fail above this RSS")
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for transport in ("aiogram", "ptb"):
            rss, imported = await measure(transport, args.idle, Path(tmp))
            unwanted = [name for name in NEVER_IN_RUN if name in imported]
            heavy = [n for n in ("numpy", "opencc", *NEVER_IN_RUN) if n in imported]
            print(f"{transport:8s} RSS idle {rss:6.1f} MB; compiled libraries: {', '.join(heavy)}")
            if unwanted:
                print(f"  FAIL: `run` imported {', '.join(unwanted)}")
                failed = True
            if args.limit_mb and rss > args.limit_mb:
                print(f"  FAIL: above {args.limit_mb:.0f} MB")
                failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
