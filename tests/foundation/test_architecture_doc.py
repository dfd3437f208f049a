"""docs/architecture.md stays a map of the code: its links lead somewhere, and every service module is on it."""

from __future__ import annotations

import re
from pathlib import Path

from cedula import services

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
LINK = re.compile(r"\]\(([^)#\s]+)\)")


def test_every_link_of_the_architecture_page_leads_to_a_file():
    links = LINK.findall(DOC.read_text())
    assert links
    missing = [link for link in links if not link.startswith("http") and not (DOC.parent / link).resolve().exists()]
    assert missing == []


def test_every_service_and_selector_module_is_on_the_architecture_page():
    linked = {(DOC.parent / link).resolve() for link in LINK.findall(DOC.read_text())}
    modules = [*(ROOT / "cedula" / "services").glob("*.py"), *(ROOT / "cedula" / "selectors").glob("*.py")]
    modules += [ROOT / "ops" / "accounts" / name for name in ("services.py", "selectors.py")]
    assert sorted(str(m.relative_to(ROOT)) for m in modules if m.resolve() not in linked) == []


def test_every_public_service_is_named_on_the_architecture_page():
    text = DOC.read_text()
    callables = [name for name in services.__all__ if callable(getattr(services, name)) and not name[0].isupper()]
    assert [name for name in callables if f"`{name}`" not in text] == []
