"""`propdesk lexicon suggest` and `export`: what the classifier can learn from staff corrections."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.cli.database import reading_unit_of_work
from bot.config import Settings


async def load_corrections(settings: Settings) -> list[tuple[str, str, str]]:
    """(text, old category, new category) for every category correction staff made."""
    async with reading_unit_of_work(settings) as uow:
        rows = await uow.corrections.all(field="category")
        return [(row.text, row.old_value, row.new_value) for row in rows]


async def load_corrected_tickets(settings: Settings) -> tuple[list[dict[str, str]], int]:
    """Each corrected ticket once, labelled as staff left it (text, category, urgency and, for
    an emergency, its hazard), and how many were left out: empty ones, and emergencies staff
    raised by hand, which carry no hazard for the hazard model to learn."""
    async with reading_unit_of_work(settings) as uow:
        ticket_ids = sorted({row.ticket_id for row in await uow.corrections.all()})
        lines: list[dict[str, str]] = []
        for ticket_id in ticket_ids:
            ticket = await uow.tickets.get(ticket_id)
            if ticket is not None:
                lines.append(
                    _labelled(ticket.description, ticket.category, ticket.urgency, ticket.hazard)
                )
    usable = [line for line in lines if line]
    return usable, len(lines) - len(usable)


def _labelled(text: str, category: str, urgency: str, hazard: str | None) -> dict[str, str]:
    if not text.strip() or (urgency == "emergency" and not hazard):
        return {}
    line = {"text": text, "category": category, "urgency": urgency}
    if urgency == "emergency" and hazard:
        line["hazard"] = hazard
    return line


async def export_corrections(settings: Settings, path: str) -> int:
    lines, left_out = await load_corrected_tickets(settings)
    write_lines(Path(path), lines)
    print(f"{len(lines)} corrected tickets written to {path}")
    if left_out:
        print(f"{left_out} left out: no text, or an emergency without a hazard")
    return 0


def write_lines(path: Path, lines: Sequence[Mapping[str, str]]) -> None:
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    path.write_text(text, encoding="utf-8")


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
