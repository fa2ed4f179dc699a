"""A local Telegram Bot API emulator and its test driver (see README.md in this folder)."""

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
