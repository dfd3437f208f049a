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


# --- One source per vocabulary (issue 26) ----------------------------------------------------------------------------


def _constants() -> Iterator[tuple[str, ast.Constant]]:
    for path, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                yield str(path), node


def _templates_text() -> str:
    return "\n".join(p.read_text() for p in sorted((ROOT / "cedula" / "templates").rglob("*.html")))


def test_a_row_states_label_is_written_in_the_display_module_only():
    # A status's own label comes from its choices (cedula/models.py); every other state's from cedula/display.py.
    # The batch page once said "Consultando ahora" beside the list's "En consulta": a second copy fails here.
    from cedula.display import STATES

    labels = {state.label for state in STATES.values()}
    elsewhere = sorted(
        f"{path}:{node.lineno} {node.value}"
        for path, node in _constants()
        if node.value in labels and path not in ("cedula/display.py", "cedula/models/cedula.py")
    )
    assert elsewhere == []
    assert [label for label in labels if f">{label}<" in _templates_text()] == []
    assert "Consultando ahora" not in _templates_text() and all(s.label != "Consultando ahora" for s in STATES.values())


def test_the_batch_page_reads_its_states_from_the_display_module():
    from cedula import display
    from cedula.admin.import_batch import STATE_ROWS

    assert STATE_ROWS == [(k, display.STATES[k].label, display.STATES[k].color) for k in display.BATCH_PAGE_STATES]


def _assigned(name: str) -> list[str]:
    return sorted(
        f"{path}:{node.lineno}"
        for path, tree in _trees()
        for node in ast.walk(tree)
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets))
        or (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name)
    )


def test_outcome_colors_are_defined_once_and_match_the_row_states():
    from cedula.display import CHART_COLORS, OUTCOME_COLORS, STATES
    from cedula.models import LookupAttempt

    assert [p.split(":")[0] for p in _assigned("OUTCOME_COLORS")] == ["cedula/display.py"]
    assert set(OUTCOME_COLORS) == set(LookupAttempt.Outcome.values)
    assert all(OUTCOME_COLORS[o] == STATES[o].color for o in OUTCOME_COLORS)
    assert set(OUTCOME_COLORS.values()) <= set(CHART_COLORS)


def test_the_staff_time_format_is_written_once_and_prints_bogota_time(settings):
    import datetime as dt

    from cedula.staff_time import STAFF_DATETIME, format_staff_time

    spelled = [f"{path}:{node.lineno}" for path, node in _constants() if node.value == STAFF_DATETIME]
    assert spelled == ["cedula/staff_time.py:10"]
    # A full date and time printed by hand elsewhere (strftime, an f-string's format) would be a second clock.
    printed = []
    for path, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "strftime":
                printed += [(path, a) for a in node.args if isinstance(a, ast.Constant)]
            elif isinstance(node, ast.FormattedValue) and node.format_spec is not None:
                printed += [(path, v) for v in ast.walk(node.format_spec) if isinstance(v, ast.Constant)]
    by_hand = sorted(
        f"{path}:{c.lineno}"
        for path, c in printed
        if "%Y" in str(c.value) and "%H" in str(c.value) and path != Path("cedula/staff_time.py")
    )
    assert by_hand == []
    assert settings.TIME_ZONE == "America/Bogota"
    assert format_staff_time(dt.datetime(2026, 3, 1, 17, 0, 5, tzinfo=dt.UTC)) == "01/03/2026 12:00:05"
    assert format_staff_time(None) == "—"


def test_the_eight_result_fields_are_never_written_as_keywords_by_hand():
    by_hand = [
        f"{path}:{node.lineno}"
        for path, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and set(RESULT_FIELDS) <= {k.arg for k in node.keywords}
    ]
    assert by_hand == []


def test_alert_keys_are_named_by_the_enum_only():
    from cedula.admin.presenters import ALERT_LABELS
    from cedula.selectors.alerts import ALERT_TAGS, AlertKey

    keys = {k.value for k in AlertKey} - {AlertKey.BREAKER.value}  # "breaker" is also the gate's everyday name
    literal = []
    for path, tree in _trees():
        if path == Path("cedula/selectors/alerts.py"):
            continue
        for node in ast.walk(tree):
            named = []
            if isinstance(node, ast.Call):
                named = [k.value for k in node.keywords if k.arg in ("key", "alert", "source", "pk")]
            elif isinstance(node, ast.Compare):
                named = [node.left, *node.comparators]
            literal += [f"{path}:{node.lineno}" for v in named if isinstance(v, ast.Constant) and v.value in keys]
    assert literal == []
    defined = [
        f"{path}"
        for path, tree in _trees()
        for n in ast.walk(tree)
        if isinstance(n, ast.ClassDef) and n.name == "AlertKey"
    ]
    assert defined == ["cedula/selectors/alerts.py"] and set(ALERT_TAGS) < set(ALERT_LABELS) == set(AlertKey)


def test_the_queue_predicates_are_written_in_the_queryset_only():
    # "Queued, not claimed" was once written out 7 times and the claimed count 5 times; the partial indexes of
    # cedula/models.py name the same conditions (a migration compares them) and are the one other place.
    by_hand = sorted(
        f"{path}:{node.lineno}"
        for path, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and any(k.arg in ("claimed_at__isnull", "next_attempt_at__isnull") for k in node.keywords)
        and str(path) not in ("cedula/querysets.py", "cedula/models/cedula.py")
    )
    assert by_hand == []
    waiting = CedulaInfo.objects.waiting().query.where
    assert str(waiting) == str(
        CedulaInfo.objects.filter(next_attempt_at__isnull=False, claimed_at__isnull=True).query.where
    )


def test_a_console_actions_message_and_dialog_button_come_from_its_declaration():
    # cedula/console_actions.py declares each action's messages and dialog button once; an admin that writes its own
    # text beside it is a second copy (they once said "1 cédulas" where the declaration says "1 cédula").
    literal = (ast.Constant, ast.JoinedStr)
    found = []
    for path in sorted((ROOT / "cedula" / "admin").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "message_user":
                if len(node.args) > 1 and isinstance(node.args[1], literal):
                    found.append(f"{path.name}:{node.lineno} message")
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "form_submit_text" and isinstance(value, literal):
                        found.append(f"{path.name}:{node.lineno} dialog button")
    assert found == []


def test_a_declared_message_counts_cedulas_in_words():
    from cedula.console_actions import BATCH_BUTTONS, CEDULA_LOOKUP_NOW, CEDULA_REVALIDATE

    assert BATCH_BUTTONS[0].done_message(1) == f"{BATCH_BUTTONS[0].label}: 1 cédula."
    assert BATCH_BUTTONS[0].done_message(3) == f"{BATCH_BUTTONS[0].label}: 3 cédulas."
    assert CEDULA_REVALIDATE.done_message(1).startswith("1 cédula en cola")
    assert CEDULA_LOOKUP_NOW.done_message(0) == "La cédula ya estaba en cola."


def test_a_console_permission_is_spelled_in_the_permissions_module_only():
    # Seven admin files once held these as literals; a second spelling drifts the day a codename is renamed.
    from cedula import permissions

    names = {value for key, value in vars(permissions).items() if key.isupper() and isinstance(value, str)}
    elsewhere = sorted(
        f"{path}:{node.lineno} {node.value}"
        for path, node in _constants()
        if node.value in names and path != "cedula/permissions.py"
    )
    assert len(names) >= 6 and elsewhere == []
