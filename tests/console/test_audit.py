"""Every staff action can be traced to a person: one audit record per action of the permission matrix."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from cedula.models import AuditRecord, AuditRecordCedula, Breaker, CedulaInfo, Status
from cedula.services.audit import ACTION_LABELS, audit_record

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:cedula_cedulainfo_changelist"
IP = "203.0.113.80"


@pytest.fixture
def operator(staff_in):
    return staff_in("Operadores")


@pytest.fixture
def op_client(operator):
    client = Client(REMOTE_ADDR=IP)
    client.force_login(operator)
    return client


def only_record(action: str) -> AuditRecord:
    records = list(AuditRecord.objects.filter(action=action))
    assert len(records) == 1, [r.action for r in AuditRecord.objects.all()]
    return records[0]


@pytest.mark.parametrize(
    ("action", "status"),
    [("queue_now", Status.ACTIVE), ("retry_failed", Status.ERROR), ("reset_pending", Status.ACTIVE)],
)
def test_a_bulk_action_writes_one_record_with_its_count_not_one_per_row(
    op_client, operator, cedula_factory, action, status
):
    rows = [cedula_factory(status=status) for _ in range(3)]

    op_client.post(
        reverse(CHANGELIST) + "?status__exact=" + status,
        {"action": action, "_selected_action": [r.pk for r in rows], "index": 0},
    )

    record = only_record(f"cedula.{action}")
    assert record.actor == operator and record.actor_email == operator.email
    assert record.ip == IP and record.outcome == "success" and record.count == 3
    assert record.target_type == "cedula.cedulainfo"
    assert record.details["filter"] == f"status__exact={status}"
    assert set(AuditRecordCedula.objects.filter(record=record).values_list("cedula_id", flat=True)) == {
        r.pk for r in rows
    }


def test_lookup_now_names_the_one_cedula(op_client, cedula_factory):
    row = cedula_factory(status=Status.ACTIVE)

    op_client.post(reverse("admin:cedula_cedulainfo_lookup_now", args=[row.pk]), {"_form_submitted": "on"})

    record = only_record("cedula.lookup_now")
    assert (record.target_type, record.target_id, record.count) == ("cedula.cedulainfo", str(row.pk), 1)


@pytest.mark.parametrize("switch", ["pause", "resume"])
def test_pause_and_resume_are_recorded(op_client, operator, switch):
    Breaker.objects.update_or_create(pk=1, defaults={"paused": switch == "resume"})

    op_client.post(
        reverse(f"admin:cedula_cedulainfo_{switch}_lookups"), {"_form_submitted": "on", "reason": "mantenimiento"}
    )

    record = only_record(f"lookups.{switch}")
    assert record.actor == operator
    if switch == "pause":
        assert record.details["reason"] == "mantenimiento"


def test_a_refused_action_is_recorded_as_denied(staff_in, cedula_factory):
    reader = staff_in("Consulta")
    client = Client(REMOTE_ADDR=IP)
    client.force_login(reader)
    row = cedula_factory(status=Status.ACTIVE)

    response = client.post(reverse("admin:cedula_cedulainfo_lookup_now", args=[row.pk]), {"_form_submitted": "on"})

    assert response.status_code == 403
    record = only_record("console.denied")
    assert record.actor == reader and record.outcome == "denied" and "lookup-now" in record.target_repr
    assert not AuditRecord.objects.filter(action="cedula.lookup_now").exists()


@pytest.mark.parametrize("action", ["queue_now", "cancel_pending", "revalidate"])
def test_a_bulk_action_the_account_may_not_run_is_recorded_as_denied_and_touches_nothing(
    staff_in, cedula_factory, action
):
    reader = staff_in("Consulta")
    client = Client(REMOTE_ADDR=IP)
    client.force_login(reader)
    rows = [cedula_factory(status=Status.ACTIVE) for _ in range(2)]

    client.post(reverse(CHANGELIST), {"action": action, "_selected_action": [r.pk for r in rows], "index": 0})

    record = only_record("console.denied")
    assert record.actor == reader and record.ip == IP and record.outcome == "denied"
    assert action in record.target_repr and record.count == 2
    assert not CedulaInfo.objects.filter(next_attempt_at__isnull=False).exists()


def test_an_import_is_recorded_with_its_batch_and_row_count(op_client, operator):
    data = b"cedula\r\n1234567\r\n7654321\r\n"
    preview = op_client.post(
        reverse("admin:cedula_cedulainfo_import"), {"import_file": SimpleUploadedFile("lote.csv", data)}
    )
    fields = {
        name: preview.context["confirm_form"][name].value()
        for name in ("import_file_name", "original_file_name", "format", "resource")
    }
    op_client.post(reverse("admin:cedula_cedulainfo_process_import"), {k: v for k, v in fields.items() if v})

    record = only_record("cedula.import")
    assert record.actor == operator and record.count == 2 and record.target_type == "cedula.importbatch"
    assert record.details["file_name"] == "lote.csv" and record.details["new"] == 2


def test_the_import_command_is_recorded_for_the_staff_member_it_names(operator, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    path = tmp_path / "lote.csv"
    path.write_bytes(b"cedula\r\n1234567\r\n")
    call_command("import_cedulas", str(path), "--user", operator.email, stdout=StringIO(), stderr=StringIO())

    record = only_record("cedula.import")
    assert record.actor == operator and record.ip is None and record.details["via"] == "import_cedulas"


@pytest.mark.parametrize(
    ("url", "action"),
    [("admin:cedula_cedulainfo_export", "cedula.export"), ("admin:cedula_lookupattempt_export", "attempts.export")],
)
def test_an_export_is_recorded_with_its_filter_and_row_count(op_client, cedula_factory, attempt_factory, url, action):
    rows = [cedula_factory(status=Status.ERROR) for _ in range(2)]
    for row in rows:
        attempt_factory(row)

    response = op_client.post(reverse(url) + "?q=", {"format": "0", "resource": "0"})

    assert response.status_code == 200
    record = only_record(action)
    assert record.count == 2 and record.outcome == "success"


def test_the_changes_export_is_recorded_like_the_others(op_client, cedula_factory):
    from django.utils import timezone

    from cedula.models import CedulaChange

    for row in [cedula_factory(status=Status.CANCELLED) for _ in range(3)]:
        CedulaChange.objects.create(cedula=row, changed_at=timezone.now(), kind=CedulaChange.Kind.STATUS,
                                    old_status=Status.ACTIVE, new_status=Status.CANCELLED)  # fmt: skip

    response = op_client.post(reverse("admin:cedula_cedulachange_export") + "?kind__exact=status", {"format": "0"})

    assert response.status_code == 200
    record = only_record("changes.export")
    assert record.count == 3 and record.outcome == "success" and record.actor is not None
    assert record.details["filter"] == "kind__exact=status"


def test_a_user_changed_by_staff_is_recorded_with_the_fields(admin_user):
    client = Client(REMOTE_ADDR=IP)
    client.force_login(admin_user)
    from tests.helpers.factories import UserFactory

    person = UserFactory(email="p@example.com", cedula="1234567")
    page = client.get(reverse("admin:accounts_user_change", args=[person.pk]))
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in {"password", "last_login"}}
    data.update({"cedula": "7654321", "date_joined_0": "2026-01-01", "date_joined_1": "10:00:00"})
    data["groups"] = []
    data["user_permissions"] = []
    response = client.post(reverse("admin:accounts_user_change", args=[person.pk]), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    record = only_record("object.change")
    assert record.actor == admin_user and record.target_type == "accounts.user" and record.target_id == str(person.pk)
    assert "Cédula" in record.details["fields"] or "cedula" in record.details["fields"]


def test_group_and_permission_changes_are_recorded(admin_user):
    client = Client(REMOTE_ADDR=IP)
    client.force_login(admin_user)
    group = Group.objects.create(name="Auditores")
    perm = Permission.objects.get(codename="view_cedulainfo")

    client.post(reverse("admin:auth_group_change", args=[group.pk]), {"name": "Auditores", "permissions": [perm.pk]})

    record = only_record("permissions.change")
    assert record.target_type == "auth.group" and record.actor == admin_user and record.ip == IP


def test_a_bulk_delete_writes_one_record(admin_user, user_factory):
    client = Client(REMOTE_ADDR=IP)
    client.force_login(admin_user)
    people = [user_factory() for _ in range(3)]

    client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "delete_selected", "_selected_action": [p.pk for p in people], "post": "yes", "index": 0},
    )

    record = only_record("object.delete")
    assert record.count == 3 and record.target_type == "accounts.user"
    assert not AuditRecord.objects.filter(action="object.delete").exclude(pk=record.pk).exists()


def test_staff_logins_and_logouts_are_recorded_but_not_the_public_ones(client, staff_in, user_factory):
    reader = staff_in("Consulta")
    person = user_factory()
    client.post(reverse("admin:login"), {"username": reader.email, "password": "clave-segura-123"}, REMOTE_ADDR=IP)
    client.post(reverse("admin:logout"))
    client.post(reverse("accounts:login"), {"username": person.email, "password": "clave-segura-123"})

    assert only_record("auth.login").actor == reader
    assert only_record("auth.logout").actor == reader
    assert AuditRecord.objects.filter(actor=person).count() == 0


# --- the Auditoría list --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["Consulta", "Operadores"])
def test_only_superusers_see_the_audit_list(client, staff_in, role):
    client.force_login(staff_in(role))

    assert client.get(reverse("admin:cedula_auditrecord_changelist")).status_code == 403


def test_the_audit_list_filters_by_who_action_and_date_and_cannot_be_edited(admin_client, admin_user, operator):
    mine = audit_record(action="lookups.pause", actor=operator)
    audit_record(action="lookups.resume", actor=admin_user)
    url = reverse("admin:cedula_auditrecord_changelist")

    by_actor = admin_client.get(url, {"actor": operator.pk}).context["cl"].result_list
    by_action = admin_client.get(url, {"action": "lookups.resume"}).context["cl"].result_list
    by_date = admin_client.get(url, {"at_from_0": "2000-01-01", "at_to_0": "2000-01-02"}).context["cl"].result_list
    page = admin_client.get(url).content.decode()
    detail = admin_client.get(reverse("admin:cedula_auditrecord_change", args=[mine.pk]))

    assert [r.pk for r in by_actor] == [mine.pk]
    assert [r.action for r in by_action] == ["lookups.resume"]
    assert list(by_date) == []
    assert "Pausar consultas" in page and "Auditoría" in page
    assert 'name="_save"' not in detail.content.decode()
    assert admin_client.post(reverse("admin:cedula_auditrecord_delete", args=[mine.pk])).status_code == 403
    assert admin_client.get(reverse("admin:cedula_auditrecord_add")).status_code == 403
    assert AuditRecord.objects.filter(pk=mine.pk).exists()


def test_the_audit_list_exports_and_the_export_is_recorded(admin_client, operator):
    audit_record(action="lookups.pause", actor=operator)
    held = AuditRecord.objects.count()  # the pause and the superuser's own login

    response = admin_client.post(reverse("admin:cedula_auditrecord_export"), {"format": "0", "resource": "0"})

    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert "lookups.pause" in text and "Pausar consultas" in text and operator.email in text
    assert only_record("audit.export").count == held


def test_every_action_code_used_in_the_code_has_a_spanish_label():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    used: set[str] = set()
    for path in [*root.glob("cedula/**/*.py"), *root.glob("ops/**/*.py")]:
        used |= set(re.findall(r'action="([a-z_]+\.[a-z_0-9]+)"', path.read_text()))
    assert used and used <= set(ACTION_LABELS), used - set(ACTION_LABELS)


def test_the_row_a_record_names_stays_findable_after_the_row_is_gone(cedula_factory, operator):
    row = cedula_factory()
    record = audit_record(action="cedula.lookup_now", target=row, actor=operator, count=1)
    pk = row.pk
    CedulaInfo.objects.filter(pk=pk).delete()

    assert AuditRecordCedula.objects.filter(record=record, cedula_id=pk).exists()
