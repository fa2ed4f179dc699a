"""A bare aiogram 3 bot that makes the Bot API calls of PropDesk's intake and nothing else.

Run: ``python bench/calls_bot.py API_BASE TOKEN GROUP_ID SUBMIT_LABEL``.

bench/e2e.py (``--floor``) drives it like PropDesk: a report is answered with a draft that
carries a Submit button; Submit is answered with the toast (answerCallbackQuery), the draft
edited, a card posted to the team's group and a confirmation with a ticket number, the calls
PropDesk makes for one intake. No database, classifier or outbox: its rate is the most any
implementation of this flow on aiogram could reach on the same machine, so it tells how much
of the gap to the echo bot is the flow's own Bot API work.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from datetime import date

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

_numbers = itertools.count(1)


def submit_button(label: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=label, callback_data="submit")]]
    )


async def draft(message: Message, submit_label: str) -> None:
    await message.answer(f"Draft: {message.text}", reply_markup=submit_button(submit_label))


async def submit(query: CallbackQuery, bot: Bot, group_id: int) -> None:
    number = f"{date.today():%Y%m%d}-{next(_numbers) % 10_000:04d}"
    await query.answer("Submitted")
    if isinstance(query.message, Message):
        await query.message.edit_text(f"{query.message.text} (submitted)")
        await bot.send_message(group_id, f"Ticket {number}: {query.message.text}")
    await bot.send_message(query.from_user.id, f"Ticket {number} opened")


async def main(api_base: str, token: str, group_id: int, submit_label: str) -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base))
    bot = Bot(token, session=session)
    # (the label the residents of bench/e2e.py press, passed in: this bot imports nothing of ours)
    dispatcher = Dispatcher(group_id=group_id, submit_label=submit_label)
    dispatcher.message.register(draft)
    dispatcher.callback_query.register(submit, F.data == "submit")
    await dispatcher.start_polling(bot, handle_signals=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
