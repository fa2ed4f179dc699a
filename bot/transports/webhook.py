"""Webhook mode, shared by both transports (aiohttp only; no framework imports here).

Telegram posts each update to our URL and retries it until it gets a 2xx answer. So the
answer is given only once the update was handled (committed, its reply out): a process that
dies first makes Telegram post it again, and the update-id claim in the database makes the
second delivery harmless - the same "confirmed only once handled" as our polling loop.

A request without the secret Telegram was given at setWebhook (header
X-Telegram-Bot-Api-Secret-Token) is answered 401 and never read further. Updates of one
person in one chat are handled one after another, in the order they arrived; different
people concurrently. GET /healthz answers what the operator watches (see docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.transports.polling import Tracker

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"

Json = dict[str, Any]
Health = Callable[[], Awaitable[Json]]
Handle = Callable[[Json], Awaitable[None]]


class ListenFailed(Exception):
    """The webhook's address cannot be listened on (the port taken, the address not ours)."""


class WebhookRefused(Exception):
    """Telegram refused setWebhook (not HTTPS, a port it does not post to, ...)."""


@dataclass(frozen=True)
class WebhookSpec:
    """What setWebhook is told and where the bot listens."""

    url: str
    secret: str
    listen: str = "127.0.0.1"
    port: int = 8080
    max_connections: int = 40
    health: Health | None = None

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"


def ordering_key(update: Json) -> Hashable:
    """As `common.ordering_key`, read from the raw JSON: one person in one chat."""
    query = update.get("callback_query")
    if isinstance(query, dict):
        user = (query.get("from") or {}).get("id", 0)
        chat = ((query.get("message") or {}).get("chat") or {}).get("id", user)
        return chat, user
    message = update.get("message")
    if isinstance(message, dict):
        return (message.get("chat") or {}).get("id", 0), (message.get("from") or {}).get("id", 0)
    return 0, 0


class WebhookServer:
    """Serves the webhook path and /healthz until `shutdown`."""

    def __init__(self, spec: WebhookSpec, handle: Handle, tracker: Tracker | None = None) -> None:
        self.spec = spec
        self._handle = handle
        self._tracker = tracker
        self._secret = spec.secret.encode()
        self._chains: dict[Hashable, asyncio.Future[None]] = {}
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False
        self._stopped = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = spec.port
        self.rejected = 0  # requests refused for their secret (a probe, a wrong proxy)

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(self.spec.path, self._on_update)
        app.router.add_get(HEALTH_PATH, self._on_health)
        return app

    async def start(self) -> None:
        """Listen (before setWebhook, so Telegram's first post finds us)."""
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.spec.listen, self.spec.port)
        try:
            await site.start()
        except OSError as exc:
            await self.close()
            where = f"{self.spec.listen}:{self.spec.port}"
            raise ListenFailed(f"{where}: {exc.strerror or exc}") from exc
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        if sockets:  # port 0 in tests: the one the system chose
            self.port = sockets[0].getsockname()[1]

    async def wait_stopped(self) -> None:
        await self._stopped.wait()

    # -- requests --------------------------------------------------------------------------
    def _authorised(self, request: web.Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "").encode()
        return hmac.compare_digest(given, self._secret)  # (constant time)

    async def _on_update(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            self.rejected += 1
            log.warning("webhook: request without the right secret refused (401)")
            return web.Response(status=401, text="unauthorized")
        if self._stopping:  # Telegram posts it again later, to us or another worker
            return web.Response(status=503, text="stopping")
        try:
            update = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.Response(status=400, text="not JSON")
        if not isinstance(update, dict):
            return web.Response(status=400, text="not an update")
        await self._in_order(update)
        return web.Response(status=200)

    async def _in_order(self, update: Json) -> None:
        """Wait for the earlier updates of the same person, then handle this one."""
        key = ordering_key(update)
        earlier = self._chains.get(key)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._chains[key] = mine
        self._enter()
        try:
            if earlier is not None:
                await asyncio.shield(earlier)
            await self._handle(update)
        except Exception:  # the core answers its own failures; this is a bug past the commit
            log.exception("webhook: update %s failed after handling", update.get("update_id"))
        finally:
            mine.set_result(None)
            if self._chains.get(key) is mine:
                del self._chains[key]
            self._leave()

    def _enter(self) -> None:
        self._busy += 1
        self._idle.clear()
        if self._tracker is not None:
            self._tracker.enter()

    def _leave(self) -> None:
        self._busy -= 1
        if self._busy == 0:
            self._idle.set()
        if self._tracker is not None:
            self._tracker.leave()

    async def _on_health(self, request: web.Request) -> web.Response:
        report: Json = {"mode": "webhook"}
        if self.spec.health is not None:
            report.update(await self.spec.health())
        status = 200 if report.get("database", {}).get("reachable", True) else 503
        return web.json_response(report, status=status)

    # -- shutdown --------------------------------------------------------------------------
    async def shutdown(self, timeout: float) -> bool:
        """Answer new posts 503 (Telegram retries them); give those taken `timeout` s to finish.
        True when everything finished."""
        self._stopping = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        self._stopped.set()
        return self._busy == 0

    async def close(self) -> None:
        self._stopping = True
        self._stopped.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
