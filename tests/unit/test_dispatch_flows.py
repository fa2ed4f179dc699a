"""Staff dispatch through the dialog engine and the real outbox sender, on both databases:
binding groups, invites, cards, accept, reassign, contact, complete, and the resident's side."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.app import App
from bot.clock import FixedClock
from bot.config import Settings
from storage.models import Correction, Invite, StaffMember
from tests.unit.dispatch_kit import (
    ADMIN,
    ENG_GROUP,
    ENV_GROUP,
    MGR_GROUP,
    GroupPerson,
    World,
)
from tests.unit.sim import fake_classify
from tests.unit.test_flows import register

LI, ZHANG, ZHAO_LEAD, MANAGER, STRANGER, WANG = 2001, 2002, 2003, 2009, 3001, 1001


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    clock = FixedClock(datetime(2026, 11, 28, 6, 0, tzinfo=UTC))  # 14:00 in Shanghai
    app = await App.create(settings, clock=clock, classify=fake_classify)
    yield World(app)
    await app.close()


async def staffed(world: World) -> None:
    await world.bind("engineering", ENG_GROUP)
    await world.bind("environment", ENV_GROUP)
    await world.bind("managers", MGR_GROUP)
    await world.add_member(LI, "engineering", "staff", "李师傅")
    await world.add_member(ZHANG, "engineering", "staff", "张师傅")
    await world.add_member(ZHAO_LEAD, "engineering", "lead", "赵组长")
    await world.add_member(MANAGER, "managers", "manager", "周经理")


async def report(world: World, text: str = "卫生间天花板一直在滴水") -> tuple[GroupPerson, int]:
    """Wang reports a leak (repair, high) and the card reaches engineering."""
    wang = world.person(WANG, WANG, "王女士")
    if (await world.tickets()) == [] and not getattr(world, "_registered", False):
        await register(world.app)
        world._registered = True  # type: ignore[attr-defined]
    await wang.say(text)
    if "煤气" not in text:
        await wang.press(wang.button("确认"))
    await world.flush()
    return wang, (await world.tickets())[-1].id


async def accepted(world: World) -> tuple[GroupPerson, GroupPerson, int]:
    wang, ticket_id = await report(world)
    li = world.person(LI, ENG_GROUP, "李师傅")
    await li.press(f"tk:{ticket_id}:acc", await world.card_message(ticket_id, ENG_GROUP))
    await world.flush()
    return wang, li, ticket_id


# groups, invites, members ------------------------------------------------------------
async def test_bind_and_unbind_group(world: World) -> None:
    admin = world.person(ADMIN, ENG_GROUP, "Admin")
    await admin.say("/bind engineering")
    assert "已绑定" in admin.texts() and "工程部" in admin.texts()
    await admin.say("/bind plumbers")
    assert "/bind" in admin.texts()  # usage, nothing bound
    await world.add_member(LI, "engineering", "staff", "李师傅")
    li = world.person(LI, ENG_GROUP, "李师傅")
    await li.say("/bind engineering")
    assert "只有管理员" in li.texts()
    stranger = world.person(STRANGER, ENG_GROUP, "路人")
    assert await stranger.say("/bind engineering") == []  # not staff: ignored
    await admin.say("/unbind")
    assert "已解除绑定" in admin.texts()
    await admin.say("/unbind")
    assert "没有绑定" in admin.texts()


async def test_bind_in_forum_topic_keeps_thread(world: World) -> None:
    from dataclasses import replace

    admin = world.person(ADMIN, ENG_GROUP, "Admin")
    inc = replace(
        admin._base(),
        text="/bind engineering",
        command="bind",
        command_args="engineering",
        thread_id=77,
    )
    await admin.send(inc)
    assert "本话题" in admin.texts()
    _, ticket_id = await report(world)
    [card] = await world.cards(ticket_id)
    assert card.thread_id == 77
    assert world.sender.to(ENG_GROUP)[-1].thread_id == 77


async def test_invite_join_list_and_remove(world: World) -> None:
    admin = world.person(ADMIN, ENG_GROUP, "Admin")
    await admin.say("/bind engineering")
    await admin.say("/invite engineering lead")
    async with world.app.uow_factory() as uow:
        [invite] = (await uow.session.scalars(select(Invite))).all()
    assert "私信" in admin.texts() and invite.code not in admin.texts()  # not shown in the group
    await world.flush()
    assert invite.code in world.sender.text_to(ADMIN)  # but privately

    zhao = world.person(ZHAO_LEAD, ZHAO_LEAD, "赵组长")
    await zhao.say(f"/join {invite.code}")
    assert "欢迎加入工程部" in zhao.texts() and "组长" in zhao.texts()
    other = world.person(4242, 4242, "Other")
    await other.say(f"/join {invite.code}")
    assert "无效" in other.texts()  # one-time

    zhao_group = world.person(ZHAO_LEAD, ENG_GROUP, "赵组长")
    await zhao_group.say("/invite engineering lead")
    assert "没有执行这个命令的权限" in zhao_group.texts()  # a lead invites staff only
    await zhao_group.say("/invite")  # the group's own team, role staff
    async with world.app.uow_factory() as uow:
        codes = [i.code for i in (await uow.session.scalars(select(Invite))).all()]
    li = world.person(LI, LI, "李师傅")
    await li.say(f"/start inv-{codes[-1]}")  # deep-link form
    assert "欢迎加入" in li.texts()

    await zhao_group.say("/staff")
    assert "李师傅" in zhao_group.texts() and str(LI) in zhao_group.texts()
    li_group = world.person(LI, ENG_GROUP, "李师傅")
    await li_group.say("/staff")
    assert "没有执行这个命令的权限" in li_group.texts()  # staff cannot list
    await zhao_group.say(f"/remove {LI}")
    assert "已将 李师傅 移出" in zhao_group.texts()
    async with world.app.uow_factory() as uow:
        assert not await uow.staff.memberships(LI)
    assert await li_group.say("/staff") == []  # no longer staff: ignored


async def test_staff_commands_refused_in_private_with_words_about_commands(world: World) -> None:
    """Not a refusal about tickets: the person asked for a team command."""
    await register(world.app)
    resident = world.person(WANG, WANG, "王女士")
    for command in ("/invite engineering", "/staff engineering", f"/remove {LI}"):
        await resident.say(command)
        assert "没有执行这个命令的权限" in resident.texts(), command
        assert "工单" not in resident.texts(), command


async def test_join_only_in_private(world: World) -> None:
    someone = world.person(5005, ENG_GROUP, "X")
    assert await someone.say("/join ABCDEFGH") == []


# cards -------------------------------------------------------------------------------
async def test_card_reaches_routed_team_with_masked_phone(world: World) -> None:
    await staffed(world)
    _, ticket_id = await report(world)
    [card] = world.sender.to(ENG_GROUP)
    assert "20261128-0001" in card.text and "报修" in card.text and "加急" in card.text
    assert "138****5678" in card.text and "13812345678" not in card.text
    assert "3栋2单元501" in card.text and "滴水" in card.text
    datas = [b.data for row in card.buttons for b in row]
    assert f"tk:{ticket_id}:acc" in datas and f"tk:{ticket_id}:ph" in datas
    assert all(len((d or "").encode()) <= 64 for d in datas)
    assert world.sender.to(MGR_GROUP) == []  # not an emergency
    [row] = await world.cards(ticket_id)
    assert row.message_id is not None and row.chat_id == ENG_GROUP


async def test_card_with_photos_sends_album_first(world: World) -> None:
    await staffed(world)
    await register(world.app)
    wang = world.person(WANG, WANG, "王女士")
    await wang.photo("photo-1", caption="水管漏了")
    await wang.photo("photo-2")
    await wang.press(wang.button("照片发完"))
    await wang.press(wang.button("确认"))
    await world.flush()
    album, card = world.sender.to(ENG_GROUP)
    assert album.photos == ("photo-1", "photo-2") and not album.buttons
    assert card.buttons and not card.photos


async def test_emergency_card_goes_to_managers_too(world: World) -> None:
    await staffed(world)
    await report(world, "楼道里好大一股煤气味!!")
    assert "紧急工单" in world.sender.text_to(ENG_GROUP)
    assert "紧急工单" in world.sender.text_to(MGR_GROUP)


async def test_ticket_opens_without_bound_group(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        wang, _ = await report(world)
    assert "20261128-0001" in wang.texts()
    assert len(await world.tickets()) == 1
    assert "no group bound for team engineering" in caplog.text
    assert world.sender.sent == []


# accepting ---------------------------------------------------------------------------
async def test_accept_edits_card_and_notifies_resident(world: World) -> None:
    await staffed(world)
    _wang, ticket_id = await report(world)
    message_id = await world.card_message(ticket_id, ENG_GROUP)
    li = world.person(LI, ENG_GROUP, "李师傅")
    replies = await li.press(f"tk:{ticket_id}:acc", message_id)
    [edit] = [r for r in replies if r.edit_message_id == message_id]
    assert "李师傅 已接单" in edit.text
    labels = [b.text for row in edit.buttons for b in row]
    assert {"开始处理", "完成", "转派", "添加备注"} <= set(labels)
    await world.flush()
    assert "李师傅 已接单" in world.sender.text_to(WANG)
    ticket = await world.ticket(ticket_id)
    assert (ticket.status, ticket.assignee_id) == ("accepted", LI)


async def test_accept_race_exactly_one_wins(world: World) -> None:
    await staffed(world)
    _, ticket_id = await report(world)
    message_id = await world.card_message(ticket_id, ENG_GROUP)
    li = world.person(LI, ENG_GROUP, "李师傅")
    zhang = world.person(ZHANG, ENG_GROUP, "张师傅")
    await asyncio.gather(
        li.press(f"tk:{ticket_id}:acc", message_id),
        zhang.press(f"tk:{ticket_id}:acc", message_id),
    )
    ticket = await world.ticket(ticket_id)
    winner, loser = (li, zhang) if ticket.assignee_id == LI else (zhang, li)
    assert winner.last_toast() == "已接单"
    assert f"{winner.name} 已经接单了" in loser.last_toast()
    statuses = [e for e in await world.events(ticket_id) if e.kind == "status"]
    assert [(e.old_value, e.new_value) for e in statuses] == [("new", "accepted")]


async def test_second_accept_on_an_accepted_card_sends_no_edit(world: World) -> None:
    """The card already shows who took it: the loser is told, and nothing is edited
    (Telegram refuses an identical edit with 400 "message is not modified")."""
    await staffed(world)
    _, _li, ticket_id = await accepted(world)
    message_id = await world.card_message(ticket_id, ENG_GROUP)
    sent_before = len(world.sender.sent)
    zhang = world.person(ZHANG, ENG_GROUP, "张师傅")
    replies = await zhang.press(f"tk:{ticket_id}:acc", message_id)
    await world.flush()
    assert "李师傅 已经接单了" in zhang.last_toast()
    assert [r for r in replies if r.edit_message_id is not None] == []
    assert world.sender.sent[sent_before:] == []  # no card edit queued either
    ticket = await world.ticket(ticket_id)
    assert (ticket.status, ticket.assignee_id) == ("accepted", LI)


async def test_stranger_and_resident_pressing_staff_buttons_change_nothing(world: World) -> None:
    await staffed(world)
    wang, ticket_id = await report(world)
    message_id = await world.card_message(ticket_id, ENG_GROUP)
    stranger = world.person(STRANGER, ENG_GROUP, "路人")
    resident_in_group = world.person(WANG, ENG_GROUP, "王女士")
    other_team = world.person(2100, ENG_GROUP, "保洁阿姨")
    await world.add_member(2100, "environment", "staff", "保洁阿姨")
    for person in (stranger, resident_in_group, other_team):
        for action in ("acc", "ph", "re", "cat", "urg", "done", "st"):
            replies = await person.press(f"tk:{ticket_id}:{action}", message_id)
            assert replies == []
            assert person.answers[-1].alert and "只有本组" in person.answers[-1].text
    await wang.press(f"tk:{ticket_id}:acc")  # from the resident's private chat
    assert "只有本组" in wang.answers[-1].text
    ticket = await world.ticket(ticket_id)
    assert ticket.status == "new" and ticket.assignee_id is None
    assert [e.kind for e in await world.events(ticket_id)] == ["created"]


async def test_forged_callback_data_is_refused(world: World) -> None:
    await staffed(world)
    _, ticket_id = await report(world)
    li = world.person(LI, ENG_GROUP, "李师傅")
    forged = [
        "tk:999999:acc",
        "tk:abc:acc",
        f"tk:{ticket_id}:zz",
        f"tk:{ticket_id}:acc:x:y",
        f"tk:{ticket_id}:rt:plumbers",
        f"tk:{ticket_id}:c:nonsense",
        f"tk:{ticket_id}:u:apocalypse",
        "tk:" + "9" * 60,
        f"tk:-{ticket_id}:acc",
        "zz:1:acc",
    ]
    for data in forged:
        await li.press(data, 1)
        assert li.answers[-1].text, data
    ticket = await world.ticket(ticket_id)
    assert (ticket.status, ticket.team, ticket.category, ticket.urgency) == (
        "new",
        "engineering",
        "repair",
        "high",
    )
    assert [e.kind for e in await world.events(ticket_id)] == ["created"]


async def test_non_staff_group_messages_are_ignored(world: World) -> None:
    await staffed(world)
    _, ticket_id = await report(world)
    stranger = world.person(STRANGER, ENG_GROUP, "路人")
    assert await stranger.say("hello everyone") == []
    assert await stranger.reply("我来修", to=await world.card_message(ticket_id, ENG_GROUP)) == []
    assert await stranger.say("/staff engineering") == []
    assert [e.kind for e in await world.events(ticket_id)] == ["created"]


# reassigning -------------------------------------------------------------------------
async def test_reassign_to_another_team_moves_the_card(world: World) -> None:
    await staffed(world)
    _wang, li, ticket_id = await accepted(world)
    message_id = await world.card_message(ticket_id, ENG_GROUP)
    menu = await li.press(f"tk:{ticket_id}:re", message_id)
    assert "环境保洁部" in [b.text for row in menu[0].buttons for b in row]
    await li.press(f"tk:{ticket_id}:rt:environment", message_id)
    assert "转派原因" in li.texts()
    await li.reply("是楼上空调冷凝水,不是管道", to=9999)
    assert "已转派给环境保洁部" in li.texts()
    await world.flush()
    ticket = await world.ticket(ticket_id)
    assert (ticket.team, ticket.status, ticket.assignee_id) == ("environment", "new", None)
    assert "由工程部转来" in world.sender.text_to(ENV_GROUP)
    old = world.sender.to(ENG_GROUP)[-1]
    assert (
        old.edit_message_id == message_id and "已转派给环境保洁部" in old.text and not old.buttons
    )
    assert "已转交环境保洁部" in world.sender.text_to(WANG)
    kinds = [e.kind for e in await world.events(ticket_id)]
    assert kinds[-3:] == ["status", "assignee", "team"]


async def test_reassign_back_to_pool(world: World) -> None:
    await staffed(world)
    _, li, ticket_id = await accepted(world)
    message_id = await world.card_message(ticket_id, ENG_GROUP)
    await li.press(f"tk:{ticket_id}:rt:pool", message_id)
    await li.reply("今天请假", to=1)
    await world.flush()
    ticket = await world.ticket(ticket_id)
    assert (ticket.team, ticket.status, ticket.assignee_id) == ("engineering", "new", None)
    card = world.sender.to(ENG_GROUP)[-1]
    assert "退回待接单:今天请假" in card.text
    assert "接单" in [b.text for row in card.buttons for b in row]
    assert "重新安排处理人员" in world.sender.text_to(WANG)


# contact, notes ----------------------------------------------------------------------
async def test_contact_resident_number_only_in_private_chat(world: World) -> None:
    await staffed(world)
    _, li, ticket_id = await accepted(world)
    message_id = await world.card_message(ticket_id, ENG_GROUP)
    replies = await li.press(f"tk:{ticket_id}:ph", message_id)
    assert all("13812345678" not in r.text for r in replies)
    assert "私信" in li.last_toast()
    await world.flush()
    assert "13812345678" in world.sender.text_to(LI)
    for chat in (ENG_GROUP, MGR_GROUP, ENV_GROUP):
        assert "13812345678" not in world.sender.text_to(chat)
    assert "contact" in [e.kind for e in await world.events(ticket_id)]


async def test_contact_when_staff_never_started_the_bot(world: World) -> None:
    await staffed(world)
    _, li, ticket_id = await accepted(world)
    world.sender.blocked.add(LI)
    await li.press(f"tk:{ticket_id}:ph", await world.card_message(ticket_id, ENG_GROUP))
    await world.flush()
    hint = world.sender.to(ENG_GROUP)[-1]
    assert "私聊" in hint.text and "Start" in hint.text
    assert "13812345678" not in world.sender.text_to(ENG_GROUP)


async def test_note_by_reply_to_card(world: World) -> None:
    await staffed(world)
    _, li, ticket_id = await accepted(world)
    message_id = await world.card_message(ticket_id, ENG_GROUP)
    await li.reply("需要买配件,明天再来", to=message_id)
    assert "备注" in li.texts()
    [note] = [e for e in await world.events(ticket_id) if e.kind == "note"]
    assert note.note == "需要买配件,明天再来" and note.actor_id == LI


# completing and the resident ---------------------------------------------------------
async def complete(world: World, li: GroupPerson, ticket_id: int) -> None:
    message_id = await world.card_message(ticket_id, ENG_GROUP)
    await li.press(f"tk:{ticket_id}:st", message_id)
    await li.press(f"tk:{ticket_id}:done", message_id)
    assert "处理说明" in li.texts()
    await li.reply(None, to=1, photos=("after-photo",))
    assert "照片" in li.texts()
    await li.reply("已更换楼上的排水管", to=1)
    await world.flush()


async def test_complete_with_note_and_photo_then_resident_confirms(world: World) -> None:
    await staffed(world)
    wang, li, ticket_id = await accepted(world)
    await complete(world, li, ticket_id)
    ticket = await world.ticket(ticket_id)
    assert ticket.status == "resolved"
    to_wang = world.sender.to(WANG)
    assert "已开始处理" in world.sender.text_to(WANG)
    album = [o for o in to_wang if o.photos]
    assert album and album[-1].photos == ("after-photo",)
    notice = to_wang[-1]
    assert "已更换楼上的排水管" in notice.text and "问题解决了吗" in notice.text
    wang.last = [notice]
    await wang.press(wang.button("已解决"))
    assert "已关闭" in wang.texts()
    await world.flush()
    assert (await world.ticket(ticket_id)).status == "closed"
    assert "住户已确认解决" in world.sender.to(ENG_GROUP)[-1].text
    assert not world.sender.to(ENG_GROUP)[-1].buttons


async def test_resident_reopens_with_reason(world: World) -> None:
    await staffed(world)
    wang, li, ticket_id = await accepted(world)
    await complete(world, li, ticket_id)
    wang.last = [world.sender.to(WANG)[-1]]
    await wang.press(wang.button("没解决"))
    assert "还有什么问题" in wang.texts()
    await wang.say("还是在滴水")
    assert "已重新提交" in wang.texts()
    await world.flush()
    ticket = await world.ticket(ticket_id)
    assert (ticket.status, ticket.team, ticket.assignee_id) == ("new", "engineering", None)
    assert "住户反馈没解决:还是在滴水" in world.sender.to(ENG_GROUP)[-1].text
    assert len(await world.cards(ticket_id, active_only=True)) == 1
    await wang.press(f"rs:{ticket_id}:ok")  # the old button is stale now
    assert (await world.ticket(ticket_id)).status == "new"


async def test_resident_adds_info_reaching_the_card_as_reply(world: World) -> None:
    await staffed(world)
    wang, ticket_id = await report(world)
    card_id = await world.card_message(ticket_id, ENG_GROUP)
    await wang.say("/my")
    await wang.press(f"my:{ticket_id}")
    await wang.press(wang.button("补充说明"))
    await wang.say("晚上八点后家里有人")
    await wang.photo("ceiling-photo")
    await wang.press(wang.button("补充完了"))
    await world.flush()
    replies = [o for o in world.sender.to(ENG_GROUP) if o.reply_to_message_id == card_id]
    assert "晚上八点后家里有人" in replies[0].text
    assert replies[1].photos == ("ceiling-photo",)
    assert "ceiling-photo" in (await world.ticket(ticket_id)).photo_file_ids
    await wang.say("阳台也在漏水")  # after "done", text is a new report again
    assert "确认提交" in "".join(b.text for o in wang.last for row in o.buttons for b in row)


async def test_resident_cancels_open_ticket(world: World) -> None:
    await staffed(world)
    wang, ticket_id = await report(world)
    message_id = await world.card_message(ticket_id, ENG_GROUP)
    await wang.press(f"my:{ticket_id}:x")
    await wang.press(wang.button("确定取消"))
    assert "已取消" in wang.texts()
    await world.flush()
    assert (await world.ticket(ticket_id)).status == "cancelled"
    edits = [o for o in world.sender.to(ENG_GROUP) if o.edit_message_id == message_id]
    assert "住户已取消" in edits[-1].text and not edits[-1].buttons
    assert "住户已取消工单" in world.sender.text_to(ENG_GROUP)
    li = world.person(LI, ENG_GROUP, "李师傅")
    await li.press(f"tk:{ticket_id}:acc", message_id)  # too late: refused, nothing changes
    assert "已取消" in li.last_toast()
    assert (await world.ticket(ticket_id)).status == "cancelled"


async def test_category_and_urgency_corrections_are_recorded(world: World) -> None:
    await staffed(world)
    _, ticket_id = await report(world)
    message_id = await world.card_message(ticket_id, ENG_GROUP)
    zhang = world.person(ZHANG, ENG_GROUP, "张师傅")
    menu = await zhang.press(f"tk:{ticket_id}:cat", message_id)
    assert "保洁" in [b.text for row in menu[0].buttons for b in row]
    await zhang.press(f"tk:{ticket_id}:c:cleaning", message_id)
    assert "分类学习" in zhang.last_toast()
    await zhang.press(f"tk:{ticket_id}:u:normal", message_id)
    async with world.app.uow_factory() as uow:
        rows = (await uow.session.scalars(select(Correction).order_by(Correction.id))).all()
    assert [(r.field, r.old_value, r.new_value) for r in rows] == [
        ("category", "repair", "cleaning"),
        ("urgency", "high", "normal"),
    ]
    assert rows[0].text == "卫生间天花板一直在滴水" and rows[0].actor_id == ZHANG
    ticket = await world.ticket(ticket_id)
    assert (ticket.category, ticket.urgency) == ("cleaning", "normal")
    assert (ticket.response_due_at - ticket.created_at).total_seconds() == 2 * 3600


async def test_timeline_in_plain_words(world: World) -> None:
    await staffed(world)
    wang, li, ticket_id = await accepted(world)
    await complete(world, li, ticket_id)
    await wang.press(f"my:{ticket_id}")
    details = wang.texts()
    assert "由 李师傅 负责" in details and "状态:已完成" in details
    assert "已更换楼上的排水管" in details
    for code in ("accepted", "in_progress", "resolved", "assignee", "engineering"):
        assert code not in details


async def test_members_of_managers_group_can_act_anywhere(world: World) -> None:
    await staffed(world)
    _, ticket_id = await report(world, "楼道里好大一股煤气味!!")
    manager = world.person(MANAGER, MGR_GROUP, "周经理")
    await manager.press(f"tk:{ticket_id}:acc", await world.card_message(ticket_id, MGR_GROUP))
    await world.flush()
    assert (await world.ticket(ticket_id)).assignee_id == MANAGER
    # the engineering copy of the card follows
    assert "周经理 已接单" in world.sender.to(ENG_GROUP)[-1].text


async def test_staff_members_are_stored(world: World) -> None:
    await staffed(world)
    async with world.app.uow_factory() as uow:
        rows = (await uow.session.scalars(select(StaffMember))).all()
    assert {r.telegram_id for r in rows} == {LI, ZHANG, ZHAO_LEAD, MANAGER}


# handover ------------------------------------------------------------------------------
async def test_removing_a_technician_returns_their_ticket_to_the_pool(world: World) -> None:
    """The card no longer names them, the resident hears nothing (nothing promised
    changes), and a teammate takes it and completes it."""
    await staffed(world)
    _wang, li, ticket_id = await accepted(world)
    await li.press(f"tk:{ticket_id}:st", await world.card_message(ticket_id, ENG_GROUP))
    await world.flush()
    before = await world.ticket(ticket_id)
    told_wang = len(world.sender.to(WANG))
    zhao = world.person(ZHAO_LEAD, ENG_GROUP, "赵组长")
    await zhao.say(f"/remove {LI}")
    assert "已将 李师傅 移出" in zhao.texts()
    assert before.number in zhao.texts() and "已退回本组待接单" in zhao.texts()
    await world.flush()
    ticket = await world.ticket(ticket_id)
    assert (ticket.status, ticket.assignee_id, ticket.assignee_name) == ("new", None, None)
    assert ticket.resolution_due_at == before.resolution_due_at  # the promise stands
    [status] = [e for e in await world.events(ticket_id) if e.kind == "status"][-1:]
    assert (status.old_value, status.new_value, status.actor_id) == (
        "in_progress",
        "new",
        ZHAO_LEAD,
    )
    assert status.note == "李师傅 已离开本组"
    edits = [o for o in world.sender.to(ENG_GROUP) if o.edit_message_id is not None]
    assert "已退回待接单:李师傅 已离开本组" in edits[-1].text
    assert "接单" in [b.text for row in edits[-1].buttons for b in row]
    assert len(world.sender.to(WANG)) == told_wang  # the resident is not told

    zhang = world.person(ZHANG, ENG_GROUP, "张师傅")
    message_id = await world.card_message(ticket_id, ENG_GROUP)
    await zhang.press(f"tk:{ticket_id}:acc", message_id)
    await zhang.press(f"tk:{ticket_id}:done", message_id)
    await zhang.press(f"tk:{ticket_id}:fin", message_id)
    ticket = await world.ticket(ticket_id)
    assert (ticket.status, ticket.assignee_id) == ("resolved", ZHANG)


async def test_removal_leaves_other_teams_and_finished_tickets_alone(world: World) -> None:
    await staffed(world)
    _wang, li, held = await accepted(world)
    await li.press(f"tk:{held}:done", await world.card_message(held, ENG_GROUP))
    await li.press(f"tk:{held}:fin", await world.card_message(held, ENG_GROUP))
    admin = world.person(ADMIN, ADMIN, "Admin")
    await admin.say(f"/remove {LI} environment")  # not a member there
    assert "没有找到这位成员" in admin.texts()
    await admin.say(f"/remove {LI}")
    assert "已退回" not in admin.texts()
    assert (await world.ticket(held)).status == "resolved"


async def test_a_lead_takes_over_a_held_ticket_and_staff_cannot(world: World) -> None:
    await staffed(world)
    _wang, _li, ticket_id = await accepted(world)
    number = (await world.ticket(ticket_id)).number
    zhang = world.person(ZHANG, ENG_GROUP, "张师傅")
    await zhang.say(f"/takeover {number}")
    assert "只有本组组长或管理人员可以接手" in zhang.texts()
    resident = world.person(WANG, WANG, "王女士")
    await resident.say(f"/takeover {number}")
    assert "只有本组组长或管理人员可以接手" in resident.texts()
    assert number not in resident.texts()  # not even whether it exists
    assert (await world.ticket(ticket_id)).assignee_id == LI
    zhao = world.person(ZHAO_LEAD, ENG_GROUP, "赵组长")
    await zhao.say(f"/takeover {number}")
    assert number in zhao.texts()
    await world.flush()
    ticket = await world.ticket(ticket_id)
    assert (ticket.status, ticket.assignee_id, ticket.assignee_name) == (
        "accepted",
        ZHAO_LEAD,
        "赵组长",
    )
    assigned = [e for e in await world.events(ticket_id) if e.kind == "assignee"]
    assert (assigned[-1].old_value, assigned[-1].new_value) == ("李师傅", "赵组长")
    assert "已由 赵组长 接手" in world.sender.to(ENG_GROUP)[-1].text
    await zhao.press(f"tk:{ticket_id}:st", await world.card_message(ticket_id, ENG_GROUP))
    assert (await world.ticket(ticket_id)).status == "in_progress"
