"""Shared test code lives in tests/helpers/: no test module (nor conftest) imports from another test module, so a
test file can be moved, renamed or split without breaking a stranger's imports, and helpers are found in one place."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # `from . import x` reaches a sibling test module
                found.append((node.lineno, "." * node.level + (node.module or "")))
            elif node.module == "tests" or (node.module or "").startswith("tests."):
                # `from tests.console import test_browser` imports a module, not a name: judge the full path.
                found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _offences(root: Path) -> list[str]:
    offences = []
    for path in sorted(root.rglob("*.py")):
        for line, module in _imported_modules(path):
            shared = module.startswith("tests.helpers.") or module == "tests.helpers"
            if (module.startswith(("tests.", ".")) or module == "tests") and not shared:
                offences.append(f"{path.relative_to(root.parent)}:{line} imports {module}")
    return offences


def test_test_modules_import_shared_code_only_from_tests_helpers():
    assert _offences(TESTS) == []


def test_the_rule_catches_an_import_from_another_test_module(tmp_path):
    tests = tmp_path / "tests"
    (tests / "console").mkdir(parents=True)
    (tests / "console" / "test_a.py").write_text(
        "from tests.queue.test_worker import wait_until\n"
        "from tests.console import test_browser\n"
        "from . import test_b\n"
        "from tests.helpers.queue import wait_until as ok\n"
    )
    assert _offences(tests) == [
        "tests/console/test_a.py:1 imports tests.queue.test_worker.wait_until",
        "tests/console/test_a.py:2 imports tests.console.test_browser",
        "tests/console/test_a.py:3 imports .",
    ]


def test_helpers_are_not_test_modules():
    helpers = TESTS / "helpers"
    assert helpers.is_dir()
    # pytest would collect a test_*.py here, and its fixtures would be shared by accident, not by import.
    assert sorted(p.name for p in helpers.glob("test_*.py")) == []
    assert not (helpers / "conftest.py").exists()
