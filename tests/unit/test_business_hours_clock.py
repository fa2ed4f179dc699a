"""With `[business_hours] enabled`, a non-emergency ticket's half-time reminder falls inside
working hours (half the working response time), through the real report path: a ticket
reported on Friday at 17:30 is not reminded about on Sunday night."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.config import BusinessHours, Settings
from tests.support.people import register
from tests.support.world import World, staffed

SHANGHAI = ZoneInfo("Asia/Shanghai")
FRIDAY_1730 = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)  # 17:30 in Shanghai


@pytest.fixture
def start_at() -> datetime:
    return FRIDAY_1730


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    hours = BusinessHours(enabled=True, start="09:00", end="18:00", weekdays=[0, 1, 2, 3, 4])
    return settings.model_copy(update={"business_hours": hours})


def _working(moment: datetime) -> bool:
    local = moment.astimezone(SHANGHAI)
    return local.weekday() < 5 and 9 <= local.hour < 18


async def test_the_reminder_of_a_ticket_reported_late_on_friday_falls_in_working_hours(
    world: World,
) -> None:
    await staffed(world)
    wang = await register(world.app)
    await wang.say("阳台的灯不亮了")  # no keyword: the category is picked by hand (low)
    await wang.press(wang.button("报修"))
    await wang.press(wang.button("确认"))
    [ticket] = await world.tickets()
    assert ticket.urgency != "emergency"
    assert ticket.next_sla_check_at is not None
    assert _working(ticket.next_sla_check_at), ticket.next_sla_check_at.astimezone(SHANGHAI)
    assert _working(ticket.response_due_at), ticket.response_due_at.astimezone(SHANGHAI)
