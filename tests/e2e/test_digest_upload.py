"""A local chart file uploaded as a photo by both transports, through the emulator:
captioned when the text fits, followed by the text when it does not."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.charts import ChartDay, ChartLabels, render_chart
from bot.messages import Outgoing
from emulator import BotAPIEmulator
from tests.support.harness import Harness

pytestmark = pytest.mark.e2e


def _chart(tmp_path: Path) -> Path:
    days = [ChartDay(date(2026, 11, 21) + timedelta(days=i), {"repair": i}, 0.9) for i in range(7)]
    return render_chart(days, ChartLabels("t", "n", "SLA", {}), tmp_path / "chart.png")


async def test_upload_with_caption_and_with_long_text(
    harness: Harness, emulator: BotAPIEmulator, tmp_path: Path
) -> None:
    group = emulator.group("管理层")
    chat_id = group.state.id
    assert harness.app is not None and harness.app.transport is not None
    sender = harness.app.transport.sender  # type: ignore[attr-defined]
    chart = str(_chart(tmp_path))

    await sender.send(Outgoing(chat_id=chat_id, text="📊 <b>日报</b> 水压 &lt; 0.1", upload=chart))
    [photo] = emulator.bot_messages(group)
    assert photo.photos and photo.caption == "📊 日报 水压 < 0.1"

    long_text = "<b>周报</b>\n" + "新增 1 · " * 300  # over the 1024-character caption limit
    await sender.send(Outgoing(chat_id=chat_id, text=long_text, upload=chart))
    bare, text = emulator.bot_messages(group)[1:]
    assert bare.photos and not bare.caption
    assert text.text is not None and text.text.startswith("周报")
