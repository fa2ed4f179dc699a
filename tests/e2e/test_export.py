"""`/export` end to end over both transports against the emulator: the managers' group gets an
.xlsx document (sendDocument) that opens with openpyxl, phones masked; anyone else is refused."""

from __future__ import annotations

from io import BytesIO

from openpyxl import load_workbook

from emulator import BotAPIEmulator
from tests.support.harness import Harness, texts

ADMIN_ID = 900001  # settings.admin_ids in tests/conftest.py


async def test_export_in_the_managers_group(harness: Harness, emulator: BotAPIEmulator) -> None:
    admin = emulator.user("Admin", language_code="zh-hans", user_id=ADMIN_ID)
    managers = emulator.group("管理层", members=[admin])
    await harness.act(admin.send_text("/bind managers", chat=managers))
    wang = emulator.user("王", language_code="zh-hans")
    await harness.register(wang)
    await harness.act(wang.send_text("卫生间天花板一直在滴水,请打我电话 13987654321"))
    await harness.act_press_last(wang, "✅ 确认提交")

    sent = await harness.act(admin.send_text("/export today", chat=managers))
    [message] = [m for m in sent if m.document is not None]
    assert message.document is not None
    assert message.document["file_name"].endswith(".xlsx")
    assert "工单 1 条" in (message.caption or "")
    stored = emulator.world.files.get(message.document["file_id"])
    assert stored is not None
    book = load_workbook(BytesIO(stored.data))
    assert book.sheetnames == ["工单", "处理记录", "评价", "满意度调查", "班组", "员工", "访客"]
    header, row = list(book["工单"].iter_rows(values_only=True))
    ticket = dict(zip(header, row, strict=True))
    assert ticket["类别"] == "报修" and ticket["小区"] == "sunshine"
    assert "139****4321" in str(ticket["描述"]) and "13987654321" not in str(ticket["描述"])
    assert "****" in str(ticket["电话"]) and "13812345678" not in str(ticket["电话"])
    menu = {c["command"] for c in emulator.commands_for("all_group_chats", "zh")}
    assert "export" in menu


async def test_export_refused_to_residents_and_unknown_periods(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    wang = emulator.user("王", language_code="zh-hans")
    await harness.register(wang)
    sent = await harness.act(wang.send_text("/export"))
    assert not [m for m in sent if m.document is not None]
    assert "只有管理人员和管理员可以导出工单" in texts(sent)
    admin = emulator.user("Admin", language_code="zh-hans", user_id=ADMIN_ID)
    sent = await harness.act(admin.send_text("/export 2026-13"))
    assert "用法：/export" in texts(sent)


async def test_stats_staff_for_managers_not_residents(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    admin = emulator.user("Admin", language_code="zh-hans", user_id=ADMIN_ID)
    managers = emulator.group("管理层", members=[admin])
    await harness.act(admin.send_text("/bind managers", chat=managers))
    sent = await harness.act(admin.send_text("/stats staff week", chat=managers))
    assert "员工绩效" in texts(sent)
    assert "此期间没有接单、完成或到期的工单" in texts(sent)
    sent = await harness.act(admin.send_text("/stats hotspots", chat=managers))
    assert "重复问题（近 30 天）" in texts(sent) and "没有重复问题" in texts(sent)
    wang = emulator.user("王", language_code="zh-hans")
    await harness.register(wang)
    sent = await harness.act(wang.send_text("/stats staff"))
    assert "只有管理人员、管理员和班组长可以查看员工绩效" in texts(sent)
    sent = await harness.act(wang.send_text("/stats hotspots"))
    assert "重复问题" not in texts(sent)
