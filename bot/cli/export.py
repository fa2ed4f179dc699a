"""`propdesk export --from D --to D [--property CODE] --out FILE`: the managers'
spreadsheet written in the terminal, from a database that is only read."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from bot.cli.database import reading_unit_of_work
from bot.clock import SystemClock
from bot.config import Settings
from bot.handlers.digests import plain_labels
from bot.i18n import Translator
from bot.services.desk import Desk
from bot.services.export import Exports, days_span


async def write_export_file(
    settings: Settings, first: date, last: date, code: str | None, out: Path
) -> int:
    """Write the tickets reported from `first` to `last` (inclusive, property time) of one
    property, or of all of them, to `out`; 1 for an unknown property or an empty span."""
    if last < first:
        print(f"propdesk: --to {last} is before --from {first}", file=sys.stderr)
        return 1
    async with reading_unit_of_work(settings) as uow:
        desk = Desk(uow, settings, SystemClock())
        property_id = None
        if code is not None:
            prop = await desk.property_by_code(code)
            if prop is None:
                known = ", ".join(p.code for p in await desk.properties()) or "none"
                print(f"propdesk: unknown property {code!r} (known: {known})", file=sys.stderr)
                return 1
            property_id = prop.id
        span = days_span(first, last, settings.tz)
        labels = plain_labels(Translator(settings.locale))
        summary = await Exports(desk).write(property_id, span, out, labels)
    print(
        f"propdesk: wrote {out}: {summary.tickets} tickets, {summary.events} events, "
        f"{summary.ratings} ratings, {summary.surveys} surveys (times in {settings.timezone})"
    )
    return 0
