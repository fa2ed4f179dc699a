"""Which step function handles an event: commands first, then buttons, then the current step."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.handlers import common, my_tickets, registration, reporting
from bot.handlers.base import Ctx
from bot.handlers.inputs import clean_text

CallbackHandler = Callable[[Ctx, list[str]], Awaitable[None]]

COMMANDS: dict[str, Callable[[Ctx], Awaitable[None]]] = {
    "start": common.on_start,
    "help": common.on_help,
    "cancel": common.on_cancel,
    "lang": common.on_lang,
    "my": my_tickets.show_list,
}

CALLBACKS: dict[str, CallbackHandler] = {
    "rg": registration.on_callback,
    "rp": reporting.on_callback,
    "my": my_tickets.on_callback,
    "lang": common.on_lang_chosen,
}

MESSAGE_STEPS: dict[str, Callable[[Ctx], Awaitable[None]]] = {
    registration.FLOW: registration.on_message,
    reporting.FLOW: reporting.on_message,
}


async def route(ctx: Ctx) -> None:
    if not ctx.inc.is_private:
        return  # group chats belong to staff flows; residents talk in private
    if ctx.inc.is_callback:
        await _route_callback(ctx)
    elif ctx.inc.command is not None:
        await COMMANDS.get(ctx.inc.command, common.on_unknown_command)(ctx)
    else:
        await _route_message(ctx)


async def _route_callback(ctx: Ctx) -> None:
    namespace, _, rest = (ctx.inc.callback_data or "").partition(":")
    handler = CALLBACKS.get(namespace)
    if handler is None:
        ctx.toast(ctx.t("common.unknown_button"))
        return
    await handler(ctx, rest.split(":") if rest else [])
    ctx.toast()  # every press is answered, or the client spins


async def _route_message(ctx: Ctx) -> None:
    inc = ctx.inc
    has_text = bool(clean_text(inc.text))
    if inc.unsupported is not None:
        await common.on_unsupported(ctx)
        return
    if not has_text and not inc.photos and inc.contact is None:
        await common.on_empty(ctx)
        return
    step = MESSAGE_STEPS.get(ctx.state.flow)
    if step is not None:
        if inc.contact is not None and ctx.state.key != "reg.phone":
            await common.on_unsupported(ctx)
            return
        await step(ctx)
        return
    await _outside_flow(ctx)


async def _outside_flow(ctx: Ctx) -> None:
    resident = await ctx.desk.resident(ctx.inc.user_id)
    if resident is None or not resident.registered:
        # What a newcomer typed first is kept and becomes the report after registration.
        await registration.begin(ctx)
        if ctx.inc.contact is None:
            text = clean_text(ctx.inc.text)
            ctx.state.data["draft"] = {"description": text, "photos": list(ctx.inc.photos)}
        return
    if ctx.inc.contact is not None:
        ctx.say(ctx.t("common.contact_outside_flow"))
        return
    await reporting.start(ctx, resident)
