"""Bot API methods (all but getUpdates, which lives in :mod:`.server`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from . import errors
from .errors import bad_request
from .files import FileRecord, tiny_png
from .markup import validate_markup
from .params import Params, Upload
from .text import HtmlParseError, parse_html, strip_text, utf16_len
from .world import ChatState, Json, StoredMessage, World

Handler = Callable[[World, Params], Any]
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_TEXT_LIMIT = 200
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


# -- shared pieces ------------------------------------------------------------------------


@dataclass
class Formatted:
    text: str
    entities: list[Json]
    source: str | None
    parse_mode: str | None


def format_text(
    world: World, p: Params, key: str, entities_key: str, *, caption: bool = False
) -> Formatted:
    """Parse ``key`` with parse_mode/entities; check emptiness and length like Telegram."""
    raw = p.get_str(key)
    parse_mode = p.get_str("parse_mode")
    given = p.get_json(entities_key, "message entities")
    if raw is None:
        if caption:
            return Formatted("", [], None, parse_mode)
        raise bad_request(errors.TEXT_EMPTY)
    text, entities = _parse(world, raw, parse_mode, given)
    text, entities = strip_text(text, entities)
    if not text and not caption:
        raise bad_request(errors.TEXT_EMPTY)
    limit = CAPTION_LIMIT if caption else TEXT_LIMIT
    if utf16_len(text) > limit:
        raise bad_request(errors.CAPTION_TOO_LONG if caption else errors.TEXT_TOO_LONG)
    return Formatted(text, entities, raw, parse_mode)


def _parse(world: World, raw: str, parse_mode: str | None, given: Any) -> tuple[str, list[Json]]:
    if given:
        return raw, list(given)
    mode = (parse_mode or "").lower()
    if not mode:
        return raw, []
    if mode == "html":
        try:
            return parse_html(raw, strict_ampersand=world.strict_html)
        except HtmlParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    if mode in ("markdown", "markdownv2"):
        return raw, []
    raise bad_request("unsupported parse_mode")


@dataclass
class Target:
    chat: ChatState
    thread_id: int | None
    reply_to: StoredMessage | None


def target(world: World, p: Params) -> Target:
    chat = world.chat(p.chat_id())
    return Target(chat, _thread(chat, p), _reply_to(world, chat, p))


def _thread(chat: ChatState, p: Params) -> int | None:
    thread_id = p.get_int("message_thread_id")
    if not thread_id or not chat.is_forum:
        return None
    if thread_id not in chat.topics:
        raise bad_request("message thread not found")
    return thread_id


def _reply_to(world: World, chat: ChatState, p: Params) -> StoredMessage | None:
    params = p.get_json("reply_parameters") or {}
    message_id = params.get("message_id") or p.get_int("reply_to_message_id")
    if not message_id:
        return None
    stored = world.message(chat.id, int(message_id))
    allow = params.get("allow_sending_without_reply") or p.get_bool("allow_sending_without_reply")
    if stored is None and not allow:
        raise bad_request("message to be replied not found")
    return stored


def deliver(
    world: World,
    dest: Target,
    body: Json,
    *,
    formatted: Formatted | None = None,
    markup: Json | None = None,
) -> StoredMessage:
    """Store one bot message and log it; access and flood checks come first."""
    world.check_can_send(dest.chat)
    world.rate_check(dest.chat)
    if markup and "inline_keyboard" in markup:
        body = {**body, "reply_markup": markup}
    data = world.new_message(
        dest.chat, world.bot, body, thread_id=dest.thread_id, reply_to=dest.reply_to
    )
    stored = world.store(
        data,
        from_bot=True,
        source=formatted.source if formatted else None,
        parse_mode=formatted.parse_mode if formatted else None,
        markup=markup,
    )
    world.limiter.record(dest.chat.id, dest.chat.is_group)
    world.bot_event("message", stored)
    return stored


def with_entities(body: Json, key: str, formatted: Formatted, entities_key: str) -> Json:
    if formatted.text:
        body[key] = formatted.text
    if formatted.entities:
        body[entities_key] = formatted.entities
    return body


# -- files --------------------------------------------------------------------------------


def resolve_upload(p: Params, value: Any, name: str) -> Upload | str | None:
    if name in p.files:
        return p.files[name]
    if isinstance(value, str) and value.startswith("attach://"):
        upload = p.files.get(value[len("attach://") :])
        if upload is None:
            raise bad_request(f"wrong file identifier/HTTP URL specified ({value})")
        return upload
    return value if isinstance(value, str) and value else None


def existing_file(world: World, file_id: str, kind: str) -> FileRecord:
    record = world.files.get(file_id)
    if record is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if record.kind != kind:
        raise bad_request(f"can't use file of type {record.kind.title()} as {kind.title()}")
    return record


def photo_sizes(world: World, source: Upload | str | None) -> list[Json]:
    if source is None:
        raise bad_request('Parameter "photo" is required')
    if isinstance(source, Upload):
        return world.files.photo_sizes(source.data)
    if source.startswith(("http://", "https://")):
        return world.files.photo_sizes(tiny_png(160, 120, seed=len(source)))
    record = existing_file(world, source, "photo")
    return world.files.photo_groups.get(record.file_id) or [_photo_size(record)]


def _photo_size(record: FileRecord) -> Json:
    return {
        "file_id": record.file_id,
        "file_unique_id": record.file_unique_id,
        "file_size": len(record.data),
        "width": record.width or 0,
        "height": record.height or 0,
    }


def document_json(world: World, source: Upload | str | None, kind: str = "document") -> Json:
    if source is None:
        raise bad_request(f'Parameter "{kind}" is required')
    if isinstance(source, Upload):
        record = world.files.add(
            kind,
            source.data,
            file_name=source.filename,
            mime_type=source.content_type or "application/octet-stream",
        )
    elif source.startswith(("http://", "https://")):
        name = source.rsplit("/", 1)[-1] or "file"
        record = world.files.add(kind, b"", file_name=name, mime_type="application/octet-stream")
    else:
        record = existing_file(world, source, kind)
    data: Json = {"file_id": record.file_id, "file_unique_id": record.file_unique_id}
    if record.file_name:
        data["file_name"] = record.file_name
    if record.mime_type:
        data["mime_type"] = record.mime_type
    data["file_size"] = len(record.data)
    if kind == "video":
        data.update(width=record.width or 640, height=record.height or 480, duration=5)
    return data


# -- sending ------------------------------------------------------------------------------


def send_message(world: World, p: Params) -> Json:
    dest = target(world, p)
    formatted = format_text(world, p, "text", "entities")
    markup = validate_markup(p.get_json("reply_markup", "reply markup"), dest.chat.type)
    body = with_entities({}, "text", formatted, "entities")
    return deliver(world, dest, body, formatted=formatted, markup=markup).data


def send_photo(world: World, p: Params) -> Json:
    dest = target(world, p)
    formatted = format_text(world, p, "caption", "caption_entities", caption=True)
    markup = validate_markup(p.get_json("reply_markup", "reply markup"), dest.chat.type)
    sizes = photo_sizes(world, resolve_upload(p, p.raw("photo"), "photo"))
    body = with_entities({"photo": sizes}, "caption", formatted, "caption_entities")
    return deliver(world, dest, body, formatted=formatted, markup=markup).data


def send_document(world: World, p: Params) -> Json:
    dest = target(world, p)
    formatted = format_text(world, p, "caption", "caption_entities", caption=True)
    markup = validate_markup(p.get_json("reply_markup", "reply markup"), dest.chat.type)
    document = document_json(world, resolve_upload(p, p.raw("document"), "document"))
    body = with_entities({"document": document}, "caption", formatted, "caption_entities")
    return deliver(world, dest, body, formatted=formatted, markup=markup).data


def send_media_group(world: World, p: Params) -> list[Json]:
    dest = target(world, p)
    media = p.get_json("media", "media group")
    if not isinstance(media, list) or not 2 <= len(media) <= 10:
        raise bad_request("wrong number of messages in the album (2-10 expected)")
    items = [_album_item(world, p, item) for item in media]
    world.check_can_send(dest.chat)
    retry = world.limiter.check(dest.chat.id, dest.chat.is_group, len(items))
    if retry:
        raise errors.too_many_requests(retry)
    group_id = str(13_000_000_000_000_000 + world.next_update_id * 7 + len(world.messages))
    sent = []
    for body, formatted in items:
        body["media_group_id"] = group_id
        sent.append(deliver(world, dest, body, formatted=formatted).data)
    return sent


def _album_item(world: World, p: Params, item: Any) -> tuple[Json, Formatted]:
    if not isinstance(item, dict) or item.get("type") not in ("photo", "document", "video"):
        raise bad_request("can't parse InputMedia: unsupported media type")
    sub = Params(values={k: v for k, v in item.items() if k != "media"}, files={})
    formatted = format_text(world, sub, "caption", "caption_entities", caption=True)
    source = resolve_upload(p, item.get("media"), "\0")
    kind = item["type"]
    if kind == "photo":
        body: Json = {"photo": photo_sizes(world, source)}
    else:
        body = {kind: document_json(world, source, kind)}
    return with_entities(body, "caption", formatted, "caption_entities"), formatted


def send_chat_action(world: World, p: Params) -> bool:
    chat = world.chat(p.chat_id())
    if p.get_str("action") not in _CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    world.check_can_send(chat)
    return True


# -- editing ------------------------------------------------------------------------------


def _own_message(world: World, p: Params, missing: str) -> StoredMessage:
    if p.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    chat = world.chat(p.chat_id())
    message_id = p.get_int("message_id", required=True) or 0
    stored = world.message(chat.id, message_id)
    if stored is None:
        raise bad_request(missing)
    if not stored.from_bot:
        raise bad_request("message can't be edited")
    return stored


def _edit_markup(world: World, p: Params, stored: StoredMessage) -> Json | None:
    chat = world.chats[stored.chat_id]
    markup = validate_markup(p.get_json("reply_markup", "reply markup"), chat.type)
    if markup is not None and "inline_keyboard" not in markup:
        raise bad_request("inline keyboard expected")
    return markup


def _apply_edit(
    world: World,
    stored: StoredMessage,
    new: Json,
    markup: Json | None,
    formatted: Formatted | None = None,
) -> Json:
    if markup:
        new["reply_markup"] = markup
    else:
        new.pop("reply_markup", None)
    if _same(stored.data, new):
        raise bad_request(errors.NOT_MODIFIED)
    new["edit_date"] = world.now()
    stored.versions.append(stored.data)
    stored.sources.append(stored.source)
    stored.data = new
    stored.markup = markup
    if formatted is not None:
        stored.source, stored.parse_mode = formatted.source, formatted.parse_mode
    world.bot_event("edit", stored)
    return new


def _same(old: Json, new: Json) -> bool:
    keys = ("text", "entities", "caption", "caption_entities", "reply_markup")
    return all(old.get(k) == new.get(k) for k in keys)


def edit_message_text(world: World, p: Params) -> Json:
    stored = _own_message(world, p, errors.EDIT_NOT_FOUND)
    if "text" not in stored.data:
        raise bad_request("there is no text in the message to edit")
    formatted = format_text(world, p, "text", "entities")
    markup = _edit_markup(world, p, stored)
    new = {k: v for k, v in stored.data.items() if k not in ("entities", "edit_date")}
    with_entities(new, "text", formatted, "entities")
    return _apply_edit(world, stored, new, markup, formatted)


def edit_message_caption(world: World, p: Params) -> Json:
    stored = _own_message(world, p, errors.EDIT_NOT_FOUND)
    if "text" in stored.data:
        raise bad_request("there is no caption in the message to edit")
    formatted = format_text(world, p, "caption", "caption_entities", caption=True)
    markup = _edit_markup(world, p, stored)
    drop = ("caption", "caption_entities", "edit_date")
    new = {k: v for k, v in stored.data.items() if k not in drop}
    with_entities(new, "caption", formatted, "caption_entities")
    return _apply_edit(world, stored, new, markup, formatted)


def edit_message_reply_markup(world: World, p: Params) -> Json:
    stored = _own_message(world, p, errors.EDIT_NOT_FOUND)
    markup = _edit_markup(world, p, stored)
    new = {k: v for k, v in stored.data.items() if k != "edit_date"}
    return _apply_edit(world, stored, new, markup)


def delete_message(world: World, p: Params) -> bool:
    chat = world.chat(p.chat_id())
    stored = world.message(chat.id, p.get_int("message_id", required=True) or 0)
    if stored is None:
        raise bad_request("message to delete not found")
    admin = chat.bot_status in ("administrator", "creator")
    if not stored.from_bot and chat.is_group and not admin:
        raise bad_request("message can't be deleted")
    stored.deleted = True
    world.bot_event("delete", stored)
    return True


# -- callback queries ---------------------------------------------------------------------


def answer_callback_query(world: World, p: Params) -> bool:
    record = world.require_callback(p.get_str("callback_query_id", required=True) or "")
    text = p.get_str("text")
    if text is not None and utf16_len(text) > CALLBACK_TEXT_LIMIT:
        raise bad_request("MESSAGE_TOO_LONG")
    record.answered = True
    record.answer = {
        "text": text,
        "show_alert": p.get_bool("show_alert"),
        "url": p.get_str("url"),
        "cache_time": p.get_int("cache_time") or 0,
    }
    if text:
        user = world.users.get(record.user_id)
        alert = " (alert)" if record.answer["show_alert"] else ""
        world.transcript.append(
            f"bot ⤷ {user.display_name if user else record.user_id}{alert}: {text}"
        )
    world.notify()
    return True


# -- commands -----------------------------------------------------------------------------


def scope_key(scope: Any) -> str:
    if scope is None:
        return "default"
    if not isinstance(scope, dict):
        raise bad_request("can't parse BotCommandScope")
    kind = scope.get("type")
    if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
        return str(kind)
    if kind in ("chat", "chat_administrators"):
        return f"{kind}:{scope.get('chat_id')}"
    if kind == "chat_member":
        return f"chat_member:{scope.get('chat_id')}:{scope.get('user_id')}"
    raise bad_request("unsupported bot command scope type")


def _language(p: Params) -> str:
    code = p.get_str("language_code") or ""
    if code and not re.fullmatch(r"[a-z]{2}", code):
        raise bad_request("LANG_CODE_INVALID")
    return code


def set_my_commands(world: World, p: Params) -> bool:
    commands = p.get_json("commands", "BotCommand array") or []
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("too many commands")
    for command in commands:
        _check_command(command)
    key = (scope_key(p.get_json("scope", "BotCommandScope")), _language(p))
    clean = [{"command": c["command"], "description": c["description"]} for c in commands]
    if clean:
        world.commands[key] = clean
    else:
        world.commands.pop(key, None)
    return True


def _check_command(command: Any) -> None:
    if not isinstance(command, dict):
        raise bad_request("can't parse BotCommand")
    if not _COMMAND.match(str(command.get("command", ""))):
        raise bad_request("BOT_COMMAND_INVALID")
    description = command.get("description")
    if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
        raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")


def get_my_commands(world: World, p: Params) -> list[Json]:
    key = (scope_key(p.get_json("scope", "BotCommandScope")), _language(p))
    return list(world.commands.get(key, []))


def delete_my_commands(world: World, p: Params) -> bool:
    key = (scope_key(p.get_json("scope", "BotCommandScope")), _language(p))
    world.commands.pop(key, None)
    return True


# -- chats and members --------------------------------------------------------------------


def get_me(world: World, p: Params) -> Json:
    return {
        **world.bot.to_json(),
        "can_join_groups": True,
        "can_read_all_group_messages": not world.privacy,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def get_chat(world: World, p: Params) -> Json:
    chat = world.chat(p.chat_id())
    data: Json = {
        **chat.to_json(),
        "accent_color_id": chat.id % 7,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }
    if chat.is_group:
        data["permissions"] = {"can_send_messages": True}
    return data


def chat_member_json(world: World, chat: ChatState, user_id: int) -> Json:
    if user_id == world.bot.id:
        status = chat.bot_status if chat.is_group else "member"
        user = world.bot
    else:
        found = world.users.get(user_id)
        if found is None:
            raise bad_request("user not found")
        user = found
        status = "member" if chat.user is not None else chat.members.get(user_id, "left")
    return member_json(user.to_json(), status)


def member_json(user: Json, status: str) -> Json:
    data: Json = {"status": status, "user": user}
    if status == "creator":
        data["is_anonymous"] = False
    elif status == "administrator":
        data.update(
            {key: key != "is_anonymous" for key in _ADMIN_RIGHTS} | {"can_be_edited": False}
        )
    elif status == "kicked":
        data["until_date"] = 0
    return data


_ADMIN_RIGHTS = (
    "is_anonymous",
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_pin_messages",
    "can_manage_topics",
    "can_send_welcome_messages",
)


def get_chat_member(world: World, p: Params) -> Json:
    chat = world.chat(p.chat_id())
    return chat_member_json(world, chat, p.get_int("user_id", required=True) or 0)


def get_chat_administrators(world: World, p: Params) -> list[Json]:
    chat = world.chat(p.chat_id())
    admins = [uid for uid, status in chat.members.items() if status in ("creator", "administrator")]
    result = [chat_member_json(world, chat, uid) for uid in admins]
    if chat.bot_status == "administrator":
        result.append(chat_member_json(world, chat, world.bot.id))
    return result


def create_chat_invite_link(world: World, p: Params) -> Json:
    chat = world.chat(p.chat_id())
    if chat.bot_status not in ("administrator", "creator"):
        raise bad_request("not enough rights to manage chat invite link")
    link: Json = {
        "invite_link": f"https://t.me/+emu{abs(chat.id) % 10**8:08d}x{len(world.calls)}",
        "creator": world.bot.to_json(),
        "creates_join_request": p.get_bool("creates_join_request"),
        "is_primary": False,
        "is_revoked": False,
    }
    for key in ("name", "expire_date", "member_limit"):
        if p.has(key):
            link[key] = p.raw(key) if key == "name" else p.get_int(key)
    return link


def get_file(world: World, p: Params) -> Json:
    record = world.files.get(p.get_str("file_id", required=True) or "")
    if record is None:
        raise bad_request("invalid file_id")
    return record.file_json()


# -- webhook and session ------------------------------------------------------------------


# Telegram posts to these ports only, over HTTPS; the emulator also posts over plain HTTP
# to loopback (tests run the bot there, with no certificate).
WEBHOOK_PORTS = (443, 80, 88, 8443)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _check_webhook_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.hostname in LOOPBACK and parts.scheme in ("http", "https"):
        return
    if parts.scheme != "https":
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if (parts.port or 443) not in WEBHOOK_PORTS:
        raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")


def set_webhook(world: World, p: Params) -> bool:
    url = p.get_str("url") or ""
    if url:
        _check_webhook_url(url)
    if p.get_bool("drop_pending_updates"):
        world.updates.clear()
    allowed = p.get_json("allowed_updates", "allowed updates")
    if allowed:
        world.allowed_updates = frozenset(allowed)
    connections = p.get_int("max_connections") or 40
    if not 1 <= connections <= 100:
        raise bad_request("invalid max_connections specified")
    world.webhook = (
        {"url": url, "secret_token": p.get_str("secret_token"), "max_connections": connections}
        if url
        else {}
    )
    world.notify()
    return True


def delete_webhook(world: World, p: Params) -> bool:
    if p.get_bool("drop_pending_updates"):
        world.updates.clear()
    world.webhook = {}
    world.notify()
    return True


def get_webhook_info(world: World, p: Params) -> Json:
    info: Json = {
        "url": world.webhook.get("url", ""),
        "has_custom_certificate": False,
        "pending_update_count": len(world.updates),
    }
    for key in ("last_error_message", "last_error_date"):
        if world.webhook.get(key):
            info[key] = world.webhook[key]
    if world.webhook:
        info["max_connections"] = world.webhook.get("max_connections", 40)
        info["allowed_updates"] = sorted(world.allowed_updates)
    return info


def ok(world: World, p: Params) -> bool:
    return True


METHODS: dict[str, Handler] = {
    "getme": get_me,
    "sendmessage": send_message,
    "sendphoto": send_photo,
    "senddocument": send_document,
    "sendmediagroup": send_media_group,
    "sendchataction": send_chat_action,
    "editmessagetext": edit_message_text,
    "editmessagecaption": edit_message_caption,
    "editmessagereplymarkup": edit_message_reply_markup,
    "deletemessage": delete_message,
    "answercallbackquery": answer_callback_query,
    "setmycommands": set_my_commands,
    "getmycommands": get_my_commands,
    "deletemycommands": delete_my_commands,
    "getchat": get_chat,
    "getchatmember": get_chat_member,
    "getchatadministrators": get_chat_administrators,
    "createchatinvitelink": create_chat_invite_link,
    "getfile": get_file,
    "setwebhook": set_webhook,
    "deletewebhook": delete_webhook,
    "getwebhookinfo": get_webhook_info,
    "logout": ok,
    "close": ok,
}
