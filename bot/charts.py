"""The digest chart: tickets per day by category (stacked bars) and SLA compliance (a line).

Matplotlib runs headless (the Agg canvas, no pyplot, no global state). Labels come from
the caller, already translated; without a CJK font installed the caller passes English
labels, because matplotlib would draw Chinese characters as empty boxes.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

# Family names of common CJK fonts; a candidate must also really contain a CJK glyph.
_CJK_HINTS = (
    "cjk",
    "wenquanyi",
    "wqy",
    "simhei",
    "simsun",
    "yahei",
    "heiti",
    "pingfang",
    "source han",
    "droid sans fallback",
    "ar pl",
    "hiragino",
    "fangsong",
    "kaiti",
)
_PROBE = "中"


@dataclass(frozen=True)
class ChartDay:
    day: date
    counts: dict[str, int]  # category code -> tickets reported that day
    compliance: float | None  # 0..1, None when nothing was due


@dataclass(frozen=True)
class ChartLabels:
    title: str
    tickets: str  # left axis
    compliance: str  # right axis and the line's legend entry
    categories: dict[str, str]  # category code -> label


@cache
def cjk_font() -> str | None:
    """The family name of an installed font that can draw Chinese, or None."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    for entry in font_manager.fontManager.ttflist:
        if not any(hint in entry.name.lower() for hint in _CJK_HINTS):
            continue
        try:
            if ord(_PROBE) in FT2Font(entry.fname).get_charmap():
                return str(entry.name)
        except (OSError, RuntimeError):  # an unreadable font file is simply not a candidate
            continue
    return None


def default_folder() -> Path:
    return Path(tempfile.gettempdir()) / "propdesk-charts"


def render_chart(
    days: Sequence[ChartDay],
    labels: ChartLabels,
    path: Path,
    order: Sequence[str] = (),
) -> Path:
    """Draw the chart to `path` (a PNG) and return it. CPU-bound: run it off the event loop."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    font = cjk_font()
    rc: dict[Any, Any] = {"font.family": [font, "DejaVu Sans"]} if font else {}
    with matplotlib.rc_context(rc):
        figure = Figure(figsize=(8, 4.5), dpi=100)
        FigureCanvasAgg(figure)
        bars = figure.add_subplot()
        x = list(range(len(days)))
        bottom = [0] * len(days)
        for code in _categories(days, order):
            heights = [d.counts.get(code, 0) for d in days]
            bars.bar(x, heights, bottom=bottom, label=labels.categories.get(code, code))
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        bars.set_xticks(x, [d.day.strftime("%m-%d") for d in days])
        bars.set_ylabel(labels.tickets)
        bars.yaxis.set_major_locator(MaxNLocator(integer=True))
        bars.set_title(labels.title)
        line = bars.twinx()
        points = [(i, d.compliance * 100) for i, d in enumerate(days) if d.compliance is not None]
        line.plot(
            [i for i, _ in points],
            [v for _, v in points],
            color="black",
            marker="o",
            label=labels.compliance,
        )
        line.set_ylim(0, 105)
        line.yaxis.set_major_formatter(PercentFormatter())
        line.set_ylabel(labels.compliance)
        handles, names = bars.get_legend_handles_labels()
        more, more_names = line.get_legend_handles_labels()
        # Below the plot, on the top axes: never hidden behind the line or the bars.
        line.legend(
            handles + more,
            names + more_names,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.1),
            ncol=min(5, len(names) + 1),
            fontsize="small",
            frameon=False,
        )
        figure.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png")
    return path


def _categories(days: Sequence[ChartDay], order: Sequence[str]) -> list[str]:
    """Known categories in their usual order, then any others, skipping empty ones."""
    present = {code for d in days for code, n in d.counts.items() if n}
    ordered = [code for code in order if code in present]
    return ordered + sorted(present - set(ordered))


# drawing in a child process ---------------------------------------------------------------
async def render_apart(
    days: Sequence[ChartDay],
    labels: ChartLabels,
    path: Path,
    order: Sequence[str] = (),
    fallback: ChartLabels | None = None,
) -> Path:
    """`render_chart` in a short-lived child process (`python -m bot.charts`): a bot that
    drew a chart in its own process would keep matplotlib and its fonts mapped, about 35 MB,
    for a picture a day. `fallback` are the labels to use when no CJK font is installed
    (the child looks, as looking loads matplotlib too)."""
    request = {
        "days": [[d.day.isoformat(), d.counts, d.compliance] for d in days],
        "labels": asdict(labels),
        "fallback": asdict(fallback) if fallback is not None else None,
        "path": str(path),
        "order": list(order),
    }
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.charts",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await child.communicate(json.dumps(request).encode())
    if child.returncode != 0:
        raise RuntimeError(f"chart child exited {child.returncode}: {err.decode()[-2000:]}")
    return Path(out.decode().strip())


def _serve_one_request() -> None:
    request = json.load(sys.stdin)
    chosen = request["fallback"] if request["fallback"] and not cjk_font() else request["labels"]
    days = [ChartDay(date.fromisoformat(d), counts, share) for d, counts, share in request["days"]]
    print(render_chart(days, ChartLabels(**chosen), Path(request["path"]), request["order"]))


if __name__ == "__main__":
    _serve_one_request()
