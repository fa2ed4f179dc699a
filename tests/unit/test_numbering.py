"""Ticket numbers: `YYYYMMDD-NNNN` by the property's local date, unique under concurrency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.app import App
from bot.handlers.inputs import clean_text
from bot.services.desk import Desk, Draft
from storage.models import Resident


@pytest.fixture
def start_at() -> datetime:
    # 16:30 UTC is already the next day (00:30) in Shanghai
    return datetime(2026, 11, 28, 16, 30, tzinfo=UTC)


async def _resident(app: App) -> int:
    async with app.uow_factory() as uow:
        [prop] = await uow.properties.all()
        now = app.clock.now()
        resident = Resident(
            telegram_id=1,
            property_id=prop.id,
            name="王",
            phone="+8613812345678",
            room="501",
            registered=True,
            created_at=now,
            updated_at=now,
        )
        await uow.residents.add(resident)
        await uow.commit()
        return resident.id


async def _open_one(app: App, resident_id: int) -> str:
    async with app.uow_factory() as uow:
        resident = await uow.residents.get(resident_id)
        assert resident is not None
        desk = Desk(uow, app.settings, app.clock)
        ticket = await desk.open_ticket(resident, Draft(description="漏水", category="repair"))
        await uow.commit()
        return ticket.number


async def test_concurrent_reports_get_distinct_sequential_numbers(app: App) -> None:
    resident_id = await _resident(app)
    numbers = await asyncio.gather(*(_open_one(app, resident_id) for _ in range(12)))
    assert sorted(numbers) == [f"20261129-{n:04d}" for n in range(1, 13)]


def test_control_characters_are_dropped_but_newlines_kept() -> None:
    assert clean_text("\x00漏水\x07了\n楼上\x1b") == "漏水了\n楼上"
    assert clean_text("\x00\x01 \t ") == ""
