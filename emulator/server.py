"""The HTTP side: ``/bot{token}/{method}`` and ``/file/bot{token}/{path}`` on aiohttp."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from . import errors
from .errors import ApiError
from .methods import METHODS
from .params import Params, read_params
from .world import UPDATE_TYPES_DEFAULT, World

log = logging.getLogger(__name__)


@dataclass
class Fault:
    method: str
    error: ApiError
    times: int


@dataclass
class _Poll:
    terminated: bool = False


class ApiServer:
    """Serves one bot token; ``conflict_policy`` decides who loses overlapping getUpdates.

    ``"terminate_older"`` (Telegram's behaviour) answers the long poll already waiting
    with 409; ``"reject_newer"`` answers the new request with 409 instead.
    """

    def __init__(
        self,
        world: World,
        host: str = "127.0.0.1",
        port: int = 0,
        conflict_policy: str = "terminate_older",
    ) -> None:
        self.world = world
        self.host = host
        self.port = port
        self.conflict_policy = conflict_policy
        self.faults: list[Fault] = []
        self.inflight = 0
        self.last_activity = time.monotonic()
        self.closing = False
        self._poll: _Poll | None = None
        self._runner: web.AppRunner | None = None
        self._pusher: asyncio.Task[None] | None = None

    # -- life cycle ---------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self.handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self.handle_file)
        return app

    async def start(self) -> str:
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        self._pusher = asyncio.create_task(self._push_webhooks())
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        self.closing = True
        self.world.notify()
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- fault injection ----------------------------------------------------------------

    def fail_next(self, method: str, error: ApiError, times: int = 1) -> None:
        self.faults.append(Fault(method.lower(), error, times))

    def _take_fault(self, method: str) -> ApiError | None:
        for fault in self.faults:
            if fault.method == method and fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
                return fault.error
        return None

    # -- handlers -----------------------------------------------------------------------

    async def handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        if request.match_info["token"] != self.world.token:
            return _answer(errors.UNAUTHORIZED.to_json(), 401)
        polling = method == "getupdates"
        if not polling:
            self.inflight += 1
        try:
            return await self._call(method, request)
        except ApiError as exc:
            return _answer(exc.to_json(), exc.error_code)
        finally:
            if not polling:
                self.inflight -= 1
                self.last_activity = time.monotonic()

    async def _call(self, method: str, request: web.Request) -> web.Response:
        fault = self._take_fault(method)
        if fault is not None:
            raise fault
        params = await read_params(request)
        if method == "getupdates":
            result: Any = await self._get_updates(params)
        else:
            handler = METHODS.get(method)
            if handler is None:
                raise errors.NOT_FOUND
            self.world.calls.append((request.match_info["method"], dict(params.values)))
            result = handler(self.world, params)
        return _answer({"ok": True, "result": result}, 200)

    async def handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.world.token:
            return _answer(errors.UNAUTHORIZED.to_json(), 401)
        record = self.world.files.by_path(request.match_info["path"])
        if record is None:
            return _answer(errors.NOT_FOUND.to_json(), 404)
        return web.Response(body=record.data, content_type=record.mime_type or "image/jpeg")

    # -- getUpdates ---------------------------------------------------------------------

    def _claim_poll(self) -> _Poll:
        if self.world.webhook:
            raise errors.conflict(errors.WEBHOOK_ACTIVE)
        if self._poll is not None:
            if self.conflict_policy == "reject_newer":
                raise errors.conflict(errors.GET_UPDATES_CONFLICT)
            self._poll.terminated = True
            self.world.notify()
        self._poll = _Poll()
        self.world.notify()  # someone may wait for the bot to be polling
        return self._poll

    @property
    def polling(self) -> bool:
        """Whether a getUpdates call is being answered (or waiting) right now."""
        return self._poll is not None

    async def _get_updates(self, p: Params) -> list[dict[str, Any]]:
        poll = self._claim_poll()
        try:
            return await self._poll_updates(poll, p)
        finally:
            if self._poll is poll:
                self._poll = None

    async def _poll_updates(self, poll: _Poll, p: Params) -> list[dict[str, Any]]:
        world = self.world
        offset = p.get_int("offset")
        if offset is not None:
            world.confirm(offset)
        allowed = p.get_json("allowed_updates", "allowed updates")
        if isinstance(allowed, list):
            world.allowed_updates = frozenset(allowed) if allowed else UPDATE_TYPES_DEFAULT
        limit = min(max(p.get_int("limit") or 100, 1), 100)
        deadline = time.monotonic() + max(p.get_float("timeout") or 0.0, 0.0)
        while True:
            if poll.terminated:
                raise errors.conflict(errors.GET_UPDATES_CONFLICT)
            batch = world.take(limit)
            remaining = deadline - time.monotonic()
            if batch or self.closing or remaining <= 0:
                break
            await world.wait_change(remaining)
        if batch:
            self.last_activity = time.monotonic()
        return [update.to_json() for update in batch]

    # -- webhook delivery ---------------------------------------------------------------

    async def _push_webhooks(self) -> None:
        async with aiohttp.ClientSession() as session:
            while not self.closing:
                hook = dict(self.world.webhook)
                batch = self.world.take(1) if hook.get("url") else []
                if not batch:
                    await self.world.wait_change(1.0)
                    continue
                self.inflight += 1
                try:
                    delivered = await self._push(session, hook, batch[0].to_json())
                finally:
                    self.inflight -= 1
                    self.last_activity = time.monotonic()
                if delivered:
                    self.world.confirm(batch[0].update_id + 1)
                else:
                    await asyncio.sleep(0.2)

    async def _push(
        self, session: aiohttp.ClientSession, hook: dict[str, Any], update: dict[str, Any]
    ) -> bool:
        headers = {}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(hook["secret_token"])
        try:
            async with session.post(hook["url"], json=update, headers=headers) as response:
                if 200 <= response.status < 300:
                    return True
                self.world.webhook["last_error_message"] = (
                    f"Wrong response from the webhook: {response.status}"
                )
        except (aiohttp.ClientError, OSError) as exc:
            self.world.webhook["last_error_message"] = f"Connection failed: {exc}"
        self.world.webhook["last_error_date"] = self.world.now()
        return False


def _answer(body: dict[str, Any], status: int) -> web.Response:
    return web.Response(
        text=json.dumps(body, ensure_ascii=False), status=status, content_type="application/json"
    )
