"""`propdesk digest --date D [--property CODE] [--week]` prints the digest as plain text."""

from __future__ import annotations

import asyncio

import pytest

from bot.cli import main
from bot.config import Settings
from tests.support.apps import build_app
from tests.support.digest_data import NOW, seed


def _prepare(settings: Settings) -> None:
    async def run() -> None:
        app = await build_app(settings, NOW)
        await seed(app.uow_factory)
        await app.close()

    asyncio.run(run())


def test_cli_prints_the_hand_computed_digest(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _prepare(settings)
    monkeypatch.delenv("PROPDESK_CONFIG", raising=False)
    monkeypatch.setenv("PROPDESK_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PROPDESK_LOCALE", "zh-CN")
    assert main(["digest", "--date", "2026-11-27", "--property", "sunshine"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "📊 阳光花园 11月27日 服务日报"
    assert lines[1] == "新增 7 · 完成 4 · 未结 5(超时 3)"
    assert lines[2] == "响应 中位 20 分钟 / P90 40 分钟 · 处理 中位 2.0 小时 / P90 11.0 小时"
    assert lines[3] == "时限达标率 40% · 完结率 50%"
    assert lines[4] == "满意度 3.0/5(评价 4 条),差评 2 条 → 已安排回访 2 条,已完成 1 条"
    assert "按类别:报修 4 · 保洁 2 · 投诉 1" in lines
    # Descriptions are shown as typed, unescaped in the terminal.
    assert lines[-1].startswith("最久未结:20261126-0006 T6 描述 <b>&(2 天)")

    assert main(["digest", "--date", "2026-11-27", "--week"]) == 0
    out = capsys.readouterr().out
    assert "服务周报" in out and "环比上周:新增 +10" in out
    assert "Other" in out  # every property when none is named

    assert main(["digest", "--date", "2026-11-27", "--property", "nope"]) == 1
    assert "unknown property 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["digest", "--date", "27/11/2026"])
