"""`propdesk digest --date D`: a property's digest printed in the terminal."""

from __future__ import annotations

import sys
from datetime import date

from bot.cli.database import reading_unit_of_work
from bot.clock import SystemClock
from bot.config import Settings
from bot.handlers.digests import digest_text, plain_text
from bot.i18n import Translator
from bot.services.desk import Desk
from bot.services.digest import digest_for


async def print_digests(settings: Settings, day: date, code: str | None, weekly: bool) -> int:
    """Print the digest of `day` (or its ISO week) for one property or all; 1 if unknown."""
    async with reading_unit_of_work(settings) as uow:
        desk = Desk(uow, settings, SystemClock())
        properties = list(await desk.properties())
        chosen = [p for p in properties if code is None or p.code == code]
        if not chosen:
            known = ", ".join(p.code for p in properties) or "none"
            print(f"propdesk: unknown property {code!r} (known: {known})", file=sys.stderr)
            return 1
        t = Translator(settings.locale)
        for i, prop in enumerate(chosen):
            digest = await digest_for(desk, prop, day, weekly=weekly)
            print(("\n" if i else "") + plain_text(digest_text(t, digest)))
    return 0
