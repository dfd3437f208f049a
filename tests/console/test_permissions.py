"""Who may see and do what: anonymous, plain user, Consulta, Operadores, superuser x every console page and action."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_q.conf import Conf

from cedula.models import Breaker, CedulaChange, Status

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


PAGES = [
    ("admin:index", None),
    ("admin:cedula_cedulainfo_dashboard", None),
    ("admin:cedula_cedulainfo_changelist", None),
    ("admin:cedula_cedulainfo_change", "cedula"),
    ("admin:cedula_lookupattempt_changelist", None),
    ("admin:cedula_lookupattempt_change", "attempt"),
    ("admin:cedula_importbatch_changelist", None),
    ("admin:cedula_importbatch_change", "batch"),
    ("admin:cedula_cedulachange_changelist", None),
    ("admin:cedula_cedulachange_change", "change"),
    ("admin:django_q_success_changelist", None),
    ("admin:django_q_failure_changelist", None),
    ("admin:django_q_schedule_changelist", None),
]
if Conf.ORM:  # with the Redis broker the queued tasks live in Redis: there is no queue page
    PAGES.append(("admin:django_q_ormq_changelist", None))


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
    assert "view_cedulachange" in operators and "view_cedulachange" in readers
    assert readers and all(code.startswith("view_") for code in readers)


SUPERUSER_PAGES = ["admin:cedula_auditrecord_changelist", "admin:accounts_loginlock_changelist"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", SUPERUSER_PAGES)
def test_the_audit_and_lockout_pages_open_only_for_superusers(as_role, role, page):
    response = as_role(role).get(reverse(page))

    expected = 200 if role == "superuser" else 403 if role in CAN_VIEW else 302
    assert response.status_code == expected


@pytest.mark.parametrize("role", ROLES)
def test_the_data_subject_export_needs_the_export_permission(as_role, rows, role):
    response = as_role(role).get(reverse("admin:cedula_cedulainfo_data_subject_export", args=[rows["cedula"].pk]))

    expected = 200 if role in CAN_OPERATE else 403 if role in CAN_VIEW else 302
    assert response.status_code == expected
