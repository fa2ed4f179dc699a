"""The shape of the test suite: test modules share code through tests/support (and fixtures
through conftest files), never by importing one another, so each module runs alone and no
test is collected twice."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
SHARED = "tests.support"


def imported_modules(source: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.add("." * node.level + (node.module or ""))  # relative: never allowed
    return found


def forbidden_imports(source: str) -> list[str]:
    """Imports of the test tree other than tests.support (relative ones included)."""
    return sorted(
        module
        for module in imported_modules(source)
        if module.startswith(".") or (module.split(".")[0] == "tests" and not _is_shared(module))
    )


def _is_shared(module: str) -> bool:
    return module == SHARED or module.startswith(SHARED + ".")


def test_no_test_module_imports_another_test_module() -> None:
    offenders = {
        str(path.relative_to(TESTS)): bad
        for path in sorted(TESTS.rglob("test_*.py"))
        if (bad := forbidden_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, f"import these from tests.support instead: {offenders}"


def test_support_depends_on_no_test_module() -> None:
    for path in sorted((TESTS / "support").rglob("*.py")):
        assert forbidden_imports(path.read_text(encoding="utf-8")) == [], path


def test_the_check_catches_imports_between_test_modules() -> None:
    source = (
        "from tests.unit.test_flows import register\n"
        "import tests.e2e.conftest\n"
        "from tests.unit.dispatch_kit import World\n"
        "from .sim import Person\n"
        "from tests.support.people import register as fine\n"
        "from tests.support import world\n"
        "import testsuite_elsewhere\n"
    )
    assert forbidden_imports(source) == [
        ".sim",
        "tests.e2e.conftest",
        "tests.unit.dispatch_kit",
        "tests.unit.test_flows",
    ]
