"""python-telegram-bot 22 adapter: Telegram updates -> Incoming, Outgoing -> Bot API calls.

Translation only; dialog state stays in our database (no ConversationHandler, no pickle).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Coroutine, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any, TypeVar, cast

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest as PtbBadRequest
from telegram.error import ChatMigrated as PtbChatMigrated
from telegram.error import Conflict as PtbConflict
from telegram.error import (
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    Defaults,
    ExtBot,
    TypeHandler,
)
from telegram.request import HTTPXRequest

from bot.messages import (
    ApiUnreachable,
    BadRequest,
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
from bot.transports.delivery import InFlight
from bot.transports.polling import Fetched, Poller
from bot.transports.webhook import WebhookRefused, WebhookServer, WebhookSpec, ordering_key

log = logging.getLogger(__name__)

# HTTP answers PTB reports as network errors that no retry will change (413: too large).
PERMANENT_CODES = (413,)

# Opt in to PTB's coming timedelta `retry_after` (we read both forms) and skip the warning.
os.environ.setdefault("PTB_TIMEDELTA", "1")

T = TypeVar("T")
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


class PtbSender:
    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        self.application = application

    @property
    def bot(self) -> Any:
        return self.application.bot

    async def send(self, out: Outgoing) -> Sent:
        return await _translate_errors(self._send(out))

    async def answer(self, answer: CallbackAnswer) -> None:
        await _translate_errors(
            self.bot.answer_callback_query(
                answer.callback_id, text=answer.text or None, show_alert=answer.alert
            )
        )

    async def _send(self, out: Outgoing) -> Sent:
        markup = _markup(out)
        reply_to = ReplyParameters(out.reply_to_message_id) if out.reply_to_message_id else None
        if out.edit_message_id is not None:
            inline = markup if isinstance(markup, InlineKeyboardMarkup) else None
            await self.bot.edit_message_text(
                out.text, chat_id=out.chat_id, message_id=out.edit_message_id, reply_markup=inline
            )
            return Sent(out.edit_message_id)
        if out.upload is not None:
            return await self._send_upload(out, markup, reply_to)
        if out.document is not None:
            return await self._send_document(out, out.document, markup, reply_to)
        if len(out.photos) == 1 and common.fits_caption(out.text):
            message = await self.bot.send_photo(
                out.chat_id,
                out.photos[0],
                caption=out.text,
                reply_markup=markup,
                message_thread_id=out.thread_id,
                reply_parameters=reply_to,
            )
            return Sent(message.message_id)
        if out.photos:
            await self._send_album(out)
        message = await self.bot.send_message(
            out.chat_id,
            out.text,
            reply_markup=markup,
            message_thread_id=out.thread_id,
            reply_parameters=reply_to,
        )
        return Sent(message.message_id)

    async def _send_upload(self, out: Outgoing, markup: Any, reply_to: Any) -> Sent:
        """A local image: captioned when the text fits, else followed by the text."""
        caption = out.text if common.fits_caption(out.text) else None
        with open(out.upload or "", "rb") as image:
            message = await self.bot.send_photo(
                out.chat_id,
                image,
                caption=caption,
                reply_markup=markup if caption is not None else None,
                message_thread_id=out.thread_id,
                reply_parameters=reply_to,
            )
        if caption is not None:
            return Sent(message.message_id)
        return await self._send(replace(out, upload=None))

    async def _send_document(
        self, out: Outgoing, document: Document, markup: Any, reply_to: Any
    ) -> Sent:
        """A file made in memory: captioned when the text fits, else followed by the text."""
        caption = out.text if out.text and common.fits_caption(out.text) else None
        message = await self.bot.send_document(
            out.chat_id,
            document.content,
            filename=document.filename,
            caption=caption,
            reply_markup=markup if caption is not None else None,
            message_thread_id=out.thread_id,
            reply_parameters=reply_to,
        )
        if caption is not None or not out.text:
            return Sent(message.message_id)
        return await self._send(replace(out, document=None))

    async def _send_album(self, out: Outgoing) -> None:
        for chunk in common.album_chunks(out.photos):
            if len(chunk) == 1:
                await self.bot.send_photo(out.chat_id, chunk[0], message_thread_id=out.thread_id)
                continue
            media = [InputMediaPhoto(file_id) for file_id in chunk]
            await self.bot.send_media_group(out.chat_id, media, message_thread_id=out.thread_id)


async def _translate_errors(call: Coroutine[Any, Any, T]) -> T:
    try:
        return await call
    except RetryAfter as exc:
        wait = exc.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        raise RateLimited(seconds, exc.message) from exc
    except Forbidden as exc:
        raise RecipientBlocked(exc.message) from exc
    except PtbChatMigrated as exc:
        raise ChatMigrated(exc.new_chat_id) from exc
    except PtbBadRequest as exc:
        if common.is_not_modified(exc.message):
            raise NotModified(exc.message) from exc
        raise BadRequest(exc.message) from exc
    except TimedOut as exc:  # PTB's pool timeout says the request never left
        if common.was_not_sent(exc) or "not* sent" in exc.message:
            raise TransientError(exc.message) from exc
        raise OutcomeUnknown(exc.message) from exc
    except NetworkError as exc:  # 5xx and proxies' pages come here too, answered in full
        if exc.message.startswith("httpx.") and not common.was_not_sent(exc):
            raise OutcomeUnknown(exc.message) from exc
        if any(f"({code})" in exc.message for code in PERMANENT_CODES):
            raise BadRequest(exc.message) from exc
        raise TransientError(exc.message) from exc
    except InvalidToken as exc:  # the token: kept until the operator fixes it
        raise TransientError(exc.message) from exc
    except TelegramError as exc:  # 404, 409 and the rest: retrying will not help
        raise BadRequest(exc.message) from exc


def _markup(out: Outgoing) -> Markup | None:
    if out.buttons:
        rows = [
            [InlineKeyboardButton(b.text, callback_data=b.data, url=b.url) for b in row]
            for row in out.buttons
        ]
        return InlineKeyboardMarkup(rows)
    if out.reply_keyboard is not None:
        keyboard: list[list[KeyboardButton]] = []
        if out.reply_keyboard.contact_button:
            keyboard.append(
                [KeyboardButton(out.reply_keyboard.contact_button, request_contact=True)]
            )
        keyboard += [[KeyboardButton(text) for text in row] for row in out.reply_keyboard.rows]
        return ReplyKeyboardMarkup(
            keyboard, resize_keyboard=True, one_time_keyboard=out.reply_keyboard.one_time
        )
    if out.remove_keyboard:
        return ReplyKeyboardRemove()
    return None


RawUpdate = dict[str, Any]


class _RawPollingBot(ExtBot[None]):
    """PTB's bot, with getUpdates answered as plain JSON: while an early update is being
    handled every poll brings back the ones already taken (polling.py), and parsing each
    into PTB's objects again only to drop it cost more than the updates themselves under a
    crowd. An update is parsed once, when it is taken (as the aiogram adapter does)."""

    async def get_raw_updates(
        self,
        *,
        offset: int | None,
        limit: int,
        timeout: int,
        allowed_updates: list[str],
        read_timeout: float,
    ) -> list[RawUpdate]:
        """`Bot.get_updates`' request (the same parameters, its own connection pool)
        without the parse."""
        data = {
            "timeout": timeout,
            "offset": offset,
            "limit": limit,
            "allowed_updates": allowed_updates,
        }
        answer = await self._post("getUpdates", data, read_timeout=read_timeout)
        return cast(list[RawUpdate], answer)


class PtbTransport:
    """Our own long polling (PTB's Updater confirms a batch as soon as it is fetched): an
    update is confirmed only once handled, one person's updates in order; each update goes
    through the application's handlers with `process_update`."""

    name = "ptb"

    def __init__(
        self, token: str, api_base: str, core: Core, webhook: WebhookSpec | None = None
    ) -> None:
        self.core = core
        # what ApplicationBuilder would make, with getUpdates' request kept for its timeout
        self._polls = HTTPXRequest(connection_pool_size=1)
        bot = _RawPollingBot(
            token,
            base_url=f"{api_base}/bot",
            base_file_url=f"{api_base}/file/bot",
            request=HTTPXRequest(connection_pool_size=256),
            get_updates_request=self._polls,
            defaults=Defaults(parse_mode=ParseMode.HTML),
        )
        self.application = ApplicationBuilder().bot(bot).updater(None).build()
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.sender = PtbSender(self.application)
        self.in_flight = InFlight()
        self.poller: Poller[RawUpdate] = Poller(self._fetch, self._feed_raw, tracker=self.in_flight)
        self.webhook = webhook
        self.server = (
            WebhookServer(webhook, self._feed_raw, tracker=self.in_flight) if webhook else None
        )

    async def identify(self) -> str:
        """getMe (PTB's initialize): the bot's username, or TokenRefused / ApiUnreachable."""
        try:
            await self.application.initialize()  # calls getMe
        except InvalidToken as exc:
            raise TokenRefused("Unauthorized") from exc  # (PTB's message holds the token)
        except NetworkError as exc:
            raise ApiUnreachable(exc.message) from exc
        return self.application.bot.username or ""

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
                await self.application.bot.set_webhook(
                    url=self.webhook.url,
                    secret_token=self.webhook.secret,
                    max_connections=self.webhook.max_connections,
                    allowed_updates=list(common.ALLOWED_UPDATES),
                    drop_pending_updates=False,
                )
            except PtbBadRequest as exc:
                raise WebhookRefused(exc.message) from exc
        else:
            await self._drop_leftover_webhook()
        await self._set_commands()

    async def _drop_leftover_webhook(self) -> None:
        """As aiogram's adapter: a leftover webhook is deleted, pending updates kept."""
        info = await self.application.bot.get_webhook_info()
        if info.url:
            log.warning(common.LEFTOVER_WEBHOOK, info.url)
            await self.application.bot.delete_webhook(drop_pending_updates=False)

    async def _set_commands(self) -> None:
        for language, locale in common.COMMAND_LANGUAGES:
            for groups, scope in ((False, None), (True, BotCommandScopeAllGroupChats())):
                commands = [BotCommand(c, d) for c, d in self.core.bot_commands(locale, groups)]
                await self.application.bot.set_my_commands(
                    commands, scope=scope, language_code=language
                )

    async def _on_update(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
            return
        incoming = common.update_to_incoming(update, self.application.bot.username or "")
        if incoming is None:
            return
        await self.in_flight.process(incoming, self.core, self.sender)

    async def _fetch(
        self, offset: int | None, timeout: float, limit: int
    ) -> Sequence[Fetched[RawUpdate]]:
        bot = cast(_RawPollingBot, self.application.bot)
        try:
            updates = await bot.get_raw_updates(
                offset=offset,
                limit=limit,
                timeout=int(timeout),
                allowed_updates=list(common.ALLOWED_UPDATES),
                # as PTB's get_updates: the long poll's timeout on top of the request's own
                read_timeout=(self._polls.read_timeout or 0) + int(timeout),
            )
        except PtbConflict as exc:
            raise PollingConflict(exc.message) from exc
        return [Fetched(int(u["update_id"]), ordering_key(u), u) for u in updates]

    async def _feed(self, update: Update) -> None:
        await self.application.process_update(update)

    async def _feed_raw(self, raw: RawUpdate) -> None:
        update = Update.de_json(raw, self.application.bot)
        if update is not None:
            await self._feed(update)

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
        with contextlib.suppress(RuntimeError):
            await self.application.shutdown()
