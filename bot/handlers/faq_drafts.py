"""FAQ entries from resolved inquiries (问答草稿).

The card of a resolved or closed inquiry has [📝 Add to FAQ]. A staff member of the ticket's
team (or a manager) presses it; the bot asks them privately for the answer (the question is
the ticket's description, which they may reword), then for optional keywords, and keeps a
draft. Managers list drafts with `/faqdrafts` and approve or reject each with its buttons;
an approved draft answers residents at once.
"""

from __future__ import annotations

from enum import StrEnum

from bot.handlers.base import Ctx
from bot.handlers.cards import group_translator, quoted
from bot.handlers.flow import CallbackCodec, Flow, FlowStep, Press, StepSpec
from bot.handlers.inputs import clean_text
from bot.i18n import Translator
from bot.messages import Button, Keyboard, Outgoing
from bot.services.dispatch import Dispatch
from bot.services.faq_drafts import DraftRefused, FaqDrafts, entry_id, split_keywords
from bot.services.staff import Actor, NotAllowed, StaffService
from storage.models import FaqDraft, Ticket

# What a draft's message shows at most: with the heading, keywords (10 x 20), the author
# and a reviewer's verdict it stays well under Telegram's 4,096 characters.
SHOWN_QUESTION_LIMIT = 500
SHOWN_ANSWER_LIMIT = 2500


class Step(FlowStep):
    __flow__ = "faqdraft"
    ANSWER = "answer"
    QUESTION = "question"
    KEYWORDS = "keywords"


class FormButton(StrEnum):
    EDIT_QUESTION = "q"
    SKIP = "skip"
    CANCEL = "x"


FORM = CallbackCodec(
    "fq",
    FormButton,
    subject="id",
    summary="writing an FAQ draft privately: reword the question, skip keywords, cancel; "
    "subject: the draft",
)


class ReviewButton(StrEnum):
    APPROVE = "ok"
    REJECT = "no"


REVIEW = CallbackCodec(
    "fa",
    ReviewButton,
    subject="id",
    summary="a manager approves or rejects an FAQ draft (/faqdrafts); subject: the draft",
)


# the card's button -----------------------------------------------------------------------
async def on_card_button(ctx: Ctx, _: Dispatch, actor: Actor, ticket: Ticket, __: str) -> None:
    """[Add to FAQ] on an inquiry's card: the writing goes on in the presser's private chat."""
    drafts = FaqDrafts(ctx.desk)
    try:
        # Refused while another dialog is open privately: it would be overwritten
        # (a /new half done would take the caller's phone as the FAQ answer).
        draft = await drafts.begin(actor, ticket, Step.flow_name())
    except DraftRefused as refused:
        ctx.toast(_refusal(ctx.t, refused), alert=True)
        return
    data = {"draft": draft.id, "number": ticket.number}
    if ctx.inc.is_private:  # a card in the private chat (the person on duty's)
        ctx.toast()
        ctx.goto(Step.ANSWER, **data)
        ctx.say(*_answer_prompt(ctx.t, draft, ticket.number))
        return
    await drafts.open_private_dialog(actor.telegram_id, Step.flow_name(), Step.ANSWER, data)
    t = group_translator(ctx.desk)
    text, buttons = _answer_prompt(t, draft, ticket.number)
    unreachable = Outgoing(
        chat_id=ctx.inc.chat_id,
        text=t("faq_draft.unreachable", name=actor.name),
        thread_id=ctx.inc.thread_id,
    )
    await ctx.desk.enqueue(
        f"faqdraft:{draft.id}:ask:{ctx.inc.update_id}",
        Outgoing(chat_id=actor.telegram_id, text=text, buttons=buttons),
        fallback=unreachable,
    )
    ctx.toast(ctx.t("faq_draft.sent_private"), alert=True)


# the private dialog ----------------------------------------------------------------------
async def ask_answer(ctx: Ctx) -> None:
    draft = await _draft(ctx)
    if draft is not None:
        ctx.say(*_answer_prompt(ctx.t, draft, str(ctx.state.data.get("number", "-"))))


async def ask_question(ctx: Ctx) -> None:
    ctx.say(ctx.t("faq_draft.ask_question"), _cancel_row(ctx))


async def ask_keywords(ctx: Ctx) -> None:
    draft_id = ctx.state.data.get("draft", 0)
    skip = Button(ctx.t("faq_draft.btn_skip"), FORM.encode(FormButton.SKIP, draft_id))
    ctx.say(ctx.t("faq_draft.ask_keywords"), ((skip,), *_cancel_row(ctx)))


async def on_answer(ctx: Ctx) -> None:
    text = clean_text(ctx.inc.text)
    if not text:
        ctx.say(ctx.t("faq_draft.invalid_text"))
        return
    if await _draft(ctx) is None:
        return
    ctx.state.data["answer"] = text
    ctx.goto(Step.KEYWORDS)
    await ask_keywords(ctx)


async def on_question(ctx: Ctx) -> None:
    text = clean_text(ctx.inc.text)
    if not text:
        ctx.say(ctx.t("faq_draft.invalid_text"))
        return
    draft = await _draft(ctx)
    if draft is None:
        return
    await FaqDrafts(ctx.desk).set_question(draft, text)
    ctx.goto(Step.ANSWER)
    await ask_answer(ctx)


async def on_keywords(ctx: Ctx) -> None:
    await _submit(ctx, split_keywords(clean_text(ctx.inc.text)))


async def on_form_button(ctx: Ctx, press: Press) -> None:
    if ctx.state.flow != Step.flow_name() or ctx.state.data.get("draft") != press.subject_id:
        ctx.toast(ctx.t("common.stale_button"))
        return
    ctx.toast()
    if press.action == FormButton.CANCEL:
        draft = await _draft(ctx)
        if draft is not None:
            await FaqDrafts(ctx.desk).abandon(draft)
        ctx.finish()
        ctx.edit(ctx.t("faq_draft.cancelled"))
    elif press.action == FormButton.EDIT_QUESTION and ctx.state.step == Step.ANSWER:
        ctx.goto(Step.QUESTION)
        await ask_question(ctx)
    elif press.action == FormButton.SKIP and ctx.state.step == Step.KEYWORDS:
        await _submit(ctx, [])
    else:
        ctx.toast(ctx.t("common.stale_button"))


async def _submit(ctx: Ctx, keywords: list[str]) -> None:
    draft = await _draft(ctx)
    if draft is None:
        return
    drafts = FaqDrafts(ctx.desk)
    try:
        await drafts.submit(draft, str(ctx.state.data.get("answer", "")), keywords)
    except DraftRefused as refused:
        ctx.finish()
        ctx.say(_refusal(ctx.t, refused))
        return
    ctx.finish()
    ctx.say(ctx.t("faq_draft.submitted", id=draft.id))
    bound = await StaffService(ctx.desk).team_chat(draft.property_id, "managers")
    if bound is not None and bound.chat_id is not None:
        g = group_translator(ctx.desk)
        told = Outgoing(
            chat_id=bound.chat_id,
            text=g("faq_draft.managers_new", **_fields(g, draft, ctx.state.data)),
            thread_id=bound.thread_id,
        )
        await ctx.desk.enqueue(f"faqdraft:{draft.id}:new", told)


async def _draft(ctx: Ctx) -> FaqDraft | None:
    """The draft this dialog writes; gone (submitted elsewhere, deleted): the dialog ends."""
    draft = await FaqDrafts(ctx.desk).writing(int(ctx.state.data.get("draft", 0)), ctx.inc.user_id)
    if draft is None:
        ctx.finish()
        ctx.say(ctx.t("faq_draft.gone"))
    return draft


def _answer_prompt(t: Translator, draft: FaqDraft, number: str) -> tuple[str, Keyboard]:
    edit = Button(t("faq_draft.btn_edit_question"), FORM.encode(FormButton.EDIT_QUESTION, draft.id))
    cancel = Button(t("faq_draft.btn_cancel"), FORM.encode(FormButton.CANCEL, draft.id))
    text = t("faq_draft.ask_answer", number=number, question=draft.question)
    return text, ((edit, cancel),)


def _cancel_row(ctx: Ctx) -> Keyboard:
    draft_id = ctx.state.data.get("draft", 0)
    return ((Button(ctx.t("faq_draft.btn_cancel"), FORM.encode(FormButton.CANCEL, draft_id)),),)


# managers review --------------------------------------------------------------------------
async def on_faqdrafts(ctx: Ctx) -> None:
    """`/faqdrafts`: the drafts waiting for a manager, one message each with its buttons."""
    drafts = FaqDrafts(ctx.desk)
    try:
        actor = await drafts.reviewer(ctx.inc.user_id, ctx.inc.user_name)
    except NotAllowed as refused:
        ctx.say(ctx.t(refused.reason))
        return
    pending = await drafts.pending(actor)
    if not pending:
        ctx.say(ctx.t("faq_draft.none_pending"))
        return
    ctx.say(ctx.t("faq_draft.pending_title", count=len(pending)))
    for draft in pending:
        number = await drafts.ticket_number(draft)
        ctx.say(_review_text(ctx.t, draft, number), _review_buttons(ctx.t, draft))


async def on_review_button(ctx: Ctx, press: Press) -> None:
    drafts = FaqDrafts(ctx.desk)
    try:
        actor = await drafts.reviewer(ctx.inc.user_id, ctx.inc.user_name)
        approve = press.action == ReviewButton.APPROVE
        draft = await drafts.review(actor, press.subject_id, approve)
    except NotAllowed as refused:
        ctx.toast(ctx.t(refused.reason), alert=True)
        return
    except DraftRefused as refused:
        ctx.toast(_refusal(ctx.t, refused), alert=True)
        return
    ctx.toast()
    number = await drafts.ticket_number(draft)
    key = "faq_draft.approved" if approve else "faq_draft.rejected"
    verdict = ctx.t(key, name=actor.name, entry=entry_id(draft))
    ctx.edit(f"{_review_text(ctx.t, draft, number)}\n{verdict}")
    g = group_translator(ctx.desk)
    told_key = "faq_draft.author_approved" if approve else "faq_draft.author_rejected"
    told = Outgoing(chat_id=draft.author_id, text=g(told_key, id=draft.id, name=actor.name))
    await ctx.desk.enqueue(f"faqdraft:{draft.id}:{draft.status}", told)


def _review_text(t: Translator, draft: FaqDraft, number: str) -> str:
    return t("faq_draft.item", **_fields(t, draft, {"number": number}))


def _review_buttons(t: Translator, draft: FaqDraft) -> Keyboard:
    return (
        (
            Button(t("faq_draft.btn_approve"), REVIEW.encode(ReviewButton.APPROVE, draft.id)),
            Button(t("faq_draft.btn_reject"), REVIEW.encode(ReviewButton.REJECT, draft.id)),
        ),
    )


def _fields(t: Translator, draft: FaqDraft, data: dict[str, object]) -> dict[str, object]:
    """A draft as a message shows it: a question of up to 2,000 characters and an answer of
    3,000 would pass Telegram's 4,096 (the outbox then gives the message up), so both are
    shortened, after masking in a group (a number cut short cannot escape the masking)."""
    keywords = [str(k) for k in draft.keywords]
    return {
        "id": draft.id,
        "number": data.get("number", "-"),
        "name": draft.author_name,
        "question": quoted(t, draft.question, SHOWN_QUESTION_LIMIT),
        "answer": quoted(t, draft.answer, SHOWN_ANSWER_LIMIT),
        "keywords": " ".join(keywords) if keywords else t("faq_draft.no_keywords"),
    }


def _refusal(t: Translator, refused: DraftRefused) -> str:
    fields = dict(refused.fields)
    if "status" in fields:
        fields["status"] = t(f"faq_draft.status_{fields['status']}")
    return t(refused.reason, **fields)


FLOW = Flow(
    Step,
    {
        Step.ANSWER: StepSpec(on_answer, ask_answer),
        Step.QUESTION: StepSpec(on_question, ask_question),
        Step.KEYWORDS: StepSpec(on_keywords, ask_keywords),
    },
    summary="staff write an FAQ entry from a resolved inquiry: the answer, optionally a "
    "reworded question, keywords",
)
