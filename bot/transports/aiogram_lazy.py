"""Build aiogram's pydantic models when first used instead of all ~400 at import.

`aiogram.types` ends by calling `model_rebuild()` on every Bot API type with a namespace of
all of them, which builds each one's validator: about 100 MB of a `propdesk run` process,
for types the desk never sees (gifts, stories, payments...). Imported before aiogram, this
module keeps that namespace and skips the eager pass; pydantic then builds a model the first
time it validates or serialises one (its standard deferred build, which calls
`model_rebuild`), and for aiogram's models that call is handed the same namespace, so they
resolve their forward references as they did at import and behave as before. Other
pydantic models are untouched. A no-op when aiogram was imported already.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from pydantic import BaseModel

_ORIGINAL = BaseModel.model_rebuild.__func__  # type: ignore[attr-defined]
_NAMESPACE: dict[str, Any] = {}  # every Bot API type by name, as aiogram hands it over
_state = {"importing": False}
# Each `Response[X]` aiogram makes per call, kept: pydantic caches parametrised generics only
# weakly, so once the garbage collector had dropped one, the next call built its whole schema
# again (a sixth of the bot's CPU under load). Bounded: one per Bot API return type.
_RESPONSES: dict[Any, Any] = {}
# the Bot API types the desk's calls return or its updates carry, and what it sends most
RECEIVED = (
    "Update",
    "Message",
    "CallbackQuery",
    "User",
    "Chat",
    "WebhookInfo",
    "InlineKeyboardMarkup",
    "InlineKeyboardButton",
)
# the calls of every intake, built at start rather than by the first resident to need one
CALLED = ("SendMessage", "EditMessageText", "AnswerCallbackQuery", "GetUpdates")


def _rebuild(
    cls: type[BaseModel],
    *,
    force: bool = False,
    raise_errors: bool = True,
    _parent_namespace_depth: int = 2,
    _types_namespace: Any = None,
) -> bool | None:
    if cls.__module__.startswith("aiogram."):
        if _state["importing"] and _types_namespace is not None and not force:
            _NAMESPACE.update(_types_namespace)  # aiogram's eager pass: keep, build later
            return None
        if _types_namespace is None and _NAMESPACE:
            _types_namespace = _NAMESPACE  # a deferred build (or a generic like Response[X])
    result: bool | None = _ORIGINAL(
        cls,
        force=force,
        raise_errors=raise_errors,
        _parent_namespace_depth=_parent_namespace_depth,
        _types_namespace=_types_namespace,
    )
    return result


def keep_responses() -> None:
    """Make `Response[X]` build once per X and stay built (whether or not aiogram was
    imported lazily; once per process)."""
    from aiogram.methods import Response

    if getattr(Response, "_propdesk_kept", False):
        return
    build = Response.__class_getitem__

    def parametrised(cls: type[BaseModel], params: Any) -> Any:
        if cls is not Response:
            return build.__func__(cls, params)  # type: ignore[attr-defined]
        try:
            return _RESPONSES[params]
        except KeyError:
            built = _RESPONSES[params] = build(params)
            return built
        except TypeError:  # an unhashable parameter: not one of aiogram's return types
            return build(params)

    Response.__class_getitem__ = classmethod(parametrised)  # type: ignore[assignment,method-assign]
    Response._propdesk_kept = True  # type: ignore[attr-defined]


def build_derived(cls: type[BaseModel]) -> None:
    """Build now a model of ours derived from one of aiogram's: pydantic resolves the fields
    it inherits as strings, which name Bot API types only `aiogram.types` holds (the same
    whether aiogram was imported lazily or not)."""
    types = importlib.import_module("aiogram.types")
    cls.model_rebuild(_types_namespace={**vars(types), **_NAMESPACE})


def import_aiogram_lazily() -> None:
    """Import aiogram with its models' build deferred to their first use."""
    if "aiogram.types" in sys.modules:
        return
    BaseModel.model_rebuild = classmethod(_rebuild)  # type: ignore[assignment,method-assign]
    _state["importing"] = True
    try:
        types = importlib.import_module("aiogram.types")
        methods = importlib.import_module("aiogram.methods")
    finally:
        _state["importing"] = False
    # What the desk receives, built once now: otherwise each `Response[Message]` that aiogram
    # makes per call (pydantic caches those classes weakly, so they come and go) would build
    # Message's whole schema again inside it.
    for name in RECEIVED:
        getattr(types, name).model_rebuild()
    for name in CALLED:
        getattr(methods, name).model_rebuild()


import_aiogram_lazily()
keep_responses()
