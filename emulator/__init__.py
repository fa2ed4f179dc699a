"""A local Telegram Bot API emulator and its test driver.

``BotAPIEmulator`` serves the Bot API on loopback (``await emu.start()``; point aiogram at
``emu.base_url``, python-telegram-bot at ``emu.api_url`` / ``emu.file_url``) and hands out
``SimUser`` / ``SimGroup`` handles that send as people do (``send_text``, ``send_contact``,
``send_photo``, ``press`` ...). What the bot sent comes back as ``BotMessage`` snapshots
(``emu.bot_messages(chat)``, ``await emu.wait_for_bot_message(chat)``); ``emu.transcript()``
gives both sides as readable lines. Refusals (400/403/409/429) use Telegram's wording.
See README.md in this folder for the full API and the documented differences from Telegram.
"""

from .driver import BotAPIEmulator, CallbackPress, SimGroup, SimUser, text_length
from .errors import ApiError
from .limits import ManualClock, RateLimitConfig
from .views import BotMessage, UserMessage

__all__ = [
    "ApiError",
    "BotAPIEmulator",
    "BotMessage",
    "CallbackPress",
    "ManualClock",
    "RateLimitConfig",
    "SimGroup",
    "SimUser",
    "UserMessage",
    "text_length",
]
