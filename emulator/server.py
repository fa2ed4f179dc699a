"""The HTTP side: ``/bot{token}/{method}`` and ``/file/bot{token}/{path}`` on aiohttp."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from . import errors
from .errors import ApiError
from .faults import (
    BAD_GATEWAY,
    INTERNAL_SERVER_ERROR,
    NGINX_502_HTML,
    TRANSIENT_KINDS,
    Fault,
    FaultKind,
    FaultPlan,
    FaultStats,
    Outage,
    RandomFaults,
)
from .limits import FloodStats
from .methods import METHODS
from .params import Params, read_params
from .world import UPDATE_TYPES_DEFAULT, PendingUpdate, World, push_chat

log = logging.getLogger(__name__)


class Stats:
    """A live view of the counters: faults injected and answers given (``FaultStats``),
    flood refusals and accepted messages (``FloodStats``)."""

    def __init__(self, faults: FaultStats, flood: FloodStats) -> None:
        self.faults = faults
        self.flood = flood

    @property
    def injected(self) -> Counter[str]:
        """Faults met, per kind (``"json_500"``, ``"close_after"`` ...), outages included."""
        return self.faults.injected

    @property
    def injected_by_method(self) -> Counter[str]:
        return self.faults.injected_by_method

    @property
    def answers(self) -> Counter[int]:
        """Answers written, per HTTP status (dropped connections are not answers)."""
        return self.faults.answers

    @property
    def dropped(self) -> int:
        """Connections closed without an answer (``close_before`` + ``close_after``)."""
        return self.faults.dropped

    @property
    def too_many_requests(self) -> int:
        """429 answers given by the flood limits (not the injected ones)."""
        return self.flood.too_many_requests

    @property
    def too_many_requests_by_chat(self) -> Counter[int]:
        return self.flood.too_many_requests_by_chat

    @property
    def sent(self) -> int:
        """Messages accepted (stored and visible), albums counted per item; edits are not."""
        return self.flood.accepted

    @property
    def sent_by_chat(self) -> Counter[int]:
        return self.flood.accepted_by_chat

    @property
    def early_retries(self) -> int:
        """Attempts on a chat still told to wait (each one penalised)."""
        return self.flood.early_retries

    @property
    def early_retries_by_chat(self) -> Counter[int]:
        return self.flood.early_retries_by_chat

    def reset(self) -> None:
        for counter in (
            self.injected,
            self.injected_by_method,
            self.answers,
            self.too_many_requests_by_chat,
            self.sent_by_chat,
            self.early_retries_by_chat,
        ):
            counter.clear()
        self.faults.dropped = 0
        self.flood.too_many_requests = self.flood.accepted = self.flood.early_retries = 0


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
        self.plan = FaultPlan(world.clock)
        self.stats = Stats(self.plan.stats, world.limiter.stats)
        self.inflight = 0
        self.last_activity = time.monotonic()
        self.closing = False
        self._poll: _Poll | None = None
        self._runner: web.AppRunner | None = None
        self._pusher: asyncio.Task[None] | None = None
        # Acting as a reverse proxy in front of webhook workers (see `spread_webhook`).
        self.webhook_targets: list[str] = []
        self.posts_by_target: Counter[str] = Counter()
        self._next_target = 0

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

    def inject(self, fault: Fault) -> Fault:
        """Queue ``fault``; queued faults are met in order, before outages and random ones."""
        self.plan.queue.append(fault)
        return fault

    def fail_next(self, method: str, error: ApiError, times: int = 1) -> None:
        self.inject(Fault(FaultKind.API_ERROR, method, times, error=error))

    def outage(
        self,
        seconds: float,
        kind: FaultKind | str = FaultKind.HTML_502,
        *,
        exempt: Iterable[str] = ("getUpdates",),
    ) -> Outage:
        """For ``seconds`` on the limits clock every method but ``exempt`` meets ``kind``."""
        return self.plan.start_outage(seconds, kind, exempt)

    def end_outage(self) -> None:
        self.plan.outage = None

    @property
    def outage_active(self) -> bool:
        return self.plan.outage_active()

    def random_faults(
        self,
        rate: float = 0.2,
        kinds: Iterable[FaultKind | str] = TRANSIENT_KINDS,
        methods: Iterable[str] | None = None,
        seed: int = 0,
    ) -> None:
        """Each call of ``methods`` (None: all but getUpdates) fails with probability
        ``rate``, its kind drawn from ``kinds``; the same seed gives the same sequence.
        ``rate=0`` turns random faults off."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be within 0..1")
        chosen = tuple(FaultKind(kind) for kind in kinds)
        if not chosen:
            raise ValueError("at least one kind")
        if rate == 0:
            self.plan.random = None
            return
        wanted = None if methods is None else frozenset(m.lower() for m in methods)
        self.plan.random = RandomFaults(rate, chosen, wanted, random.Random(seed))

    def clear_faults(self) -> None:
        """Forget queued faults, the outage and random faults (counters stay)."""
        self.plan.queue.clear()
        self.plan.outage = None
        self.plan.random = None

    # -- handlers -----------------------------------------------------------------------

    async def handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        if request.match_info["token"] != self.world.token:
            return self._count(_answer(errors.UNAUTHORIZED.to_json(), 401))
        self.world.requests.append((method, request.headers.get("User-Agent", "")))
        polling = method == "getupdates"
        if not polling:
            self.inflight += 1
        try:
            response = await self._call(method, request)
        except ApiError as exc:
            response = _error(exc)
        finally:
            if not polling:
                self.inflight -= 1
                self.last_activity = time.monotonic()
        if response is None:  # dropped: the transport is closed, nothing will be written
            return web.Response()
        return self._count(response)

    def _count(self, response: web.Response) -> web.Response:
        self.plan.stats.answers[response.status] += 1
        return response

    async def _call(self, method: str, request: web.Request) -> web.Response | None:
        params = await read_params(request)
        fault = self.plan.take(method, _chat_id(params))
        if fault is None:
            return await self._process(method, request, params)
        return await self._meet(fault, method, request, params)

    async def _meet(
        self, fault: Fault, method: str, request: web.Request, params: Params
    ) -> web.Response | None:
        """Carry out ``fault``; None when the connection was dropped unanswered."""
        kind = fault.kind
        if kind is FaultKind.LATE_ANSWER:
            response = await self._process_or_error(method, request, params)
            await asyncio.sleep(fault.delay)
            return response
        await asyncio.sleep(fault.delay)
        if kind is FaultKind.API_ERROR and fault.error is not None:
            raise fault.error
        if kind is FaultKind.JSON_500:
            raise INTERNAL_SERVER_ERROR
        if kind is FaultKind.JSON_502:
            raise BAD_GATEWAY
        if kind is FaultKind.HTML_502:
            return web.Response(text=NGINX_502_HTML, status=502, content_type="text/html")
        if kind is FaultKind.CLOSE_AFTER:
            await self._process_or_error(method, request, params)
        if kind in (FaultKind.CLOSE_BEFORE, FaultKind.CLOSE_AFTER):
            self._drop(request)
            return None
        return await self._process(method, request, params)  # SLOW: late, then as usual

    async def _process_or_error(
        self, method: str, request: web.Request, params: Params
    ) -> web.Response:
        try:
            return await self._process(method, request, params)
        except ApiError as exc:
            return _error(exc)

    def _drop(self, request: web.Request) -> None:
        """Close the connection abruptly: the client sees a disconnect, not an answer."""
        self.plan.stats.dropped += 1
        if request.transport is not None:
            request.transport.close()

    async def _process(self, method: str, request: web.Request, params: Params) -> web.Response:
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
        """As Telegram: up to the webhook's max_connections posts at once, one at a time per
        chat; an update not answered 2xx stays pending and is posted again a little later."""
        async with aiohttp.ClientSession() as session:
            posting: dict[asyncio.Task[None], int] = {}
            try:
                while not self.closing:
                    hook = dict(self.world.webhook)
                    room = int(hook.get("max_connections") or 40) - len(posting)
                    busy = set(posting.values())
                    batch = self.world.take_for_push(room, busy) if hook.get("url") else []
                    for update in batch:
                        task = asyncio.create_task(self._post_update(session, hook, update))
                        posting[task] = push_chat(update)
                        task.add_done_callback(posting.pop)
                    if not batch:
                        await self.world.wait_change(1.0)
            finally:
                for task in list(posting):
                    task.cancel()

    async def _post_update(
        self, session: aiohttp.ClientSession, hook: dict[str, Any], update: PendingUpdate
    ) -> None:
        self.inflight += 1
        try:
            delivered = await self._push(session, hook, update.to_json())
        finally:
            self.inflight -= 1
            self.last_activity = time.monotonic()
        if delivered:
            self.world.pushed(update)
        else:
            await asyncio.sleep(0.2)  # Telegram waits longer; the chat stays busy meanwhile
        self.world.notify()

    async def _post_once(
        self,
        session: aiohttp.ClientSession,
        url: str,
        update: dict[str, Any],
        headers: dict[str, str],
    ) -> int:
        """One post as Telegram makes it: to the webhook's URL, or (acting as a reverse proxy
        with `webhook_targets`) to the next target in turn, skipping a target that refuses
        the connection as nginx's upstream does; any answer, even non-2xx, is passed on."""
        if not self.webhook_targets:
            return await _send_post(session, url, update, headers)
        targets = list(self.webhook_targets)
        refused: OSError | None = None
        for _ in targets:
            target = targets[self._next_target % len(targets)]
            self._next_target += 1
            try:
                status = await _send_post(session, target, update, headers)
            except aiohttp.ClientConnectorError as exc:  # refused: try the next worker
                refused = exc
                continue
            self.posts_by_target[target] += 1
            return status
        assert refused is not None
        raise refused

    async def _push(
        self, session: aiohttp.ClientSession, hook: dict[str, Any], update: dict[str, Any]
    ) -> bool:
        headers = {}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(hook["secret_token"])
        try:
            status = await self._post_once(session, hook["url"], update, headers)
            if 200 <= status < 300:
                return True
            error = f"Wrong response from the webhook: {status}"
        except (aiohttp.ClientError, OSError) as exc:
            error = f"Connection failed: {exc}"
        # Recorded on the webhook that failed only: one deleted meanwhile stays deleted.
        if self.world.webhook.get("url") == hook["url"]:
            self.world.webhook["last_error_message"] = error
            self.world.webhook["last_error_date"] = self.world.now()
        return False


async def _send_post(
    session: aiohttp.ClientSession, url: str, update: dict[str, Any], headers: dict[str, str]
) -> int:
    async with session.post(url, json=update, headers=headers) as response:
        return response.status


def _chat_id(params: Params) -> int | None:
    try:
        return int(params.values.get("chat_id"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _error(exc: ApiError) -> web.Response:
    return _answer(exc.to_json(), exc.error_code)


def _answer(body: dict[str, Any], status: int) -> web.Response:
    return web.Response(
        text=json.dumps(body, ensure_ascii=False), status=status, content_type="application/json"
    )
