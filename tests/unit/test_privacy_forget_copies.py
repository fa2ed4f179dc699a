"""/forgetme leaves no copy behind, on both databases: the outbox rows written for the
person's tickets (cards, edits, the Contact message, FAQ draft prompts), FAQ drafts still
being written, the /notices choice, the dialog state of someone not yet registered. It
hands an incident over when the forgotten report led it, and a pending danger question
or a report draft survives /forgetme -> Keep. /mydata lists what is kept meanwhile."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from bot.app import App
from bot.config import Settings
from bot.messages import Outgoing
from storage.models import (
    DialogState,
    FaqDraft,
    Incident,
    Notice,
    NoticeOptOut,
    NoticeRecipient,
    OutboxMessage,
    Ticket,
)
from storage.privacy import PersonalDataRepo
from tests.support.apps import START, AppFactory
from tests.support.danger import UNSURE, english_resident, tickets, unsure_classify
from tests.support.outages import report_outage, seed
from tests.support.people import Person, register
from tests.support.world import (
    ENG_GROUP,
    LI,
    SERVICE_GROUP,
    WANG,
    GroupPerson,
    World,
    report,
    staffed,
)

# What could identify 王女士: name, phone (full and masked), address, her words.
HERS = ("王女士", "13812345678", "5678", "3栋2单元501", "滴水", "物业费")
CLERK = 2201


def document_of(replies: list[Outgoing]) -> dict[str, Any]:
    [out] = [o for o in replies if o.document is not None]
    assert out.document is not None
    loaded: dict[str, Any] = json.loads(out.document.content.decode("utf-8"))
    return loaded


async def outbox(world: World) -> list[OutboxMessage]:
    async with world.app.uow_factory() as uow:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        return list((await uow.session.scalars(query)).all())


def copies(rows: list[OutboxMessage]) -> list[str]:
    """The rows whose payload still holds something of hers."""
    found = []
    for row in rows:
        text = json.dumps(row.payload, ensure_ascii=False)
        found += [f"{row.dedupe_key}: {word}" for word in HERS if word in text]
    return found


async def forget(person: GroupPerson | Person) -> None:
    await person.say("/forgetme")
    await person.press(person.button("确认删除"))


async def inquiry_with_draft(world: World) -> tuple[GroupPerson, int]:
    """Wang's inquiry answered by 小陈 of the service team, who starts an FAQ draft."""
    await staffed(world)
    await world.bind("service", SERVICE_GROUP)
    await world.add_member(CLERK, "service", "staff", "小陈")
    await register(world.app)
    wang = world.person(WANG, WANG, "王女士")
    await wang.say("请问物业费怎么交")
    await wang.press(wang.button("咨询"))
    await wang.press(wang.button("确认"))
    await world.flush()
    ticket_id = (await world.tickets())[-1].id
    clerk = world.person(CLERK, SERVICE_GROUP, "小陈")
    card = await world.card_message(ticket_id, SERVICE_GROUP)
    for action in ("acc", "done", "fin", "faq"):
        await clerk.press(f"tk:{ticket_id}:{action}", card)
    await world.flush()
    return wang, ticket_id


# 1. the outbox -------------------------------------------------------------------------------
async def test_forgetme_blanks_cards_edits_and_the_contact_message_in_the_outbox(
    world: World,
) -> None:
    await staffed(world)
    wang, ticket_id = await report(world)
    li = world.person(LI, ENG_GROUP, "李师傅")
    card = await world.card_message(ticket_id, ENG_GROUP)
    await li.press(f"tk:{ticket_id}:acc", card)
    await li.press(f"tk:{ticket_id}:ph", card)  # her full number, privately to 李师傅
    await world.flush()
    assert any("13812345678" in o.text for o in world.sender.to(LI))
    assert copies(await outbox(world))  # the copies the fix is about

    await forget(wang)
    await world.flush()
    assert copies(await outbox(world)) == []


async def test_a_card_still_waiting_is_sent_without_her_data(world: World) -> None:
    await staffed(world)
    await register(world.app)
    wang = world.person(WANG, WANG, "王女士")
    await wang.say("卫生间天花板一直在滴水")
    await wang.press(wang.button("确认"))
    await forget(wang)  # before the sender ran: the card is still waiting

    assert copies(await outbox(world)) == []
    await world.flush()
    group = world.sender.to(ENG_GROUP)
    assert group and all(not o.buttons for o in group)
    assert "删除个人信息" in group[0].text
    assert all(word not in o.text for o in group for word in HERS)


# 2. FAQ drafts -------------------------------------------------------------------------------
async def test_mydata_lists_a_draft_and_forgetme_deletes_it_with_its_prompt(
    world: World,
) -> None:
    wang, ticket_id = await inquiry_with_draft(world)
    data = document_of(await wang.say("/mydata"))
    [draft] = data["faq_drafts"]
    assert (draft["question"], draft["status"]) == ("请问物业费怎么交", "writing")
    assert draft["ticket"] == (await world.ticket(ticket_id)).number

    await forget(wang)
    await world.flush()
    async with world.app.uow_factory() as uow:
        assert (await uow.session.scalars(select(FaqDraft))).all() == []
    assert copies(await outbox(world)) == []
    # the writer's dialog finds its draft gone
    clerk = world.person(CLERK, CLERK, "小陈")
    await clerk.say("在 App 里缴费")
    assert "已不存在" in clerk.texts()


async def test_an_approved_faq_entry_stays(world: World) -> None:
    wang, _ = await inquiry_with_draft(world)
    async with world.app.uow_factory() as uow:
        [draft] = (await uow.session.scalars(select(FaqDraft))).all()
        draft.status, draft.question = "approved", "物业费怎么交"
        await uow.commit()
    assert document_of(await wang.say("/mydata"))["faq_drafts"] == []  # the property's now
    await forget(wang)
    async with world.app.uow_factory() as uow:
        [kept] = (await uow.session.scalars(select(FaqDraft))).all()
    assert (kept.status, kept.question) == ("approved", "物业费怎么交")


# 3. incidents --------------------------------------------------------------------------------
async def test_the_first_reporter_forgetting_hands_the_incident_over(world: World) -> None:
    ids = await seed(world, 3)
    await report_outage(world, ids)
    first, second, third = await world.tickets()
    assert (first.incident_role, second.incident_role) == ("lead", "member")

    await forget(world.person(ids[0], ids[0], "住户"))
    await world.flush()
    async with world.app.uow_factory() as uow:
        [incident] = (await uow.session.scalars(select(Incident))).all()
    assert incident.lead_ticket_id == second.id and incident.status == "open"
    lead = await world.ticket(second.id)
    assert (lead.incident_role, lead.status) == ("lead", "new")
    [card] = await world.cards(second.id, active_only=True)
    posted = [o for o in world.sender.to(ENG_GROUP) if o.buttons and lead.number in o.text]
    assert posted and "原首报工单" in posted[-1].text

    # The team works the incident from the new card: the other reporter follows.
    li = world.person(LI, ENG_GROUP, "李师傅")
    await li.press(f"tk:{second.id}:acc", await world.card_message(second.id, ENG_GROUP))
    assert (await world.ticket(second.id)).status == "accepted"
    assert (await world.ticket(third.id)).status == "accepted"
    assert card.active


# 4. the dialog under way ---------------------------------------------------------------------
async def test_forgetme_waits_for_the_danger_answer_which_still_pages(
    settings: Settings, app_factory: AppFactory
) -> None:
    app = await app_factory(settings, classify=unsure_classify)
    tom = await english_resident(app)
    await tom.say(UNSURE)
    await tom.say("/forgetme")
    assert "answer the safety question above first" in tom.texts()
    assert all(not o.buttons for o in tom.last)
    app.clock.advance(seconds=10 * 60)  # type: ignore[attr-defined]
    assert await app.periodic().danger_sweep() == 1
    [ticket] = await tickets(app)
    assert ticket.urgency == "emergency"


async def test_keep_brings_back_a_report_draft(world: World) -> None:
    await staffed(world)
    await register(world.app)
    wang = world.person(WANG, WANG, "王女士")
    await wang.say("卫生间天花板一直在滴水")
    submit = wang.button("确认")
    await wang.say("/forgetme")
    await wang.press(wang.button("保留"))
    assert "保持不变" in wang.texts()
    await wang.press(submit)
    [ticket] = await world.tickets()
    assert ticket.description == "卫生间天花板一直在滴水"


# 5. not registered yet -----------------------------------------------------------------------
async def test_a_registration_half_done_is_exported_kept_or_deleted(world: World) -> None:
    alice = Person(world.app.dialog, 5005, language="en")
    await alice.say("My kitchen tap is 漏 badly")
    await alice.say("Alice Smith")
    await alice.contact("+8613911112222")

    data = document_of(await alice.say("/mydata"))
    assert "not finished registering" in alice.texts()
    conversation = json.dumps(data["conversation"], ensure_ascii=False)
    assert "Alice Smith" in conversation and "+8613911112222" in conversation
    assert "kitchen tap" in conversation and data["profile"] is None

    await alice.say("/forgetme")
    assert "not finished registering" in alice.texts()
    await alice.press(alice.button("Keep"))
    await alice.say("/forgetme")
    await alice.press(alice.button("Delete"))
    assert "Deleted" in alice.texts()
    async with world.app.uow_factory() as uow:
        assert await uow.session.get(DialogState, (5005, 5005)) is None
        assert await uow.residents.by_telegram_id(5005) is None
    await alice.say("/mydata")
    assert "keep no personal data" in alice.texts()


async def test_keep_during_registration_resumes_it(world: World) -> None:
    alice = Person(world.app.dialog, 5005, language="en")
    await alice.say("My kitchen tap is 漏 badly")
    await alice.say("Alice Smith")
    await alice.say("/forgetme")
    await alice.press(alice.button("Keep"))
    async with world.app.uow_factory() as uow:
        state = await uow.session.get(DialogState, (5005, 5005))
    assert state is not None and state.flow == "reg" and state.data["name"] == "Alice Smith"


# 6. notices ----------------------------------------------------------------------------------
async def test_the_notices_choice_and_received_list_are_exported_then_deleted(
    world: World,
) -> None:
    await staffed(world)
    await register(world.app)
    wang = world.person(WANG, WANG, "王女士")
    await wang.say("/notices off")
    async with world.app.uow_factory() as uow:
        notice = Notice(
            author_id=LI,
            audience="property",
            text="明天 9:00-12:00 停水",
            status="sent",
            send_at=START,
            created_at=START,
            started_at=START,
        )
        uow.session.add(notice)
        await uow.session.flush()
        uow.session.add(NoticeRecipient(notice_id=notice.id, telegram_id=WANG))
        await uow.commit()

    data = document_of(await wang.say("/mydata"))
    assert data["notices"]["turned_off_at"] is not None
    assert [n["text"] for n in data["notices"]["received"]] == ["明天 9:00-12:00 停水"]

    await forget(wang)
    async with world.app.uow_factory() as uow:
        assert (await uow.session.scalars(select(NoticeOptOut))).all() == []
        assert (await uow.session.scalars(select(NoticeRecipient))).all() == []
        assert len((await uow.session.scalars(select(Ticket))).all()) == 0
    await register(world.app)
    await wang.say("/notices")
    assert "已关闭" not in wang.texts()


async def test_the_outbox_search_takes_a_long_history(app: App) -> None:
    """Five key prefixes a ticket: a resident with three hundred tickets makes 1,500 OR-ed
    conditions, past SQLite's expression depth of 1,000 (the search runs in chunks)."""
    async with app.uow_factory() as uow:
        prefixes = [f"card:{n}:" for n in range(1500)]
        found = await PersonalDataRepo(uow.session).outbox_about(["x"], prefixes, ["20261128-9"])
    assert list(found) == []
