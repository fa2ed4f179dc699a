"""Consultations answered from the property's FAQ, end to end on both transports and both
databases: an answer that helps, one passed to staff (the usual inquiry ticket), and a
question without an answer; both of the latter are listed as FAQ gaps."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.faq import print_gaps
from bot.config import Settings
from bot.handlers.digests import digest_text
from bot.i18n import Translator
from bot.services.desk import Desk
from bot.services.digest import digest_for
from emulator import BotAPIEmulator
from storage.models import FaqGap, Ticket
from tests.support.harness import Harness, texts

FAQ = Path(__file__).resolve().parents[2] / "examples" / "faq.toml"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"faq_file": str(FAQ)})


async def test_answered_from_the_faq_or_passed_to_staff(
    harness: Harness, emulator: BotAPIEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    wang = emulator.user("王", language_code="zh-hans")
    await harness.register(wang)

    answer = await harness.act(wang.send_text("游泳池几点关门"))
    assert "9:00-21:00" in texts(answer) and "问题了吗" in texts(answer)
    await harness.act_press_last(wang, "👍 解决了")
    assert "很高兴帮到您" in texts(wang.messages()[-1:])
    assert await harness.rows(Ticket) == [] and await harness.rows(FaqGap) == []

    await harness.act(wang.send_text("快递能寄放在前台吗"))
    draft = await harness.act_press_last(wang, "🙋 转人工")
    assert "✅ 确认提交" in draft[-1].button_texts  # the usual inquiry draft
    await harness.act_press_last(wang, "✅ 确认提交")
    [ticket] = await harness.rows(Ticket)
    assert ticket.category == "inquiry"

    unanswered = await harness.act(wang.send_text("请问业委会怎么联系"))
    assert "问题了吗" not in texts(unanswered)
    gaps = await harness.rows(FaqGap)
    assert [(g.kind, g.entry_id) for g in gaps] == [("rejected", "parcel"), ("unanswered", None)]
    assert gaps[1].question == "请问业委会怎么联系"
    assert {g.telegram_id for g in gaps} == {wang.id}  # in their /mydata, gone at /forgetme

    # managers see them in the weekly digest and with `propdesk faq gaps`
    assert harness.app is not None
    async with harness.app.uow_factory() as uow:
        desk = Desk(uow, harness.settings, harness.app.clock)
        [prop] = await desk.properties()
        today = desk.now().astimezone(harness.settings.tz).date()
        weekly = digest_text(Translator("zh-CN"), await digest_for(desk, prop, today, weekly=True))
    assert "常见问题未能解答的咨询 2 条" in weekly and "• 请问业委会怎么联系" in weekly
    assert await print_gaps(harness.settings, 30) == 0
    printed = capsys.readouterr().out
    assert "回答被拒绝(parcel)\t快递能寄放在前台吗" in printed and "共 2 条" in printed
