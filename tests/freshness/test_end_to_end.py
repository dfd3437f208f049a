"""Freshness end to end: a real `qcluster`, real Chromium, the stand-in registry changing its answer while it runs.

A batch imported today is looked up; the registry then moves the person to another puesto and mesa; once the batch's
answers are older than REVALIDATE_AFTER_DAYS the worker's own schedule re-queues them, the worker looks them up again
and the console shows exactly the change the registry made. Then the registry cancels the cedula.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from cedula import services
from cedula.importing import SourceRow
from cedula.models import CedulaChange, CedulaInfo, Status
from cedula.registry.simulator.outcomes import Outcome, demo_cedulas
from cedula.registry.simulator.overrides import write_overrides

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MOVING = "25837220"  # demo person: ANTIOQUIA / MEDELLIN / I.E. INEM ... / mesa 030
STAYING = "1112806747"


def wait_until(predicate, timeout: float, message: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s: {message}")


def settled(ids: list[int]) -> bool:
    rows = CedulaInfo.objects.filter(pk__in=ids, next_attempt_at__isnull=True, claimed_at__isnull=True)
    return rows.exclude(status=Status.PENDING).count() == len(ids)


def age_answers(ids: list[int], days: int) -> None:
    CedulaInfo.objects.filter(pk__in=ids).update(last_checked=timezone.now() - dt.timedelta(days=days))


def test_a_batch_comes_back_by_itself_and_the_console_shows_exactly_what_the_registry_changed(
    start_worker, registry_site_factory, tmp_path, settings, admin_client
):
    settings.REVALIDATE_AFTER_DAYS = 90
    overrides = tmp_path / "overrides.json"
    site = registry_site_factory(overrides_file=overrides)
    report = services.cedula_import_rows(
        rows=[SourceRow(2, MOVING), SourceRow(3, STAYING)], file_name="padron-hoy.csv", user=None
    )
    ids = list(CedulaInfo.objects.filter(import_batch_id=report.batch_id).values_list("pk", flat=True))
    call_command("setup_schedules", stdout=StringIO())
    # Only the re-validation schedule matters here; it runs when the test says so.
    Schedule.objects.filter(name="lookups-revalidate").update(next_run=timezone.now() + dt.timedelta(days=1))
    worker = start_worker(registry_url=site.url, REVALIDATE_AFTER_DAYS="90")

    wait_until(lambda: settled(ids), timeout=120, message="the imported batch did not settle")
    moving = CedulaInfo.objects.get(cedula=MOVING)
    assert moving.status == Status.ACTIVE and moving.mesa == demo_cedulas()[MOVING].mesa
    assert not CedulaChange.objects.exists()  # the first answer is not a change

    before = demo_cedulas()[MOVING]
    moved = Outcome(status="active", departamento="ANTIOQUIA", municipio="BELLO", puesto="I.E. FERNANDO VELEZ",
                    direccion="CALLE 50 # 49-35", mesa="038")  # fmt: skip
    # The registry moves one person and re-spaces/re-cases the other's unchanged answer.
    same = demo_cedulas()[STAYING]
    respaced = Outcome(**{**same.__dict__, "puesto": "  " + same.puesto.title() + " ", "municipio": "Medellín"})
    write_overrides(overrides, {MOVING: moved, STAYING: respaced})
    # 91 days pass for these answers; nobody asks: the worker's schedule runs the re-validation job.
    age_answers(ids, 91)
    lookups_before = len(site.lookups())
    Schedule.objects.filter(name="lookups-revalidate").update(next_run=timezone.now() - dt.timedelta(seconds=1))

    wait_until(
        lambda: len(site.lookups()) >= lookups_before + 2 and settled(ids),
        timeout=150,
        message=f"the worker did not re-validate the batch\n{worker.log_text()[-3000:]}",
    )

    change = CedulaChange.objects.get()
    moving.refresh_from_db()
    assert change.cedula == moving and change.kind == CedulaChange.Kind.PLACE
    assert change.import_batch_id == report.batch_id
    assert change.old_values == {
        "municipio": before.municipio,
        "puesto": before.puesto,
        "direccion": before.direccion,
        "mesa": before.mesa,
    }
    assert change.new_values == {"municipio": "BELLO", "puesto": "I.E. FERNANDO VELEZ",
                                 "direccion": "CALLE 50 # 49-35", "mesa": "038"}  # fmt: skip
    assert (moving.municipio, moving.puesto, moving.mesa) == ("BELLO", "I.E. FERNANDO VELEZ", "038")
    assert moving.changed_at_last_check is True
    assert CedulaInfo.objects.get(cedula=STAYING).changed_at_last_check is False

    # The console shows it: the Cambios list, the cedula's page, the dashboard card, the changelist filter.
    changes_html = admin_client.get(reverse("admin:cedula_cedulachange_changelist")).content.decode()
    assert MOVING in changes_html and "mesa:</span> 030 → 038" in changes_html
    detail = admin_client.get(reverse("admin:cedula_cedulainfo_change", args=[moving.pk])).content.decode()
    assert "puesto:</span> I.E. INEM JOSE FELIX DE RESTREPO → I.E. FERNANDO VELEZ" in detail
    dashboard = admin_client.get(reverse("admin:index")).content.decode()
    assert 'data-testid="changes-place">1<' in dashboard
    listed = admin_client.get(reverse("admin:cedula_cedulainfo_changelist") + "?changed_at_last_check=1")
    assert [o.cedula for o in listed.context["cl"].result_list] == [MOVING]

    # Then the registry cancels the cedula; staff re-validate by hand (the command), the worker looks it up.
    dead = Outcome(status="cancelled", novedad="Cancelada por Muerte", resolucion="0012",
                   fecha_novedad=dt.date(2026, 5, 2))  # fmt: skip
    write_overrides(overrides, {MOVING: dead})
    out = StringIO()
    call_command("revalidate_cedulas", "--older-than-days", "0", "--batch", str(report.batch_id), stdout=out)
    assert json.loads(out.getvalue()) == {"queued": 2, "eligible": 2}
    wait_until(
        lambda: CedulaChange.objects.filter(kind=CedulaChange.Kind.STATUS).exists() and settled(ids),
        timeout=120,
        message="the cancellation was not recorded",
    )
    status_change = CedulaChange.objects.get(kind=CedulaChange.Kind.STATUS)
    assert (status_change.old_status, status_change.new_status) == ("active", "cancelled")
    assert status_change.new_values["novedad"] == "Cancelada por Muerte"
    assert status_change.new_values["fecha_novedad"] == "2026-05-02"
    assert status_change.old_values["mesa"] == "038" and status_change.new_values["mesa"] == ""
    assert CedulaChange.objects.count() == 2
