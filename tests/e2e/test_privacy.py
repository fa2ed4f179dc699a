"""/mydata and /forgetme end to end over both transports against the emulator: the export
arrives as a document (sendDocument) that opens as JSON; forgetting is confirmed with a
button, and the person starts afresh afterwards."""

from __future__ import annotations

import json

from sqlalchemy import select

from emulator import BotAPIEmulator
from storage.models import Ticket
from tests.support.harness import Harness, texts


async def test_mydata_arrives_as_a_json_document(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    wang = emulator.user("王", language_code="zh-hans")
    await harness.register(wang)
    await harness.act(wang.send_text("卫生间天花板一直在滴水,请打我电话 13987654321"))
    await harness.act_press_last(wang, "✅ 确认提交")
    sent = await harness.act(wang.send_text("/mydata"))
    [message] = [m for m in sent if m.document is not None]
    assert message.document is not None
    assert message.document["file_name"].startswith("propdesk-mydata-")
    assert "全部个人信息" in (message.caption or "")
    stored = emulator.world.files.get(message.document["file_id"])
    assert stored is not None
    data = json.loads(stored.data.decode("utf-8"))
    assert data["profile"]["name"] == "王女士" and data["profile"]["phone"] == "13812345678"
    [ticket] = data["tickets"]
    assert "13987654321" in ticket["description"]  # their own words, in full
    assert ticket["timeline"][0]["what"] == "已提交"
    assert emulator.calls_to("sendDocument")
    menu = {c["command"] for c in emulator.commands_for("default", "zh")}
    assert {"mydata", "forgetme"} <= menu


async def test_forgetme_confirmed_then_a_fresh_start(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    li = emulator.user("Li", language_code="en")
    await harness.register(li, name="Li Lei")
    await harness.act(li.send_text("kitchen pipe leaking"))
    await harness.act_press_last(li, harness.button_label(li, "Submit"))
    asked = await harness.act(li.send_text("/forgetme"))
    assert "Delete your personal data?" in texts(asked)
    assert "Unfinished tickets: 1." in texts(asked)
    done = await harness.act_press_last(li, "🗑 Delete")
    assert "Your personal data is deleted" in texts(done)
    assert harness.app is not None
    async with harness.app.uow_factory() as uow:
        assert await uow.residents.by_telegram_id(li.id) is None
        [ticket] = (await uow.session.scalars(select(Ticket))).all()
    assert (ticket.status, ticket.contact_name, ticket.description) == ("cancelled", "", "")
    again = await harness.act(li.send_text("hello"))
    assert "What should we call you?" in texts(again)
