"""One readable line per event, for ``BotAPIEmulator.transcript()`` and the demo."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .world import BotEvent

Json = dict[str, Any]


def indent(text: str) -> str:
    return text.replace("\n", "\n    ")


def content(data: Json) -> str:
    """What a message shows: its text, or a bracketed label for media and the caption."""
    if "text" in data:
        return indent(str(data["text"]))
    label = _media_label(data)
    caption = data.get("caption")
    return f"{label} {indent(caption)}" if caption else label


def _media_label(data: Json) -> str:
    if "photo" in data:
        return "[photo]"
    if "contact" in data:
        contact = data["contact"]
        own = " (own)" if contact.get("user_id") == data.get("from", {}).get("id") else ""
        return f"[contact {contact['phone_number']} {contact.get('first_name', '')}{own}]"
    if "location" in data:
        loc = data["location"]
        return f"[location {loc['latitude']}, {loc['longitude']}]"
    if "sticker" in data:
        return f"[sticker {data['sticker'].get('emoji', '')}]".replace(" ]", "]")
    if "voice" in data:
        return f"[voice {data['voice'].get('duration', 0)}s]"
    if "video" in data:
        return "[video]"
    if "document" in data:
        return f"[document {data['document'].get('file_name', '')}]".replace(" ]", "]")
    return _service_label(data)


def _service_label(data: Json) -> str:
    if "new_chat_members" in data:
        names = ", ".join(m.get("first_name", "") for m in data["new_chat_members"])
        return f"[joined: {names}]"
    if "left_chat_member" in data:
        return f"[left: {data['left_chat_member'].get('first_name', '')}]"
    if "forum_topic_created" in data:
        return f"[topic created: {data['forum_topic_created']['name']}]"
    if "migrate_to_chat_id" in data:
        return f"[upgraded to supergroup {data['migrate_to_chat_id']}]"
    if "migrate_from_chat_id" in data:
        return f"[upgraded from group {data['migrate_from_chat_id']}]"
    return "[message]"


def buttons(markup: Json | None) -> str:
    """`` [A] [B]`` for inline buttons, `` {A} {B}`` for a reply keyboard."""
    if not markup:
        return ""
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        return " " + " / ".join(" ".join(f"[{b.get('text', '')}]" for b in row) for row in rows)
    if "keyboard" in markup:
        rows = markup["keyboard"]
        return " " + " / ".join(
            " ".join("{" + (b if isinstance(b, str) else b.get("text", "")) + "}" for b in row)
            for row in rows
        )
    if markup.get("remove_keyboard"):
        return " {keyboard removed}"
    return ""


def describe_bot_event(event: BotEvent, chat_name: str) -> str:
    if event.kind == "delete":
        return f"bot ✗ {chat_name}: deleted message #{event.message_id}"
    arrow = "→" if event.kind == "message" else "✎"
    return f"bot {arrow} {chat_name}: {content(event.data)}{buttons(event.markup)}"


def describe_user_message(sender: str, target: str, data: Json, delivered: bool) -> str:
    edited = " (edited)" if "edit_date" in data else ""
    unseen = "" if delivered else "  (not seen by the bot)"
    return f"{sender} → {target}{edited}: {content(data)}{unseen}"
