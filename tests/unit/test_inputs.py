"""What a person typed, cleaned before any flow sees it."""

from __future__ import annotations

import pytest

from bot.handlers.inputs import clean_text


@pytest.mark.parametrize(
    "typed",
    [
        "\u200b",
        "  \u200b \u3000 ",
        "\ufeff\u200c\u2060",
        "\u200d",
        " \t\n\u200b\n",
    ],
)
def test_only_invisible_characters_is_empty(typed: str) -> None:
    assert clean_text(typed) == ""


def test_zero_width_characters_never_reach_a_description() -> None:
    assert clean_text("\u200b卫生间\u200b漏水\ufeff") == "卫生间漏水"


def test_emoji_sequences_keep_their_joiners() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert clean_text(f" {family} 家里停水了 ") == f"{family} 家里停水了"
