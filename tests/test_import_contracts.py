"""The dependency rules of ARCHITECTURE.md, kept as import-linter contracts in pyproject.toml.

Every contract runs on the real import graph; every contract is also shown to fail when one
forbidden import is added to that graph, so a contract that could never fail is caught too.
"""

from __future__ import annotations

from copy import deepcopy
from pathlib import Path
from typing import Any

import grimp
import pytest
from importlinter import configuration
from importlinter.application.use_cases import read_user_options
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.protected import ProtectedContract
from importlinter.domain.contract import Contract, ContractCheck

ROOT = Path(__file__).resolve().parents[1]
configuration.configure()  # what `lint-imports` does first: the readers of pyproject.toml
OPTIONS = read_user_options(str(ROOT / "pyproject.toml"))
CONTRACTS: dict[str, dict[str, Any]] = {c["id"]: c for c in OPTIONS.contracts_options}
CONTRACT_TYPES: dict[str, type[Contract]] = {
    "forbidden": ForbiddenContract,
    "protected": ProtectedContract,
}

# Contracts the code breaks today, with the imports that break them. Each is an xfail that
# turns into a failure the moment the contract holds, so it is then moved off this list.
# Empty: every contract holds.
PENDING: dict[str, str] = {}

# For each contract, imports it must report (importer -> imported); the importer is a module
# that exists, so the fake import is the only thing that changes.
VIOLATIONS: dict[str, list[tuple[str, str]]] = {
    "handlers-through-services": [
        ("bot.handlers.reporting", "storage.uow"),
        ("bot.handlers.reporting", "storage.repositories"),
        ("bot.handlers.staff_cards", "sqlalchemy"),
    ],
    "core-without-framework": [
        ("bot.services.dispatch", "aiogram"),
        ("bot.handlers.router", "telegram"),
        ("bot.nlp.classifier", "aiogram"),
        ("bot.dialog", "telegram"),
        ("storage.models", "aiogram"),
        ("scheduler.jobs_digest", "telegram"),
    ],
    "transports-at-the-edge": [
        ("bot.handlers.router", "bot.transports.aiogram_transport"),
        ("bot.services.outbox", "bot.transports.delivery"),
    ],
    "adapters-neutral": [
        ("bot.transports.aiogram_transport", "bot.services.desk"),
        ("bot.transports.ptb_transport", "storage.uow"),
        ("bot.transports.common", "bot.handlers.router"),
    ],
    "services-below-handlers": [
        ("bot.services.dispatch", "bot.handlers.cards"),
        ("bot.services.outbox", "bot.transports.delivery"),
    ],
    "emulator-standalone": [
        ("emulator.server", "bot.messages"),
        ("emulator.driver", "storage.models"),
    ],
    "domain-standalone": [
        ("bot.domain.policy", "bot.services.sla"),
        ("bot.domain.vocabulary", "storage.models"),
    ],
    "nlp-standalone": [
        ("bot.nlp.classifier", "bot.config"),
        ("bot.nlp.lexicon", "storage.models"),
    ],
    "storage-standalone": [
        ("storage.models", "bot.config"),
        ("storage.uow", "scheduler.jobs_digest"),
    ],
}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(
        *OPTIONS.session_options["root_packages"],
        include_external_packages=bool(OPTIONS.session_options.get("include_external_packages")),
        cache_dir=None,
    )


def check(graph: grimp.ImportGraph, contract_id: str) -> ContractCheck:
    """Check one contract on a copy of `graph` (a check removes its ignored imports)."""
    options = CONTRACTS[contract_id]
    contract = CONTRACT_TYPES[options["type"]](
        name=options["name"],
        session_options=OPTIONS.session_options,
        contract_options=options,
    )
    return contract.check(deepcopy(graph), verbose=False)


def offending(result: ContractCheck) -> set[tuple[str, str]]:
    """Each import that breaks the contract, as (importer, imported)."""
    links: set[tuple[str, str]] = set()
    for chains in result.metadata.get("invalid_chains", []):
        for chain in chains["chains"]:
            links |= {(link["importer"], link["imported"]) for link in chain}
    for broken in result.metadata.get("illegal_imports", []):
        links |= {(link["importer"], link["imported"]) for link in broken.illegal_links}
    return links


def _contract_params() -> list[Any]:
    return [
        pytest.param(
            contract_id,
            marks=[pytest.mark.xfail(strict=True, reason=PENDING[contract_id])]
            if contract_id in PENDING
            else [],
            id=contract_id,
        )
        for contract_id in CONTRACTS
    ]


@pytest.mark.parametrize("contract_id", _contract_params())
def test_contract_is_kept(graph: grimp.ImportGraph, contract_id: str) -> None:
    result = check(graph, contract_id)
    assert result.kept, sorted(offending(result))
    assert not result.warnings, result.warnings  # e.g. an ignore_imports line that matches nothing


def test_every_contract_has_violations_to_show_it_can_fail() -> None:
    assert set(VIOLATIONS) == set(CONTRACTS)
    assert set(PENDING) <= set(CONTRACTS)


@pytest.mark.parametrize(
    ("contract_id", "importer", "imported"),
    [(c, importer, imported) for c, links in VIOLATIONS.items() for importer, imported in links],
)
def test_a_forbidden_import_breaks_the_contract(
    graph: grimp.ImportGraph, contract_id: str, importer: str, imported: str
) -> None:
    assert importer in graph.modules and imported in graph.modules
    faked = deepcopy(graph)
    faked.add_import(importer=importer, imported=imported, line_number=1, line_contents="")
    result = check(faked, contract_id)
    assert not result.kept
    assert (importer, imported) in offending(result)


def test_a_new_package_under_bot_is_covered_by_the_core_contract(
    graph: grimp.ImportGraph,
) -> None:
    # The core is `bot.*`: a package added later (bot/domain/, ...) is held to the rule
    # without anyone editing the contract.
    faked = deepcopy(graph)
    faked.add_module("bot.newpackage")
    faked.add_module("bot.newpackage.rules")
    faked.add_import(
        importer="bot.newpackage.rules", imported="aiogram", line_number=1, line_contents=""
    )
    assert ("bot.newpackage.rules", "aiogram") in offending(check(faked, "core-without-framework"))
