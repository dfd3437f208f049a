"""A data-subject request: staff export everything held about one cedula, and the export is itself recorded."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from cedula.models import AuditRecord, CedulaInfo, Status
from cedula.services.audit import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(staff_in):
    client = Client(REMOTE_ADDR="203.0.113.90")
    client.force_login(staff_in("Operadores"))
    return client


def export(client, row):
    response = client.get(reverse("admin:cedula_cedulainfo_data_subject_export", args=[row.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="titular-{row.pk}.json"'
    return json.loads(response.content)


def test_the_export_holds_the_row_its_attempts_its_account_and_the_audit_records_naming_it(
    operator_client, user_factory, cedula_factory, attempt_factory, batch_factory
):
    person = user_factory(email="ana@example.com", cedula="1234567")
    row = CedulaInfo.objects.get(user=person)
    CedulaInfo.objects.filter(pk=row.pk).update(status=Status.ACTIVE, departamento="ANTIOQUIA", mesa="013")
    first = attempt_factory(row, outcome="active")
    second = attempt_factory(row)
    other = cedula_factory(cedula="7654321")
    attempt_factory(other)
    operator_client.post(reverse("admin:cedula_cedulainfo_lookup_now", args=[row.pk]), {"_form_submitted": "on"})
    operator_client.post(
        reverse("admin:cedula_cedulainfo_changelist"),
        {"action": "queue_now", "_selected_action": [row.pk, other.pk], "index": 0},
    )
    audit_record(action="cedula.lookup_now", target=other)  # about someone else

    data = export(operator_client, row)

    assert data["cedula"]["cedula"] == "1234567" and data["cedula"]["departamento"] == "ANTIOQUIA"
    assert data["cedula"]["mesa"] == "013" and "claim_token" not in data["cedula"]
    assert {a["id"] for a in data["related"]["cedula.lookupattempt"]} == {first.pk, second.pk}
    assert data["account"]["email"] == "ana@example.com" and data["account"]["cedula"] == "1234567"
    actions = sorted(r["action"] for r in data["audit_records"])
    assert actions == ["cedula.lookup_now", "cedula.queue_now"]


def test_the_export_is_recorded_in_the_audit_trail(operator_client, cedula_factory):
    row = cedula_factory()

    export(operator_client, row)

    record = AuditRecord.objects.get(action="cedula.data_subject_export")
    assert record.target_id == str(row.pk) and record.ip == "203.0.113.90"


def test_a_row_without_an_account_exports_with_an_empty_account(operator_client, cedula_factory, batch_factory):
    batch = batch_factory(file_name="lote.csv")
    row = cedula_factory(import_batch=batch)
    audit_record(action="cedula.import", target=batch, count=10)

    data = export(operator_client, row)

    assert data["account"] is None
    assert data["import_batch"]["file_name"] == "lote.csv"
    assert [r["action"] for r in data["audit_records"]] == ["cedula.import"]


def test_the_detail_page_offers_the_export_to_operators_only(operator_client, staff_in, cedula_factory):
    row = cedula_factory()
    url = reverse("admin:cedula_cedulainfo_data_subject_export", args=[row.pk])
    reader = Client()
    reader.force_login(staff_in("Consulta"))

    detail = reverse("admin:cedula_cedulainfo_change", args=[row.pk])
    assert url in operator_client.get(detail).content.decode()
    assert url not in reader.get(detail).content.decode()
