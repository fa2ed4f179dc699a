"""An emergency the classifier is unsure of (the danger question's tests)."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import App
from bot.handlers.base import Classification
from bot.nlp import Classification as Result
from storage.models import Ticket
from tests.support.people import Person, fake_classify, register

UNSURE = "the lift stopped between floors"
# The model alone raised it: unsure, and high were there no danger.
MODEL_ALONE = Result("repair", "emergency", "lift", 0.8, ("lift",), False, "high")


def unsure_classify(text: str) -> Classification:
    return MODEL_ALONE if text == UNSURE else fake_classify(text)


async def english_resident(app: App) -> Person:
    return await register(app, 2002, name="Tom", phone="+8613812345679", room="502", language="en")


async def tickets(app: App) -> list[Ticket]:
    async with app.uow_factory() as uow:
        return list((await uow.session.scalars(select(Ticket))).all())
