"""A monthly survey answered with its button counts in the digest of the resident's
property: the survey row carries the property from the moment it is sent."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.clock import FixedClock
from bot.config import Settings, SurveyConfig
from bot.services.digest import compute, day_period
from storage.models import SurveyResponse
from tests.support.world import WANG, World, report, staffed

SURVEY_TIME = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # the 1st, 10:00 in Shanghai


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"survey": SurveyConfig(cron="0 10 1 * *")})


async def test_a_survey_answer_appears_in_the_property_digest(world: World) -> None:
    await staffed(world)
    await report(world)  # registers Wang at the property
    assert isinstance(world.app.clock, FixedClock)
    world.app.clock.set(SURVEY_TIME)
    assert await world.app.periodic().survey_tick() == 1
    await world.flush()
    wang = world.person(WANG, WANG, "王女士")
    await wang.press("sv:2026-12-01:4")
    async with world.app.uow_factory() as uow:
        [prop] = await uow.properties.all()
        [row] = (await uow.session.scalars(select(SurveyResponse))).all()
        period = day_period(date(2026, 12, 1), world.app.settings.tz)
        digest = await compute(uow.session, prop, period, settings=world.app.settings)
    assert (row.property_id, row.stars) == (prop.id, 4)
    assert (digest.survey_count, digest.survey_average) == (1, pytest.approx(4.0))
