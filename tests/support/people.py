"""People who drive the dialog engine directly with neutral events (no transport, no HTTP)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sqlalchemy import update

from bot.dialog import DialogEngine
from bot.messages import CallbackAnswer, Contact, Incoming, Outgoing, Reply
from storage.models import OutboxMessage

if TYPE_CHECKING:
    from bot.app import App

_update_ids = itertools.count(1)


@dataclass(frozen=True)
class FakeClassification:
    category: str
    urgency: str
    hazard: str | None
    confidence: float
    matched: tuple[str, ...]


def fake_classify(text: str) -> FakeClassification:
    """Deterministic stand-in so flow tests do not depend on the real lexicon."""
    if "煤气" in text:
        return FakeClassification("repair", "emergency", "gas", 0.95, ("煤气味",))
    if "滴水" in text or "漏" in text:
        return FakeClassification("repair", "high", None, 0.8, ("滴水",))
    return FakeClassification("other", "low", None, 0.1, ())


async def _delivered(dialog: DialogEngine, update_id: int) -> None:
    """The replies the engine stored for this update count as delivered, as the transport's
    fast path would have sent them: a test reads them from the Reply instead."""
    async with dialog.uow_factory() as uow:
        await uow.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.dedupe_key.like(f"reply:{update_id}:%"))
            .values(status="sent")
        )
        await uow.commit()


class Person:
    def __init__(self, dialog: DialogEngine, user_id: int, language: str = "zh-hans") -> None:
        self.dialog = dialog
        self.user_id = user_id
        self.language = language
        self.last: list[Outgoing] = []
        self.answers: list[CallbackAnswer] = []

    def _base(self) -> Incoming:
        return Incoming(
            update_id=next(_update_ids),
            chat_id=self.user_id,
            user_id=self.user_id,
            user_name="Test",
            language_code=self.language,
        )

    async def send(self, incoming: Incoming) -> list[Outgoing]:
        reply: Reply = await self.dialog.handle(incoming)
        await _delivered(self.dialog, incoming.update_id)
        self.last = reply.queued + [a for a in reply.actions if isinstance(a, Outgoing)]
        self.answers += [a for a in reply.actions if isinstance(a, CallbackAnswer)]
        return self.last

    async def say(self, text: str) -> list[Outgoing]:
        incoming = self._base()
        if text.startswith("/"):
            name, _, args = text[1:].partition(" ")
            incoming = replace(incoming, text=text, command=name, command_args=args)
        else:
            incoming = replace(incoming, text=text)
        return await self.send(incoming)

    async def contact(
        self, phone: str, owner: int | None = None, *, on_telegram: bool = True
    ) -> list[Outgoing]:
        """Share a contact: their own by default, `owner`'s, or (`on_telegram` False) a
        phone-book entry without a Telegram account."""
        owner = self.user_id if owner is None else owner
        contact = Contact(phone, "X", owner if on_telegram else None)
        return await self.send(replace(self._base(), contact=contact))

    async def photo(self, file_id: str, caption: str | None = None) -> list[Outgoing]:
        return await self.send(replace(self._base(), photos=(file_id,), text=caption))

    async def other(self, kind: str) -> list[Outgoing]:
        return await self.send(replace(self._base(), unsupported=kind))

    async def press(self, data: str, message_id: int = 1) -> list[Outgoing]:
        incoming = replace(
            self._base(),
            callback_id=f"cb{next(_update_ids)}",
            callback_data=data,
            message_id=message_id,
        )
        return await self.send(incoming)

    def texts(self) -> str:
        return "\n".join(o.text for o in self.last)

    def button(self, label_part: str) -> str:
        for out in reversed(self.last):
            for row in out.buttons:
                for button in row:
                    if label_part in button.text and button.data:
                        return button.data
        raise AssertionError(f"no button {label_part!r} in {[o.buttons for o in self.last]}")


class GroupPerson(Person):
    """Someone acting in a group chat (or, with chat_id = user_id, privately)."""

    def __init__(self, dialog: DialogEngine, user_id: int, chat_id: int, name: str) -> None:
        super().__init__(dialog, user_id)
        self.chat_id = chat_id
        self.name = name

    def _base(self) -> Incoming:
        base = super()._base()
        private = self.chat_id == self.user_id
        return replace(
            base,
            chat_id=self.chat_id,
            chat_type="private" if private else "supergroup",
            user_name=self.name,
        )

    async def reply(
        self,
        text: str | None,
        to: int,
        photos: tuple[str, ...] = (),
        *,
        quoting: Outgoing | None = None,
    ) -> list[Outgoing]:
        """Reply to message `to`; `quoting`: the bot's message replied to (its text comes
        along, as Telegram sends it)."""
        incoming = replace(
            self._base(),
            text=text,
            photos=photos,
            reply_to_message_id=to,
            reply_to_bot=quoting is not None,
            reply_to_text=quoting.text if quoting is not None else None,
        )
        return await self.send(incoming)

    def last_toast(self) -> str:
        return self.answers[-1].text if self.answers else ""


async def register(
    app: App,
    user_id: int = 1001,
    *,
    name: str = "王女士",
    phone: str = "+8613812345678",
    room: str = "501",
    language: str = "zh-hans",
) -> Person:
    """A resident registers at 3栋2单元: by default 王女士 in 501 with +8613812345678."""
    person = Person(app.dialog, user_id, language=language)
    await person.say("/start")
    await person.say(name)
    await person.contact(phone)
    await person.press(person.button("3栋"))
    await person.press(person.button("2单元"))
    await person.say(room)
    return person
