"""What every flow step receives: the event, the services, the dialog state and a reply."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.config import Settings
from bot.handlers.flow import FlowStep
from bot.i18n import Translator
from bot.messages import (
    Button,
    CallbackAnswer,
    Document,
    Incoming,
    Keyboard,
    Outgoing,
    Reply,
    ReplyKeyboard,
)
from bot.services.desk import Desk


class Classification(Protocol):
    """Read-only, so a frozen dataclass from bot.nlp satisfies it."""

    @property
    def category(self) -> str: ...
    @property
    def urgency(self) -> str: ...
    @property
    def hazard(self) -> str | None: ...
    @property
    def confidence(self) -> float: ...
    @property
    def matched(self) -> tuple[str, ...]: ...


Classifier = Callable[[str], Classification]


@dataclass
class State:
    """The step a person is on and what they have typed so far (stored in the database)."""

    flow: str = ""
    step: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    # When silence answers this step's question (a sweep acts then); any step change clears it.
    due_at: datetime | None = None
    # When the state was last saved: the person's last move in this dialog (None: new).
    since: datetime | None = None

    @property
    def key(self) -> str:
        return f"{self.flow}.{self.step}" if self.flow else ""


@dataclass
class Ctx:
    inc: Incoming
    desk: Desk
    settings: Settings
    t: Translator
    state: State
    classify: Classifier
    reply: Reply = field(default_factory=Reply)
    answered: bool = False

    # replies ---------------------------------------------------------------------------
    def say(
        self,
        text: str,
        buttons: Keyboard = (),
        *,
        reply_keyboard: ReplyKeyboard | None = None,
        remove_keyboard: bool = False,
        photos: Sequence[str] = (),
        document: Document | None = None,
    ) -> None:
        self.reply.add(
            Outgoing(
                chat_id=self.inc.chat_id,
                text=text,
                buttons=buttons,
                reply_keyboard=reply_keyboard,
                remove_keyboard=remove_keyboard,
                photos=tuple(photos),
                thread_id=self.inc.thread_id,
                document=document,
            )
        )

    def edit(self, text: str, buttons: Keyboard = ()) -> None:
        """Edit the message whose button was pressed; falls back to a new message."""
        if self.inc.callback_id and self.inc.message_id:
            self.reply.add(
                Outgoing(
                    chat_id=self.inc.chat_id,
                    text=text,
                    buttons=buttons,
                    edit_message_id=self.inc.message_id,
                )
            )
        else:
            self.say(text, buttons)

    def toast(self, text: str = "", alert: bool = False) -> None:
        if self.inc.callback_id and not self.answered:
            self.reply.add(CallbackAnswer(self.inc.callback_id, text[:200], alert))
            self.answered = True

    # state -----------------------------------------------------------------------------
    def goto(self, step: FlowStep, **data: Any) -> None:
        """Move to a step of a declared flow (the step's enum names its flow)."""
        self.state.flow, self.state.step = step.flow_name(), str(step.value)
        self.state.due_at = None  # a new step: the old step's question is over
        self.state.data.update(data)

    def answer_by(self, due_at: datetime) -> None:
        """The current step's question is answered by the scheduler at ``due_at`` if the
        person stays silent (see `Periodic.danger_sweep`)."""
        self.state.due_at = due_at

    def finish(self) -> None:
        self.state = State()


def new_token() -> str:
    """A short id that ties buttons to the message they belong to."""
    return secrets.token_hex(3)


def in_rows(buttons: Sequence[Button], width: int) -> Keyboard:
    return tuple(tuple(buttons[i : i + width]) for i in range(0, len(buttons), width))


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
