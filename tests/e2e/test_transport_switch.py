"""Issue 6: one core, two transports; a deployment can switch between them mid-dialog."""

from __future__ import annotations

from sqlalchemy import select

from emulator import BotAPIEmulator
from storage.models import Ticket
from tests.e2e.conftest import Harness, texts


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


# Which modules the adapters and the core may import is checked by the import contracts
# (pyproject.toml, tests/test_import_contracts.py).
