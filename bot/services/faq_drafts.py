"""FAQ entries written from resolved inquiries (问答草稿): a staff member of the ticket's team
presses [Add to FAQ] on its card, writes the answer in a private dialog, and a manager
approves the draft with `/faqdrafts`; an approved draft answers residents at once
(`bot.services.faq.Faq.matcher`, entry `draft-<id>`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.domain.policy import may_draft_faq, may_review_faq, offers_faq_draft
from bot.domain.vocabulary import FaqDraftStatus
from bot.services.desk import Desk, uow_of
from bot.services.faq import DRAFT_PREFIX
from bot.services.staff import Actor, NotAllowed, StaffService
from storage.models import FaqDraft, Ticket

# Kept whole; a message that shows the draft shortens it (bot/handlers/faq_drafts.py).
ANSWER_LIMIT = 3000
# An FAQ question is a sentence: with the answer it fits the one message a resident gets
# (`faq.answer`), which the ticket's description (up to 2,000 characters) would not.
DRAFT_QUESTION_LIMIT = 500
KEYWORD_LIMIT = 10
KEYWORD_LENGTH = 20


class DraftRefused(Exception):
    """A polite refusal; `reason` is a locale key, `fields` fill it."""

    def __init__(self, reason: str, **fields: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fields = fields


def entry_id(draft: FaqDraft) -> str:
    return f"{DRAFT_PREFIX}{draft.id}"


class FaqDrafts:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.uow = uow_of(desk)

    # staff write ------------------------------------------------------------------------
    async def begin(self, actor: Actor, ticket: Ticket, flow: str) -> FaqDraft:
        """The draft the presser writes: a new one with the ticket's description as its
        question, or their own unfinished one again (a second press). Someone else's draft,
        or a finished one, is refused: one draft per inquiry. `flow` is the dialog the
        writing opens in the presser's private chat; refused while another one is open
        there (a /new half done), which the writing would otherwise overwrite."""
        if not may_draft_faq(actor, ticket):
            raise NotAllowed("faq_draft.not_allowed")
        if not offers_faq_draft(ticket.category, ticket.status):
            raise DraftRefused("faq_draft.not_resolved_inquiry")
        found = await self.uow.faq_drafts.for_ticket(ticket.id)
        if found is not None:
            mine = found.author_id == actor.telegram_id
            if not (mine and found.status == FaqDraftStatus.WRITING):
                raise DraftRefused(
                    "faq_draft.exists", name=found.author_name, status=str(found.status)
                )
        if await self._busy_in_private(actor.telegram_id, flow, found):
            raise DraftRefused("faq_draft.finish_first")
        if found is not None:
            return found
        draft = FaqDraft(
            property_id=ticket.property_id,
            ticket_id=ticket.id,
            author_id=actor.telegram_id,
            author_name=actor.name[:64],
            status=FaqDraftStatus.WRITING,
            question=" ".join(ticket.description.split())[:DRAFT_QUESTION_LIMIT],
            answer="",
            keywords=[],
            reviewed_by_name="",
            created_at=self.desk.now(),
        )
        return await self.uow.faq_drafts.add(draft)

    async def _busy_in_private(self, telegram_id: int, flow: str, mine: FaqDraft | None) -> bool:
        """Whether the person's private chat holds a dialog the writing would replace: any
        other flow, or the writing of another draft still unfinished (one at a time). Their
        own draft of this inquiry (`mine`) is asked again; a stale dialog (its draft
        submitted or cancelled meanwhile) may go."""
        stored = await self.uow.dialogs.get(telegram_id, telegram_id)
        if stored is None:
            return False
        if stored.flow != flow:
            return True
        draft_id = stored.data.get("draft")
        if not isinstance(draft_id, int) or (mine is not None and draft_id == mine.id):
            return False
        return await self.writing(draft_id, telegram_id) is not None

    async def open_private_dialog(
        self, telegram_id: int, flow: str, step: str, data: dict[str, Any]
    ) -> None:
        """The writing happens in the staff member's private chat (its id is theirs), even
        when the card's button was pressed in a group."""
        await self.uow.dialogs.save(telegram_id, telegram_id, flow, step, data, self.desk.now())

    async def writing(self, draft_id: int, author_id: int) -> FaqDraft | None:
        draft = await self.uow.faq_drafts.get(draft_id)
        if draft is None or draft.author_id != author_id:
            return None
        return draft if draft.status == FaqDraftStatus.WRITING else None

    async def set_question(self, draft: FaqDraft, question: str) -> None:
        draft.question = question[:DRAFT_QUESTION_LIMIT]

    async def submit(self, draft: FaqDraft, answer: str, keywords: Sequence[str]) -> FaqDraft:
        """The draft waits for a manager; refused when it is no longer being written."""
        values = {"answer": answer[:ANSWER_LIMIT], "keywords": list(keywords)}
        moved = await self.uow.faq_drafts.move(
            draft.id,
            FaqDraftStatus.WRITING,
            {**values, "status": FaqDraftStatus.PENDING, "question": draft.question},
            author_id=draft.author_id,
        )
        if not moved:
            raise DraftRefused("faq_draft.gone")
        await self.uow.faq_drafts.refresh(draft)
        return draft

    async def abandon(self, draft: FaqDraft) -> None:
        """Cancelled while writing: the inquiry is free for another draft."""
        await self.uow.faq_drafts.delete_writing(draft.id, draft.author_id)

    # managers review --------------------------------------------------------------------
    async def reviewer(self, telegram_id: int, name: str = "") -> Actor:
        actor = await StaffService(self.desk).actor(telegram_id, None, name)
        if not may_review_faq(actor):
            raise NotAllowed("faq_draft.not_reviewer")
        return actor

    async def pending(self, actor: Actor) -> Sequence[FaqDraft]:
        property_id = None if actor.settings_admin else actor.property_id
        return await self.uow.faq_drafts.with_status(FaqDraftStatus.PENDING, property_id)

    async def review(self, actor: Actor, draft_id: int, approve: bool) -> FaqDraft:
        """Approve (the entry answers residents from now on) or reject, once."""
        draft = await self.uow.faq_drafts.get(draft_id)
        if draft is None:
            raise DraftRefused("faq_draft.gone")
        if not actor.settings_admin and actor.property_id != draft.property_id:
            raise NotAllowed("faq_draft.not_reviewer")
        new = FaqDraftStatus.APPROVED if approve else FaqDraftStatus.REJECTED
        values = {
            "status": new,
            "reviewed_by": actor.telegram_id,
            "reviewed_by_name": actor.name[:64],
            "reviewed_at": self.desk.now(),
        }
        if not await self.uow.faq_drafts.move(draft.id, FaqDraftStatus.PENDING, values):
            await self.uow.faq_drafts.refresh(draft)
            raise DraftRefused(
                "faq_draft.reviewed_already", name=draft.reviewed_by_name, status=draft.status
            )
        await self.uow.faq_drafts.refresh(draft)
        return draft

    async def ticket_number(self, draft: FaqDraft) -> str:
        ticket = await self.desk.ticket(draft.ticket_id) if draft.ticket_id else None
        return ticket.number if ticket is not None else "-"


def split_keywords(text: str) -> list[str]:
    """`业委会 联系,电话`: words split on spaces and commas (either width), at most ten."""
    words = text.replace(",", " ").replace(",", " ").replace("、", " ").split()
    unique = list(dict.fromkeys(w[:KEYWORD_LENGTH] for w in words))
    return unique[:KEYWORD_LIMIT]
