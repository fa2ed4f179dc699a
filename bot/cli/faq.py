"""`propdesk faq gaps`: the questions the FAQ did not answer, and the answers residents
rejected, newest last, so managers can grow the FAQ file from real questions.
`propdesk faq list`: every entry residents are answered with, the file's and the drafts
managers approved (`draft-<id>`)."""

from __future__ import annotations

from datetime import timedelta

from bot.cli.database import reading_unit_of_work
from bot.clock import SystemClock
from bot.config import Settings
from bot.i18n import Translator
from bot.services.desk import Desk
from bot.services.faq import DRAFT_PREFIX, Faq


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


async def print_entries(settings: Settings) -> int:
    async with reading_unit_of_work(settings) as uow:
        desk = Desk(uow, settings, SystemClock())
        t = Translator(settings.locale)
        entries = await Faq(desk).entries()
        for entry in entries:
            print(f"{entry.id}\t{entry.property}\t{' '.join(entry.question.split())}")
        drafts = sum(entry.id.startswith(DRAFT_PREFIX) for entry in entries)
        print(
            t(
                "faq_draft.entries_total",
                count=len(entries),
                file=len(entries) - drafts,
                drafts=drafts,
            )
        )
    return 0
