"""Things defined once: the eight result fields, the breaker's key, the read-only admin permissions."""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator
from pathlib import Path

from cedula.models import BREAKER_PK, Breaker, CedulaInfo
from cedula.registry.parser import RESULT_FIELDS, LookupResult
from cedula.services import breaker_get

ROOT = Path(__file__).resolve().parents[2]


def _trees() -> Iterator[tuple[Path, ast.AST]]:
    for package in ("cedula", "ops"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path.relative_to(ROOT), ast.parse(path.read_text())


def test_the_result_fields_are_the_answers_fields_and_the_rows_columns():
    answer = [
        f.name for f in dataclasses.fields(LookupResult) if f.name not in ("status", "error_kind", "message", "cause")
    ]
    assert list(RESULT_FIELDS) == answer
    assert set(RESULT_FIELDS) <= {f.name for f in CedulaInfo._meta.get_fields()}


def test_the_eight_result_fields_are_spelled_out_in_one_place_only():
    spelled = [
        f"{path}:{node.lineno}"
        for path, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Tuple | ast.List | ast.Set)
        and set(RESULT_FIELDS) <= {e.value for e in node.elts if isinstance(e, ast.Constant)}
    ]
    assert len(spelled) == 1 and spelled[0].startswith("cedula/registry/parser.py:")


def test_the_breaker_row_is_named_by_its_constant_only(db):
    literal_keys = [
        f"{path}:{node.lineno}"
        for path, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and "Breaker" in ast.unparse(node.func)
        and any(k.arg == "pk" and isinstance(k.value, ast.Constant) for k in node.keywords)
    ]
    assert literal_keys == []
    assert breaker_get().pk == BREAKER_PK and Breaker.objects.get().pk == BREAKER_PK


def test_no_add_change_delete_is_written_once_in_the_read_only_mixin():
    denials = [
        f"{path}:{node.name}"
        for path, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and node.name in ("has_add_permission", "has_change_permission", "has_delete_permission")
        and ast.unparse(node.body[-1]) == "return False"
    ]
    assert sorted(denials) == [
        "cedula/admin/readonly.py:has_add_permission",
        "cedula/admin/readonly.py:has_change_permission",
        "cedula/admin/readonly.py:has_delete_permission",
    ]
