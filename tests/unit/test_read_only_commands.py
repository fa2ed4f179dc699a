"""Commands that only read the database (digest, lexicon suggest, lexicon export) never
migrate it: a database behind head is left as it is and the command asks for
`propdesk migrate` in one line, exit status 2."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from bot.cli import main
from bot.config import Settings
from storage.db import create_engine
from storage.migrate import current_revision, head_revision, upgrade

OLDER = "0002"


def _migrate_to(url: str, revision: str) -> None:
    async def run() -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine, revision)
        finally:
            await engine.dispose()

    asyncio.run(run())


def _schema(url: str) -> tuple[str | None, list[str]]:
    """The stamped revision and every table with its columns, to compare before and after."""

    def tables(connection: Connection) -> list[str]:
        inspector = inspect(connection)
        return [
            f"{name}({','.join(c['name'] for c in inspector.get_columns(name))})"
            for name in sorted(inspector.get_table_names())
        ]

    async def run() -> tuple[str | None, list[str]]:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                return await current_revision(engine), await connection.run_sync(tables)
        finally:
            await engine.dispose()

    return asyncio.run(run())


@pytest.fixture
def environment(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("PROPDESK_CONFIG", raising=False)
    monkeypatch.setenv("PROPDESK_DATABASE_URL", settings.database_url)
    return settings


@pytest.mark.parametrize(
    "command",
    [
        ["digest", "--date", "2026-11-27"],
        ["digest", "--date", "2026-11-27", "--week", "--property", "sunshine"],
        ["lexicon", "suggest"],
        ["lexicon", "export", "{out}"],
        ["export", "--from", "2026-11-01", "--to", "2026-11-30", "--out", "{out}"],
    ],
)
def test_a_database_behind_head_is_left_untouched(
    environment: Settings,
    command: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert head_revision() != OLDER
    url = environment.database_url
    _migrate_to(url, OLDER)
    before = _schema(url)
    assert before[0] == OLDER
    out = tmp_path / "corrections.jsonl"

    assert main([part.format(out=out) for part in command]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1  # one clear line
    assert f"at revision {OLDER}" in captured.err
    assert "run `propdesk migrate`" in captured.err
    assert _schema(url) == before
    assert not out.exists()


def test_a_database_without_a_schema_gets_none(
    environment: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["digest", "--date", "2026-11-27"]) == 2
    assert "without a schema" in capsys.readouterr().err
    assert _schema(environment.database_url) == (None, [])


def test_migrate_then_the_read_only_command_runs(
    environment: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    _migrate_to(environment.database_url, OLDER)
    assert main(["migrate"]) == 0
    assert _schema(environment.database_url)[0] == head_revision()
    assert main(["lexicon", "suggest"]) == 0
    assert "no category corrections recorded yet" in capsys.readouterr().out
