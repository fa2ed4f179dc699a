"""Dispatch services without the dialog engine: the authorisation matrix, the conditional
UPDATE under a stale read, the transition table, the outbox sender, lexicon suggestions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bot.domain.vocabulary import CardAction
from bot.messages import ChatMigrated, Outgoing, Sent
from bot.services.desk import Desk, Draft
from bot.services.dispatch import Conflict, Dispatch
from bot.services.lifecycle import IllegalTransition, next_status
from bot.services.outbox import OutboxSender
from bot.services.staff import Actor, NotAllowed, StaffService
from storage.models import Ticket
from tests.support.people import register
from tests.support.world import ADMIN, ENG_GROUP, FakeSender, World

ASSIGNEE, STAFF, LEAD, OTHER_STAFF, OTHER_LEAD = 2001, 2002, 2003, 2101, 2102
MANAGER, ROLE_ADMIN, STRANGER, RESIDENT = 2009, 2010, 3001, 1001

# role -> the actions it may take on an engineering ticket accepted by ASSIGNEE
# ("accept" is tried on a fresh, unassigned ticket).
TICKET_ACTIONS = tuple(CardAction)
EVERYTHING = set(TICKET_ACTIONS)
EXPECTED: dict[str, set[str]] = {
    "stranger": set(),
    "resident": set(),
    "other team staff": set(),
    "other team lead": set(),
    "team staff": {"accept", "category", "urgency"},
    "assignee": EVERYTHING,
    "team lead": EVERYTHING,
    "manager": EVERYTHING,
    "admin role": EVERYTHING,
    "settings admin": EVERYTHING,
}
IDS: dict[str, int] = {
    "stranger": STRANGER,
    "resident": RESIDENT,
    "other team staff": OTHER_STAFF,
    "other team lead": OTHER_LEAD,
    "team staff": STAFF,
    "assignee": ASSIGNEE,
    "team lead": LEAD,
    "manager": MANAGER,
    "admin role": ROLE_ADMIN,
    "settings admin": ADMIN,
}


@pytest.fixture
async def world(world: World) -> World:
    """The shared world with Wang registered and a member for every role."""
    await register(world.app)
    for telegram_id, team, role in (
        (ASSIGNEE, "engineering", "staff"),
        (STAFF, "engineering", "staff"),
        (LEAD, "engineering", "lead"),
        (OTHER_STAFF, "environment", "staff"),
        (OTHER_LEAD, "environment", "lead"),
        (MANAGER, "managers", "manager"),
        (ROLE_ADMIN, "service", "admin"),
    ):
        await world.add_member(telegram_id, team, role, f"m{telegram_id}")
    return world


async def open_ticket(world: World, accept_by: int | None = ASSIGNEE) -> int:
    async with world.app.uow_factory() as uow:
        desk = Desk(uow, world.app.settings, world.app.clock)
        resident = await desk.resident(RESIDENT)
        assert resident is not None
        draft = Draft(description="卫生间漏水", category="repair", urgency="high")
        ticket = await desk.open_ticket(resident, draft)
        if accept_by is not None:
            dispatch = Dispatch(desk)
            await dispatch.accept(await dispatch.actor_for(accept_by, ticket), ticket)
        await uow.commit()
        return ticket.id


Attempt = Callable[[Dispatch, Actor, Ticket], Awaitable[Any]]
ATTEMPTS: dict[str, Attempt] = {
    "accept": lambda d, a, t: d.accept(a, t),
    "start": lambda d, a, t: d.start(a, t),
    "wait": lambda d, a, t: d.wait(a, t),
    "estimate": lambda d, a, t: d.set_estimate(a, t, datetime(2026, 11, 28, 9, 0, tzinfo=UTC)),
    "complete": lambda d, a, t: d.complete(a, t, "done", ["p1"]),
    "reassign": lambda d, a, t: d.reassign(a, t, "environment", "not ours"),
    "contact": lambda d, a, t: d.contact(a, t),
    "note": lambda d, a, t: d.note(a, t, "a note"),
    "category": lambda d, a, t: d.set_category(a, t, "cleaning"),
    "urgency": lambda d, a, t: d.set_urgency(a, t, "normal"),
}


async def attempt(world: World, role: str, action: str) -> bool:
    """Run one action as one role on a fresh ticket; True if the service allowed it."""
    ticket_id = await open_ticket(world, accept_by=None if action == "accept" else ASSIGNEE)
    async with world.app.uow_factory() as uow:
        dispatch = Dispatch(Desk(uow, world.app.settings, world.app.clock))
        ticket = await uow.tickets.get(ticket_id)
        assert ticket is not None
        before = (ticket.status, ticket.team, ticket.category, ticket.urgency, ticket.assignee_id)
        actor = await dispatch.actor_for(IDS[role], ticket)
        try:
            await ATTEMPTS[action](dispatch, actor, ticket)
        except NotAllowed:
            after = (ticket.status, ticket.team, ticket.category, ticket.urgency)
            assert after == before[:4], (role, action)  # refused before any change
            assert len(await uow.tickets.events(ticket_id)) == (1 if action == "accept" else 3)
            return False
        await uow.commit()
        return True


async def test_authorisation_matrix_every_action_every_role(world: World) -> None:
    assert set(ATTEMPTS) == set(TICKET_ACTIONS)
    allowed = {
        role: {action for action in TICKET_ACTIONS if await attempt(world, role, action)}
        for role in EXPECTED
    }
    assert allowed == EXPECTED


async def test_staff_of_a_new_ticket_may_use_pool_actions(world: World) -> None:
    """Before anyone accepts, every team member may reassign, contact or add notes."""
    ticket_id = await open_ticket(world, accept_by=None)
    async with world.app.uow_factory() as uow:
        dispatch = Dispatch(Desk(uow, world.app.settings, world.app.clock))
        ticket = await uow.tickets.get(ticket_id)
        assert ticket is not None
        actor = await dispatch.actor_for(STAFF, ticket)
        assert await dispatch.contact(actor, ticket) == "+8613812345678"
        await dispatch.note(actor, ticket, "看过了")
        with pytest.raises(NotAllowed):  # nobody has it yet: nothing to start
            await dispatch.start(actor, ticket)


async def test_conditional_update_refuses_a_stale_ticket(world: World) -> None:
    """The status someone saw is part of the WHERE: a stale read changes nothing."""
    ticket_id = await open_ticket(world, accept_by=None)
    async with world.app.uow_factory() as uow:
        dispatch = Dispatch(Desk(uow, world.app.settings, world.app.clock))
        ticket = await uow.tickets.get(ticket_id)
        assert ticket is not None and ticket.status == "new"
        # Another worker accepts behind the ORM's back; our object still says "new".
        await uow.session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id)
            .values(status="accepted", assignee_id=STAFF, assignee_name="张")
            .execution_options(synchronize_session=False)
        )
        actor = await dispatch.actor_for(ASSIGNEE, ticket)
        with pytest.raises(Conflict) as raised:
            await dispatch.accept(actor, ticket)
        assert raised.value.ticket.assignee_id == STAFF  # reloaded: shows who won
        assert [e.kind for e in await uow.tickets.events(ticket_id)] == ["created"]


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("resolve", "cancelled"),
        ("accept", "accepted"),
        ("start", "new"),
        ("confirm", "new"),
        ("cancel", "closed"),
        ("reopen", "cancelled"),
        ("no-such-action", "new"),
        ("accept", "bogus"),
    ],
)
def test_illegal_transitions_are_refused(action: str, status: str) -> None:
    with pytest.raises(IllegalTransition):
        next_status(action, status)


async def test_complete_cancelled_ticket_is_refused_in_the_service(world: World) -> None:
    ticket_id = await open_ticket(world)
    async with world.app.uow_factory() as uow:
        desk = Desk(uow, world.app.settings, world.app.clock)
        dispatch = Dispatch(desk)
        ticket = await uow.tickets.get(ticket_id)
        resident = await desk.resident(RESIDENT)
        assert ticket is not None and resident is not None
        await dispatch.cancel(resident, ticket)
        actor = await dispatch.actor_for(ASSIGNEE, ticket)
        with pytest.raises(IllegalTransition):
            await dispatch.complete(actor, ticket, "done")
        with pytest.raises(IllegalTransition):
            await dispatch.note(actor, ticket, "late note")


async def test_invite_is_one_time_and_expires(world: World) -> None:
    async with world.app.uow_factory() as uow:
        desk = Desk(uow, world.app.settings, world.app.clock)
        service = StaffService(desk)
        prop = await service.property_for(None)
        assert prop is not None
        admin = await service.actor(ADMIN, prop.id)
        code = (await service.invite(admin, prop, "security", "staff")).code
        expired = (await service.invite(admin, prop, "security", "staff")).code
        lead = await service.actor(LEAD, prop.id)
        with pytest.raises(NotAllowed):
            await service.invite(lead, prop, "security", "staff")  # not their team
        await uow.commit()
    world.app.clock.advance(days=8)  # type: ignore[attr-defined]
    async with world.app.uow_factory() as uow:
        service = StaffService(Desk(uow, world.app.settings, world.app.clock))
        assert await service.join(expired, 5001, "A", None) is None
    world.app.clock.advance(days=-8)  # type: ignore[attr-defined]
    async with world.app.uow_factory() as uow:
        service = StaffService(Desk(uow, world.app.settings, world.app.clock))
        member = await service.join(code.lower(), 5002, "B", "bee")
        assert member is not None and (member.team, member.role) == ("security", "staff")
        assert await service.join(code, 5003, "C", None) is None
        await uow.commit()


# the outbox sender ---------------------------------------------------------------------
async def queue(world: World, key: str, out: Outgoing, **refs: Any) -> None:
    async with world.app.uow_factory() as uow:
        await Desk(uow, world.app.settings, world.app.clock).enqueue(key, out, **refs)
        await uow.commit()


async def rows(world: World) -> dict[str, Any]:
    async with world.app.uow_factory() as uow:
        return {row.dedupe_key: row for row in await uow.outbox.all()}


async def test_outbox_sends_once_and_records_message_id(world: World) -> None:
    await queue(world, "k1", Outgoing(chat_id=555, text="hello"))
    await queue(world, "k1", Outgoing(chat_id=555, text="hello again"))  # same key: dropped
    await world.flush()
    await world.flush()
    assert [o.text for o in world.sender.sent] == ["hello"]
    row = (await rows(world))["k1"]
    assert (row.status, row.sent_message_id, row.attempts) == ("sent", 7000, 1)


async def test_blocked_resident_is_marked_inactive_and_fallback_sent(world: World) -> None:
    world.sender.blocked.add(RESIDENT)
    hint = Outgoing(chat_id=ENG_GROUP, text="start a private chat")
    await queue(world, "dm", Outgoing(chat_id=RESIDENT, text="secret"), fallback=hint)
    await world.flush()
    state = await rows(world)
    assert state["dm"].status == "failed" and "blocked" in (state["dm"].error or "")
    assert state["dm:fallback"].status == "sent"
    assert [o.text for o in world.sender.sent] == ["start a private chat"]
    async with world.app.uow_factory() as uow:
        resident = await uow.residents.by_telegram_id(RESIDENT)
        assert resident is not None and not resident.active


class MigratingSender(FakeSender):
    async def send(self, out: Outgoing) -> Sent:
        if out.chat_id == -500:
            raise ChatMigrated(-100500)
        return await super().send(out)


async def test_group_upgraded_to_supergroup_is_followed(world: World) -> None:
    await world.bind("engineering", -500)
    await queue(world, "to-old-group", Outgoing(chat_id=-500, text="card"))
    sender = MigratingSender()
    outbox = OutboxSender(world.app.uow_factory, sender, world.app.clock)
    for _ in range(3):
        await outbox.drain()
    assert [(o.chat_id, o.text) for o in sender.sent] == [(-100500, "card")]
    async with world.app.uow_factory() as uow:
        [team] = await uow.teams.bound_to(-100500)
        assert team.code == "engineering"


async def test_card_edit_waits_for_the_card_message_id(world: World) -> None:
    await world.bind("engineering", ENG_GROUP)
    wang = world.person(RESIDENT, RESIDENT, "王女士")
    await wang.say("卫生间天花板一直在滴水")
    await wang.press(wang.button("确认"))
    [ticket] = await world.tickets()
    [card] = await world.cards(ticket.id)
    edit = Outgoing(chat_id=ENG_GROUP, text="edited")
    await queue(world, "edit-1", edit, edit_card=card.id)
    # Only the edit is due first: it must wait (behind its card, in the group's order),
    # not be sent without a message id.
    async with world.app.uow_factory() as uow:
        await uow.session.execute(
            update(type(card)).where(type(card).id == card.id).values(message_id=None)
        )
        row = await uow.outbox.by_key(card.outbox_key)
        assert row is not None
        row.next_attempt_at = datetime(2030, 1, 1, tzinfo=UTC)
        await uow.commit()
    await world.outbox.drain()
    assert world.sender.sent == []
    assert (await rows(world))["edit-1"].status == "pending"
    async with world.app.uow_factory() as uow:
        await uow.cards.set_message_id(card.outbox_key, 4242)
        card_row = await uow.outbox.by_key(card.outbox_key)
        assert card_row is not None
        card_row.status = "sent"  # as the sender records it with the message id
        row = await uow.outbox.by_key("edit-1")
        assert row is not None
        row.next_attempt_at = world.app.clock.now()
        await uow.commit()
    await world.outbox.drain()
    assert [(o.edit_message_id, o.text) for o in world.sender.sent] == [(4242, "edited")]


# lexicon suggestions -------------------------------------------------------------------
async def test_lexicon_suggest_reads_corrections(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import lexicon as lexicon_cli
    from bot.nlp import suggest

    ticket_id = await open_ticket(world, accept_by=None)
    async with world.app.uow_factory() as uow:
        dispatch = Dispatch(Desk(uow, world.app.settings, world.app.clock))
        ticket = await uow.tickets.get(ticket_id)
        assert ticket is not None
        await dispatch.set_category(await dispatch.actor_for(STAFF, ticket), ticket, "cleaning")
        await uow.commit()
    seen: list[tuple[str, str, str]] = []

    def fake_suggest(corrections: Any) -> dict[str, list[tuple[str, float]]]:
        seen.extend(corrections)
        return {"cleaning": [("漏水", 1.5)]}

    monkeypatch.setattr(suggest, "suggest_terms", fake_suggest)
    assert await lexicon_cli.suggest_from_corrections(world.app.settings) == 0
    assert seen == [("卫生间漏水", "repair", "cleaning")]
    assert "cleaning: 漏水 (1.5)" in capsys.readouterr().out


async def test_lexicon_export_writes_corrected_tickets(world: World, tmp_path: Path) -> None:
    from bot.cli import lexicon as lexicon_cli
    from bot.nlp.evaluate import load_examples

    ticket_id = await open_ticket(world, accept_by=None)
    await open_ticket(world, accept_by=None)  # never corrected: not exported
    async with world.app.uow_factory() as uow:
        dispatch = Dispatch(Desk(uow, world.app.settings, world.app.clock))
        ticket = await uow.tickets.get(ticket_id)
        assert ticket is not None
        actor = await dispatch.actor_for(STAFF, ticket)
        await dispatch.set_category(actor, ticket, "cleaning")
        await dispatch.set_category(actor, ticket, "complaint")  # corrected twice: one line
        urgency = ticket.urgency
        await uow.commit()
    out = tmp_path / "corrections.jsonl"
    assert await lexicon_cli.export_corrections(world.app.settings, str(out)) == 0
    examples = load_examples(out)  # a valid training file
    assert [(e.text, e.category, e.urgency) for e in examples] == [
        ("卫生间漏水", "complaint", urgency)
    ]
