"""The registry's source in the console (issue 22): the dashboard's "Fuente del registro" card and the alerts row say
which page is in use, why and when the first is tried again, in Spanish; the attempts list shows and filters the
source; /healthz and /metrics tell the same."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from cedula.models import CedulaInfo, SourceInUse
from tests.helpers.spanish import developer_text_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_sources(settings):
    settings.REGISTRY_SOURCES = ("wsp", "consultacenso")
    return settings


def on_backup() -> SourceInUse:
    now = timezone.now()
    return SourceInUse.objects.create(
        pk=1,
        current="consultacenso",
        reason=SourceInUse.Reason.PAGE_CHANGED,
        detail="3 de sus últimas 5 consultas dieron una página desconocida",
        since=now - dt.timedelta(minutes=7),
        next_probe_at=now + dt.timedelta(minutes=3),
        last_probe_at=now - dt.timedelta(minutes=1),
        last_probe_said="La página del registro (wsp) no tiene el formulario de consulta.",
        switches=1,
    )


def card(html: str) -> str:
    start = html.index('data-testid="registry-source"')
    return html[start : start + 3000]


def test_the_card_says_the_backup_is_in_use_why_and_when_the_first_is_tried_again(admin_client, two_sources):
    on_backup()
    html = admin_client.get(reverse("admin:index")).content.decode()
    text = card(html)
    assert "Fuente de respaldo" in text
    assert "Consulta del censo (consultacenso)" in text
    assert "La página anterior cambió de forma (3 de sus últimas 5 consultas" in text
    hour = timezone.localtime(SourceInUse.objects.get().next_probe_at).strftime("%H:%M")
    assert f"Se volverá a probar «Consulta de lugar de votación (wsp)» hacia las {hour}" in text
    assert "Última prueba" in text
    assert "Fuente del registro" in html and "Se consulta en la fuente de respaldo" in html  # the alerts row
    assert developer_text_in(html) == []


def test_the_card_on_the_first_source_names_the_backup_and_one_source_says_it_has_none(admin_client, settings):
    settings.REGISTRY_SOURCES = ("wsp", "consultacenso")
    text = card(admin_client.get(reverse("admin:index")).content.decode())
    assert "Fuente principal" in text and "el trabajo pasa solo a: Consulta del censo (consultacenso)" in text
    settings.REGISTRY_SOURCES = ("wsp",)
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert "Solo hay una fuente configurada" in card(html)
    assert "Se consulta en la fuente" not in html  # no alerts row for a switch that cannot happen


def test_the_attempts_list_shows_and_filters_the_source(admin_client, attempt_factory):
    info = CedulaInfo.objects.create(cedula="71234567")
    attempt_factory(info, source="wsp")
    attempt_factory(info, source="consultacenso")
    url = reverse("admin:cedula_lookupattempt_changelist")
    html = admin_client.get(url).content.decode()
    assert "consultacenso" in html and "Fuente" in html
    filtered = admin_client.get(url, {"source__exact": "consultacenso"})
    assert filtered.status_code == 200
    assert filtered.context["cl"].result_count == 1
    assert admin_client.get(url, {"source__exact": "nada"}).status_code in (200, 302)  # never a 500


def test_healthz_and_metrics_tell_the_source_in_use(client, two_sources):
    two_sources.METRICS_TOKEN = "t0k"
    on_backup()
    health = client.get(reverse("healthz")).json()
    assert health["source"] == {"in_use": "consultacenso", "first": False, "reason": "page_changed"}
    metrics = client.get("/metrics", headers={"Authorization": "Bearer t0k"}).content.decode()
    assert 'cedula_registry_source_in_use{source="consultacenso"} 1.0' in metrics
    assert 'cedula_registry_source_in_use{source="wsp"} 0.0' in metrics
    assert "cedula_registry_source_switches 1.0" in metrics
