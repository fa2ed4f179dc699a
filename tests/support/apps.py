"""The one way tests build the bot application: migrated database, synced properties,
an injected clock and (by default) the deterministic stand-in classifier."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from pydantic import SecretStr

from bot.app import App
from bot.clock import Clock, FixedClock
from bot.config import BuildingConfig, PropertyConfig, Settings
from bot.handlers.base import Classifier
from tests.support.people import fake_classify

START = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai, a Saturday
ADMIN = 900001  # listed in settings.admin_ids (`settings_for`)
TOKEN = "123456:TEST"

AppFactory = Callable[..., Awaitable[App]]  # the `app_factory` fixture: build_app, closed after


def demo_properties() -> list[PropertyConfig]:
    return [
        PropertyConfig(
            code="sunshine",
            name="阳光花园",
            buildings=[
                BuildingConfig(name="1栋", units=["1单元", "2单元"]),
                BuildingConfig(name="2栋", units=[]),
                BuildingConfig(name="3栋", units=["1单元", "2单元"]),
            ],
            hotlines={"gas": "96777", "property": "0571-88886666"},
        )
    ]


def settings_for(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        telegram_token=SecretStr(TOKEN),
        properties=demo_properties(),
        admin_ids=[ADMIN],
    )


async def build_app(
    settings: Settings,
    clock: Clock | datetime | None = START,
    classify: Classifier | None = fake_classify,
) -> App:
    """`clock`: a moment (a FixedClock starting there), a Clock, or None for the system
    clock; `classify=None` loads the real classifier."""
    if isinstance(clock, datetime):
        clock = FixedClock(clock)
    return await App.create(settings, clock=clock, classify=classify)
