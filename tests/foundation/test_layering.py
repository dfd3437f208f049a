"""The layering of docs/architecture.md, checked over the source with `ast`: a module that imports against it fails.

Only imports that run count: those under `if TYPE_CHECKING:` are types, not dependencies. Each rule lists what it
found as `module:line imports target`, so a failure says where to look.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE_PACKAGES = ("cedula", "ops")

# --- The layers (docs/architecture.md) -------------------------------------------------------------------------------
PURE = (
    "cedula.normalize",
    "cedula.importing",
    "cedula.importing_xlsx",
    "cedula.registry.parser",
    "cedula.registry.failures",
    "cedula.registry.sources",
    "cedula.changes",
)
PURE_THIRD_PARTY = ("openpyxl",)  # XLSX reading, pure Python
MODELS = ("cedula.models", "cedula.querysets", "ops.accounts.models")
SERVICES = ("cedula.services", "cedula.alerts", "ops.accounts.services")
SELECTORS = ("cedula.selectors", "ops.accounts.selectors")
ENTRY_POINTS = (
    "cedula.admin",
    "cedula.views",
    "cedula.tasks",
    "cedula.signals",
    "cedula.management",
    "ops.urls",
    "ops.wsgi",
    "ops.asgi",
    "ops.accounts.admin",
    "ops.accounts.views",
    "ops.accounts.urls",
    "ops.accounts.forms",
    "ops.accounts.presenters",
)
BROWSER = "cedula.registry.browser"
PLAYWRIGHT = ("playwright", "playwright_stealth")
# Where a function-level import must say why (a cycle, or a heavy import) in a comment on its line.
EXPLAINED_LOCAL_IMPORTS = (*SERVICES, *SELECTORS, "cedula.tasks", "cedula.signals", "cedula.views")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # what it imports (a module, or module.name for `from module import name`)
    line: int
    local: bool  # inside a function
    text: str  # the source line

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _source_files() -> Iterator[Path]:
    for package in SOURCE_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, *, local: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for other in child.orelse:
                yield from _walk(other, local=local)
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, local
        yield from _walk(child, local=local or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))


def _resolve(module: str, node: ast.ImportFrom, *, package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    # `from . import x` in a package's __init__ means the package itself; in a module, the module's package.
    base = parts[: len(parts) - node.level + package]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(path: Path, source: str | None = None) -> list[Import]:
    """The run-time imports of one file (`source` stands in for the file's text, for the tests of the checker)."""
    module = _module_name(path)
    text = path.read_text() if source is None else source
    lines = text.splitlines()
    found = []
    for node, local in _walk(ast.parse(text), local=False):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            origin = _resolve(module, node, package=path.name == "__init__.py")
            targets = [f"{origin}.{alias.name}" for alias in node.names]
        found += [Import(module, target, node.lineno, local, lines[node.lineno - 1]) for target in targets]
    return found


@cache
def all_imports() -> tuple[Import, ...]:
    return tuple(imp for path in _source_files() for imp in imports_of(path))


def within(name: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def violations(rule: str, imports: tuple[Import, ...] | None = None) -> list[str]:
    imports = all_imports() if imports is None else imports
    return [str(imp) for imp in imports if RULES[rule](imp)]


def _pure_imports_impure(imp: Import) -> bool:
    if not within(imp.module, PURE):
        return False
    top = imp.target.split(".")[0]
    if top in sys.stdlib_module_names or top in PURE_THIRD_PARTY or top == "__future__":
        return False
    return not within(imp.target, PURE)


RULES = {
    # normalize, importing and the parser run anywhere: no Django, no Playwright, no database, no logging setup.
    "pure modules import only the standard library and each other": _pure_imports_impure,
    # The domain sits below the accounts app; a user type comes from settings.AUTH_USER_MODEL or TYPE_CHECKING.
    "cedula never imports ops.accounts": lambda imp: (
        within(imp.module, "cedula") and within(imp.target, "ops.accounts")
    ),
    # Writes and reads serve the entry points, never the other way round.
    "services, selectors and models never import an entry point": lambda imp: (
        within(imp.module, (*SERVICES, *SELECTORS, *MODELS, *PURE)) and within(imp.target, ENTRY_POINTS)
    ),
    # A read never writes.
    "selectors never import services": lambda imp: within(imp.module, SELECTORS) and within(imp.target, SERVICES),
    "models import no services, selectors or registry client": lambda imp: (
        within(imp.module, MODELS) and within(imp.target, (*SERVICES, *SELECTORS, BROWSER))
    ),
    # Playwright is the registry client's business: nothing else loads it.
    "only cedula.registry.browser imports Playwright": lambda imp: (
        not within(imp.module, BROWSER) and within(imp.target.split(".")[0], PLAYWRIGHT)
    ),
    # Web processes (admin, views, reaping) must not load the browser: only the worker's task and CLI commands do.
    "only tasks and management commands import the registry client": lambda imp: (
        not within(imp.module, BROWSER)
        and within(imp.target, BROWSER)
        and not within(imp.module, ("cedula.tasks", "cedula.management"))
    ),
    # Dependencies are read at the top of a module; the exceptions say why on their line.
    "function-level imports in services, selectors and tasks say why": lambda imp: (
        imp.local and within(imp.module, EXPLAINED_LOCAL_IMPORTS) and "#" not in imp.text
    ),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_the_source_keeps_the_layering(rule):
    assert violations(rule) == []


# --- The checker itself catches what it should ----------------------------------------------------------------------


def _fake(path: str, source: str) -> tuple[Import, ...]:
    return tuple(imports_of(ROOT / path, source))


@pytest.mark.parametrize(
    ("path", "source", "rule"),
    [
        ("cedula/registry/parser.py", "from django.conf import settings\n", "pure modules import only the standard "
         "library and each other"),
        ("cedula/normalize.py", "import structlog\n", "pure modules import only the standard library and each other"),
        ("cedula/services/gate.py", "def f():\n    from ops.accounts.models import User\n",
         "cedula never imports ops.accounts"),
        ("cedula/selectors/queue.py", "from cedula import services\n", "selectors never import services"),
        ("cedula/services/dispatch.py", "from cedula.tasks import lookup_next\n",
         "services, selectors and models never import an entry point"),
        ("cedula/services/dispatch.py", "from cedula.admin import cedula_info\n",
         "services, selectors and models never import an entry point"),
        ("cedula/models/cedula.py", "from cedula.services import lookups_dispatch\n",
         "models import no services, selectors or registry client"),
        ("cedula/services/outcomes.py", "from playwright.async_api import Page\n",
         "only cedula.registry.browser imports Playwright"),
        ("cedula/admin/dashboard.py", "from cedula.registry.browser import LookupReport\n",
         "only tasks and management commands import the registry client"),
        ("cedula/services/outcomes.py", "from .. import registry\nfrom ..registry import browser\n",
         "only tasks and management commands import the registry client"),
        ("cedula/services/dispatch.py", "def f():\n    from django_q.tasks import async_task\n",
         "function-level imports in services, selectors and tasks say why"),
    ],
)  # fmt: skip
def test_an_import_against_the_layering_is_caught(path, source, rule):
    assert violations(rule, _fake(path, source)) != []


def test_type_only_imports_and_explained_local_imports_pass():
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from ops.accounts.models import User\n"
        "def f():\n"
        "    from cedula.registry.browser import get_runner  # heavy: Playwright\n"
    )
    imports = _fake("cedula/tasks.py", source)
    assert [imp.target for imp in imports] == ["typing.TYPE_CHECKING", "cedula.registry.browser.get_runner"]
    assert all(violations(rule, imports) == [] for rule in RULES)


def test_the_web_and_every_service_load_without_playwright():
    """What the rules are for, run for real: the web's modules and every service import without Playwright."""
    script = (
        "import sys, django; django.setup()\n"
        "import ops.urls, cedula.admin, cedula.services, cedula.selectors, cedula.alerts, ops.accounts.views\n"
        "from cedula import services\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('playwright', 'playwright_stealth'))\n"
        "print(loaded or 'none')\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ops.settings", "DEBUG": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "none"
