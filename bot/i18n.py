"""Locale files (bot/locales/*.toml) and HTML-safe formatting of their templates.

Templates are Telegram HTML written by us; every value substituted into them is
escaped, so names like `<b>Tom & Jerry</b>` show literally and never break a send.
"""

from __future__ import annotations

import html
import tomllib
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

LOCALES: tuple[str, ...] = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"
LOCALE_DIR = Path(__file__).with_name("locales")


class Raw(str):
    """A value that is already HTML (a rendered fragment) and must not be escaped again."""

    __slots__ = ()


class Masked(str):
    """Text the desk wrote or masked itself (a ticket number, a masked phone): nobody's phone
    number can be in it, so a group's translator does not search it for one (the search
    is the costliest step of a card). Escaped like any value."""

    __slots__ = ()


class _Escaped:
    """A value as a template shows it: formatted, then escaped (a Raw fragment as it is).
    ``str.format_map`` parses the template in C and calls this per field; a
    ``string.Formatter`` subclass parsed every template in Python on every call (a card and
    a draft take dozens)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __format__(self, format_spec: str) -> str:
        if isinstance(self.value, Raw):
            return str(self.value)
        return html.escape(format(self.value, format_spec), quote=False)


def _flatten(prefix: str, table: Mapping[str, Any], into: dict[str, str]) -> None:
    for key, value in table.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            _flatten(name, value, into)
        else:
            into[name] = str(value)


@cache
def catalog(locale: str) -> dict[str, str]:
    with (LOCALE_DIR / f"{locale}.toml").open("rb") as handle:
        flat: dict[str, str] = {}
        _flatten("", tomllib.load(handle), flat)
        return flat


def normalise_locale(code: str | None, default: str = DEFAULT_LOCALE) -> str:
    """Map Telegram's language_code (zh-hans, zh-hant, en-US...) to a supported locale."""
    if not code:
        return default
    lowered = code.lower()
    if lowered.startswith("zh"):
        return "zh-CN"
    if lowered.startswith("en"):
        return "en"
    return default


def translate(locale: str, key: str, /, **params: Any) -> str:
    template = catalog(locale).get(key)
    if template is None:
        template = catalog(DEFAULT_LOCALE).get(key, key)
    return template.format_map({name: _Escaped(value) for name, value in params.items()})


def has_key(locale: str, key: str) -> bool:
    return key in catalog(locale)


class Translator:
    """Bound to one locale; `t("key", name=...)` returns HTML with params escaped.

    `redact` rewrites every text value before it is filled in: a translator for a group chat
    masks the phone numbers people typed, so no template can show one by mistake.
    """

    def __init__(self, locale: str, *, redact: Callable[[str], str] | None = None) -> None:
        self.locale = locale if locale in LOCALES else DEFAULT_LOCALE
        self._redact = redact

    def __call__(self, key: str, /, **params: Any) -> str:
        if self._redact is not None:
            params = {name: self._redacted(value) for name, value in params.items()}
        return translate(self.locale, key, **params)

    def redact(self, text: str) -> str:
        """What this translator would fill in for `text` (before shortening it, say)."""
        return self._redact(text) if self._redact is not None else text

    def _redacted(self, value: Any) -> Any:
        # Raw fragments were rendered by a translator already, Masked text holds no phone
        # number; numbers are figures.
        if self._redact is None or not isinstance(value, str) or isinstance(value, Raw | Masked):
            return value
        return self._redact(value)

    def raw(self, key: str, /, **params: Any) -> Raw:
        return Raw(self(key, **params))
