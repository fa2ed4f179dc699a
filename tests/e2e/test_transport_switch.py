"""Issue 6: one core, two transports; a deployment can switch between them mid-dialog."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import select

from emulator import BotAPIEmulator
from storage.models import Ticket
from tests.support.harness import Harness, texts

ROOT = Path(__file__).resolve().parents[2]


async def test_switch_transport_between_two_steps_of_a_report(
    harness: Harness, emulator: BotAPIEmulator, transport: str
) -> None:
    other = "ptb" if transport == "aiogram" else "aiogram"
    wang = emulator.user("王", language_code="zh-hans")
    await harness.register(wang)
    await harness.act(wang.send_text("卫生间水龙头关不紧 一直滴水"))
    await harness.restart(transport=other)
    assert harness.app is not None and harness.app.transport is not None
    assert harness.app.transport.name == other
    await harness.act(wang.send_photo())
    await harness.act_press_last(wang, "照片发完了")
    done = await harness.act_press_last(wang, "✅ 确认提交")
    assert "单号" in texts(done)
    async with harness.app.uow_factory() as uow:
        ticket = (await uow.session.scalars(select(Ticket))).one()
    assert ticket.description == "卫生间水龙头关不紧 一直滴水" and len(ticket.photo_file_ids) == 1


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            # `from bot.transports import common` names the module bot.transports.common
            package = node.module in ("bot", "bot.transports")
            found |= {f"{node.module}.{a.name}" for a in node.names} if package else {node.module}
    return found


def test_adapters_import_only_neutral_types() -> None:
    """Adapters may use the neutral message types and the shared delivery helpers only."""
    allowed = {"bot.messages", "bot.transports.common", "bot.transports.delivery"}
    for adapter in ("aiogram_transport.py", "ptb_transport.py"):
        ours = {
            m
            for m in _imports(ROOT / "bot/transports" / adapter)
            if m.split(".")[0] in ("bot", "storage", "scheduler")
        }
        assert ours <= allowed, (adapter, ours - allowed)


def test_core_never_imports_a_framework() -> None:
    frameworks = {"aiogram", "telegram"}
    for folder in ("bot/handlers", "bot/services", "bot/nlp", "storage", "scheduler"):
        for path in (ROOT / folder).rglob("*.py"):
            roots = {m.split(".")[0] for m in _imports(path)}
            assert not roots & frameworks, path
    for path in (ROOT / "bot/dialog.py", ROOT / "bot/messages.py"):
        assert not {m.split(".")[0] for m in _imports(path)} & frameworks, path
