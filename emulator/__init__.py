"""A local Telegram Bot API emulator and its test driver.

``BotAPIEmulator`` serves the Bot API on loopback (``await emu.start()``; point aiogram at
``emu.base_url``, python-telegram-bot at ``emu.api_url`` / ``emu.file_url``) and hands out
``SimUser`` / ``SimGroup`` handles that send as people do (``send_text``, ``send_contact``,
``send_photo``, ``press`` ...). What the bot sent comes back as ``BotMessage`` snapshots
(``emu.bot_messages(chat)``, ``await emu.wait_for_bot_message(chat)``); ``emu.transcript()``
gives both sides as readable lines. Refusals (400/403/409/429) use Telegram's wording;
``emu.inject`` / ``emu.outage`` / ``emu.random_faults`` bring server errors, dropped
connections and slow answers, counted in ``emu.stats``.
See README.md in this folder for the full API and the documented differences from Telegram.
"""

from .driver import BotAPIEmulator, CallbackPress, SimGroup, SimUser, text_length
from .errors import ApiError
from .faults import NGINX_502_HTML, TRANSIENT_KINDS, Fault, FaultKind
from .limits import LENIENT_LIMITS, ManualClock, RateLimitConfig
from .server import Stats
from .views import BotMessage, UserMessage

__all__ = [
    "LENIENT_LIMITS",
    "NGINX_502_HTML",
    "TRANSIENT_KINDS",
    "ApiError",
    "BotAPIEmulator",
    "BotMessage",
    "CallbackPress",
    "Fault",
    "FaultKind",
    "ManualClock",
    "RateLimitConfig",
    "SimGroup",
    "SimUser",
    "Stats",
    "UserMessage",
    "text_length",
]
