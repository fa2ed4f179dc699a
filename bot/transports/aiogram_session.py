"""aiogram's HTTP session with a lighter request body for the calls without a file.

aiogram posts every Bot API call as multipart form data: a part with its own headers per
parameter, each nested object dumped to a JSON string first. Nearly every call the desk
makes (a reply, a card, its edit, a button's answer, getUpdates) carries no file, and the
Bot API takes the same parameters as one JSON body (its documented `application/json`
form): built with one `json.dumps`, written in one piece. A call with a file (a chart, an
export, an uploaded photo) still goes as multipart, exactly as aiogram sends it.

The desk's own text messages, edits and button answers skip aiogram's models altogether
(`call_json`): their parameters are given as JSON values, and a successful answer comes back
as JSON. Validating the method, dumping it again and parsing the answer into a pydantic
`Response` cost about 0.2 ms of CPU per message sent, more than the HTTP request itself. A
refused call still goes through aiogram's `check_response`, so it raises what aiogram raises.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast

import orjson
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile
from aiohttp import ClientError, ClientTimeout

if TYPE_CHECKING:
    from aiogram import Bot

JSON_HEADERS = {"Content-Type": "application/json"}


class LeanSession(AiohttpSession):
    def __init__(self, **kwargs: Any) -> None:
        # orjson reads JSON about 2.5x as fast: every getUpdates answer brings back the
        # updates still in hand, and decoding them was 2-5% of the bot's CPU under a crowd
        kwargs.setdefault("json_loads", orjson.loads)
        super().__init__(**kwargs)

    def json_body(self, bot: Bot, method: TelegramMethod[Any]) -> bytes | None:
        """The call's parameters as a JSON object, or None when it sends a file.

        The same values aiogram's form would carry (its `prepare_value`: defaults resolved,
        enums and times converted, empty values left out), nested objects kept as objects
        instead of JSON strings."""
        files: dict[str, InputFile] = {}
        body: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is None or prepared == "":  # what the form leaves out
                continue
            body[key] = prepared
        if files:
            return None
        return orjson.dumps(body)

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        body = self.json_body(bot, method)
        if body is None:
            return await super().make_request(bot, method, timeout)
        status, content = await self._post(
            bot, method.__api_method__, body, timeout, lambda: method
        )
        response = self.check_response(
            bot=bot, method=method, status_code=status, content=content.decode(errors="replace")
        )
        return cast(TelegramType, response.result)

    async def call_json(
        self,
        bot: Bot,
        method: type[TelegramMethod[Any]],
        params: dict[str, Any],
        timeout: int | None = None,
    ) -> Any:
        """Call `method` with `params` as they are (JSON values, defaults already applied, no
        file) and return the answer's result as JSON. Nothing of aiogram's models is built
        unless the call is refused: then the same exception as aiogram's own call."""

        def as_model() -> TelegramMethod[Any]:
            return method.model_construct(**params)

        status, content = await self._post(
            bot, method.__api_method__, orjson.dumps(params), timeout, as_model
        )
        try:
            answer = orjson.loads(content)
        except orjson.JSONDecodeError:
            answer = None
        answered = isinstance(answer, dict) and answer.get("ok") is True
        if answered and HTTPStatus.OK <= status <= HTTPStatus.IM_USED:
            return answer["result"]
        # refused (or not JSON): aiogram reads the answer and raises its exception
        response = self.check_response(
            bot=bot, method=as_model(), status_code=status, content=content.decode(errors="replace")
        )
        return response.result

    async def _post(
        self,
        bot: Bot,
        api_method: str,
        body: bytes,
        timeout: int | None,
        method: Callable[[], TelegramMethod[Any]],
    ) -> tuple[int, bytes]:
        """POST a JSON body; the status and the answer's bytes (as aiogram's make_request
        does it, the body aside). `method` names the call in a network error."""
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=api_method)
        try:
            async with session.post(
                url,
                data=body,
                headers=JSON_HEADERS,
                timeout=ClientTimeout(total=self.timeout if timeout is None else timeout),
            ) as resp:
                return resp.status, await resp.read()
        except TimeoutError as e:
            raise TelegramNetworkError(method=method(), message="Request timeout error") from e
        except ClientError as e:
            raise TelegramNetworkError(method=method(), message=f"{type(e).__name__}: {e}") from e
