"""Who may see and do what: anonymous, plain user, Consulta, Operadores, superuser x every console page and action."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cedula import console_actions, services
from cedula.models import Breaker, CedulaChange, Status
from tests.helpers.console import PAGES

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "plain", "Consulta", "Operadores", "superuser"]
CAN_VIEW = {"Consulta", "Operadores", "superuser"}
CAN_OPERATE = {"Operadores", "superuser"}


@pytest.fixture
def as_role(client, staff_in, admin_user):
    def login(role: str):
        if role == "superuser":
            client.force_login(admin_user)
        elif role == "plain":
            client.force_login(staff_in(None))
        elif role != "anonymous":
            client.force_login(staff_in(role))
        return client

    return login


@pytest.fixture
def rows(cedula_factory, attempt_factory, batch_factory):
    batch = batch_factory()
    info = cedula_factory(status=Status.ERROR, error_kind="timeout", import_batch=batch)
    attempt = attempt_factory(info)
    change = CedulaChange.objects.create(
        cedula=info, changed_at=attempt.started_at, attempt=attempt, import_batch=batch, kind="place",
        old_status="active", new_status="active", old_values={"mesa": "001"}, new_values={"mesa": "002"},
    )  # fmt: skip
    return {"cedula": info, "attempt": attempt, "batch": batch, "change": change}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("page", "obj"), PAGES)
def test_console_pages_open_only_for_staff_with_a_role(as_role, rows, role, page, obj):
    url = reverse(page, args=[rows[obj].pk] if obj else [])

    response = as_role(role).get(url)

    if role in CAN_VIEW:
        assert response.status_code == 200
    else:
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("export", ["admin:cedula_lookupattempt_export", "admin:cedula_cedulachange_export"])
def test_exporting_the_failure_log_and_the_changes_needs_the_export_permission(as_role, rows, role, export):
    response = as_role(role).get(reverse(export))

    expected = 200 if role in CAN_OPERATE else 403 if role in CAN_VIEW else 302
    assert response.status_code == expected


BULK_ACTIONS = {
    "queue_now": Status.ACTIVE,
    "retry_failed": Status.ERROR,
    "reset_pending": Status.ACTIVE,
    "revalidate": Status.ACTIVE,
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", BULK_ACTIONS)
def test_bulk_actions_work_only_for_operators(as_role, cedula_factory, role, action):
    row = cedula_factory(status=BULK_ACTIONS[action])

    as_role(role).post(
        reverse("admin:cedula_cedulainfo_changelist"),
        {"action": action, "_selected_action": [row.pk], "index": 0},
    )

    row.refresh_from_db()
    assert (row.next_attempt_at is not None) == (role in CAN_OPERATE)


@pytest.mark.parametrize("role", ROLES)
def test_revalidating_an_import_batch_works_only_for_operators(as_role, cedula_factory, batch_factory, role):
    batch = batch_factory()
    row = cedula_factory(status=Status.ACTIVE, import_batch=batch)

    as_role(role).post(
        reverse("admin:cedula_importbatch_changelist"),
        {"action": "revalidate", "_selected_action": [batch.pk], "index": 0},
    )

    row.refresh_from_db()
    assert (row.next_attempt_at is not None) == (role in CAN_OPERATE)
    assert (row.priority == 5) == (role in CAN_OPERATE)


@pytest.mark.parametrize("role", ROLES)
def test_lookup_now_works_only_for_operators(as_role, cedula_factory, role):
    row = cedula_factory(status=Status.ACTIVE)

    response = as_role(role).post(
        reverse("admin:cedula_cedulainfo_lookup_now", args=[row.pk]), {"_form_submitted": "on"}
    )

    row.refresh_from_db()
    assert (row.next_attempt_at is not None) == (role in CAN_OPERATE)
    if role in CAN_VIEW - CAN_OPERATE:
        assert response.status_code == 403


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("switch", ["pause_lookups", "resume_lookups"])
def test_pause_and_resume_work_only_for_operators(as_role, role, switch):
    Breaker.objects.update_or_create(pk=1, defaults={"paused": switch == "resume_lookups"})

    response = as_role(role).post(reverse(f"admin:cedula_cedulainfo_{switch}"), {"_form_submitted": "on"})

    paused = Breaker.objects.get(pk=1).paused
    changed = paused != (switch == "resume_lookups")
    assert changed == (role in CAN_OPERATE)
    if role in CAN_VIEW - CAN_OPERATE:
        assert response.status_code == 403


@pytest.mark.parametrize("role", ROLES)
def test_probar_ahora_works_only_for_operators(as_role, role):
    Breaker.objects.update_or_create(pk=1, defaults={"state": Breaker.State.OPEN, "cause": "solver_key"})

    response = as_role(role).post(reverse("admin:cedula_cedulainfo_probe_gate"), {"_form_submitted": "on"})

    assert Breaker.objects.get(pk=1).probe_requested == (role in CAN_OPERATE)
    if role in CAN_VIEW - CAN_OPERATE:
        assert response.status_code == 403


def test_a_read_only_user_sees_no_action_buttons(as_role, rows):
    client = as_role("Consulta")
    pk = rows["cedula"].pk

    changelist = client.get(reverse("admin:cedula_cedulainfo_changelist")).content.decode()
    detail = client.get(reverse("admin:cedula_cedulainfo_change", args=[pk])).content.decode()
    dashboard = client.get(reverse("admin:index")).content.decode()
    attempts = client.get(reverse("admin:cedula_lookupattempt_changelist")).content.decode()
    failures = client.get(reverse("admin:django_q_failure_changelist")).content.decode()

    assert 'name="action"' not in changelist
    assert reverse("admin:cedula_cedulainfo_import") not in changelist
    assert reverse("admin:cedula_cedulainfo_export") not in changelist
    assert reverse("admin:cedula_cedulainfo_lookup_now", args=[pk]) not in changelist + detail
    assert reverse("admin:cedula_cedulainfo_pause_lookups") not in changelist + dashboard
    assert 'data-testid="breaker-switch"' not in dashboard
    assert reverse("admin:cedula_lookupattempt_export") not in attempts
    assert 'name="action"' not in failures
    assert 'name="_save"' not in detail
    batches = client.get(reverse("admin:cedula_importbatch_changelist")).content.decode()
    changes = client.get(reverse("admin:cedula_cedulachange_changelist")).content.decode()
    assert 'value="revalidate"' not in changelist + batches
    assert reverse("admin:cedula_cedulachange_export") not in changes


def test_an_operator_sees_the_action_buttons(as_role, rows):
    client = as_role("Operadores")
    pk = rows["cedula"].pk

    changelist = client.get(reverse("admin:cedula_cedulainfo_changelist")).content.decode()
    dashboard = client.get(reverse("admin:index")).content.decode()
    attempts = client.get(reverse("admin:cedula_lookupattempt_changelist")).content.decode()

    assert 'name="action"' in changelist
    assert 'value="revalidate"' in changelist
    assert 'value="revalidate"' in client.get(reverse("admin:cedula_importbatch_changelist")).content.decode()
    assert reverse("admin:cedula_lookupattempt_export") in attempts
    assert reverse("admin:cedula_cedulainfo_lookup_now", args=[pk]) in changelist
    assert reverse("admin:cedula_cedulainfo_pause_lookups") in changelist + dashboard
    assert reverse("admin:cedula_lookupattempt_export") in attempts


def test_the_roles_are_created_by_migration_with_their_permissions():
    from django.contrib.auth.models import Group

    operators = set(Group.objects.get(name="Operadores").permissions.values_list("codename", flat=True))
    readers = set(Group.objects.get(name="Consulta").permissions.values_list("codename", flat=True))

    assert {"import_cedulas", "export_cedulas", "queue_lookups", "pause_lookups", "view_cedulainfo"} <= operators
    assert "probe_gate" in operators and "probe_gate" not in readers  # "Probar ahora" (issue 23)
    assert "view_cedulachange" in operators and "view_cedulachange" in readers
    assert readers and all(code.startswith("view_") for code in readers)


# --- The matrix is the declaration: cedula/console_actions.py, read by the admin, the audit trail and the docs ------


def test_every_declared_action_needs_a_permission_operators_hold_and_readers_lack():
    from django.contrib.auth.models import Group

    operators = set(Group.objects.get(name="Operadores").permissions.values_list("codename", flat=True))
    readers = set(Group.objects.get(name="Consulta").permissions.values_list("codename", flat=True))
    needed = {spec.permission.split(".", 1)[1] for spec in console_actions.CONSOLE_ACTIONS}

    assert needed == {"queue_lookups", "pause_lookups", "export_cedulas", "probe_gate"}
    assert needed <= operators and not needed & readers


def test_the_permission_table_of_the_security_page_is_the_declaration():
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    rows = re.findall(r"^\| (.+?) \| `([a-z_.0-9]+)` \| `(cedula\.[a-z_]+)` \|$", text, flags=re.MULTILINE)
    declared = [(spec.label, spec.audit_code, spec.permission) for spec in console_actions.CONSOLE_ACTIONS]

    assert rows == declared


def test_every_declared_service_exists_and_every_code_is_labelled_once():
    from cedula.services.audit import ACTION_LABELS

    assert [spec.service for spec in console_actions.CONSOLE_ACTIONS if spec.service and not callable(
        getattr(services, spec.service, None))] == []  # fmt: skip
    codes = [spec.audit_code for spec in console_actions.CONSOLE_ACTIONS]
    assert len(codes) == len(set(codes))
    assert all(ACTION_LABELS[spec.audit_code] == spec.audit_label for spec in console_actions.CONSOLE_ACTIONS)


# --- Batches (issue 15): the batch page's buttons, its exports, the actions on a whole filter ------------------------

BATCH_BUTTONS = [spec.name for spec in console_actions.BATCH_BUTTONS]  # the page's buttons, as declared


@pytest.fixture
def queued_batch(cedula_factory, batch_factory):
    from django.utils import timezone

    batch = batch_factory(file_name="padron.csv")
    now = timezone.now()
    for _ in range(3):
        cedula_factory(import_batch=batch, next_attempt_at=now)
    cedula_factory(import_batch=batch, status=Status.ERROR, error_kind="timeout")
    held = cedula_factory(import_batch=batch, held=True)
    return {"batch": batch, "held": held}


def _batch_state(batch):
    from cedula.models import BatchEvent, CedulaInfo

    rows = CedulaInfo.objects.filter(import_batch=batch).order_by("pk")
    return (
        [(r.status, r.next_attempt_at, r.held, r.priority) for r in rows],
        BatchEvent.objects.filter(batch=batch).count(),
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("button", BATCH_BUTTONS)
def test_batch_buttons_confirm_and_act_only_for_operators(as_role, queued_batch, role, button):
    batch = queued_batch["batch"]
    if button == "resume":
        batch.paused_at = batch.created_at
        batch.save()
    url = reverse("admin:cedula_importbatch_action", args=[batch.pk, button])
    before = _batch_state(batch)
    client = as_role(role)

    confirm = client.get(url)
    done = client.post(url, {"confirmar": "1"})

    after = _batch_state(batch)
    if role in CAN_OPERATE:
        assert confirm.status_code == 200 and 'data-testid="confirm-count"' in confirm.content.decode()
        assert done.status_code == 302 and done["Location"] == reverse(
            "admin:cedula_importbatch_change", args=[batch.pk]
        )
        assert after[1] == before[1] + 1  # who did it and when
    else:
        assert after == before
        expected = 403 if role in CAN_VIEW else 302
        assert confirm.status_code == expected and done.status_code == expected


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_batch_exports_need_the_export_permission(as_role, queued_batch, role, fmt):
    response = as_role(role).get(reverse("admin:cedula_importbatch_export", args=[queued_batch["batch"].pk, fmt]))

    expected = 200 if role in CAN_OPERATE else 403 if role in CAN_VIEW else 302
    assert response.status_code == expected


SUPERUSER_PAGES = ["admin:cedula_auditrecord_changelist", "admin:accounts_loginlock_changelist"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", SUPERUSER_PAGES)
def test_the_audit_and_lockout_pages_open_only_for_superusers(as_role, role, page):
    response = as_role(role).get(reverse(page))

    expected = 200 if role == "superuser" else 403 if role in CAN_VIEW else 302
    assert response.status_code == expected


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", ["queue_now", "retry_failed", "reset_pending", "cancel_pending"])
def test_actions_on_the_whole_filter_work_only_for_operators(as_role, cedula_factory, role, name):
    from cedula.models import CedulaInfo

    cedula_factory(status=Status.ERROR, error_kind="timeout")
    cedula_factory(status=Status.PENDING, next_attempt_at="2026-01-01T00:00:00Z")
    before = list(CedulaInfo.objects.order_by("pk").values_list("status", "next_attempt_at"))
    url = reverse("admin:cedula_cedulainfo_filter_action", args=[name])
    client = as_role(role)

    confirm = client.get(url)
    done = client.post(url, {"confirmar": "1"})

    after = list(CedulaInfo.objects.order_by("pk").values_list("status", "next_attempt_at"))
    if role in CAN_OPERATE:
        assert confirm.status_code == 200 and done.status_code == 302
        assert after != before
    else:
        assert after == before
        expected = 403 if role in CAN_VIEW else 302
        assert confirm.status_code == expected and done.status_code == expected


def test_a_read_only_user_sees_no_batch_buttons_and_no_filter_actions(as_role, queued_batch):
    client = as_role("Consulta")
    batch = queued_batch["batch"]

    page = client.get(reverse("admin:cedula_importbatch_change", args=[batch.pk])).content.decode()
    changelist = client.get(reverse("admin:cedula_cedulainfo_changelist")).content.decode()

    assert 'data-testid="batch-page"' in page
    assert 'data-testid="batch-buttons"' not in page
    assert 'data-testid="filter-actions"' not in changelist


def test_an_operator_sees_the_batch_buttons_and_the_filter_actions(as_role, queued_batch):
    client = as_role("Operadores")
    batch = queued_batch["batch"]

    page = client.get(reverse("admin:cedula_importbatch_change", args=[batch.pk])).content.decode()
    changelist = client.get(reverse("admin:cedula_cedulainfo_changelist") + "?status__exact=error").content.decode()

    for button in ["retry_errors", "pause", "move_ahead", "move_behind", "cancel"]:
        assert reverse("admin:cedula_importbatch_action", args=[batch.pk, button]) in page
    assert 'data-testid="batch-export-xlsx"' in page
    # The filter travels with the action: its confirmation counts the same rows the list shows.
    assert (
        reverse("admin:cedula_cedulainfo_filter_action", args=["retry_failed"]) + "?status__exact=error" in changelist
    )


# --- Django-Q2 schedules: "Ejecutar ahora" -------------------------------------------------------------------------


@pytest.fixture
def schedule():
    from django_q.models import Schedule

    return Schedule.objects.create(name="lookups-dispatch", func="cedula.tasks.dispatch", schedule_type="I", minutes=1)


@pytest.mark.parametrize("role", ROLES)
def test_run_now_enqueues_the_job_only_for_operators(as_role, schedule, role):
    from django_q.brokers import get_broker

    broker = get_broker()
    before = broker.queue_size()

    response = as_role(role).post(
        reverse("admin:django_q_schedule_run_now", args=[schedule.pk]), {"_form_submitted": "on"}
    )

    enqueued = broker.queue_size() - before
    assert enqueued == (1 if role in CAN_OPERATE else 0)
    if role in CAN_VIEW - CAN_OPERATE:
        assert response.status_code == 403


@pytest.mark.parametrize("role", ROLES)
def test_the_data_subject_export_needs_the_export_permission(as_role, rows, role):
    response = as_role(role).get(reverse("admin:cedula_cedulainfo_data_subject_export", args=[rows["cedula"].pk]))

    expected = 200 if role in CAN_OPERATE else 403 if role in CAN_VIEW else 302
    assert response.status_code == expected
