"""Consultations (咨询) answered from the property's own FAQ file (`faq_file`), and the
questions it could not answer, kept so the FAQ grows from real questions."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from bot.config import Settings
from bot.nlp.faq import FaqEntry, FaqMatcher, load_faq
from bot.services.desk import Desk, uow_of
from storage.models import FaqDraft, FaqGap, Resident

QUESTION_LIMIT = 2000
DRAFT_PREFIX = "draft-"  # an approved draft's entry id: draft-<row id>
_matchers: dict[str, FaqMatcher] = {}
# The file's entries merged with the approved drafts, per file, for one set of drafts.
_merged: dict[str, tuple[tuple[int, ...], FaqMatcher]] = {}
_lock = threading.Lock()


def matcher_for(settings: Settings) -> FaqMatcher | None:
    """The FAQ of `settings`, loaded once per file (settings validated it at start)."""
    path = settings.faq_file
    if not path:
        return None
    with _lock:
        if path not in _matchers:
            _matchers[path] = FaqMatcher(load_faq(path, {p.code for p in settings.properties}))
        return _matchers[path]


def draft_entry(draft: FaqDraft, property_code: str) -> FaqEntry:
    """An approved draft as an FAQ entry of its property."""
    return FaqEntry(
        id=f"{DRAFT_PREFIX}{draft.id}",
        property=property_code,
        question=draft.question,
        answer=draft.answer,
        keywords=tuple(str(k) for k in draft.keywords),
        examples=(),
    )


class Faq:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.uow = uow_of(desk)

    async def matcher(self) -> FaqMatcher | None:
        """The file's entries and every approved draft; None when there are neither.

        Every process asks the database which drafts are approved (one indexed read), so an
        approval answers residents at once on every worker; the index is rebuilt only when
        that set changed."""
        base = matcher_for(self.desk.settings)
        approved = tuple(await self.uow.faq_drafts.approved_ids())
        if not approved:
            return base
        key = self.desk.settings.faq_file or ""
        with _lock:
            cached = _merged.get(key)
        if cached is not None and cached[0] == approved:
            return cached[1]
        drafts = [
            draft_entry(d, code) for d, code in await self.uow.faq_drafts.approved_with_codes()
        ]
        merged = FaqMatcher([*(base.entries if base else []), *drafts])
        with _lock:
            _merged[key] = (tuple(int(e.id.removeprefix(DRAFT_PREFIX)) for e in drafts), merged)
        return merged

    async def answer(self, resident: Resident, question: str) -> FaqEntry | None:
        """The confident FAQ answer for a resident's question, or None."""
        matcher = await self.matcher()
        if matcher is None:
            return None
        code = await self._property_code(resident)
        found = matcher.match(question, code)
        return found.entry if found is not None else None

    async def entry(self, entry_id: str) -> FaqEntry | None:
        matcher = await self.matcher()
        if matcher is None:
            return None
        return next((e for e in matcher.entries if e.id == entry_id), None)

    async def entries(self) -> list[FaqEntry]:
        """Every entry residents can be answered with: the file's and approved drafts."""
        matcher = await self.matcher()
        return list(matcher.entries) if matcher is not None else []

    async def record_gap(
        self, resident: Resident, question: str, kind: str, entry_id: str | None = None
    ) -> None:
        """`unanswered` (no confident match) or `rejected` (the resident asked for staff)."""
        if await self.matcher() is None:
            return  # no FAQ at all: nothing to grow
        gap = FaqGap(
            property_id=resident.property_id,
            kind=kind,
            question=question[:QUESTION_LIMIT],
            entry_id=entry_id,
            telegram_id=resident.telegram_id,
            at=self.desk.now(),
        )
        await self.uow.faq_gaps.add(gap)

    async def gaps(self, property_id: int | None, since: datetime) -> Sequence[FaqGap]:
        return await self.uow.faq_gaps.since(property_id, since)

    async def _property_code(self, resident: Resident) -> str:
        prop = await self.desk.property(resident.property_id) if resident.property_id else None
        return prop.code if prop is not None else ""
