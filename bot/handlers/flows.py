"""Every declared flow and button family, and the one place that asks a step again."""

from __future__ import annotations

import logging

from bot.handlers import (
    announcements,
    buttons,
    duty,
    faq_drafts,
    feedback,
    followup,
    frontdesk,
    my_tickets,
    privacy,
    registration,
    reporting,
    staff_cards,
    visitors,
)
from bot.handlers.base import Ctx
from bot.handlers.flow import CallbackCodec, Flow, Handler, StepSpec

log = logging.getLogger(__name__)

ALL_FLOWS: tuple[Flow, ...] = (
    registration.FLOW,
    reporting.FLOW,
    my_tickets.FLOW,
    followup.FLOW,
    feedback.FLOW,
    feedback.DONE_FLOW,
    staff_cards.FLOW,
    feedback.VISIT_FLOW,
    privacy.FLOW,
    frontdesk.FLOW,
    visitors.FLOW,
    announcements.FLOW,
    faq_drafts.FLOW,
)
FLOWS: dict[str, Flow] = {flow.name: flow for flow in ALL_FLOWS}

ALL_CODECS: tuple[CallbackCodec, ...] = (
    registration.BUTTONS,
    reporting.BUTTONS,
    my_tickets.BUTTONS,
    buttons.RESOLVED,
    buttons.CARD,
    buttons.RATING,
    buttons.REASON,
    buttons.SURVEY,
    buttons.FEEDBACK,
    buttons.VISIT,
    buttons.LANGUAGE,
    privacy.BUTTONS,
    duty.BUTTONS,
    frontdesk.BUTTONS,
    frontdesk.PHONE_BUTTONS,
    visitors.FORM,
    visitors.GATE,
    visitors.HOST,
    announcements.BUTTONS,
    announcements.MANAGE,
    faq_drafts.FORM,
    faq_drafts.REVIEW,
    buttons.INCIDENT,
)


async def prompt(ctx: Ctx) -> None:
    """Ask again what the current step needs (after /start, /lang or bad input)."""
    flow = FLOWS.get(ctx.state.flow)
    spec = flow.spec(ctx.state.step) if flow is not None else None
    if spec is not None and spec.prompt is not None:
        await spec.prompt(ctx)


async def recover_unknown_step(ctx: Ctx) -> bool:
    """A stored step no table knows (renamed without `moved`, or removed): never leave the
    person stuck there. Renamed steps are brought up to date; unknown ones start over.

    Returns True when the event was spent on starting over.
    """
    state = ctx.state
    if not state.flow:
        return False
    flow = FLOWS.get(state.flow)
    step = flow.resolve(state.step) if flow is not None else None
    if flow is not None and step is not None:
        state.step = str(step.value)  # a moved step is stored under its new name from now on
        return False
    log.warning("dialog of %s on unknown step %s.%s: starting over", ctx.inc.user_id, *_key(ctx))
    ctx.finish()
    ctx.state.data.update({k: v for k, v in state.data.items() if k == "draft"})
    if ctx.inc.is_callback:
        ctx.toast(ctx.t("common.flow_restarted"), alert=True)
    else:
        ctx.say(ctx.t("common.flow_restarted"))
    if flow is not None and flow.restart is not None:
        await flow.restart(ctx)
    return True


def _key(ctx: Ctx) -> tuple[str, str]:
    return ctx.state.flow, ctx.state.step


def describe() -> str:
    """docs/flows.md: every flow, step and button family (a test keeps the file current)."""
    lines = [
        "# Flows, steps and buttons",
        "",
        "Generated from the tables in `bot/handlers` by `python -m bot.handlers.flows`;",
        "a test fails when this file and the tables disagree.",
        "",
        "## Flows",
        "",
        "| flow | chat | step | takes | prompt | what it is |",
        "|---|---|---|---|---|---|",
    ]
    for flow in ALL_FLOWS:
        for index, (step, spec) in enumerate(flow.table.items()):
            what = flow.summary if index == 0 else ""
            lines.append(
                f"| `{flow.name}` | {flow.chat} | `{step.value}` | {_takes(spec)} "
                f"| {_name(spec.prompt)} | {what} |"
            )
        for old, new in flow.moved.items():
            lines.append(f"| `{flow.name}` | | `{old!s}` (old) | → `{new.value}` | | renamed |")
    lines += [
        "",
        "## Buttons (callback data)",
        "",
        "`prefix[:subject][:action][:argument]`, at most 64 bytes.",
        "",
        "| prefix | subject | actions | what it is |",
        "|---|---|---|---|",
    ]
    for codec in ALL_CODECS:
        actions = ", ".join(f"`{a.value}` {a.name.lower()}" for a in codec.actions)
        lines.append(f"| `{codec.prefix}` | {codec.subject or ''} | {actions} | {codec.summary} |")
    return "\n".join(lines) + "\n"


def _takes(spec: StepSpec) -> str:
    if spec.free_text:
        return "text starts a report"
    kinds = ["text"] if spec.on_text is not None else []
    kinds += ["photos"] if spec.takes_photos else []
    kinds += ["contact"] if spec.takes_contact else []
    kinds += ["side step (an emergency is reported; lapses)"] if spec.side_step else []
    return ", ".join(kinds) or "buttons"


def _name(handler: Handler | None) -> str:
    return f"`{handler.__name__}`" if handler is not None else ""


if __name__ == "__main__":
    print(describe(), end="")
