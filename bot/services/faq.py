"""Consultations (咨询) answered from the property's own FAQ file (`faq_file`), and the
questions it could not answer, kept so the FAQ grows from real questions."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from bot.config import Settings
from bot.nlp.faq import FaqEntry, FaqMatcher, load_faq
from bot.services.desk import Desk, uow_of
from storage.models import FaqGap, Resident

QUESTION_LIMIT = 2000
_matchers: dict[str, FaqMatcher] = {}
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


class Faq:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.uow = uow_of(desk)

    async def answer(self, resident: Resident, question: str) -> FaqEntry | None:
        """The confident FAQ answer for a resident's question, or None."""
        matcher = matcher_for(self.desk.settings)
        if matcher is None:
            return None
        code = await self._property_code(resident)
        found = matcher.match(question, code)
        return found.entry if found is not None else None

    async def entry(self, entry_id: str) -> FaqEntry | None:
        matcher = matcher_for(self.desk.settings)
        if matcher is None:
            return None
        return next((e for e in matcher.entries if e.id == entry_id), None)

    async def record_gap(
        self, resident: Resident, question: str, kind: str, entry_id: str | None = None
    ) -> None:
        """`unanswered` (no confident match) or `rejected` (the resident asked for staff)."""
        if matcher_for(self.desk.settings) is None:
            return
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
