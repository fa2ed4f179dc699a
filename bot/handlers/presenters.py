"""Labels and small pieces of text built from locale files."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import Masked, Translator


def category_label(t: Translator, code: str) -> str:
    return t(f"category.{code}")


def urgency_label(t: Translator, code: str) -> str:
    return t(f"urgency.{code}")


def status_label(t: Translator, code: str) -> str:
    return t(f"status.{code}")


def channel_label(t: Translator, code: str) -> str:
    return t(f"channel.{code}")


def team_label(t: Translator, code: str) -> str:
    return t(f"team.{code}")


def duration(t: Translator, minutes: int) -> str:
    if minutes < 60:
        return t("time.minutes", n=minutes)
    if minutes % (24 * 60) == 0 and minutes >= 24 * 60 * 2:
        return t("time.days", n=minutes // (24 * 60))
    if minutes % 60 == 0:
        return t("time.hours", n=minutes // 60)
    return t("time.hours_minutes", h=minutes // 60, m=minutes % 60)


def local_time(moment: datetime, tz: ZoneInfo) -> Masked:
    """A moment as the desk writes it ("11-28 14:30"): seven digits, yet nobody's phone
    number, so a group's translator does not search it for one."""
    return Masked(moment.astimezone(tz).strftime("%m-%d %H:%M"))
