"""The open gate in the console (issue 23): the banner's copy, where it shows, "Probar ahora" (permission, audit),
and /healthz and /metrics telling the same."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from cedula import selectors
from cedula.gate_display import CAUSE_COPY, gate_banner, since_text
from cedula.models import AuditRecord, Breaker
from cedula.registry.failures import Cause

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 7, 30, tzinfo=dt.UTC)  # 02:30 in Bogotá


def open_gate(cause: str, *, since: dt.datetime = NOW - dt.timedelta(minutes=16), until_s: float = 300) -> Breaker:
    breaker, _ = Breaker.objects.update_or_create(
        pk=1,
        defaults={
            "state": Breaker.State.OPEN,
            "cause": cause,
            "cause_since": since,
            "opened_at": since,
            "open_until": timezone.now() + dt.timedelta(seconds=until_s),
            "cooldown_s": until_s,
            "probes": 2,
        },
    )
    return breaker


# --- The copy ------------------------------------------------------------------------------------------------------


def test_every_cause_has_its_spanish_sentence_and_advice():
    assert set(CAUSE_COPY) == set(Cause)
    assert CAUSE_COPY[Cause.SOLVER_BALANCE].headline == "El resolvedor de captcha no tiene saldo"
    for copy in CAUSE_COPY.values():
        assert "_" not in copy.headline + copy.advice  # no identifiers on screen


def test_the_banner_says_what_why_since_when_in_bogota_and_the_next_probe():
    state = {
        "state": "open",
        "cause": "registry_down",
        "cause_since": "2026-03-02T07:14:00+00:00",
        "probes": 1,
        "next_probe_in_s": 125.0,
    }

    banner = gate_banner(state, now=NOW)

    assert banner["headline"] == "El registro no responde desde las 02:14."
    assert banner["next_probe"] == "Próxima prueba a las 02:32:05 (en 2 minutos)."
    assert banner["probes"] == "1 prueba desde que se pausó."
    assert "no gastan reintentos" in banner["paused"]


def test_a_cause_left_to_the_configuration_says_there_is_no_automatic_probe():
    state = {"state": "open", "cause": "no_solver", "cause_since": None, "probes": 0, "next_probe_in_s": None}

    banner = gate_banner(state, now=NOW)

    assert banner["headline"] == "El registro pide captcha y no hay resolvedor configurado."
    assert banner["next_probe"].startswith("Sin prueba automática")
    assert banner["probes"] == ""


def test_since_another_day_names_the_day_and_a_closed_gate_has_no_banner():
    assert since_text(NOW - dt.timedelta(days=1), now=NOW) == "desde el 01/03 a las 02:30"
    assert gate_banner({"state": "closed", "cause": ""}, now=NOW) is None


# --- Where it shows ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["admin:index", "admin:cedula_cedulainfo_changelist"])
def test_the_banner_tops_the_dashboard_and_the_cedulas_list(admin_client, page):
    open_gate(Cause.SOLVER_BALANCE)

    html = admin_client.get(reverse(page)).content.decode()

    assert 'data-testid="gate-banner"' in html and 'data-gate-cause="solver_balance"' in html
    assert "El resolvedor de captcha no tiene saldo desde el 02/03 a las 02:14" in html
    assert reverse("admin:cedula_cedulainfo_probe_gate") in html


def test_no_banner_while_the_gate_is_closed(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()

    assert 'data-testid="gate-banner"' not in html


# --- "Probar ahora": its own permission, an audit record --------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed"), [("Consulta", False), ("Operadores", True), (None, False), ("superuser", True)]
)
def test_probar_ahora_works_only_with_its_permission_and_is_audited(client, staff_in, admin_user, role, allowed):
    open_gate(Cause.SOLVER_KEY)
    client.force_login(admin_user if role == "superuser" else staff_in(role))

    client.post(reverse("admin:cedula_cedulainfo_probe_gate"), {"_form_submitted": "on"})

    breaker = Breaker.objects.get(pk=1)
    assert breaker.probe_requested is allowed
    records = AuditRecord.objects.filter(action="lookups.probe")
    assert records.count() == (1 if allowed else 0)
    if allowed:
        assert records.get().details == {"cause": "solver_key", "asked": True}


def test_a_reader_does_not_see_the_button(client, staff_in):
    open_gate(Cause.REGISTRY_DOWN)
    client.force_login(staff_in("Consulta"))

    html = client.get(reverse("admin:index")).content.decode()

    assert 'data-testid="gate-banner"' in html
    assert reverse("admin:cedula_cedulainfo_probe_gate") not in html


# --- /healthz and /metrics ------------------------------------------------------------------------------------------


def test_healthz_and_metrics_tell_the_gate_and_its_cause(client, settings):
    settings.METRICS_TOKEN = "t0k"
    open_gate(Cause.BLOCKED)

    health = client.get(reverse("healthz")).json()
    metrics = client.get("/metrics", headers={"Authorization": "Bearer t0k"}).content.decode()

    assert health["breaker"]["state"] == "open" and health["breaker"]["cause"] == "blocked"
    assert 'cedula_gate_cause{cause="blocked"} 1.0' in metrics
    assert 'cedula_gate_cause{cause="registry_down"} 0.0' in metrics
    assert selectors.breaker_state()["next_probe_in_s"] > 0
