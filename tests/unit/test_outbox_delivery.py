"""The outbox sender under Telegram's weather, with a scripted Sender: passing failures are
retried and never discarded, permanent ones recorded, an unknown outcome is sent again at
once and counted, 429s close only their chat, order per chat holds, and a claim left by a
dead process is free at the next start."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import event

from bot.domain.vocabulary import SendPriority
from bot.messages import (
    BadRequest,
    CallbackAnswer,
    OutcomeUnknown,
    Outgoing,
    RateLimited,
    Sent,
    TransientError,
)
from bot.services.desk import Desk
from bot.services.outbox import LEASE, OutboxSender
from bot.services.pacing import Pacer
from storage.models import OutboxMessage
from tests.support.world import TravelTimer, World

GROUP = -100777
RESIDENT = 4242


class ScriptedSender:
    """Fails the n-th attempt to a chat as scripted ((chat, n) -> exception maker)."""

    def __init__(
        self, script: dict[tuple[int, int], Callable[[], Exception]] | None = None
    ) -> None:
        self.script = script or {}
        self.attempts: list[Outgoing] = []
        self.shown: list[Outgoing] = []  # what people saw (an unknown outcome was shown)
        self._ids = itertools.count(9000)

    async def send(self, out: Outgoing) -> Sent:
        self.attempts.append(out)
        nth = sum(1 for o in self.attempts if o.chat_id == out.chat_id)
        make = self.script.get((out.chat_id, nth))
        if make is not None:
            error = make()
            if isinstance(error, OutcomeUnknown):
                self.shown.append(out)  # Telegram showed it; the answer was lost
            raise error
        self.shown.append(out)
        return Sent(next(self._ids))

    async def answer(self, answer: CallbackAnswer) -> None:
        return None


def failing(
    chat: int, attempts: range, make: Callable[[], Exception]
) -> dict[tuple[int, int], Callable[[], Exception]]:
    return {(chat, n): make for n in attempts}


async def queue(world: World, *messages: tuple[str, int, str, SendPriority]) -> None:
    async with world.app.uow_factory() as uow:
        desk = Desk(uow, world.app.settings, world.app.clock)
        for key, chat_id, text, priority in messages:
            await desk.enqueue(key, Outgoing(chat_id=chat_id, text=text), priority=priority)
        await uow.commit()


async def rows(world: World) -> dict[str, OutboxMessage]:
    async with world.app.uow_factory() as uow:
        return {row.dedupe_key: row for row in await uow.outbox.all()}


def sender_for(world: World, sender: ScriptedSender, timer: TravelTimer) -> OutboxSender:
    return OutboxSender(world.app.uow_factory, sender, world.app.clock, pacer=Pacer(timer=timer))


async def test_server_errors_are_retried_with_backoff_until_sent(world: World) -> None:
    timer = TravelTimer()
    sender = ScriptedSender(
        failing(RESIDENT, range(1, 4), lambda: TransientError("502 Bad Gateway"))
    )
    outbox = sender_for(world, sender, timer)
    await queue(world, ("m", RESIDENT, "your ticket", SendPriority.REPLY))
    start = timer.now
    await outbox.drain()
    assert [o.text for o in sender.shown] == ["your ticket"]
    assert (await rows(world))["m"].status == "sent"
    assert outbox.stats.transient == 3
    # backoff 0.5, 1, 2 s (±20%): prompt, not after a lease
    assert 2.8 <= timer.now - start <= 4.5


async def test_a_long_failure_waits_in_the_database_and_is_never_discarded(
    world: World,
) -> None:
    sender = ScriptedSender(failing(RESIDENT, range(1, 13), lambda: TransientError("503")))
    outbox = sender_for(world, sender, TravelTimer())
    await queue(world, ("m", RESIDENT, "hello", SendPriority.REPLY))
    await outbox.drain()
    row = (await rows(world))["m"]
    assert row.status == "pending" and row.claimed_until is None
    assert row.next_attempt_at > world.app.clock.now()
    world.app.clock.advance(seconds=31)  # type: ignore[attr-defined]
    await outbox.drain()
    assert (await rows(world))["m"].status == "sent"
    assert [o.text for o in sender.shown] == ["hello"]


async def test_an_unknown_outcome_is_sent_again_at_once_and_counted(world: World) -> None:
    sender = ScriptedSender(
        failing(GROUP, range(1, 2), lambda: OutcomeUnknown("server disconnected"))
    )
    outbox = sender_for(world, sender, TravelTimer())
    await queue(world, ("card", GROUP, "card #1", SendPriority.CARD))
    await outbox.drain()
    row = (await rows(world))["card"]
    assert row.status == "sent" and row.uncertain_sends == 1
    assert outbox.stats.uncertain == 1
    assert [o.text for o in sender.shown] == ["card #1", "card #1"]  # the documented double


async def test_a_bad_request_is_recorded_and_the_chat_goes_on(world: World) -> None:
    sender = ScriptedSender(
        failing(RESIDENT, range(1, 2), lambda: BadRequest("can't parse entities"))
    )
    outbox = sender_for(world, sender, TravelTimer())
    await queue(
        world,
        ("bad", RESIDENT, "broken", SendPriority.REPLY),
        ("next", RESIDENT, "fine", SendPriority.REPLY),
    )
    await outbox.drain()
    found = await rows(world)
    assert (found["bad"].status, found["bad"].error) == ("failed", "can't parse entities")
    assert found["next"].status == "sent"


async def test_a_429_closes_only_its_chat_and_is_not_counted_as_sent(world: World) -> None:
    timer = TravelTimer()
    sender = ScriptedSender(failing(RESIDENT, range(1, 2), lambda: RateLimited(7)))
    outbox = sender_for(world, sender, timer)
    await queue(
        world,
        ("a1", RESIDENT, "first", SendPriority.REPLY),
        ("b1", RESIDENT + 1, "other person", SendPriority.REPLY),
    )
    await outbox.drain()
    assert sorted(o.text for o in sender.shown) == ["first", "other person"]
    assert [o.text for o in sender.attempts].count("other person") == 1  # never held back
    assert outbox.stats.rate_limited == 1
    assert outbox.stats.sent == 2  # the refused attempt is not a message
    assert timer.now - 1000.0 >= 7.0  # the refused chat waited what Telegram said


async def test_order_per_chat_holds_across_a_failure(world: World) -> None:
    """The first message fails for a while: the second waits behind it, not past it."""
    sender = ScriptedSender(failing(RESIDENT, range(1, 13), lambda: TransientError("500")))
    outbox = sender_for(world, sender, TravelTimer())
    await queue(
        world,
        ("one", RESIDENT, "1", SendPriority.REPLY),
        ("two", RESIDENT, "2", SendPriority.REPLY),
    )
    await outbox.drain()
    assert sender.shown == []
    world.app.clock.advance(seconds=31)  # type: ignore[attr-defined]
    await outbox.drain()
    assert [o.text for o in sender.shown] == ["1", "2"]


async def test_in_a_group_an_emergency_overtakes_routine_messages(world: World) -> None:
    sender = ScriptedSender()
    outbox = sender_for(world, sender, TravelTimer())
    await queue(
        world,
        *[(f"r{n}", GROUP, f"reminder {n}", SendPriority.ROUTINE) for n in range(3)],
        ("alarm", GROUP, "emergency", SendPriority.URGENT),
    )
    await outbox.drain()
    assert [o.text for o in sender.shown] == ["emergency", *(f"reminder {n}" for n in range(3))]


async def test_in_a_private_chat_the_order_made_is_kept_whatever_the_priority(
    world: World,
) -> None:
    sender = ScriptedSender()
    outbox = sender_for(world, sender, TravelTimer())
    await queue(
        world,
        ("survey", RESIDENT, "rate us", SendPriority.BULK),
        ("reply", RESIDENT, "answer", SendPriority.REPLY),
    )
    await outbox.drain()
    assert [o.text for o in sender.shown] == ["rate us", "answer"]


async def test_a_claim_left_by_a_dead_sender_is_free_at_the_next_start(world: World) -> None:
    await queue(world, ("m", RESIDENT, "hello", SendPriority.REPLY))
    now = world.app.clock.now()
    async with world.app.uow_factory() as uow:  # a sender claimed it, then died
        assert await uow.outbox.claim((await uow.outbox.all())[0].id, now, now + LEASE)
        await uow.commit()
    sender = ScriptedSender()
    outbox = sender_for(world, sender, TravelTimer())
    await outbox.drain()
    assert sender.shown == []  # held by the claim
    assert await outbox.release_claims() == 1
    await outbox.drain()
    assert [o.text for o in sender.shown] == ["hello"]


async def test_an_unreadable_row_fails_and_the_chat_goes_on(world: World) -> None:
    await queue(
        world,
        ("old", RESIDENT, "from an older version", SendPriority.REPLY),
        ("next", RESIDENT, "fine", SendPriority.REPLY),
    )
    async with world.app.uow_factory() as uow:
        row = await uow.outbox.by_key("old")
        assert row is not None
        row.payload = {"text": "x", "buttons": [[["two", "items"]]]}  # rows of 3 expected
        await uow.commit()
    sender = ScriptedSender()
    await sender_for(world, sender, TravelTimer()).drain()
    found = await rows(world)
    assert found["old"].status == "failed" and (found["old"].error or "").startswith("unreadable")
    assert [o.text for o in sender.shown] == ["fine"]


async def test_a_message_a_day_old_is_not_sent_any_more(world: World) -> None:
    await queue(world, ("stale", RESIDENT, "accepted yesterday", SendPriority.CARD))
    world.app.clock.advance(hours=25)  # type: ignore[attr-defined]
    sender = ScriptedSender()
    await sender_for(world, sender, TravelTimer()).drain()
    assert sender.attempts == []
    row = (await rows(world))["stale"]
    assert row.status == "failed" and (row.error or "").startswith("expired")


async def test_an_untranslated_error_fails_the_row_instead_of_blocking_the_chat(
    world: World,
) -> None:
    sender = ScriptedSender(failing(RESIDENT, range(1, 2), lambda: ValueError("a bug")))
    await queue(
        world,
        ("bad", RESIDENT, "broken", SendPriority.REPLY),
        ("next", RESIDENT, "fine", SendPriority.REPLY),
    )
    await sender_for(world, sender, TravelTimer()).drain()
    found = await rows(world)
    assert found["bad"].status == "failed"
    assert [o.text for o in sender.attempts] == ["broken", "fine"]  # tried once, not twelve


async def test_a_claim_made_since_taking_the_lead_is_not_released(world: World) -> None:
    """A new leader frees a dead sender's claims after settling; a row it claimed itself in
    the meantime is a send in progress, and freeing it would send the row twice."""
    await queue(world, ("old", RESIDENT, "held by the dead", SendPriority.REPLY))
    await queue(world, ("new", RESIDENT + 1, "ours, in flight", SendPriority.REPLY))
    now = world.app.clock.now()
    earlier = now - timedelta(seconds=2)  # the dead sender's claim, before the lead began
    queued = await rows(world)
    async with world.app.uow_factory() as uow:
        assert await uow.outbox.claim(queued["old"].id, now, earlier + LEASE)
        assert await uow.outbox.claim(queued["new"].id, now, now + LEASE)
        await uow.commit()
    outbox = sender_for(world, ScriptedSender(), TravelTimer())
    assert await outbox.release_claims(made_before=now - timedelta(seconds=1)) == 1
    after = await rows(world)
    assert after["old"].claimed_until is None and after["new"].claimed_until is not None


async def test_a_chats_next_message_is_claimed_where_the_last_send_is_recorded(
    world: World,
) -> None:
    """Three messages waiting for one chat: the first is claimed on its own, each next one
    in the transaction that records the send before it (not in one of its own), in order."""
    sender = ScriptedSender()
    outbox = sender_for(world, sender, TravelTimer())
    await queue(world, *[(f"m{n}", RESIDENT, f"{n}", SendPriority.REPLY) for n in range(3)])
    transactions: list[object] = []

    def began(connection: object) -> None:
        transactions.append(connection)

    engine = world.app.engine.sync_engine
    event.listen(engine, "begin", began)
    try:
        await outbox.drain()
    finally:
        event.remove(engine, "begin", began)
    assert [o.text for o in sender.shown] == ["0", "1", "2"]
    assert {row.status for row in (await rows(world)).values()} == {"sent"}
    # the look for due chats, the first claim, and one per send recorded
    assert len(transactions) == 1 + 1 + 3, len(transactions)


async def test_the_writes_of_chats_sending_at_once_share_transactions(world: World) -> None:
    """Ten chats with a reply each: their workers' claims, and the outcomes of their sends,
    are written together (a group commit) instead of two transactions per message; each
    message is still sent once and recorded."""
    sender = ScriptedSender()
    outbox = sender_for(world, sender, TravelTimer())
    chats = [RESIDENT + n for n in range(10)]
    await queue(world, *[(f"r{chat}", chat, f"{chat}", SendPriority.REPLY) for chat in chats])
    transactions: list[object] = []

    def began(connection: object) -> None:
        transactions.append(connection)

    engine = world.app.engine.sync_engine
    event.listen(engine, "begin", began)
    try:
        await outbox.drain()
    finally:
        event.remove(engine, "begin", began)
    assert sorted(o.chat_id for o in sender.shown) == chats
    assert {row.status for row in (await rows(world)).values()} == {"sent"}
    # the look, then the claims and the outcomes in a few shared transactions (were 1 + 20)
    assert len(transactions) <= 1 + 4, len(transactions)


async def test_a_failing_write_in_a_shared_transaction_fails_alone(world: World) -> None:
    """One worker's write that fails rolls back the shared transaction; the others' writes
    are made again, each in its own, and only the failing one sees the error."""
    outbox = sender_for(world, ScriptedSender(), TravelTimer())

    async def fine(uow: object) -> str:
        return "ok"

    async def broken(uow: object) -> str:
        raise RuntimeError("broken write")

    results = await asyncio.gather(
        outbox._together(fine),
        outbox._together(broken),
        outbox._together(fine),
        return_exceptions=True,
    )
    assert results[0] == "ok" and results[2] == "ok"
    assert isinstance(results[1], RuntimeError)
