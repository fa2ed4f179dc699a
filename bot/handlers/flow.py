"""Conversations as declared tables, and callback data as one codec per button family.

A flow lists its steps (an enum whose values are stored in the database), and for each
step the prompt that asks for it and the handler for what the person sends. A step that
was renamed keeps working through `moved`; a stored step that no flow knows any more is
detected when the person next writes, and they are put back at the flow's start.

Callback data keeps Telegram's 64-byte limit and our wire format
`prefix[:subject][:action][:argument]`; every family names its actions in an enum, so
`tk:12:acc` reads as `CardButton.ACCEPT` of ticket 12, never as a bare string.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from bot.handlers.base import Ctx

Handler = Callable[["Ctx"], Awaitable[None]]
# "any": a staff card's follow-up, asked wherever the card was pressed (a team group, or
# the private chat of someone on duty)
Chat = Literal["private", "group", "any"]


class FlowStep(StrEnum):
    """Base of every flow's steps; a subclass sets `__flow__` to the stored flow name."""

    __flow__ = ""

    @classmethod
    def flow_name(cls) -> str:
        return cls.__flow__


@dataclass(frozen=True)
class StepSpec:
    """One row of a flow's table."""

    # Text, and photos or a contact when the step takes them; None: only its buttons answer.
    on_text: Handler | None = None
    prompt: Handler | None = None  # asks again for what the step needs (resume, bad input)
    takes_photos: bool = False
    takes_contact: bool = False
    # Text here is not for the flow: it is handled as if no flow were open (a new report).
    free_text: bool = False
    # A resident's optional or side step (a comment, more information, a visitor's details):
    # text that reads as an emergency leaves the step and is reported at once, and after
    # SIDE_STEP_LAPSE of silence the step is over (text then is handled as if none were open).
    side_step: bool = False


@dataclass(frozen=True)
class Flow:
    steps: type[FlowStep]
    table: Mapping[FlowStep, StepSpec]
    chat: Chat = "private"
    # How the flow starts over when a stored step is unknown; None just ends the dialog.
    restart: Handler | None = None
    # Stored step names of earlier releases -> the step that replaced them.
    moved: Mapping[str, FlowStep] = field(default_factory=dict)
    summary: str = ""

    @property
    def name(self) -> str:
        return self.steps.flow_name()

    def resolve(self, stored: str) -> FlowStep | None:
        """The current step for a stored step name, or None when nothing handles it."""
        if stored in self.moved:
            return self.moved[stored]
        try:
            step = self.steps(stored)
        except ValueError:
            return None
        return step if step in self.table else None

    def spec(self, stored: str) -> StepSpec | None:
        step = self.resolve(stored)
        return self.table[step] if step is not None else None


# callback data ------------------------------------------------------------------------------
_SUBJECTS: dict[str, re.Pattern[str]] = {
    "id": re.compile(r"^[0-9]{1,12}$"),
    "token": re.compile(r"^[0-9a-f]{6}$"),
    "period": re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
}
_ARGUMENT = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
CALLBACK_LIMIT = 64  # bytes, Telegram's limit


@dataclass(frozen=True)
class Press:
    """A decoded button press."""

    action: StrEnum
    subject: str = ""
    argument: str = ""

    @property
    def subject_id(self) -> int:
        return int(self.subject)

    @property
    def argument_id(self) -> int:
        return int(self.argument)


@dataclass(frozen=True)
class CallbackCodec:
    """Builds and parses one family's callback data; anything malformed decodes to None."""

    prefix: str
    actions: type[StrEnum]
    subject: Literal["id", "token", "period"] | None = None
    # The action of data that carries none (`my:12` opens ticket 12's details).
    default: StrEnum | None = None
    # Actions followed by an argument: its allowed values (a category code, a team), or
    # "id" for a number (a property, a building's position in the list).
    arguments: Mapping[StrEnum, tuple[str, ...] | Literal["id"]] = field(default_factory=dict)
    summary: str = ""

    def encode(self, action: StrEnum, subject: object = None, argument: str = "") -> str:
        parts = [self.prefix]
        if self.subject is not None:
            parts.append(str(subject))
        if action != self.default:
            parts.append(str(action))
        if argument:
            parts.append(argument)
        data = ":".join(parts)
        if len(data.encode()) > CALLBACK_LIMIT:
            raise ValueError(f"callback data over {CALLBACK_LIMIT} bytes: {data!r}")
        return data

    def decode(self, data: str) -> Press | None:
        parts = data.split(":")
        if parts[0] != self.prefix:
            return None
        rest = parts[1:]
        subject = ""
        if self.subject is not None:
            if not rest or not _SUBJECTS[self.subject].match(rest[0]):
                return None
            subject, rest = rest[0], rest[1:]
        return self._action(subject, rest)

    def _action(self, subject: str, rest: list[str]) -> Press | None:
        if not rest:
            return Press(self.default, subject) if self.default is not None else None
        try:
            action = self.actions(rest[0])
        except ValueError:
            return None
        allowed = self.arguments.get(action)
        if allowed is None:
            return Press(action, subject) if len(rest) == 1 else None
        if len(rest) != 2 or not _ARGUMENT.match(rest[1]):
            return None
        valid = _SUBJECTS["id"].match(rest[1]) if allowed == "id" else rest[1] in allowed
        return Press(action, subject, rest[1]) if valid else None
