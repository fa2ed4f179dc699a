"""aiogram 3 adapter: Telegram updates -> Incoming, Outgoing -> Bot API calls. Translation only."""

from __future__ import annotations

import logging
from collections.abc import Coroutine, Sequence
from dataclasses import replace
from typing import Any, TypeVar, cast

# before aiogram itself: its ~400 models are then built on first use (about 100 MB less)
from bot.transports import aiogram_lazy  # noqa: F401  # isort: skip
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import AnswerCallbackQuery, EditMessageText, GetUpdates, SendMessage
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BufferedInputFile,
    FSInputFile,
    InlineKeyboardMarkup,
    InputMediaAudio,
    InputMediaDocument,
    InputMediaLivePhoto,
    InputMediaPhoto,
    InputMediaVideo,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from pydantic import ValidationError

from bot.messages import (
    ApiUnreachable,
    BadRequest,
    Button,
    CallbackAnswer,
    ChatMigrated,
    Core,
    Document,
    NotModified,
    OutcomeUnknown,
    Outgoing,
    PollingConflict,
    RateLimited,
    RecipientBlocked,
    Sent,
    TokenRefused,
    TransientError,
)
from bot.transports import common
from bot.transports.aiogram_session import LeanSession
from bot.transports.delivery import InFlight
from bot.transports.polling import Fetched, Poller
from bot.transports.webhook import WebhookRefused, WebhookServer, WebhookSpec, ordering_key

log = logging.getLogger(__name__)
T = TypeVar("T")
MediaItem = (
    InputMediaAudio | InputMediaDocument | InputMediaLivePhoto | InputMediaPhoto | InputMediaVideo
)


class AiogramSender:
    def __init__(self, bot: Bot, session: LeanSession) -> None:
        self.bot = bot
        self._session = session

    async def send(self, out: Outgoing) -> Sent:
        return await _translate_errors(self._send(out))

    async def answer(self, answer: CallbackAnswer) -> None:
        await _translate_errors(
            self._session.call_json(self.bot, AnswerCallbackQuery, _answer_params(answer))
        )

    async def _send(self, out: Outgoing) -> Sent:
        if out.edit_message_id is not None:
            await self._session.call_json(self.bot, EditMessageText, _edit_params(out))
            return Sent(out.edit_message_id)
        markup = _markup(out) if out.upload or out.document or out.photos else None
        if out.upload is not None:
            return await self._send_upload(out, markup)
        if out.document is not None:
            return await self._send_document(out, out.document, markup)
        if len(out.photos) == 1 and common.fits_caption(out.text):
            message = await self.bot.send_photo(
                out.chat_id,
                out.photos[0],
                caption=out.text,
                reply_markup=markup,
                message_thread_id=out.thread_id,
                reply_to_message_id=out.reply_to_message_id,
            )
            return Sent(message.message_id)
        if out.photos:
            await self._send_album(out)
        sent = await self._session.call_json(self.bot, SendMessage, _text_params(out))
        return Sent(int(sent["message_id"]))

    async def _send_upload(self, out: Outgoing, markup: Any) -> Sent:
        """A local image: captioned when the text fits, else followed by the text."""
        caption = out.text if common.fits_caption(out.text) else None
        message = await self.bot.send_photo(
            out.chat_id,
            FSInputFile(out.upload or ""),
            caption=caption,
            reply_markup=markup if caption is not None else None,
            message_thread_id=out.thread_id,
            reply_to_message_id=out.reply_to_message_id,
        )
        if caption is not None:
            return Sent(message.message_id)
        return await self._send(replace(out, upload=None))

    async def _send_document(self, out: Outgoing, document: Document, markup: Any) -> Sent:
        """A file made in memory: captioned when the text fits, else followed by the text."""
        caption = out.text if out.text and common.fits_caption(out.text) else None
        message = await self.bot.send_document(
            out.chat_id,
            BufferedInputFile(document.content, filename=document.filename),
            caption=caption,
            reply_markup=markup if caption is not None else None,
            message_thread_id=out.thread_id,
            reply_to_message_id=out.reply_to_message_id,
        )
        if caption is not None or not out.text:
            return Sent(message.message_id)
        return await self._send(replace(out, document=None))

    async def _send_album(self, out: Outgoing) -> None:
        for chunk in common.album_chunks(out.photos):
            if len(chunk) == 1:
                await self.bot.send_photo(out.chat_id, chunk[0], message_thread_id=out.thread_id)
                continue
            media: list[MediaItem] = [InputMediaPhoto(media=file_id) for file_id in chunk]
            await self.bot.send_media_group(out.chat_id, media, message_thread_id=out.thread_id)


async def _translate_errors(call: Coroutine[Any, Any, T]) -> T:
    try:
        return await call
    except TelegramRetryAfter as exc:
        raise RateLimited(float(exc.retry_after), exc.message) from exc
    except TelegramForbiddenError as exc:
        raise RecipientBlocked(exc.message) from exc
    except TelegramMigrateToChat as exc:
        raise ChatMigrated(exc.migrate_to_chat_id) from exc
    except TelegramBadRequest as exc:
        if common.is_not_modified(exc.message):
            raise NotModified(exc.message) from exc
        raise BadRequest(exc.message) from exc
    except (TelegramServerError, ClientDecodeError) as exc:  # 5xx, or a proxy's HTML page
        raise TransientError(str(exc)) from exc
    except TelegramEntityTooLarge as exc:  # (a kind of network error to aiogram) 413: for good
        raise BadRequest(exc.message) from exc
    except TelegramUnauthorizedError as exc:  # the token: kept until the operator fixes it
        raise TransientError(exc.message) from exc
    except TelegramNetworkError as exc:
        if common.was_not_sent(exc):
            raise TransientError(exc.message) from exc
        raise OutcomeUnknown(exc.message) from exc
    except TelegramAPIError as exc:  # 404, 409 and the rest: retrying will not help
        raise BadRequest(exc.message) from exc
    except ValidationError as exc:  # refused before sending: the message itself is wrong
        raise BadRequest(str(exc)) from exc


# The JSON of the desk's own calls, as aiogram would send them (tests compare them with
# aiogram's body for the same call): what aiogram leaves out when it is None is left out.
JSON = dict[str, Any]


def _text_params(out: Outgoing) -> JSON:
    params: JSON = {"chat_id": out.chat_id, "text": out.text, "parse_mode": ParseMode.HTML.value}
    if (markup := _markup_json(out)) is not None:
        params["reply_markup"] = markup
    if out.thread_id is not None:
        params["message_thread_id"] = out.thread_id
    if out.reply_to_message_id is not None:
        params["reply_to_message_id"] = out.reply_to_message_id
    return params


def _edit_params(out: Outgoing) -> JSON:
    params: JSON = {
        "chat_id": out.chat_id,
        "message_id": out.edit_message_id,
        "text": out.text,
        "parse_mode": ParseMode.HTML.value,
    }
    if out.buttons:  # an edit can carry inline buttons only
        params["reply_markup"] = _markup_json(out)
    return params


def _answer_params(answer: CallbackAnswer) -> JSON:
    params: JSON = {"callback_query_id": answer.callback_id, "show_alert": answer.alert}
    if answer.text:
        params["text"] = answer.text
    return params


def _markup_json(out: Outgoing) -> JSON | None:
    if out.buttons:
        return {"inline_keyboard": [[_button_json(b) for b in row] for row in out.buttons]}
    if out.reply_keyboard is not None:
        keyboard: list[list[JSON]] = []
        if out.reply_keyboard.contact_button:
            keyboard.append([{"text": out.reply_keyboard.contact_button, "request_contact": True}])
        keyboard += [[{"text": text} for text in row] for row in out.reply_keyboard.rows]
        return {
            "keyboard": keyboard,
            "resize_keyboard": True,
            "one_time_keyboard": out.reply_keyboard.one_time,
        }
    if out.remove_keyboard:
        return {"remove_keyboard": True}
    return None


def _button_json(button: Button) -> JSON:
    json: JSON = {"text": button.text}
    if button.data is not None:
        json["callback_data"] = button.data
    if button.url is not None:
        json["url"] = button.url
    return json


def _markup(
    out: Outgoing,
) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    """The markup as aiogram's model, for the calls still made through aiogram's methods."""
    markup = _markup_json(out)
    if markup is None:
        return None
    if out.buttons:
        return InlineKeyboardMarkup.model_validate(markup)
    if out.reply_keyboard is not None:
        return ReplyKeyboardMarkup.model_validate(markup)
    return ReplyKeyboardRemove.model_validate(markup)


# A long poll's answer may take this much longer than the poll itself before we give up.
POLL_MARGIN = 10
RawUpdate = dict[str, Any]


class _GetRawUpdates(GetUpdates):
    """getUpdates answered as plain JSON: while an early update is being handled every poll
    brings back the ones already taken (polling.py), and parsing each into aiogram's models
    again only to drop it cost more than the updates themselves under a crowd. An update is
    parsed once, when it is taken."""

    __returning__ = list[RawUpdate]  # type: ignore[assignment]


class AiogramTransport:
    """Our own long polling (an update is confirmed only once handled; one person's updates
    in order). An update is parsed into aiogram's `Update` and handed to the core directly:
    aiogram's dispatcher (routers, middlewares, FSM) would only route the two kinds we ask
    for to one handler, and resolving its middleware chain per update (plus an INFO log line
    per update under `-v`) cost about 4% of the bot's CPU per update (bench/e2e.py)."""

    name = "aiogram"

    def __init__(
        self, token: str, api_base: str, core: Core, webhook: WebhookSpec | None = None
    ) -> None:
        session = LeanSession(api=TelegramAPIServer.from_base(api_base))
        self.bot = Bot(
            token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
        )
        self.sender = AiogramSender(self.bot, session)
        self.core = core
        self._username = ""
        self.in_flight = InFlight()
        self.poller: Poller[RawUpdate] = Poller(self._fetch, self._feed_raw, tracker=self.in_flight)
        self.webhook = webhook
        self.server = (
            WebhookServer(webhook, self._feed_raw, tracker=self.in_flight) if webhook else None
        )

    async def identify(self) -> str:
        """getMe: the bot's username, or TokenRefused / ApiUnreachable."""
        try:
            me = await self.bot.get_me()
        except TelegramUnauthorizedError as exc:
            raise TokenRefused(exc.message) from exc
        except TelegramNetworkError as exc:
            raise ApiUnreachable(exc.message) from exc
        self._username = me.username or ""
        return self._username

    @property
    def polls(self) -> bool:
        """Long polling, which Telegram allows one process at a time, unless a webhook
        serves the updates (then every worker takes its share)."""
        return self.server is None

    def expect_former_poller(self) -> None:
        """Taking over polling from a leader that is still stopping (see Poller)."""
        self.poller.expect_former_poller()

    async def prepare(self) -> None:
        await self.identify()
        if self.server is not None and self.webhook is not None:
            await self.server.start()  # listening before Telegram is told where to post
            try:
                await self.bot.set_webhook(
                    url=self.webhook.url,
                    secret_token=self.webhook.secret,
                    max_connections=self.webhook.max_connections,
                    allowed_updates=list(common.ALLOWED_UPDATES),
                    drop_pending_updates=False,
                )
            except TelegramBadRequest as exc:
                raise WebhookRefused(exc.message) from exc
        else:
            await self._drop_leftover_webhook()
        await self._set_commands()

    async def _drop_leftover_webhook(self) -> None:
        """Polling while a webhook is set is refused (409) forever: delete it, keeping the
        updates Telegram holds."""
        info = await self.bot.get_webhook_info()
        if info.url:
            log.warning(common.LEFTOVER_WEBHOOK, info.url)
            await self.bot.delete_webhook(drop_pending_updates=False)

    async def _set_commands(self) -> None:
        for language, locale in common.COMMAND_LANGUAGES:
            for groups, scope in ((False, None), (True, BotCommandScopeAllGroupChats())):
                commands = [
                    BotCommand(command=c, description=d)
                    for c, d in self.core.bot_commands(locale, groups)
                ]
                await self.bot.set_my_commands(commands, scope=scope, language_code=language)

    async def _feed(self, update: Update) -> None:
        incoming = common.update_to_incoming(update, self._username)
        if incoming is None:
            return
        await self.in_flight.process(incoming, self.core, self.sender)

    async def _fetch(
        self, offset: int | None, timeout: float, limit: int
    ) -> Sequence[Fetched[RawUpdate]]:
        poll = _GetRawUpdates(
            offset=offset,
            limit=limit,
            timeout=int(timeout),
            allowed_updates=list(common.ALLOWED_UPDATES),
        )
        try:
            answer = await self.bot(poll, request_timeout=int(timeout) + POLL_MARGIN)
            updates = cast(list[RawUpdate], answer)  # plain JSON (see _GetRawUpdates)
        except TelegramConflictError as exc:
            raise PollingConflict(exc.message) from exc
        return [Fetched(int(u["update_id"]), ordering_key(u), u) for u in updates]

    async def _feed_raw(self, raw: RawUpdate) -> None:
        await self._feed(Update.model_validate(raw, context={"bot": self.bot}))

    async def run(self) -> None:
        if self.server is not None:
            await self.server.wait_stopped()
            return
        await self.poller.run()

    async def stop(self, timeout: float = 10.0) -> None:
        """Take no more updates; finish those taken within `timeout` s; confirm them."""
        if self.server is not None:
            await self.server.shutdown(timeout)
            return
        await self.poller.shutdown(timeout)

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()
        await self.bot.session.close()
