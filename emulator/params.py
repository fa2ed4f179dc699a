"""Bot API request parameters from a query string, a form, a multipart body or JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .errors import ApiError, bad_request


@dataclass(frozen=True)
class Upload:
    """A file sent in a multipart body."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class Params:
    """Typed access to the parameters of one call.

    Scalars may arrive as strings (forms) or as JSON values; nested objects may arrive as
    JSON strings (what both aiogram and python-telegram-bot send) or as JSON values.
    """

    values: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "") or name in self.files

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def get_str(self, name: str, *, required: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None:
            if required:
                raise bad_request(f'Parameter "{name}" is required')
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def get_int(self, name: str, *, required: bool = False) -> int | None:
        value = self.values.get(name)
        if value in (None, ""):
            if required:
                raise bad_request(
                    f"{name} is empty"
                    if name.endswith("_id")
                    else f'Parameter "{name}" is required'
                )
            return None
        if isinstance(value, bool):
            return int(value)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f'Parameter "{name}" must be a Number') from None

    def get_float(self, name: str) -> float | None:
        value = self.values.get(name)
        if value in (None, ""):
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f'Parameter "{name}" must be a Number') from None

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("true", "1", "yes", "on")

    def get_json(self, name: str, what: str = "JSON object") -> Any:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {what}") from None

    def chat_id(self, name: str = "chat_id") -> int | str:
        value = self.values.get(name)
        if value in (None, ""):
            raise bad_request(f"{name} is empty")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        if text.startswith("@"):
            return text
        try:
            return int(text)
        except ValueError:
            raise bad_request("chat not found") from None


async def read_params(request: web.Request) -> Params:
    """Collect the parameters of ``request``; the body wins over the query string."""
    params = Params(values=dict(request.query))
    if request.method != "POST" or not request.can_read_body:
        return params
    content_type = request.content_type
    if content_type == "application/json":
        await _read_json(request, params)
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        await _read_form(request, params)
    return params


async def _read_json(request: web.Request, params: Params) -> None:
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "Bad Request: can't parse JSON encoded request") from None
    if body is None:
        return
    if not isinstance(body, dict):
        raise ApiError(400, "Bad Request: JSON object expected as request body")
    params.values.update(body)


async def _read_form(request: web.Request, params: Params) -> None:
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            params.files[key] = Upload(value.filename, value.content_type, value.file.read())
        elif isinstance(value, bytes | bytearray):
            params.values[key] = bytes(value).decode("utf-8", "replace")
        else:
            params.values[key] = value
