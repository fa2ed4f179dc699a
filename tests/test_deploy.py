"""Everything docs/deploy.md tells an operator to use, exercised: the systemd units verified
by systemd-analyze, the Dockerfile parsed and checked against the repository (no container
runtime here), the backup and restore scripts run against the local PostgreSQL, and an
upgrade with migrations from an older revision, as `propdesk migrate` does it.
(The nginx example runs for real in tests/e2e/test_reverse_proxy.py.)"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.config import Settings
from storage.db import create_engine
from storage.migrate import current_revision, head_revision, upgrade

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
GUIDE = ROOT / "docs" / "deploy.md"
OLDER = "0007_delivery"  # a release's schema a few migrations back


# -- systemd -------------------------------------------------------------------------------


def _installed_here(unit: Path, tmp_path: Path, name: str) -> Path:
    """The unit as installed on this machine: /opt/propdesk is this checkout, the service
    user one that exists, the environment file a scratch one."""
    env_file = tmp_path / "propdesk.env"
    env_file.write_text((DEPLOY / "propdesk.env.example").read_text())
    body = unit.read_text().replace("/opt/propdesk", str(ROOT))
    body = body.replace("/etc/propdesk/propdesk.env", str(env_file))
    body = re.sub(r"^(User|Group)=.*$", r"\1=root", body, flags=re.MULTILINE)
    installed = tmp_path / name
    installed.write_text(body)
    return installed


def _verify(unit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("unit", "name"),
    [("propdesk.service", "propdesk.service"), ("propdesk@.service", "propdesk@1.service")],
)
def test_the_systemd_units_verify(tmp_path: Path, unit: str, name: str) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    installed = _installed_here(DEPLOY / unit, tmp_path, name)
    result = _verify(installed)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    assert (ROOT / ".venv" / "bin" / "propdesk").exists(), "ExecStart names the venv's script"
    # ... and the same check refuses a broken unit (it can fail)
    broken = tmp_path / "broken" / name
    broken.parent.mkdir()
    broken.write_text(installed.read_text().replace("ExecStart=", "ExecStrat="))
    assert _verify(broken).returncode != 0


def test_the_unit_stops_in_time_and_does_not_restart_on_a_bad_setting() -> None:
    unit = (DEPLOY / "propdesk.service").read_text()
    stop = int(re.search(r"^TimeoutStopSec=(\d+)", unit, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert stop > Settings().shutdown_seconds  # systemd must not kill an orderly stop
    assert "RestartPreventExitStatus=2" in unit  # exit 2: a wrong setting, said in one line
    template = (DEPLOY / "propdesk@.service").read_text()
    assert "PROPDESK_WEBHOOK_PORT=808%i" in template


# -- the container -------------------------------------------------------------------------

INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
    "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
}  # fmt: skip


def dockerfile_instructions(source: str) -> list[tuple[str, str]]:
    """(instruction, arguments) with continuation lines joined and comments dropped, as
    Docker's parser reads them; raises ValueError on anything it would refuse."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in source.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        keyword, _, arguments = whole.partition(" ")
        if keyword.upper() not in INSTRUCTIONS:
            raise ValueError(f"unknown instruction {keyword!r}")
        instructions.append((keyword.upper(), arguments.strip()))
    if pending:
        raise ValueError("the file ends inside a continued line")
    return instructions


def test_the_dockerfile_parses_and_builds_from_this_repository() -> None:
    steps = dockerfile_instructions((DEPLOY / "Dockerfile").read_text())
    assert steps[0][0] == "FROM"
    assert re.fullmatch(r"python:3\.1[1-9]-slim", steps[0][1]), "Python 3.11+ as pyproject"
    for keyword, arguments in steps:
        if keyword in ("CMD", "ENTRYPOINT", "VOLUME"):
            json.loads(arguments)  # the exec form: valid JSON or the container runs a shell
        if keyword == "HEALTHCHECK":
            json.loads(arguments.split(" CMD ", 1)[1])
        if keyword == "COPY":
            *sources, _ = arguments.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    found = dict(steps)
    assert json.loads(found["ENTRYPOINT"]) == ["propdesk"]
    assert json.loads(found["CMD"]) == ["run"]
    assert found["USER"] == "propdesk", "not as root"
    assert "/healthz" in found["HEALTHCHECK"]
    assert found["STOPSIGNAL"] == "SIGTERM"
    # every package pyproject installs is copied in
    for package in ("bot", "storage", "scheduler", "emulator"):
        assert f"COPY {package} ./{package}" in (DEPLOY / "Dockerfile").read_text()
    with pytest.raises(ValueError):
        dockerfile_instructions("FROM python:3.11-slim\nCOPPY . /app\n")


def test_the_container_healthcheck_command_is_valid_python() -> None:
    steps = dict(dockerfile_instructions((DEPLOY / "Dockerfile").read_text()))
    command = json.loads(steps["HEALTHCHECK"].split(" CMD ", 1)[1])
    assert command[:2] == ["python", "-c"]
    compile(command[2], "HEALTHCHECK", "exec")
    # against a port nobody listens at it fails (exit status not 0), as Docker expects
    probe = command[2].replace("127.0.0.1:8080", "127.0.0.1:9")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=30)
    assert result.returncode != 0


def test_the_docker_build_check_when_docker_can() -> None:
    """`docker build --check` needs a daemon with BuildKit; where there is one, it runs."""
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "info"], capture_output=True).returncode:
        pytest.skip("no container runtime here: the Dockerfile is checked by the parse above")
    result = subprocess.run(
        [docker, "build", "--check", "-f", str(DEPLOY / "Dockerfile"), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr


# -- PostgreSQL backup and restore ---------------------------------------------------------


async def test_backup_and_restore_into_a_scratch_database(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (SQLite: copy the file with `sqlite3 .backup`)")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump / pg_restore not installed")
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO properties (code, name) VALUES ('sunshine', '阳光花园')")
            )
    finally:
        await engine.dispose()
    dump = Path(os.environ.get("TMPDIR", "/tmp")) / f"propdesk-{uuid.uuid4().hex}.dump"
    target_name = f"propdesk_restore_{uuid.uuid4().hex[:8]}"
    target = database_url.rsplit("/", 1)[0] + f"/{target_name}"
    admin = create_engine(database_url.rsplit("/", 1)[0] + "/postgres")
    try:
        _script("backup.sh", str(dump), env={"PROPDESK_DATABASE_URL": database_url})
        assert dump.stat().st_size > 0
        async with admin.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'CREATE DATABASE "{target_name}"'))
        _script("restore.sh", str(dump), target)
        restored = create_engine(target)
        try:
            assert await current_revision(restored) == head_revision()
            async with restored.connect() as connection:
                names = (await connection.execute(text("SELECT name FROM properties"))).all()
            assert [n for (n,) in names] == ["阳光花园"]
        finally:
            await restored.dispose()
    finally:
        dump.unlink(missing_ok=True)
        async with admin.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{target_name}" WITH (FORCE)'))
        await admin.dispose()


async def test_sqlite_backup_command(tmp_path: Path) -> None:
    """The guide's SQLite backup: sqlite3's online `.backup` of the live file."""
    if shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 command is not installed")
    live, copy = tmp_path / "propdesk.db", tmp_path / "backup.db"
    engine = create_engine(f"sqlite+aiosqlite:///{live}")
    try:
        await upgrade(engine)
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO properties (code, name) VALUES ('a', 'A')"))
        # taken while the bot's engine still has the file open
        result = subprocess.run(
            ["sqlite3", str(live), f".backup {copy}"], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
    finally:
        await engine.dispose()
    restored = create_engine(f"sqlite+aiosqlite:///{copy}")
    try:
        assert await current_revision(restored) == head_revision()
        async with restored.connect() as connection:
            rows = (await connection.execute(text("SELECT name FROM properties"))).all()
        assert ("A",) in rows
    finally:
        await restored.dispose()


def _script(name: str, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        ["sh", str(DEPLOY / name), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# -- upgrading -----------------------------------------------------------------------------


async def test_upgrade_from_an_older_release_keeps_the_data(database_url: str) -> None:
    """The guide's upgrade: the new code's `propdesk migrate` on a database of an older
    release, then start; rows written under the old schema are still there."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine, OLDER)
        assert await current_revision(engine) == OLDER
        async with engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO properties (code, name) VALUES ('old', '老小区')")
            )
    finally:
        await engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROPDESK_")}
    env["PROPDESK_DATABASE_URL"] = database_url
    result = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    engine = create_engine(database_url)
    try:
        assert await current_revision(engine) == head_revision() != OLDER
        async with engine.connect() as connection:
            names = (await connection.execute(text("SELECT name FROM properties"))).all()
        assert ("老小区",) in names
    finally:
        await engine.dispose()


def test_the_guide_names_what_it_relies_on() -> None:
    """Each file and command the guide tells the operator to use exists."""
    guide = GUIDE.read_text()
    for path in re.findall(r"`(deploy/[\w@.-]+)`", guide):
        assert (ROOT / path).exists(), path
    for field in ("reachable", "backlog", "oldest_age_seconds", "last_sent_at", "leader"):
        assert field in guide, f"/healthz field {field} not explained"
    for command in ("propdesk check", "propdesk migrate", "systemd-analyze verify"):
        assert command in guide
