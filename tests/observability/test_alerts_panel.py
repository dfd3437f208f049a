"""The dashboard's alerts panel: the current state of every alert, in Spanish, from the checks' own records."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from cedula.models import AlertState, Breaker

pytestmark = pytest.mark.django_db


def _row(html: str, key: str) -> str:
    match = re.search(rf'<tr[^>]*data-testid="alert-{key}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, f"alert-{key} not on the panel"
    return match.group(0)


def test_the_panel_shows_every_alert_and_which_are_firing(admin_client, settings):
    settings.REGISTRY_CANARY_CEDULA = "1013572479"
    AlertState.objects.create(pk="stall", firing=True, detail={"due": 7, "last_started_min": 25.0})
    AlertState.objects.create(pk="canary", firing=True, detail={"expected": "active", "got": "error:unexpected_page",
                                                                "attempt_id": 42})  # fmt: skip
    AlertState.objects.create(pk="error_rate", firing=False, last_rate=0.12, last_attempts=50)
    Breaker.objects.create(pk=1, state=Breaker.State.OPEN, consecutive_blocks=5)

    html = admin_client.get(reverse("admin:index")).content.decode()

    for key in ("error_rate", "stall", "page_changed", "canary", "breaker"):
        _row(html, key)
    assert 'data-firing="1"' in _row(html, "stall") and "7 filas para ya" in _row(html, "stall")
    assert "hace 25 min" in _row(html, "stall")
    assert 'data-firing="0"' in _row(html, "error_rate") and "12% de errores en 50 consultas" in _row(
        html, "error_rate"
    )
    assert 'data-firing="1"' in _row(html, "breaker")
    canary = _row(html, "canary")
    assert 'data-firing="1"' in canary and reverse("admin:cedula_lookupattempt_change", args=[42]) in canary
    assert "Sin comprobaciones todavía." in _row(html, "page_changed")


def test_the_panel_says_when_no_canary_is_configured(admin_client, settings):
    settings.REGISTRY_CANARY_CEDULA = ""

    html = admin_client.get(reverse("admin:cedula_cedulainfo_dashboard")).content.decode()

    assert "Sin cédula de control configurada" in _row(html, "canary")
    assert 'data-firing="0"' in _row(html, "breaker")
