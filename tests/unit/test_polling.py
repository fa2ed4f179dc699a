"""The shared polling loop: confirm only what finished, one person's updates in order."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from bot.messages import PollingConflict
from bot.transports.polling import Fetched, Offsets, Poller


@dataclass
class Update:
    update_id: int
    person: int


@dataclass
class FakeTelegram:
    """getUpdates as Telegram answers it: an offset forgets what lies below it; everything
    else is answered again, oldest first, up to `limit`."""

    updates: list[Update] = field(default_factory=list)
    offsets: list[int | None] = field(default_factory=list)
    fail_next: int = 0
    conflicts: int = 0  # the next getUpdates calls answered 409 (another process polls)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    last_id: int = 0

    def send(self, person: int) -> Update:
        self.last_id += 1
        update = Update(self.last_id, person)
        self.updates.append(update)
        self.arrived.set()
        return update

    async def fetch(
        self, offset: int | None, timeout: float, limit: int
    ) -> Sequence[Fetched[Update]]:
        self.offsets.append(offset)
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("connection reset")
        if self.conflicts:
            self.conflicts -= 1
            raise PollingConflict("Conflict: terminated by other getUpdates request")
        if offset is not None:
            self.updates = [u for u in self.updates if u.update_id >= offset]
        if not self.updates and timeout > 0:
            self.arrived.clear()
            await self.arrived.wait()  # a long poll: answers when something arrives
        return [Fetched(u.update_id, u.person, u) for u in self.updates[:limit]]

    @property
    def confirmed_below(self) -> int:
        return max((o for o in self.offsets if o is not None), default=0)


class Recorder:
    def __init__(self) -> None:
        self.handled: list[Update] = []
        self.gates: dict[int, asyncio.Event] = {}
        self.started: dict[int, asyncio.Event] = {}

    def gate(self, update_id: int) -> asyncio.Event:
        self.started[update_id] = asyncio.Event()
        self.gates[update_id] = asyncio.Event()
        return self.gates[update_id]

    async def handle(self, update: Update) -> None:
        if update.update_id in self.gates:
            self.started[update.update_id].set()
            await self.gates[update.update_id].wait()
        for _ in range(random.randint(0, 3)):  # interleave with other people's updates
            await asyncio.sleep(0)
        self.handled.append(update)


async def until(condition: object, timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.001)

    await asyncio.wait_for(poll(), timeout)


async def test_an_update_is_confirmed_only_after_it_finished() -> None:
    telegram, recorder = FakeTelegram(), Recorder()
    poller: Poller[Update] = Poller(telegram.fetch, recorder.handle, requery=0.01)
    slow = telegram.send(person=1)
    release = recorder.gate(slow.update_id)
    quick = telegram.send(person=2)
    running = asyncio.create_task(poller.run())
    await until(lambda: quick in recorder.handled)
    # The second person is done, the first is not: Telegram may forget neither yet.
    await until(lambda: len(telegram.offsets) >= 4)
    assert telegram.confirmed_below <= slow.update_id
    assert [u.update_id for u in telegram.updates] == [slow.update_id, quick.update_id]
    release.set()
    await until(lambda: telegram.confirmed_below == quick.update_id + 1)
    assert telegram.updates == []
    poller.stop()
    await running
    assert sorted(u.update_id for u in recorder.handled) == [1, 2]


async def test_an_update_seen_again_while_in_hand_is_not_handled_twice() -> None:
    telegram, recorder = FakeTelegram(), Recorder()
    poller: Poller[Update] = Poller(telegram.fetch, recorder.handle, requery=0.01)
    first = telegram.send(person=1)
    release = recorder.gate(first.update_id)
    running = asyncio.create_task(poller.run())
    await recorder.started[first.update_id].wait()
    await until(lambda: len(telegram.offsets) >= 5)  # re-polled several times meanwhile
    release.set()
    await until(lambda: telegram.confirmed_below == 2)
    poller.stop()
    await running
    assert recorder.handled == [first]


async def test_one_persons_updates_in_order_and_people_concurrently() -> None:
    telegram, recorder = FakeTelegram(), Recorder()
    poller: Poller[Update] = Poller(telegram.fetch, recorder.handle, requery=0.01)
    # Person 1's first update waits until person 2 has been handled: only concurrency
    # across people lets that finish.
    blocker = telegram.send(person=1)
    release = recorder.gate(blocker.update_id)
    for _ in range(11):
        telegram.send(person=1)
    other = telegram.send(person=2)
    running = asyncio.create_task(poller.run())
    await until(lambda: other in recorder.handled)
    release.set()
    await until(lambda: len(recorder.handled) == 13)
    poller.stop()
    await running
    mine = [u.update_id for u in recorder.handled if u.person == 1]
    assert mine == list(range(1, 13))


async def test_a_burst_of_many_people_keeps_each_persons_order() -> None:
    telegram, recorder = FakeTelegram(), Recorder()
    poller: Poller[Update] = Poller(telegram.fetch, recorder.handle, limit=7, requery=0.01)
    rng = random.Random(11)
    for _ in range(200):
        telegram.send(person=rng.randint(1, 9))
    running = asyncio.create_task(poller.run())
    await until(lambda: len(recorder.handled) == 200)
    poller.stop()
    await running
    for person in range(1, 10):
        ids = [u.update_id for u in recorder.handled if u.person == person]
        assert ids == sorted(ids)
    assert len({u.update_id for u in recorder.handled}) == 200


async def test_shutdown_confirms_what_finished_and_leaves_the_rest_for_next_time() -> None:
    telegram, recorder = FakeTelegram(), Recorder()
    poller: Poller[Update] = Poller(telegram.fetch, recorder.handle, requery=0.01)
    done = telegram.send(person=1)
    stuck = telegram.send(person=2)
    recorder.gate(stuck.update_id)
    queued = telegram.send(person=2)
    running = asyncio.create_task(poller.run())
    await until(lambda: done in recorder.handled)
    await recorder.started[stuck.update_id].wait()
    finished = await poller.shutdown(timeout=0.01)
    await running
    assert finished is False
    assert telegram.offsets[-1] == stuck.update_id  # the finished one is confirmed
    assert [u.update_id for u in telegram.updates] == [stuck.update_id, queued.update_id]
    assert poller.pending == 0

    # The next run (after a restart) gets both again, in order.
    again = Recorder()
    second: Poller[Update] = Poller(telegram.fetch, again.handle, requery=0.01)
    rerun = asyncio.create_task(second.run())
    await until(lambda: len(again.handled) == 2)
    await second.shutdown(timeout=1)
    await rerun
    assert again.handled == [stuck, queued]
    assert telegram.updates == []


async def test_a_failed_poll_is_tried_again() -> None:
    telegram, recorder = FakeTelegram(fail_next=3), Recorder()
    poller: Poller[Update] = Poller(telegram.fetch, recorder.handle, backoff=0.0)
    sent = telegram.send(person=1)
    running = asyncio.create_task(poller.run())
    await until(lambda: sent in recorder.handled)
    poller.stop()
    await running
    assert telegram.offsets[:4] == [None, None, None, None]


async def test_a_handler_that_raises_still_lets_the_offset_move_on() -> None:
    telegram = FakeTelegram()
    handled: list[int] = []

    async def handle(update: Update) -> None:
        handled.append(update.update_id)
        if update.update_id == 1:
            raise RuntimeError("a bug after the commit")

    poller: Poller[Update] = Poller(telegram.fetch, handle, requery=0.01)
    telegram.send(person=1)
    telegram.send(person=1)
    running = asyncio.create_task(poller.run())
    await until(lambda: telegram.confirmed_below == 3)
    poller.stop()
    await running
    assert handled == [1, 2]


def test_offsets_move_past_a_contiguous_finished_run_only() -> None:
    offsets = Offsets()
    for update_id in (10, 11, 12, 13):
        assert offsets.take(update_id)
    assert not offsets.take(11)
    offsets.finish(12)
    offsets.finish(13)
    assert offsets.next == 10
    assert not offsets.take(12)  # finished, answered again: not taken twice
    offsets.finish(10)
    assert offsets.next == 11
    offsets.finish(11)
    assert offsets.next == 14
    assert not offsets.take(11)  # a poll sent before 11 finished answers it late
    assert offsets.take(14)


@pytest.mark.parametrize("released", [True, False])
def test_a_released_update_is_never_confirmed(released: bool) -> None:
    offsets = Offsets()
    offsets.take(5)
    offsets.take(6)
    offsets.finish(6)
    if released:
        offsets.release(5)
    assert offsets.next == 5


async def test_a_newcomer_meeting_a_409_stops_instead_of_fighting() -> None:
    """Telegram cuts off the older of two polls with 409; the older process polls again at
    once, so the newer one meets a 409 before any poll of its own was answered: it ends."""
    telegram, recorder = FakeTelegram(), Recorder()
    poller: Poller[Update] = Poller(telegram.fetch, recorder.handle, requery=0.01)
    telegram.conflicts = 1
    with pytest.raises(PollingConflict, match="terminated by other getUpdates"):
        await asyncio.wait_for(poller.run(), 5)
    assert len(telegram.offsets) == 1  # no retry


async def test_a_new_leader_polls_through_the_former_leaders_last_409s() -> None:
    """After a handover the former leader polls for up to a second more (until it sees its
    lock is gone); the new leader, not yet answered, must not take itself for a newcomer."""
    telegram, recorder = FakeTelegram(), Recorder()
    poller: Poller[Update] = Poller(telegram.fetch, recorder.handle, requery=0.01)
    telegram.conflicts = 2
    running = asyncio.create_task(poller.run())
    poller.expect_former_poller(seconds=30)
    update = telegram.send(person=1)
    await until(lambda: update in recorder.handled, timeout=10)
    poller.stop()
    await running
    assert len(telegram.offsets) >= 3  # two refused polls, then answered


async def test_after_the_takeover_grace_a_409_means_newcomer_again() -> None:
    telegram, recorder = FakeTelegram(), Recorder()
    poller: Poller[Update] = Poller(telegram.fetch, recorder.handle, requery=0.01)
    telegram.conflicts = 1
    poller.expect_former_poller(seconds=0)
    with pytest.raises(PollingConflict):
        await asyncio.wait_for(poller.run(), 5)


async def test_the_process_polling_first_keeps_polling_through_a_409(
    caplog: pytest.LogCaptureFixture,
) -> None:
    telegram, recorder = FakeTelegram(), Recorder()
    poller: Poller[Update] = Poller(telegram.fetch, recorder.handle, requery=0.01)
    running = asyncio.create_task(poller.run())
    first = telegram.send(person=1)
    await until(lambda: first in recorder.handled)  # a poll of ours was answered
    telegram.conflicts = 2
    update = telegram.send(person=1)
    await until(lambda: telegram.conflicts == 0 and update in recorder.handled)
    later = telegram.send(person=2)  # and it still polls after the conflicts
    await until(lambda: later in recorder.handled)
    poller.stop()
    await running
    assert sum("polling again so the newer process stops" in r.message for r in caplog.records) == 2


async def test_while_updates_are_in_hand_polls_keep_their_pace() -> None:
    """Every answer brings the unfinished updates back: while one is in hand the poller
    waits `pace` between polls instead of asking again at every finish; with nothing in
    hand its long poll goes out at once."""
    telegram, recorder = FakeTelegram(), Recorder()
    poller: Poller[Update] = Poller(telegram.fetch, recorder.handle, requery=0.0, pace=60.0)
    pauses: list[float] = []
    pause = poller._pause

    async def travel(seconds: float) -> None:  # no real waiting: note it and go on
        pauses.append(seconds)
        await pause(0)

    poller._pause = travel  # type: ignore[method-assign]
    polls: list[tuple[int, list[int]]] = []  # (pauses before the poll, update ids answered)
    fetch = telegram.fetch

    async def polling(offset: int | None, timeout: float, limit: int) -> Sequence[Fetched[Update]]:
        paused = len(pauses)
        answered = await fetch(offset, timeout, limit)
        polls.append((paused, [f.update_id for f in answered]))
        return answered

    poller._fetch = polling
    slow = telegram.send(person=1)
    release = recorder.gate(slow.update_id)
    running = asyncio.create_task(poller.run())
    await recorder.started[slow.update_id].wait()
    await until(lambda: len(telegram.offsets) >= 4)
    assert len(pauses) >= 3
    assert all(59.0 < seconds <= 60.0 for seconds in pauses)
    release.set()
    await until(lambda: telegram.confirmed_below == slow.update_id + 1)
    await until(lambda: not poller.pending)
    paused = len(pauses)
    second = telegram.send(person=2)  # arrives while the long poll waits
    await until(lambda: len(recorder.handled) == 2)
    first_answer = next(p for p, ids in polls if second.update_id in ids)
    assert first_answer == paused  # no pause held it back
    poller.stop()
    await running
