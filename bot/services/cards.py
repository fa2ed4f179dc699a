"""Card bookkeeping: which group messages show which ticket, and which of them are live.

Handlers render a card's text and buttons; this service numbers, records, finds and
retires the rows, so no handler touches the card table.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.services.desk import Desk, uow_of
from bot.services.outbox import CARD_KEY_PREFIX
from storage.models import Ticket, TicketCard


class CardBook:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.uow = uow_of(desk)

    async def next_key(self, ticket: Ticket) -> str:
        """The outbox key of the ticket's next card: unique per ticket and posting."""
        numbered = self.desk.fresh_tickets.get(ticket.id)
        if numbered is not None:  # opened in this transaction: no card but ours (no count)
            self.desk.fresh_tickets[ticket.id] = numbered + 1
            return f"{CARD_KEY_PREFIX}{ticket.id}:{numbered}"
        serial = await self.uow.cards.count_for_ticket(ticket.id)
        return f"{CARD_KEY_PREFIX}{ticket.id}:{serial}"

    async def record(
        self, ticket: Ticket, team: str, chat_id: int, thread_id: int | None, key: str
    ) -> TicketCard:
        """A card queued for a group; its message id arrives when the outbox has sent it."""
        card = TicketCard(
            ticket_id=ticket.id,
            team=team,
            chat_id=chat_id,
            thread_id=thread_id,
            outbox_key=key,
            created_at=self.desk.now(),
        )
        return await self.uow.cards.add(card)

    async def live(self, ticket: Ticket) -> Sequence[TicketCard]:
        return await self.uow.cards.for_ticket(ticket.id)

    async def live_in_chat(self, chat_id: int, property_id: int) -> Sequence[TicketCard]:
        return await self.uow.cards.live_in_chat(chat_id, property_id)

    async def every(self, ticket: Ticket) -> Sequence[TicketCard]:
        """Live and retired: every group message that shows the ticket."""
        return await self.uow.cards.for_ticket(ticket.id, active_only=False)

    async def has_live_card_for(self, ticket: Ticket, team: str) -> bool:
        return any(card.team == team for card in await self.live(ticket))

    async def by_message(self, chat_id: int, message_id: int) -> TicketCard | None:
        """The card a staff member replied to or pressed a button under."""
        return await self.uow.cards.by_message(chat_id, message_id)

    @staticmethod
    def retire(card: TicketCard) -> None:
        """A card of a finished ticket keeps its text but loses its buttons for good."""
        card.active = False
