"""`propdesk digest --date D`: a property's digest printed in the terminal."""

from __future__ import annotations

import sys
from datetime import date

from bot.clock import SystemClock
from bot.config import Settings
from bot.handlers.digests import digest_text, plain_text
from bot.i18n import Translator
from bot.services.desk import Desk
from bot.services.digest import digest_for
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.uow import UnitOfWorkFactory


async def print_digests(settings: Settings, day: date, code: str | None, weekly: bool) -> int:
    """Print the digest of `day` (or its ISO week) for one property or all; 1 if unknown."""
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)  # a fresh database simply has nothing to report yet
        async with UnitOfWorkFactory(session_factory(engine))() as uow:
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
    finally:
        await engine.dispose()
