"""The import and export screens on the cedula changelist (django-import-export + Unfold)."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cedula.models import CedulaInfo, ImportBatch, Status
from tests.helpers.imports import csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:cedula_cedulainfo_changelist"
IMPORT = "admin:cedula_cedulainfo_import"
PROCESS = "admin:cedula_cedulainfo_process_import"
EXPORT = "admin:cedula_cedulainfo_export"


def upload(client, data: bytes, name: str = "cedulas.csv", **options):
    return client.post(reverse(IMPORT), {"import_file": SimpleUploadedFile(name, data), **options})


def confirm(client, preview, **options):
    fields = {
        name: preview.context["confirm_form"][name].value()
        for name in ("import_file_name", "original_file_name", "format", "resource")
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    return client.post(reverse(PROCESS), {**fields, **options})


@pytest.fixture
def viewer(user_factory):
    user = user_factory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_cedulainfo"))
    return user


def test_the_changelist_offers_import_and_export_to_staff_with_the_permissions(admin_client):
    page = admin_client.get(reverse(CHANGELIST)).content.decode()

    assert reverse(IMPORT) in page
    assert reverse(EXPORT) in page


def test_a_viewer_sees_no_import_button_and_is_refused_the_import_urls(client, viewer):
    client.force_login(viewer)

    page = client.get(reverse(CHANGELIST))
    assert page.status_code == 200
    assert reverse(IMPORT) not in page.content.decode()
    assert reverse(EXPORT) not in page.content.decode()
    assert client.get(reverse(IMPORT)).status_code == 403
    assert upload(client, csv_bytes([["cedula"], ["1234567"]])).status_code == 403
    assert client.post(reverse(PROCESS), {"import_file_name": "x", "original_file_name": "x.csv"}).status_code == 403
    assert client.get(reverse(EXPORT)).status_code == 403
    assert not CedulaInfo.objects.exists()


def test_import_permission_alone_opens_import_but_not_export(client, viewer):
    viewer.user_permissions.add(Permission.objects.get(codename="import_cedulas"))
    client.force_login(viewer)

    form = client.get(reverse(IMPORT))
    assert form.status_code == 200
    assert 'name="import_file"' in form.content.decode()
    assert 'name="format"' not in form.content.decode()
    assert client.get(reverse(EXPORT)).status_code == 403


def test_the_preview_shows_counts_and_first_rows_and_writes_nothing(admin_client, cedula_factory):
    cedula_factory(cedula="1111111")
    data = csv_bytes(
        [["Cédula", "nombre"], ["1111111", "a"], ["2.222.222", "b"], ["2222222", "c"], ["12", "d"], ["abc", "e"]],
        delimiter=";",
    )

    preview = upload(admin_client, data)

    assert preview.status_code == 200
    report = preview.context["report"]
    assert (report.total_rows, report.new, report.existing, report.duplicates, report.invalid) == (5, 1, 1, 1, 2)
    page = preview.content.decode()
    assert 'data-count="new">1<' in page
    assert 'data-count="invalid">2<' in page
    assert "separado por punto y coma" in page
    assert "demasiado corta" in page and "no es una cédula" in page
    assert "repite la fila 3" in page
    assert 'name="skip_invalid"' in page and 'name="requeue_existing"' in page
    assert reverse(PROCESS) in page
    assert CedulaInfo.objects.count() == 1
    assert not ImportBatch.objects.exists()


def test_confirming_a_clean_file_imports_it_and_records_the_batch(admin_client, admin_user):
    preview = upload(admin_client, csv_bytes([["cedula"], ["1234567"], ["7654321"]]))

    done = confirm(admin_client, preview)

    batch = ImportBatch.objects.get()
    assert done.status_code == 302
    assert done["Location"].endswith(f"?import_batch__id__exact={batch.pk}")
    assert (batch.created_by, batch.file_name, batch.new_rows) == (admin_user, "cedulas.csv", 2)
    assert set(CedulaInfo.objects.values_list("cedula", flat=True)) == {"1234567", "7654321"}
    assert admin_client.get(done["Location"]).status_code == 200


def test_confirming_a_file_with_invalid_rows_imports_nothing_by_default(admin_client, cedula_factory):
    cedula_factory(cedula="1111111", status=Status.ACTIVE, next_attempt_at=None)
    before = list(CedulaInfo.objects.values())
    preview = upload(admin_client, csv_bytes([["cedula"], ["1111111"], ["7654321"], ["1.23457E+09"]]))

    blocked = confirm(admin_client, preview, requeue_existing="on")

    assert blocked.status_code == 200
    assert "No se importó nada" in blocked.content.decode()
    assert "notación científica" in blocked.content.decode()
    assert list(CedulaInfo.objects.values()) == before
    assert not ImportBatch.objects.exists()


def test_skip_invalid_imports_the_valid_rows_and_offers_the_rejected_ones_as_csv(admin_client):
    preview = upload(admin_client, csv_bytes([["cedula"], ["1234567"], ["abc"], ["-5"], ["7654321"]]))

    done = confirm(admin_client, preview, skip_invalid="on")

    assert done.status_code == 302
    batch = ImportBatch.objects.get()
    assert (batch.new_rows, batch.invalid_rows) == (2, 2)
    followed = admin_client.get(done["Location"])
    rejected_url = reverse("admin:cedula_cedulainfo_import_rejected", args=[batch.pk])
    assert rejected_url in followed.content.decode()
    download = admin_client.get(rejected_url)
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0] == ["fila", "valor", "motivo"]
    assert [(r[0], r[1]) for r in rows[1:]] == [("3", "abc"), ("4", "'-5")]
    assert "signo" in rows[2][2]


def test_the_rejected_rows_csv_is_refused_to_a_viewer(admin_client, client, viewer):
    preview = upload(admin_client, csv_bytes([["cedula"], ["1234567"], ["abc"]]))
    confirm(admin_client, preview, skip_invalid="on")
    client.force_login(viewer)

    assert (
        client.get(reverse("admin:cedula_cedulainfo_import_rejected", args=[ImportBatch.objects.get().pk])).status_code
        == 403
    )


def test_requeue_known_cedulas_from_the_console(admin_client, cedula_factory):
    known = cedula_factory(cedula="1111111", status=Status.ACTIVE, next_attempt_at=None)
    preview = upload(admin_client, csv_bytes([["cedula"], ["1111111"]]), requeue_existing="on")
    assert preview.context["report"].requeued == 1

    confirm(admin_client, preview, requeue_existing="on")

    known.refresh_from_db()
    assert known.next_attempt_at is not None
    assert ImportBatch.objects.get().requeued_rows == 1


def test_an_xlsx_with_several_sheets_imports_from_the_first_sheet_with_cedulas(admin_client):
    data = xlsx_bytes({"Portada": [["Informe"]], "Datos": [["Nombre", "NUIP"], ["Ana", 1234567], ["Bo", "7.654.321"]]})

    preview = upload(admin_client, data, name="libro.xlsx")
    assert "hoja «Datos»" in preview.content.decode()
    confirm(admin_client, preview)

    assert set(CedulaInfo.objects.values_list("cedula", flat=True)) == {"1234567", "7654321"}


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "vacio.csv", "vacío"),
        (b"cedula\r\n", "solo.csv", "solo tiene el encabezado"),
        (bytes(range(256)) * 20, "basura.csv", "binario"),
        (b"cedula|nombre\n1234567|Ana\n", "pipes.csv", "No se encontró la columna"),
        (b"nombre,telefono\nAna,300\n", "sin.csv", "No se encontró la columna"),
        (b"PK\x03\x04junk", "roto.xlsx", "no es un libro de Excel"),
    ],
)
def test_bad_files_get_a_form_error_never_a_500_nor_an_import(admin_client, data, name, message):
    response = upload(admin_client, data, name=name)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert "confirm_form" not in response.context or response.context["confirm_form"] is None
    assert not CedulaInfo.objects.exists()


def test_a_confirm_for_a_file_that_is_gone_sends_back_to_the_upload(admin_client):
    response = admin_client.post(
        reverse(PROCESS), {"import_file_name": "no-such-file", "original_file_name": "x.csv", "resource": "0"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse(IMPORT)
    assert not ImportBatch.objects.exists()


def export(client, fmt: int, query: str = ""):
    return client.post(reverse(EXPORT) + query, {"format": str(fmt), "resource": "0"})


def test_export_to_csv_has_every_result_field_and_escapes_formulas(admin_client, cedula_factory):
    cedula_factory(
        cedula="1234567",
        status=Status.ACTIVE,
        departamento="ANTIOQUIA",
        municipio="=cmd|' /C calc'!A0",
        puesto="@SUM(1)",
        direccion="+57 CRA",
        mesa="013",
        next_attempt_at=None,
    )

    response = export(admin_client, 0)

    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")
    # As es-CO Excel opens it: a BOM, ";" between columns, each column headed in Spanish.
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    row = rows[0]
    for header in ("Departamento", "Municipio", "Puesto", "Dirección", "Mesa", "Novedad", "Resolución",
                   "Fecha novedad", "Estado", "Última consulta", "Tipo de error"):  # fmt: skip
        assert header in row, sorted(row)
    assert not [h for h in row if "_" in h or h != h.strip() or h[:1].islower()], sorted(row)
    assert row["Cédula"] == "1234567"
    assert row["Estado"] == "Vigente"
    assert row["Mesa"] == "013"
    assert row["Municipio"] == "'=cmd|' /C calc'!A0"
    assert row["Puesto"] == "'@SUM(1)"
    assert row["Dirección"] == "'+57 CRA"


def test_the_csv_separator_is_a_setting(admin_client, cedula_factory, settings):
    settings.EXPORT_CSV_DELIMITER = ","
    cedula_factory(cedula="1234567", status=Status.ACTIVE, next_attempt_at=None)

    header = export(admin_client, 0).content.decode("utf-8-sig").splitlines()[0]

    assert header.startswith("Cédula,Estado,")


def test_export_to_xlsx_writes_text_never_formulas(admin_client, cedula_factory):
    cedula_factory(cedula="1234567", municipio="=1+1", last_checked="2024-06-01T10:00:00Z")

    response = export(admin_client, 1)

    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    values = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert values["Cédula"] == "1234567"
    assert values["Municipio"] == "'=1+1"
    assert sheet.cell(row=2, column=header.index("Municipio") + 1).data_type == "s"


def test_export_follows_the_changelist_filter(admin_client, cedula_factory):
    cedula_factory(cedula="1111111", status=Status.ACTIVE)
    cedula_factory(cedula="2222222", status=Status.ERROR)

    response = export(admin_client, 0, "?status__exact=error")

    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert [r["Cédula"] for r in rows] == ["2222222"]


@pytest.mark.parametrize(("fmt", "name"), [(0, "export.csv"), (1, "export.xlsx")])
def test_an_exported_file_imports_back_with_every_cedula_known(admin_client, cedula_factory, fmt, name):
    for n in range(25):
        cedula_factory(cedula=str(3_000_000 + n), status=Status.ACTIVE, departamento="CALDAS")
    exported = export(admin_client, fmt).content

    preview = upload(admin_client, exported, name=name)

    report = preview.context["report"]
    assert (report.total_rows, report.existing, report.new, report.invalid) == (25, 25, 0, 0)
