"""Every console page (the permission matrix's list, plus the dialogs and forms) reads in Spanish: no English UI string
that was once seen on screen, and no raw Python value such as ('error', 'Error')."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import Failure, Schedule, Success

from cedula.models import CedulaChange, Status
from ops.compile_messages import compile_all
from tests.helpers.console import PAGES
from tests.helpers.spanish import developer_text_in, english_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def every_kind_of_row(cedula_factory, attempt_factory, batch_factory, admin_user):
    batch = batch_factory(file_name="lote.csv", created_by=admin_user, total_rows=1, new_rows=1)
    info = cedula_factory(cedula="1098765432", status=Status.ERROR, error_kind="timeout", import_batch=batch)
    attempt = attempt_factory(info, snapshot="<p>***5432</p>")
    now = timezone.now()
    for model, success in ((Success, True), (Failure, False)):
        model.objects.create(
            id=f"{'a' if success else 'b'}" * 32,
            name="lookup-next",
            func="cedula.tasks.lookup_next",
            started=now,
            stopped=now,
            success=success,
            result="ok" if success else "Traceback: boom",
        )
    Schedule.objects.create(name="reaper", func="cedula.tasks.reap", schedule_type=Schedule.MINUTES, minutes=1)
    change = CedulaChange.objects.create(
        cedula=info, changed_at=attempt.started_at, attempt=attempt, import_batch=batch, kind="place",
        old_status="active", new_status="active", old_values={"mesa": "001"}, new_values={"mesa": "002"},
    )  # fmt: skip
    return {"cedula": info, "attempt": attempt, "batch": batch, "change": change}


@pytest.mark.parametrize(("page", "obj"), PAGES)
def test_every_console_page_reads_in_spanish(admin_client, every_kind_of_row, page, obj):
    url = reverse(page, args=[every_kind_of_row[obj].pk] if obj else [])

    response = admin_client.get(url)

    assert response.status_code == 200
    assert english_in(response.content.decode()) == []
    assert developer_text_in(response.content.decode()) == []


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:cedula_cedulainfo_import",
        "admin:cedula_cedulainfo_export",
        "admin:cedula_lookupattempt_export",
        "admin:cedula_cedulainfo_pause_lookups",
    ],
)
def test_the_forms_and_dialogs_read_in_spanish(admin_client, every_kind_of_row, url_name):
    response = admin_client.get(reverse(url_name))

    assert response.status_code == 200
    assert english_in(response.content.decode()) == []


def test_the_detail_dialog_reads_in_spanish(admin_client, every_kind_of_row):
    url = reverse("admin:cedula_cedulainfo_lookup_now", args=[every_kind_of_row["cedula"].pk])

    assert english_in(admin_client.get(url).content.decode()) == []


def test_empty_lists_and_searches_read_in_spanish(admin_client):
    for url_name in ("admin:cedula_cedulainfo_changelist", "admin:cedula_lookupattempt_changelist"):
        page = admin_client.get(reverse(url_name), {"q": "99999999"}).content.decode()

        assert english_in(page) == []


def test_the_login_page_reads_in_spanish(client):
    page = client.get(reverse("admin:login")).content.decode()

    assert english_in(page) == []
    assert "Consola de cédulas" in page


def test_a_browser_asking_for_english_still_gets_spanish(admin_client, every_kind_of_row):
    page = admin_client.get(reverse("admin:cedula_cedulainfo_changelist"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")

    assert english_in(page.content.decode()) == []


def test_the_checker_catches_english_and_raw_tuples():
    assert english_in('<input placeholder="Search apps and models...">') == ["Search apps and models"]
    assert english_in("<td>('error', 'Error')</td>") == ["('error', 'Error')"]
    assert english_in("<td>Usuario</td><td>UserAgent</td>") == []


def test_the_committed_catalogue_is_compiled_from_its_po_file():
    assert compile_all(check=True) == []


# Field names that read as Spanish already: Django's label from the name is the right one.
SPANISH_AS_NAMED = {"departamento", "municipio", "puesto", "mesa", "novedad", "fecha_novedad"}


def test_every_field_the_console_can_show_has_a_spanish_label():
    """Django labels a field without verbose_name from its name ("paused_by" -> "Paused by"): English on screen."""
    from django.contrib import admin

    unnamed = [
        f"{model.__name__}.{field.name}"
        for model in admin.site._registry
        if model._meta.app_label in {"cedula", "accounts"}
        for field in model._meta.get_fields()
        if not field.auto_created
        and str(getattr(field, "verbose_name", "")) == field.name.replace("_", " ")
        and field.name not in SPANISH_AS_NAMED
    ]
    assert unnamed == []


@pytest.mark.parametrize(
    ("html", "flagged"),
    [
        ("<p>last_checked</p>", True),
        ("<p>lookups-dispatch</p>", True),
        ("<p>cedula.tasks.dispatch</p>", True),
        ("<p>Falta REGISTRY_CANARY_CEDULA</p>", True),
        ("<p>Se modificarán 1 cédulas</p>", True),
        ("<p>3 consulta</p>", True),
        ("<p>1 cédula</p>", False),
        ("<p>1.234 filas</p>", False),
        ("<p>0 consultas</p>", False),
        ("<p>ana@example.com</p>", False),
        ("<p>padron-norte.csv</p>", False),
        ('<span class="material-symbols-outlined">how_to_vote</span>', False),
        ('<select><option value="queue_now">Consultar ahora</option></select>', False),
    ],
)
def test_the_developer_text_check_itself(html, flagged):
    assert bool(developer_text_in(html)) is flagged


def test_the_confirmations_read_without_developer_text(admin_client, every_kind_of_row):
    for url in (
        reverse("admin:cedula_cedulainfo_filter_action", args=["reset_pending"]) + "?status__exact=error",
        reverse("admin:cedula_importbatch_action", args=[every_kind_of_row["batch"].pk, "retry_errors"]),
    ):
        page = admin_client.get(url).content.decode()
        assert english_in(page) == [] and developer_text_in(page) == []
