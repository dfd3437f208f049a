"""Page drift reaches staff: a fallback selector is recorded on the attempt and counted on the dashboard."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from cedula import selectors, services
from cedula.models import CedulaInfo, LookupAttempt, LookupTicket, Priority, Source
from cedula.registry.parser import LookupReport, LookupResult

pytestmark = pytest.mark.django_db

ACTIVE = LookupResult(status="active", municipio="MEDELLIN", puesto="IE LA SALLE", mesa="013")


def run_one(report: LookupReport) -> None:
    services.cedula_request_lookup(cedula="52123456", priority=Priority.BULK, source=Source.IMPORT)
    ticket = LookupTicket.objects.create()
    assert services.lookup_run_ticket(ticket_id=ticket.pk, run_lookup=lambda c: report, max_wait_s=0) == 1


def attempt(**fields) -> LookupAttempt:
    info, _ = CedulaInfo.objects.get_or_create(cedula="79000111")
    values = {"started_at": timezone.now() - dt.timedelta(minutes=5), "outcome": "active", **fields}
    return LookupAttempt.objects.create(cedula=info, **values)


def test_the_fallbacks_a_lookup_used_are_recorded_on_its_attempt():
    run_one(LookupReport(result=ACTIVE, html="", duration_ms=5, selector_fallbacks=("enviar:text", "tipo:name")))

    assert LookupAttempt.objects.get().selector_fallbacks == "enviar:text,tipo:name"


def test_a_lookup_without_fallbacks_records_none():
    run_one(LookupReport(result=ACTIVE, html="", duration_ms=5))

    assert LookupAttempt.objects.get().selector_fallbacks == ""


def test_drift_counts_attempts_with_fallbacks_and_mismatches_in_the_window():
    now = timezone.now()
    attempt(selector_fallbacks="enviar:text,tipo:name")
    attempt(selector_fallbacks="enviar:text")
    attempt(message="Lugar de votación encontrado. [la página mostró otra respuesta (not_found); vale la del JSON]")
    attempt()
    attempt(selector_fallbacks="enviar:text", started_at=now - dt.timedelta(hours=30))  # outside the 24 h

    drift = selectors.registry_drift(hours=24, now=now)

    assert (drift.attempts, drift.with_fallback, drift.mismatches) == (4, 2, 1)
    assert drift.by_element == [("enviar:text", 2), ("tipo:name", 1)]
    assert drift.last_fallback_at is not None


def test_the_dashboard_shows_the_drift_panel(admin_client):
    attempt(selector_fallbacks="enviar:text")

    html = admin_client.get(reverse("admin:index")).content.decode()

    assert 'data-testid="registry-drift"' in html
    assert re.search(r'data-testid="drift-fallbacks"[^>]*>1<', html)
    # In words a staff member understands: no selector names.
    assert "El botón «Consultar» ya no está donde solía: se encontró por el texto del botón (1 consulta)." in html
    assert "enviar:text" not in html and "enviar" not in re.sub(r"<[^>]+>", "", html).split("Cambios en la página")[1]
    assert "La página del registro está cambiando" in html


def test_a_quiet_page_reads_as_no_drift(admin_client):
    attempt()

    html = admin_client.get(reverse("admin:index")).content.decode()

    assert re.search(r'data-testid="drift-fallbacks"[^>]*>0<', html)
    assert "Sin cambios detectados" in html
