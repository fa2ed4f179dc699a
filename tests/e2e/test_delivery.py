"""Delivery in Telegram's real weather, on both transports and both databases: the flood
limits on, people at a quick pace and in crowds, server errors. Every reply and every card
arrives, none twice, in each chat's order, and the pacing learns the limits instead of
collecting 429s. Waits for the limits travel in time (the harness's flood clock)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.domain.vocabulary import SendPriority
from bot.messages import Outgoing
from bot.services.desk import Desk
from bot.services.outbox import BACKOFF_CAP
from emulator import BotAPIEmulator, SimUser
from storage.models import OutboxMessage
from tests.support.crowd import (
    REPORT,
    SUBMIT,
    bind_groups,
    draft_of,
    seed_residents,
    ticket_counts,
    ticket_numbers,
)
from tests.support.harness import FloodClock, Harness

# 429s received as a share of messages sent, once the pacing has learned the limits.
RATE_LIMITED_SHARE = 0.01


async def outbox_rows(harness: Harness) -> list[OutboxMessage]:
    assert harness.app is not None
    async with harness.app.uow_factory() as uow:
        return list((await uow.session.scalars(select(OutboxMessage))).all())


async def assert_all_sent(harness: Harness) -> None:
    """Nothing failed, nothing waits: every message the bot made has left."""
    rows = await outbox_rows(harness)
    left = [(r.dedupe_key, r.status, r.error) for r in rows if r.status != "sent"]
    assert not left, left


def assert_few_refusals(harness: Harness) -> None:
    assert harness.app is not None and harness.app.outbox is not None
    stats = harness.app.outbox.stats
    assert stats.sent > 0
    assert stats.rate_limited <= RATE_LIMITED_SHARE * stats.sent, stats


def sees_number(emulator: BotAPIEmulator, person: SimUser, number: str) -> bool:
    return any(number in message.body for message in emulator.bot_messages(person))


async def report_and_submit(
    harness: Harness, emulator: BotAPIEmulator, people: list[SimUser]
) -> None:
    """Everyone writes a report at once, then everyone presses Submit at once."""
    await asyncio.gather(*(person.send_text(REPORT) for person in people))
    await harness.settle()
    drafts = [draft_of(emulator, person) for person in people]
    assert all(drafts), "every resident sees a draft with its Submit button"
    presses = [p.press(d, SUBMIT) for p, d in zip(people, drafts, strict=True) if d is not None]
    await asyncio.gather(*presses)
    await harness.settle()


async def test_registration_at_a_quick_pace_shows_the_ticket_number(
    harness: Harness, emulator: BotAPIEmulator, flood_clock: FloodClock
) -> None:
    """A step a second, each answered, then a report: the ticket number is shown."""
    wang = emulator.user("王", language_code="zh-hans")
    steps = [
        wang.start,
        lambda: wang.send_text("王女士"),
        lambda: wang.send_contact("+8613812345678"),
    ]
    for step in steps:
        await harness.act(step())
        await flood_clock.sleep(1.0)
    for label in ("3栋", "2单元"):
        await harness.act_press_last(wang, label)
        await flood_clock.sleep(1.0)
    await harness.act(wang.send_text("501"))
    await flood_clock.sleep(1.0)
    await harness.act(wang.send_text(REPORT))
    await harness.act_press_last(wang, SUBMIT)
    numbers = (await ticket_numbers(harness.app.uow_factory))[wang.id]  # type: ignore[union-attr]
    assert sees_number(emulator, wang, numbers[0])
    await assert_all_sent(harness)
    assert_few_refusals(harness)


async def test_twelve_messages_in_a_second_all_answered_in_order(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    assert harness.app is not None
    [wang] = await seed_residents(harness.app.uow_factory, emulator, 1)
    lines = [f"第{i:02d}句:卫生间天花板滴水" for i in range(1, 13)]
    for line in lines:
        await wang.send_text(line)
    await harness.settle()
    shown = draft_of(emulator, wang)
    assert shown is not None
    positions = [shown.body.find(line) for line in lines]
    assert -1 not in positions and positions == sorted(positions), shown.body
    await assert_all_sent(harness)
    # each answer arrived as a message of its own
    rows = await outbox_rows(harness)
    new_messages = [r for r in rows if r.payload.get("edit_message_id") is None]
    assert len(emulator.bot_messages(wang)) == len(new_messages) >= len(lines)


async def test_a_hundred_residents_asking_for_help_at_once_are_all_answered(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    assert harness.app is not None
    people = await seed_residents(harness.app.uow_factory, emulator, 100)
    await asyncio.gather(*(person.send_text("/help") for person in people))
    await harness.settle()
    unanswered = [p.id for p in people if not emulator.bot_messages(p)]
    assert not unanswered
    await assert_all_sent(harness)
    assert_few_refusals(harness)


async def test_fifty_reports_at_once_each_get_their_number_and_one_card(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    assert harness.app is not None
    uow_factory = harness.app.uow_factory
    people = await seed_residents(uow_factory, emulator, 50)
    groups = await bind_groups(uow_factory, emulator)
    await report_and_submit(harness, emulator, people)
    counts = await ticket_counts(uow_factory)
    assert [counts.get(p.id, 0) for p in people] == [1] * 50
    numbers = await ticket_numbers(uow_factory)
    assert all(sees_number(emulator, p, numbers[p.id][0]) for p in people)
    engineering = groups[0]
    cards = [m for m in emulator.bot_messages(engineering) if SUBMIT not in m.button_texts]
    for number in (n[0] for n in numbers.values()):
        assert sum(number in card.body for card in cards) == 1, number
    await assert_all_sent(harness)
    assert_few_refusals(harness)


@pytest.mark.parametrize("kind", ["json_502", "html_502"])
async def test_five_server_errors_in_a_row_lose_no_confirmation(
    harness: Harness, emulator: BotAPIEmulator, kind: str
) -> None:
    """Telegram's own 502 and a proxy's HTML page, five times in a row."""
    assert harness.app is not None
    uow_factory = harness.app.uow_factory
    people = await seed_residents(uow_factory, emulator, 5)
    await bind_groups(uow_factory, emulator)
    await asyncio.gather(*(person.send_text(REPORT) for person in people))
    await harness.settle()
    emulator.inject(kind, "sendMessage", times=5)
    drafts = [draft_of(emulator, person) for person in people]
    await asyncio.gather(
        *(p.press(d, SUBMIT) for p, d in zip(people, drafts, strict=True) if d is not None)
    )
    await harness.settle()
    numbers = await ticket_numbers(uow_factory)
    assert all(sees_number(emulator, p, numbers[p.id][0]) for p in people)
    await assert_all_sent(harness)
    assert harness.app.outbox is not None
    assert harness.app.outbox.stats.transient >= 5


async def test_a_busy_group_holds_back_no_other_chat_and_no_emergency(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    """Forty reminders owed to the engineering group (two minutes of its limit): a new card
    there overtakes them, and a private answer and the managers' emergency card do not
    wait behind them at all."""
    assert harness.app is not None
    uow_factory = harness.app.uow_factory
    [wang] = await seed_residents(uow_factory, emulator, 1)
    groups = await bind_groups(uow_factory, emulator)
    engineering, managers = groups[0], groups[-1]
    async with uow_factory() as uow:
        desk = Desk(uow, harness.app.settings, harness.app.clock)
        for n in range(40):
            reminder = Outgoing(chat_id=engineering.id, text=f"reminder {n:02d}")
            await desk.enqueue(f"catch-up:{n}", reminder, priority=SendPriority.ROUTINE)
        fresh = Outgoing(chat_id=engineering.id, text="new card")
        await desk.enqueue("fresh-card", fresh, priority=SendPriority.CARD)
        alarm = Outgoing(chat_id=managers.id, text="emergency card")
        await desk.enqueue("alarm", alarm, priority=SendPriority.URGENT)
        await uow.commit()
    await harness.act(wang.send_text("/help"))
    group_texts = [m.body for m in emulator.bot_messages(engineering)]
    assert group_texts.index("new card") <= 1, group_texts[:5]
    assert [m.body for m in emulator.bot_messages(managers)] == ["emergency card"]
    # in the order Telegram got them: the answer and the alarm came within the group's
    # first minute, not after its two minutes of reminders
    sends = [
        (int(p["chat_id"]), str(p.get("text", ""))) for m, p in emulator.calls if m == "sendMessage"
    ]
    first_minute = [i for i, (chat, _) in enumerate(sends) if chat == engineering.id][20]
    assert sends.index((managers.id, "emergency card")) < first_minute
    assert min(i for i, (chat, _) in enumerate(sends) if chat == wang.id) < first_minute
    await assert_all_sent(harness)


async def test_a_fifth_of_all_calls_failing_loses_nothing(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    """20% of Bot API calls answer 5xx (JSON or a proxy's page): every draft, confirmation
    and card still arrives, each once."""
    assert harness.app is not None
    uow_factory = harness.app.uow_factory
    people = await seed_residents(uow_factory, emulator, 20)
    groups = await bind_groups(uow_factory, emulator)
    emulator.random_faults(rate=0.2, kinds=("json_500", "json_502", "html_502"), seed=11)
    await report_and_submit(harness, emulator, people)
    emulator.random_faults(rate=0)
    assert sum(emulator.stats.injected.values()) >= 10
    numbers = await ticket_numbers(uow_factory)
    assert all(sees_number(emulator, p, numbers[p.id][0]) for p in people)
    cards = emulator.bot_messages(groups[0])
    for [number] in numbers.values():
        assert sum(number in card.body for card in cards) == 1, number
    await assert_all_sent(harness)


async def test_messages_made_during_an_outage_leave_as_soon_as_it_ends(
    harness: Harness, emulator: BotAPIEmulator, flood_clock: FloodClock
) -> None:
    """A 60-second outage (every call answers a proxy's 502): the answer goes out within
    seconds of its end, not minutes. (One worker: its backoff is the only time travel.)"""
    assert harness.app is not None
    [wang] = await seed_residents(harness.app.uow_factory, emulator, 1)
    emulator.outage(60)
    start = flood_clock()
    await harness.act(wang.send_text("/help"))
    assert emulator.bot_messages(wang)
    assert flood_clock() - start < 60 + BACKOFF_CAP * 1.2 + 1
    await assert_all_sent(harness)


@pytest.mark.parametrize("kind", ["close_after", "close_before"])
async def test_a_card_whose_answer_was_lost_is_sent_again_at_once_and_counted(
    harness: Harness, emulator: BotAPIEmulator, kind: str
) -> None:
    """The connection closes before Telegram answers (after it showed the card, or before
    it saw the request): the card is sent again at once, and the send is counted as
    uncertain. Only the first case can show it twice, the documented duplicate."""
    assert harness.app is not None
    uow_factory = harness.app.uow_factory
    [wang] = await seed_residents(uow_factory, emulator, 1)
    groups = await bind_groups(uow_factory, emulator)
    engineering = groups[0]
    emulator.inject(kind, "sendMessage", chat=engineering.id)
    await report_and_submit(harness, emulator, [wang])
    [[number]] = (await ticket_numbers(uow_factory)).values()
    shown = sum(number in m.body for m in emulator.bot_messages(engineering))
    assert shown == (2 if kind == "close_after" else 1)
    [card_row] = [r for r in await outbox_rows(harness) if r.chat_id == engineering.id]
    assert card_row.status == "sent" and card_row.uncertain_sends == 1
    assert harness.app.outbox is not None and harness.app.outbox.stats.uncertain == 1
