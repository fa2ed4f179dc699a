"""Commands that work in any state: /start, /help, /cancel, /lang, and unsupported input."""

from __future__ import annotations

from bot.handlers import flows, registration
from bot.handlers.base import Ctx
from bot.handlers.buttons import LANGUAGE, Language
from bot.handlers.flow import Press
from bot.i18n import Translator, translate
from bot.messages import Button

COMMANDS: tuple[str, ...] = ("start", "my", "cancel", "lang", "help", "mydata", "forgetme")


async def on_start(ctx: Ctx) -> None:
    if ctx.state.flow:
        ctx.say(ctx.t("common.resume"))
        await resume(ctx)
        return
    resident = await ctx.desk.resident(ctx.inc.user_id)
    if resident is None or not resident.registered:
        await registration.begin(ctx)
        return
    ctx.say(ctx.t("common.welcome_back", name=resident.name))


async def on_help(ctx: Ctx) -> None:
    ctx.say(ctx.t("common.help"))


async def on_cancel(ctx: Ctx) -> None:
    if not ctx.state.flow:
        ctx.say(ctx.t("common.nothing_to_cancel"), remove_keyboard=True)
        return
    registered = await _registered(ctx)
    ctx.finish()
    key = "common.cancelled" if registered else "common.cancelled_unregistered"
    ctx.say(ctx.t(key), remove_keyboard=True)


async def on_lang(ctx: Ctx) -> None:
    buttons = (
        tuple(
            Button(translate(code, "common.language_name"), LANGUAGE.encode(code))
            for code in Language
        ),
    )
    ctx.say(ctx.t("common.choose_language"), buttons)


async def on_lang_chosen(ctx: Ctx, press: Press) -> None:
    locale = str(press.action)
    await ctx.desk.set_locale(ctx.inc.user_id, locale)
    ctx.t = Translator(locale)
    ctx.toast()
    ctx.edit(ctx.t("common.language_set"))
    if ctx.state.flow:
        await resume(ctx)


async def on_unsupported(ctx: Ctx) -> None:
    """Stickers, voice, files, locations...: a polite hint, and the flow stays put."""
    ctx.say(ctx.t("common.unsupported", kind=ctx.t(f"kind.{ctx.inc.unsupported or 'other'}")))
    if ctx.state.flow:
        await resume(ctx)


async def on_unknown_command(ctx: Ctx) -> None:
    ctx.say(ctx.t("common.unknown_command"))


async def on_empty(ctx: Ctx) -> None:
    ctx.say(ctx.t("common.empty_text"))
    if ctx.state.flow:
        await resume(ctx)


async def resume(ctx: Ctx) -> None:
    """Ask again what the current step needs (after a restart, /start or bad input)."""
    await flows.prompt(ctx)


async def _registered(ctx: Ctx) -> bool:
    resident = await ctx.desk.resident(ctx.inc.user_id)
    return bool(resident and resident.registered)
