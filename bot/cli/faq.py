"""`propdesk faq gaps`: the questions the FAQ did not answer, and the answers residents
rejected, newest last, so managers can grow the FAQ file from real questions."""

from __future__ import annotations

from datetime import timedelta

from bot.cli.database import reading_unit_of_work
from bot.clock import SystemClock
from bot.config import Settings
from bot.i18n import Translator
from bot.services.desk import Desk
from bot.services.faq import Faq


async def print_gaps(settings: Settings, days: int) -> int:
    async with reading_unit_of_work(settings) as uow:
        desk = Desk(uow, settings, SystemClock())
        t = Translator(settings.locale)
        gaps = await Faq(desk).gaps(None, desk.now() - timedelta(days=days))
        tz = settings.tz
        for gap in gaps:
            when = gap.at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
            kind = t(f"faq.gap_{gap.kind}", entry=gap.entry_id or "")
            print(f"{when}\t{kind}\t{' '.join(gap.question.split())}")
        print(t("faq.gaps_total", count=len(gaps), days=days))
    return 0
