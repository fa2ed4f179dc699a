"""Phone numbers people type never reach a group in full: the card, resident additions,
reasons, /ticket, return-visit cards, escalations and the digest all show them masked.
Names that are numbers are refused at registration. The full number goes only to a
private chat, through the Contact button (or /ticket privately, under the same rule)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.app import App
from bot.clock import FixedClock
from bot.handlers import digests
from bot.handlers.digests import DigestNotices
from bot.messages import Incoming, Outgoing
from bot.services import phones
from bot.services.digest_schedule import digest_tick
from bot.services.phones import find_phones
from storage.models import Resident
from tests.support.apps import START
from tests.support.people import Person, register
from tests.support.world import (
    ENG_GROUP,
    LI,
    MANAGER,
    MGR_GROUP,
    SERVICE_GROUP,
    WANG,
    GroupPerson,
    World,
    staffed,
)

# Every number typed somewhere below, as digits; none may reach a group in full.
TYPED = ("13987654321", "13911112222", "01065529988", "13700001111", "15800001111", "13600001111")


class Recorder:
    """Everything the bot said in group chats: direct replies and the outbox."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.replies: list[Outgoing] = []

    def person(self, user_id: int, chat_id: int, name: str) -> GroupPerson:
        person = self.world.person(user_id, chat_id, name)
        send = person.send

        async def recording(incoming: Incoming) -> list[Outgoing]:
            sent = await send(incoming)
            self.replies += [o for o in sent if o.chat_id < 0]
            return sent

        person.send = recording  # type: ignore[method-assign]
        return person

    def group_texts(self) -> list[str]:
        outbox = [o.text for o in self.world.sender.sent if o.chat_id < 0]
        return outbox + [o.text for o in self.replies]


@pytest.fixture(autouse=True)
def charts_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digests, "default_folder", lambda: tmp_path / "charts")


def squeezed(text: str) -> str:
    """The text without the separators people put inside numbers."""
    return re.sub(r"[\s\-+()（）－]", "", text)


async def test_no_typed_phone_reaches_a_group_in_full(world: World) -> None:
    await world.bind("service", SERVICE_GROUP)
    await staffed(world)
    groups = Recorder(world)
    await register(world.app)
    # A name and a room registered before names were checked.
    async with world.app.uow_factory() as uow:
        await uow.session.execute(
            update(Resident)
            .where(Resident.telegram_id == WANG)
            .values(name="王 139 1111 2222", room="501(座机010-6552 9988)")
        )
        await uow.commit()
    wang = world.person(WANG, WANG, "王女士")
    await wang.say("卫生间漏水了,请打我电话 13987654321")
    await wang.press(wang.button("确认"))
    await world.flush()
    [ticket] = await world.tickets()
    card = world.sender.text_to(ENG_GROUP)
    assert "139****4321" in card and "139****2222" in card and "010****9988" in card

    # the resident adds a number under the card
    await wang.press(f"my:{ticket.id}:add")
    await wang.say("也可以打 +86 137 0000 1111")
    await world.flush()
    assert "137****1111" in world.sender.text_to(ENG_GROUP)

    # staff: accept, back to the pool with a reason, accept, complete with a note
    li = groups.person(LI, ENG_GROUP, "李师傅")
    card_id = await world.card_message(ticket.id, ENG_GROUP)
    await li.press(f"tk:{ticket.id}:acc", card_id)
    await li.press(f"tk:{ticket.id}:re", card_id)
    await li.press(f"tk:{ticket.id}:rt:pool", card_id)
    await li.reply("住户说白天打 158-0000-1111", to=1)
    await world.flush()
    assert "158****1111" in world.sender.text_to(ENG_GROUP)
    card_id = await world.card_message(ticket.id, ENG_GROUP)
    await li.press(f"tk:{ticket.id}:acc", card_id)
    await li.press(f"tk:{ticket.id}:done", card_id)
    await li.reply("已修好,有问题打 13600001111", to=1)
    await world.flush()

    # not solved: the reopened card and the return-visit card
    await wang.press(f"rs:{ticket.id}:no")
    await wang.say("还是漏,打我 13987654321")
    await world.flush()
    assert "住户反馈没解决:还是漏,打我 139****4321" in world.sender.text_to(ENG_GROUP)
    assert "139****2222" in world.sender.text_to(SERVICE_GROUP)

    # /ticket in the team's group
    await li.say(f"/ticket {ticket.number}")
    looked_up = groups.replies[-1].text
    assert "138****5678" in looked_up and "139****4321" in looked_up

    # an overdue escalation and the next morning's digest (oldest open tickets)
    clock = world.app.clock
    assert isinstance(clock, FixedClock)
    clock.set(START + timedelta(hours=1))
    await world.app.periodic().sla_sweep()
    clock.set(datetime(2026, 11, 29, 0, 5, tzinfo=UTC))  # 08:05 in Shanghai
    await digest_tick(world.app.uow_factory, world.app.settings, clock, DigestNotices())
    await world.flush()
    managers = world.sender.text_to(MGR_GROUP)
    assert "010****9988" in managers  # the escalation names the address
    assert "请打我电话 139***" in managers  # the digest quotes the oldest open, masked first

    texts = groups.group_texts()
    assert len(texts) > 15
    leaks = [t for t in texts if find_phones(t) or any(n in squeezed(t) for n in TYPED)]
    assert leaks == []
    assert all("13812345678" not in squeezed(t) for t in texts)  # nor the registered one


async def test_contact_button_gives_the_full_number_privately_only(world: World) -> None:
    await staffed(world)
    await register(world.app)
    wang = world.person(WANG, WANG, "王女士")
    await wang.say("漏水,打 13987654321")
    await wang.press(wang.button("确认"))
    await world.flush()
    [ticket] = await world.tickets()
    li = world.person(LI, ENG_GROUP, "李师傅")
    await li.press(f"tk:{ticket.id}:ph", await world.card_message(ticket.id, ENG_GROUP))
    await world.flush()
    assert "13812345678" in world.sender.text_to(LI)  # the presser's private chat
    assert li.last == [] and "私信" in li.last_toast()
    group = world.sender.text_to(ENG_GROUP)
    assert "13812345678" not in squeezed(group) and "13987654321" not in squeezed(group)
    events = [e.kind for e in await world.events(ticket.id)]
    assert "contact" in events  # the look-up is recorded


async def test_ticket_privately_shows_the_full_number_to_those_who_may_contact(
    world: World,
) -> None:
    await staffed(world)
    await register(world.app)
    wang = world.person(WANG, WANG, "王女士")
    await wang.say("漏水,打 13987654321")
    await wang.press(wang.button("确认"))
    [ticket] = await world.tickets()
    manager = world.person(MANAGER, MANAGER, "周经理")
    await manager.say(f"/ticket {ticket.number}")
    assert "+8613812345678" in manager.texts() and "13987654321" in manager.texts()
    in_group = world.person(MANAGER, MGR_GROUP, "周经理")
    await in_group.say(f"/ticket {ticket.number}")
    assert "138****5678" in in_group.texts() and "139****4321" in in_group.texts()


@pytest.mark.parametrize(
    "name", ["13812345678", "123456", "+86 138 1234 5678", "王13812345678", "007"]
)
async def test_names_that_are_numbers_are_refused_politely(world: World, name: str) -> None:
    zhou = Person(world.app.dialog, 1010)
    await zhou.say("/start")
    await zhou.say(name)
    assert "不要只写数字或电话号码" in zhou.texts()
    async with world.app.uow_factory() as uow:
        state = await uow.dialogs.get(1010, 1010)
    assert state is not None and state.step == "name"
    await zhou.say("周先生")
    assert "手机号" in zhou.texts() and "不要只写数字" not in zhou.texts()


async def test_names_with_a_digit_are_still_names(world: World) -> None:
    for user_id, name in ((1011, "李4"), (1012, "Room 501 Li")):
        person = Person(world.app.dialog, user_id)
        await person.say("/start")
        await person.say(name)
        assert "不要只写数字" not in person.texts()


async def test_a_card_does_not_search_what_the_desk_wrote_itself_for_phones(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ticket number and the already masked phone on a card are the desk's own text:
    the group's translator searches only what people typed (the search is a card's costliest
    step). The card shows them as before."""
    searched: list[str] = []
    search = phones.find_phones

    def recording(text: str, region: str = "CN") -> list[phones.PhoneSpan]:
        searched.append(text)
        return search(text, region)

    async with app.uow_factory() as uow:
        prop = (await uow.properties.all())[0]
        team = await uow.teams.ensure(prop.id, "engineering")
        team.chat_id = -100777
        await uow.commit()
    wang = await register(app)
    await wang.say("卫生间天花板一直在滴水，电话13987654321")
    monkeypatch.setattr(phones, "find_phones", recording)
    await wang.press(wang.button("确认"))
    async with app.uow_factory() as uow:
        card = next(r for r in await uow.outbox.all() if r.chat_id == -100777)
        number = (await uow.tickets.all())[0].number
    text = card.payload["text"]
    assert number in text and "138****5678" in text and "139****4321" in text
    assert "13987654321" not in text  # what the resident typed is still masked
    assert number not in searched and "138****5678" not in searched, searched
