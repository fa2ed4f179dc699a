"""Commands that work in any state: /start, /help, /cancel, /lang, and unsupported input."""

from __future__ import annotations

from bot.handlers import followup, my_tickets, registration, reporting
from bot.handlers.base import Ctx
from bot.i18n import LOCALES, Translator
from bot.messages import Button

COMMANDS: tuple[str, ...] = ("start", "my", "cancel", "lang", "help")


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
    buttons = ((Button("中文", "lang:zh-CN"), Button("English", "lang:en")),)
    ctx.say(ctx.t("common.choose_language"), buttons)


async def on_lang_chosen(ctx: Ctx, parts: list[str]) -> None:
    if len(parts) != 1 or parts[0] not in LOCALES:
        ctx.toast(ctx.t("common.unknown_button"))
        return
    await ctx.desk.set_locale(ctx.inc.user_id, parts[0])
    ctx.t = Translator(parts[0])
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
    if ctx.state.flow == registration.FLOW:
        await registration.prompt(ctx)
    elif ctx.state.flow == reporting.FLOW:
        await reporting.prompt(ctx)
    elif ctx.state.flow == my_tickets.ADD_FLOW:
        await my_tickets.prompt_info(ctx)
    elif ctx.state.flow == followup.FLOW:
        await followup.prompt(ctx)


async def _registered(ctx: Ctx) -> bool:
    resident = await ctx.desk.resident(ctx.inc.user_id)
    return bool(resident and resident.registered)
