"""`propdesk lexicon suggest`: terms the classifier could learn from staff corrections."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.config import Settings
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.uow import UnitOfWorkFactory


async def load_corrections(settings: Settings) -> list[tuple[str, str, str]]:
    """(text, old category, new category) for every category correction staff made."""
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)  # a fresh database simply has no corrections yet
        async with UnitOfWorkFactory(session_factory(engine))() as uow:
            rows = await uow.corrections.all(field="category")
            return [(row.text, row.old_value, row.new_value) for row in rows]
    finally:
        await engine.dispose()


async def suggest_from_corrections(settings: Settings) -> int:
    corrections = await load_corrections(settings)
    if not corrections:
        print("no category corrections recorded yet")
        return 0
    from bot.nlp.suggest import suggest_terms

    print(f"{len(corrections)} category corrections")
    for line in render(suggest_terms(corrections)):
        print(line)
    return 0


def render(suggestions: Mapping[str, Iterable[Any]] | Iterable[Any]) -> list[str]:
    """One line per category: `repair: 滴水 (3.2), 渗水 (1.5)`; tolerant of plain term lists."""
    if not isinstance(suggestions, Mapping):
        return [_term(item) for item in suggestions]
    lines = []
    for category, terms in suggestions.items():
        listed = ", ".join(_term(term) for term in terms)
        lines.append(f"{category}: {listed or '-'}")
    return lines


def _term(item: Any) -> str:
    if isinstance(item, tuple | list) and len(item) == 2:
        term, score = item
        return f"{term} ({score:g})" if isinstance(score, int | float) else f"{term} ({score})"
    return str(item)
