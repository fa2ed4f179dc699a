"""SLA milestones as data: order, one catch-up after downtime, pauses, business hours (the
half-time reminder and a pause counted in working time)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import EscalationConfig
from bot.services.sla import SlaPolicy, WorkingHours
from bot.services.timers import (
    REMIND,
    RESOLUTION_OVERDUE,
    RESPONSE_OVERDUE,
    carried_pause,
    milestones,
    next_check,
    resume_after_pause,
    take_due,
    working_hours,
    working_time,
)
from storage.models import Ticket

T0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
CONFIG = EscalationConfig(repeat_minutes=120, max_repeats=2, resident_warning_minutes=30)


def ticket(status: str = "new", response: int = 30, resolution: int = 480) -> Ticket:
    return Ticket(
        id=1,
        status=status,
        created_at=T0,
        response_due_at=T0 + timedelta(minutes=response),
        resolution_due_at=T0 + timedelta(minutes=resolution),
        resident_id=1,
        sla_stage="",
        escalations=0,
        resident_warned_at=None,
        paused_at=None,
    )


def test_milestones_in_order_for_a_new_ticket() -> None:
    kinds = [(m.kind, m.at - T0) for m in milestones(ticket(), CONFIG)]
    assert kinds == [
        (REMIND, timedelta(minutes=15)),
        (RESPONSE_OVERDUE, timedelta(minutes=30)),
        ("warn_resident", timedelta(minutes=450)),
        (RESOLUTION_OVERDUE, timedelta(minutes=480)),
    ]


def test_each_milestone_fires_once_at_its_time() -> None:
    t = ticket()
    assert take_due(t, T0 + timedelta(minutes=14), CONFIG).staff is None
    first = take_due(t, T0 + timedelta(minutes=15), CONFIG)
    assert first.staff is not None and first.staff.kind == REMIND
    assert take_due(t, T0 + timedelta(minutes=16), CONFIG).staff is None  # never twice
    assert next_check(t, CONFIG) == T0 + timedelta(minutes=30)
    second = take_due(t, T0 + timedelta(minutes=30), CONFIG)
    assert second.staff is not None and second.staff.kind == RESPONSE_OVERDUE


def test_accepted_ticket_skips_response_milestones() -> None:
    t = ticket(status="accepted")
    assert [m.kind for m in milestones(t, CONFIG)] == ["warn_resident", RESOLUTION_OVERDUE]


def test_resolution_escalation_repeats_up_to_the_limit() -> None:
    t = ticket(status="in_progress")
    t.resident_warned_at = T0
    seen = []
    for minutes in (480, 600, 720, 840, 960):
        due = take_due(t, T0 + timedelta(minutes=minutes), CONFIG)
        seen.append(due.staff.repeat if due.staff else None)
    assert seen == [0, 1, 2, None, None]
    assert next_check(t, CONFIG) is None


def test_downtime_gives_one_catch_up_not_a_storm() -> None:
    t = ticket()
    due = take_due(t, T0 + timedelta(hours=24), CONFIG)
    assert due.staff is not None and due.staff.kind == RESOLUTION_OVERDUE
    assert due.staff.repeat == 2  # the latest repeat stands for the ones missed
    assert due.resident_warning is False  # too late to warn before the deadline
    assert take_due(t, T0 + timedelta(hours=24, minutes=1), CONFIG).staff is None
    assert next_check(t, CONFIG) is None


def test_waiting_pauses_the_resolution_clock() -> None:
    t = ticket(status="waiting")
    assert milestones(t, CONFIG) == []
    t.paused_at = T0 + timedelta(hours=1)
    t.status = "in_progress"
    resume_after_pause(t, T0 + timedelta(hours=4), CONFIG)
    assert t.resolution_due_at == T0 + timedelta(minutes=480 + 180)
    assert t.paused_at is None and t.next_sla_check_at is not None


def test_business_hours_apply_except_to_emergencies() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    hours = WorkingHours(time(8, 30), time(18, 0), frozenset(range(5)), tz)
    policy = SlaPolicy(None, hours)
    friday_five = datetime(2026, 11, 27, 17, 0, tzinfo=tz)
    normal = policy.deadlines("repair", "normal", friday_five)
    assert normal.response_due == datetime(2026, 11, 30, 9, 30, tzinfo=tz)  # Monday
    emergency = policy.deadlines("repair", "emergency", friday_five)
    assert emergency.response_due == friday_five + timedelta(minutes=5)


def test_business_hours_from_settings_reach_the_policy() -> None:
    from bot.config import BusinessHours, Settings
    from bot.services.desk import sla_policy

    hours = BusinessHours(enabled=True, start="08:30", end="18:00", weekdays=[0, 1, 2, 3, 4])
    policy = sla_policy(
        Settings(
            business_hours=hours,
            sla={"normal": {"response_minutes": 60, "resolution_minutes": 120}},
        )
    )
    tz = ZoneInfo("Asia/Shanghai")
    friday_evening = datetime(2026, 11, 27, 17, 30, tzinfo=tz)
    due = policy.deadlines("cleaning", "normal", friday_evening)
    assert due.response_due == datetime(2026, 11, 30, 9, 0, tzinfo=tz)  # Monday morning
    assert policy.deadlines("cleaning", "emergency", friday_evening).response_due == (
        friday_evening + timedelta(minutes=5)
    )


# -- business hours: the reminder and a pause count working time ---------------------------
SHANGHAI = ZoneInfo("Asia/Shanghai")
NINE_TO_SIX = WorkingHours(time(9, 0), time(18, 0), frozenset(range(5)), SHANGHAI)
FRIDAY_EVENING = datetime(2026, 11, 27, 17, 30, tzinfo=SHANGHAI)


def friday_ticket(urgency: str = "normal", hours: WorkingHours | None = NINE_TO_SIX) -> Ticket:
    """Reported on Friday at 17:30; deadlines as the desk sets them."""
    due = SlaPolicy(None, hours).deadlines("repair", urgency, FRIDAY_EVENING)
    t = ticket()
    t.urgency, t.created_at = urgency, FRIDAY_EVENING
    t.response_due_at, t.resolution_due_at = due.response_due, due.resolution_due
    return t


def local(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def test_business_hours_remind_at_half_the_working_response_time() -> None:
    t = friday_ticket()
    assert t.response_due_at == local(11, 30, 10, 30)  # Monday: 30 minutes Friday, 90 Monday
    remind = milestones(t, CONFIG, NINE_TO_SIX)[0]
    assert (remind.kind, remind.at) == (REMIND, local(11, 30, 9, 30))  # not Sunday 02:00
    assert take_due(t, local(11, 29, 2, 0), CONFIG, NINE_TO_SIX).staff is None
    due = take_due(t, local(11, 30, 9, 30), CONFIG, NINE_TO_SIX).staff
    assert due is not None and due.kind == REMIND


def test_business_hours_pause_pushes_the_deadline_by_working_time() -> None:
    t = friday_ticket()
    t.status, t.paused_at = "in_progress", local(11, 27, 17, 45)
    assert t.resolution_due_at == local(12, 7, 11, 30)
    resume_after_pause(t, local(11, 28, 12, 0), CONFIG, NINE_TO_SIX)  # Saturday noon
    assert t.resolution_due_at == local(12, 7, 11, 45)  # the 15 minutes of Friday only
    t.paused_at = local(11, 28, 9, 0)
    resume_after_pause(t, local(11, 29, 20, 0), CONFIG, NINE_TO_SIX)  # all weekend
    assert t.resolution_due_at == local(12, 7, 11, 45)


def test_wall_clock_when_business_hours_are_off_or_for_emergencies() -> None:
    off = friday_ticket(hours=None)
    assert milestones(off, CONFIG)[0].at == FRIDAY_EVENING + timedelta(hours=1)
    off.status, off.paused_at = "in_progress", local(11, 27, 17, 45)
    before = off.resolution_due_at
    resume_after_pause(off, local(11, 28, 12, 0), CONFIG)
    assert off.resolution_due_at == before + timedelta(hours=18, minutes=15)

    emergency = friday_ticket("emergency")
    assert milestones(emergency, CONFIG, NINE_TO_SIX)[0].at == FRIDAY_EVENING + timedelta(
        minutes=2, seconds=30
    )
    emergency.status, emergency.paused_at = "in_progress", local(11, 27, 17, 45)
    before = emergency.resolution_due_at
    resume_after_pause(emergency, local(11, 28, 12, 0), CONFIG, NINE_TO_SIX)
    assert emergency.resolution_due_at == before + timedelta(hours=18, minutes=15)


def test_working_hours_from_settings() -> None:
    from bot.config import BusinessHours, Settings

    assert working_hours(Settings()) is None  # off by default: the wall clock
    hours = BusinessHours(enabled=True, start="09:00", end="18:00", weekdays=[0, 1, 2, 3, 4])
    assert working_hours(Settings(business_hours=hours)) == NINE_TO_SIX
    assert working_time(NINE_TO_SIX, local(11, 27, 17, 30), local(11, 30, 10, 30)) == timedelta(
        hours=2
    )


def test_an_urgency_change_carries_the_pause_in_the_time_each_clock_counts() -> None:
    """Ten working minutes waited, ending past Friday's closing time: the old deadline moved
    over the weekend, yet an emergency's new deadline moves by ten minutes, not two days."""
    t = friday_ticket()
    original = t.resolution_due_at
    t.status, t.paused_at = "in_progress", local(11, 27, 17, 50)
    resume_after_pause(t, local(11, 30, 9, 0), CONFIG, NINE_TO_SIX)  # 10 working minutes
    assert t.resolution_due_at == NINE_TO_SIX.add(original, 10)
    new_due = local(11, 30, 12, 0)
    assert carried_pause(t, original, "emergency", new_due, NINE_TO_SIX) == new_due + timedelta(
        minutes=10
    )
    assert carried_pause(t, original, "high", new_due, NINE_TO_SIX) == NINE_TO_SIX.add(new_due, 10)
    assert carried_pause(t, original, "emergency", new_due, None) == new_due + (
        t.resolution_due_at - original
    )  # business hours off: the wall clock throughout
