"""A `propdesk run` process loads what it serves with: never matplotlib (its digest charts
are drawn by a child process), never the training stack (scikit-learn) nor the spreadsheet writer,
nor setuptools' pkg_resources (jieba would load it only to open its own dictionary: 5 MB).

Checked in a fresh interpreter, since this test process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEVER_BEFORE_A_CHART = ("matplotlib", "sklearn", "scipy", "openpyxl", "pandas", "pkg_resources")

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys, tempfile
    from datetime import date
    from pathlib import Path

    import bot.cli
    from bot.app import App, make_transport
    from bot.config import Settings

    def loaded():
        return sorted({name.split(".")[0] for name in sys.modules})

    async def start(folder):
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{folder}/propdesk.db",
            telegram_token="123456:TEST",
            telegram_api_base="http://127.0.0.1:9",
        )
        app = await App.create(settings)  # migrations and the real classifier, warmed
        app.jobs()  # every scheduled job, the digest among them
        for transport in ("aiogram", "ptb"):
            make_transport(settings.model_copy(update={"transport": transport}), app.dialog)
        await app.close()

    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(start(folder))
        at_run = loaded()
        from bot.charts import ChartDay, ChartLabels, render_apart, render_chart
        labels = ChartLabels("t", "n", "%", {})
        days = [ChartDay(date(2026, 11, 27), {"repair": 1}, 1.0)]
        # the bot's way: drawn by a child process, so the bot still has no matplotlib
        drawn = asyncio.run(render_apart(days, labels, Path(folder) / "apart.png", (), labels))
        apart = {"png": drawn.read_bytes()[1:4] == b"PNG", "modules": loaded()}
        render_chart(days, labels, Path(folder) / "chart.png")
    print(json.dumps({"run": at_run, "apart": apart, "chart": loaded()}))
    """
)


def test_run_imports_no_chart_or_training_library() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    modules = json.loads(done.stdout.strip().splitlines()[-1])
    assert [name for name in NEVER_BEFORE_A_CHART if name in modules["run"]] == []
    assert "jieba" in modules["run"] and "aiogram" in modules["run"]  # it did start
    assert "matplotlib" in modules["chart"]  # and the check would see matplotlib
    # the digest's chart, drawn the bot's way, leaves no matplotlib in the bot's process
    assert modules["apart"]["png"]
    assert "matplotlib" not in modules["apart"]["modules"]


JIEBA_SCRIPT = textwrap.dedent(
    """
    import importlib.util, json, sys
    import bot.nlp
    import jieba
    before = "pkg_resources" in sys.modules
    # the global dictionary (the FAQ's search words) opens without pkg_resources
    words = jieba.lcut_for_search("电梯坏了有人被困")
    urgency = bot.nlp.classify("3栋电梯困人了，快来！").urgency
    later = None
    if importlib.util.find_spec("pkg_resources") is not None:
        import pkg_resources  # refused only while jieba loaded
        later = pkg_resources.__name__
    print(json.dumps({"before": before, "words": words, "urgency": urgency, "later": later}))
    """
)


def test_jieba_loads_its_dictionary_without_pkg_resources() -> None:
    done = subprocess.run(
        [sys.executable, "-c", JIEBA_SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["before"] is False
    assert "电梯" in seen["words"] and "被困" in seen["words"]
    assert seen["urgency"] == "emergency"
    assert seen["later"] in (None, "pkg_resources")
