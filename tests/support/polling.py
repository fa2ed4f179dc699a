"""Polling without a bot behind it: what a transport's `_fetch` brings back while nothing
it took has been confirmed (both transports' tests of getUpdates taken as plain JSON)."""

from __future__ import annotations

from typing import Any

from emulator import SimUser


class NoCore:
    """The transport's core, unused here: only polling is looked at."""

    async def handle(self, inc: object) -> object:
        raise AssertionError("not handled in this test")

    def bot_commands(self, locale: str, groups: bool = False) -> list[tuple[str, str]]:
        return []


async def poll_twice(transport: Any) -> tuple[list[Any], list[Any]]:
    """Two polls with nothing confirmed in between: the second brings the first's back."""
    first = await transport._fetch(None, 0, 100)
    again = await transport._fetch(first[0].update_id, 0, 100)
    return first, again


def assert_taken_as_json(first: list[Any], again: list[Any], sender: SimUser) -> None:
    """Both polls brought the same two updates, each still JSON with the key that orders it."""
    assert [f.update_id for f in again] == [f.update_id for f in first]
    assert len(first) == 2
    for fetched in first:
        assert isinstance(fetched.update, dict)
        assert fetched.key == (sender.id, sender.id)
