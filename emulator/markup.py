"""Reply markup validation with Telegram's refusals."""

from __future__ import annotations

from typing import Any

from . import errors
from .errors import bad_request

_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_PRIVATE_ONLY = ("request_contact", "request_location", "request_users", "request_chat")
MAX_BUTTONS = 100


def validate_markup(markup: Any, chat_type: str) -> dict[str, Any] | None:
    """Check a reply_markup object; return it normalised (``None`` when absent)."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return _inline(markup)
    if "keyboard" in markup:
        return _reply_keyboard(markup, chat_type)
    if markup.get("remove_keyboard") or markup.get("force_reply"):
        return dict(markup)
    raise bad_request("can't parse reply keyboard markup JSON object")


def _rows(markup: dict[str, Any], key: str) -> list[list[Any]]:
    rows = markup.get(key)
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(f'Field "{key}" of the InlineKeyboardMarkup must be an Array')
    if sum(len(row) for row in rows) > MAX_BUTTONS:
        raise bad_request("reply markup is too long")
    return rows


def _inline(markup: dict[str, Any]) -> dict[str, Any]:
    for row in _rows(markup, "inline_keyboard"):
        for button in row:
            _inline_button(button)
    return {"inline_keyboard": markup["inline_keyboard"]}


def _inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    text = button.get("text")
    if not isinstance(text, str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    actions = [key for key in _INLINE_ACTIONS if button.get(key) is not None]
    if not text.strip() or not actions:
        raise bad_request(errors.TEXT_BUTTONS_UNALLOWED)
    if "callback_data" in actions:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
            raise bad_request(errors.BUTTON_DATA_INVALID)


def _reply_keyboard(markup: dict[str, Any], chat_type: str) -> dict[str, Any]:
    for row in _rows(markup, "keyboard"):
        for button in row:
            if isinstance(button, str):
                continue
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request(
                    'can\'t parse keyboard button: Field "text" must be of type String'
                )
            if chat_type != "private" and any(button.get(key) for key in _PRIVATE_ONLY):
                raise bad_request(errors.BUTTON_TYPE_INVALID)
    return dict(markup)


def button_texts(markup: dict[str, Any] | None) -> list[list[str]]:
    """Button labels row by row, for inline and reply keyboards alike."""
    if not markup:
        return []
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return [[b if isinstance(b, str) else str(b.get("text", "")) for b in row] for row in rows]


def find_inline_button(
    markup: dict[str, Any] | None, text: str | None, data: str | None
) -> dict[str, Any] | None:
    """The inline button with this label (or this callback_data)."""
    if not markup:
        return None
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if text is not None and button.get("text") == text:
                return dict(button)
            if data is not None and button.get("callback_data") == data:
                return dict(button)
    return None
