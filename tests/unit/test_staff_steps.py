"""Card follow-ups wherever the card was pressed: the person on duty completes, notes and
reassigns from the card in their private chat (the answer used to start a resident's
registration); "complete without a note" ends only its own ticket's step; an incident's
other reports follow its lead even when the first reporter must be called to confirm."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.config import DutyRotaConfig, Settings, ShiftConfig
from tests.support.outages import report_outage, seed
from tests.support.world import ENG_GROUP, LI, World, accepted, report, staffed

NIGHT = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)  # Sunday 02:00 in Shanghai
GAS = "楼道里好大一股煤气味"


@pytest.fixture
def start_at() -> datetime:
    return NIGHT


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    night = ShiftConfig(name="night", start="18:00", end="08:30", staff=["李师傅"])
    return settings.model_copy(
        update={"duty": [DutyRotaConfig(team="engineering", shifts=[night])]}
    )


async def test_the_person_on_duty_completes_from_the_private_card(world: World) -> None:
    await staffed(world)
    _, ticket_id = await report(world, GAS)
    li = world.person(LI, LI, "李师傅")
    card = await world.card_message(ticket_id, LI)
    await li.press(f"tk:{ticket_id}:acc", card)
    await li.press(f"tk:{ticket_id}:st", card)
    await li.press(f"tk:{ticket_id}:note", card)
    await li.say("已关闭总阀,开窗通风")
    notes = [e.note for e in await world.events(ticket_id) if e.kind == "note"]
    assert notes == ["已关闭总阀,开窗通风"]
    await li.press(f"tk:{ticket_id}:done", card)
    await li.say("燃气公司已修复接口")
    assert "称呼" not in li.texts()  # not taken for a newcomer to register
    ticket = await world.ticket(ticket_id)
    assert ticket.status == "resolved"


async def test_complete_without_a_note_ends_only_its_own_tickets_step(world: World) -> None:
    await staffed(world)
    _, li, first = await accepted(world)
    _, second = await report(world, "厨房也在漏水")
    card_one = await world.card_message(first, ENG_GROUP)
    card_two = await world.card_message(second, ENG_GROUP)
    await li.press(f"tk:{second}:acc", card_two)
    await li.press(f"tk:{first}:done", card_one)  # a prompt with 不写说明,直接完成
    await li.press(f"tk:{second}:note", card_two)  # the open step is now the note
    await li.press(f"tk:{first}:fin", card_one)
    assert (await world.ticket(first)).status == "resolved"
    await li.say("明天带配件来")  # the answer to the note step still open
    notes = [e.note for e in await world.events(second) if e.kind == "note"]
    assert notes == ["明天带配件来"]


async def test_an_incident_resolves_every_report_when_its_first_reporter_is_unreachable(
    world: World,
) -> None:
    """The first reporter blocked the bot: completing the lead asks staff to confirm it by
    phone, and the other reports still follow it, each resident told."""
    ids = await seed(world, 3)
    await report_outage(world, ids)
    async with world.app.uow_factory() as uow:
        first = await uow.residents.by_telegram_id(ids[0])
        assert first is not None
        first.active = False  # blocked the bot
        await uow.commit()
    lead = (await world.tickets())[0]
    li = world.person(LI, ENG_GROUP, "李师傅")
    message_id = await world.card_message(lead.id, ENG_GROUP)
    await li.press(f"tk:{lead.id}:acc", message_id)
    await li.press(f"tk:{lead.id}:done", message_id)
    await li.press(f"tk:{lead.id}:fin", message_id)
    await world.flush()
    assert [t.status for t in await world.tickets()] == ["resolved"] * 3
    for telegram_id in ids[1:]:
        assert "问题解决了吗" in world.sender.text_to(telegram_id)
