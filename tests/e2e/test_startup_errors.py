"""Start-up against Telegram: a token Telegram refuses, or a Bot API address nobody answers
at, stops `propdesk run` with one line naming the setting (exit status 2 by the CLI), on both
transports, and the token itself is never printed."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from bot.config import Settings, SettingsError
from emulator import BotAPIEmulator
from tests.support.apps import build_app

WRONG_TOKEN = "999999:WRONG-token-never-printed"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"telegram_token": WRONG_TOKEN}, "PROPDESK_TELEGRAM_TOKEN"),
        ({"telegram_api_base": "http://127.0.0.1:9"}, "PROPDESK_TELEGRAM_API_BASE"),
    ],
)
async def test_a_refused_token_or_an_unreachable_api_is_one_line(
    emulator: BotAPIEmulator,
    settings: Settings,
    transport: str,
    change: dict[str, str],
    named: str,
) -> None:
    configured = settings.model_copy(
        update={"telegram_api_base": emulator.base_url, "transport": transport}
    )
    configured = configured.model_copy(update=_settings_values(change))
    app = await build_app(configured, None)
    try:
        with pytest.raises(SettingsError) as error:
            await app.start_transport()
    finally:
        await app.close()
    message = str(error.value)
    assert named in message and "\n" not in message
    assert "WRONG-token" not in message


def _settings_values(change: dict[str, str]) -> dict[str, object]:
    return {k: SecretStr(v) if k == "telegram_token" else v for k, v in change.items()}
