"""What a person types into a card's extra line or a reply under it (the not-solved reason,
more information) is shortened after masking: a card stays within Telegram's 4,096
characters (which would refuse it for good) and a number cut short stays masked."""

from __future__ import annotations

import html
import re

from tests.support.world import (
    ENG_GROUP,
    World,
    accepted,
    complete,
    report,
    staffed,
)

TELEGRAM_LIMIT = 4096
PHONE = "13912345678"


def visible(text: str) -> str:
    """The text as Telegram counts it: after the HTML is parsed."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


async def test_a_long_not_solved_reason_keeps_the_new_card_within_telegrams_limit(
    world: World,
) -> None:
    await staffed(world)
    wang, li, ticket_id = await accepted(world)
    await complete(world, li, ticket_id)
    await wang.press(f"rs:{ticket_id}:no")
    # nine of the number's digits before the cut at 1,000 characters
    reason = "还是漏&<" * 198 + PHONE + "还是不行" * 800
    await wang.say(reason)
    await world.flush()
    card = world.sender.to(ENG_GROUP)[-1]
    assert card.buttons  # the new card, posted
    assert len(visible(card.text)) <= TELEGRAM_LIMIT
    assert "1391234" not in card.text  # masked before it was cut
    assert (await world.ticket(ticket_id)).status != "resolved"  # reopened all the same


async def test_long_added_information_reaches_the_card_within_telegrams_limit(
    world: World,
) -> None:
    await staffed(world)
    wang, ticket_id = await report(world)
    await wang.say("/my")
    await wang.press(f"my:{ticket_id}")
    await wang.press(wang.button("补充说明"))
    await wang.say("楼上" * 2040)
    await world.flush()
    reply = world.sender.to(ENG_GROUP)[-1]
    assert reply.reply_to_message_id is not None and "楼上楼上" in reply.text
    assert len(visible(reply.text)) <= TELEGRAM_LIMIT
