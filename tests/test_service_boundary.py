"""Handlers call services only: no unit of work, repository, session or card row by hand.

Import rules between packages are checked by the import contract; this test catches what
an import contract cannot see: reaching a service's unit of work through an attribute.
"""

from __future__ import annotations

import ast
from pathlib import Path

HANDLERS = Path(__file__).resolve().parents[1] / "bot" / "handlers"
FORBIDDEN_ATTRIBUTES = {"uow", "_uow", "session"}
FORBIDDEN_NAMES = {"uow_of", "UnitOfWork", "TicketCard"}


def boundary_violations(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.ImportFrom):
            found += [
                f"line {node.lineno}: imports {alias.name}"
                for alias in node.names
                if alias.name in FORBIDDEN_NAMES
            ]
    return found


def test_handlers_reach_no_unit_of_work() -> None:
    problems = {
        path.name: found
        for path in sorted(HANDLERS.glob("*.py"))
        if (found := boundary_violations(path.read_text(encoding="utf-8")))
    }
    assert problems == {}


def test_the_check_catches_a_handler_that_reaches_past_the_services() -> None:
    source = (
        "from bot.services.desk import uow_of\n"
        "async def f(ctx):\n"
        "    return await ctx.desk.uow.tickets.get(1)\n"
    )
    assert boundary_violations(source) == ["line 1: imports uow_of", "line 3: .uow"]
