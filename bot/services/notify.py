"""What periodic work tells people, as a protocol: services decide, the handlers' layer
renders from locale files and queues to the outbox (wired in bot/app.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from storage.models import Rating, ReturnVisit, Ticket, Visitor

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from bot.config import Settings
    from bot.services.desk import Desk
    from bot.services.digest import Digest
    from bot.services.notices import NoticeCounts
    from storage.models import Notice, Resident


class Notifier(Protocol):
    async def sla_reminder(self, desk: Desk, ticket: Ticket) -> None:
        """Half the response time passed and nobody accepted: remind the team's group."""

    async def sla_escalation(self, desk: Desk, ticket: Ticket, kind: str, repeat: int) -> None:
        """A deadline passed: mark the card, tell the team lead and the duty managers."""

    async def resident_delay(self, desk: Desk, ticket: Ticket) -> None:
        """The resolution deadline will be missed: tell the resident before it passes."""

    async def rating_request(
        self, desk: Desk, rating: Rating, ticket: Ticket, reminder: bool
    ) -> None: ...

    async def return_visit(self, desk: Desk, visit: ReturnVisit, ticket: Ticket) -> None:
        """A low rating or "not solved" opened a return visit for the service team."""

    async def survey(self, desk: Desk, resident_telegram_id: int, period: str) -> None: ...

    async def auto_closed(self, desk: Desk, ticket: Ticket) -> None:
        """Nobody confirmed or disputed the fix in time: the ticket closed by itself."""

    async def plan_ticket(self, desk: Desk, ticket: Ticket) -> None:
        """An inspection plan opened a ticket: post its card."""

    async def visitor_no_answer(self, desk: Desk, visitor: Visitor) -> None:
        """A walk-in's host did not answer in time: tell the guard the decision is theirs."""

    async def danger_unanswered(self, desk: Desk, user_id: int, data: dict[str, Any]) -> bool:
        """A resident left "is anyone in danger right now?" unanswered: open the report held
        in their dialog `data` as an emergency, page, and tell them. False: nothing to open."""

    async def digest_chart(self, settings: Settings, digest: Digest) -> Path | None:
        """Draw the digest's chart; called with no transaction open (it takes a while)."""

    async def digest(self, desk: Desk, digest: Digest, *, late: bool, chart: Path | None) -> bool:
        """Queue a digest (text and chart) to the property's managers group; False when
        none is bound. `late`: sent after downtime, so the text says so."""

    async def notice_due(self, desk: Desk, notice: Notice, residents: Sequence[Resident]) -> None:
        """A scheduled announcement's time came: queue it to each of its residents."""

    async def notice_report(self, desk: Desk, notice: Notice, counts: NoticeCounts) -> None:
        """Every row of an announcement is done: tell its sender how delivery went."""
