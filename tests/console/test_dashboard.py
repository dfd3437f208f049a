"""The dashboard (Unfold DASHBOARD_CALLBACK) and its 30 s refresh fragment."""

from __future__ import annotations

import json
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from cedula import services
from cedula.models import Status

pytestmark = pytest.mark.django_db

DASHBOARD = "admin:index"
FRAGMENT = "admin:cedula_cedulainfo_dashboard"


def _count(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>([^<]*)<', html)
    assert match, f"{testid} not on the page"
    return match.group(1).strip()


def test_the_dashboard_counts_cedulas_per_status(admin_client, cedula_factory):
    cedula_factory.create_batch(2, status=Status.ERROR)
    cedula_factory(status=Status.ACTIVE)

    html = admin_client.get(reverse(DASHBOARD)).content.decode()

    assert _count(html, "count-error") == "2"
    assert _count(html, "count-active") == "1"
    assert _count(html, "count-cancelled") == "0"
    assert _count(html, "count-total") == "3"


def test_the_dashboard_shows_due_in_flight_and_scheduled_lookups(admin_client, cedula_factory):
    from django.utils import timezone

    now = timezone.now()
    cedula_factory(next_attempt_at=now)
    cedula_factory(claimed_at=now, claim_token="t")
    cedula_factory(next_attempt_at=now + timezone.timedelta(minutes=2), attempts=1)

    html = admin_client.get(reverse(DASHBOARD)).content.decode()

    assert (_count(html, "queue-due"), _count(html, "queue-in-flight"), _count(html, "queue-scheduled")) == (
        "1",
        "1",
        "1",
    )


def test_the_dashboard_lists_recent_failures_with_the_cedula_masked(admin_client, cedula_factory, attempt_factory):
    info = cedula_factory(cedula="52123456", status=Status.ERROR)
    attempt_factory(info, error_kind="blocked", message="Bloqueado por el registro")

    html = admin_client.get(reverse(DASHBOARD)).content.decode()

    assert "***3456" in html
    assert "52123456" not in html
    assert "Bloqueado por el registro" in html


def test_the_dashboard_draws_48_hourly_buckets_stacked_and_the_error_threshold(
    admin_client, settings, cedula_factory, attempt_factory
):
    settings.ERROR_RATE_THRESHOLD = 0.25
    # Half past the hour: the attempts (5 minutes old) fall in the current bucket whenever the test runs.
    with time_machine.travel(timezone.now().replace(minute=30), tick=False):
        info = cedula_factory()
        attempt_factory(info, outcome="active")
        attempt_factory(info, outcome="error")

        context = admin_client.get(reverse(DASHBOARD)).context
    throughput = json.loads(context["throughput_chart"])
    error_rate = json.loads(context["error_rate_chart"])

    assert len(throughput["labels"]) == 48
    assert {d["stack"] for d in throughput["datasets"]} == {"lookups"}
    assert json.loads(context["throughput_options"])["scales"]["y"]["stacked"] is True
    assert sum(sum(d["data"]) for d in throughput["datasets"]) == 2
    assert error_rate["datasets"][0]["data"][-1] == 50.0
    assert set(error_rate["datasets"][1]["data"]) == {25.0}


def test_the_dashboard_shows_import_batch_progress(admin_client, cedula_factory, batch_factory):
    batch = batch_factory(file_name="padron-norte.csv")
    cedula_factory.create_batch(3, status=Status.ACTIVE, import_batch=batch)
    cedula_factory(status=Status.PENDING, import_batch=batch)

    html = admin_client.get(reverse(DASHBOARD)).content.decode()

    assert "padron-norte.csv" in html
    assert "3 de 4 consultadas" in html
    assert "width: 75%" in html


def test_the_dashboard_reports_a_silent_worker(admin_client):
    html = admin_client.get(reverse(DASHBOARD)).content.decode()

    assert "Sin señal del clúster" in html
    assert "Último latido: nunca" in html


def test_the_dashboard_shows_who_paused_the_lookups(admin_client):
    services.breaker_pause(by="jefa@example.com", reason="mantenimiento")

    html = admin_client.get(reverse(DASHBOARD)).content.decode()

    assert 'data-breaker-state="paused"' in html
    assert "jefa@example.com" in html and "mantenimiento" in html
    assert "Reanudar consultas" in html


def test_the_dashboard_refreshes_itself_from_the_fragment_every_30_seconds(admin_client):
    html = admin_client.get(reverse(DASHBOARD)).content.decode()

    assert f'hx-get="{reverse(FRAGMENT)}"' in html
    assert 'hx-trigger="every 30s' in html


def test_the_fragment_is_the_panel_alone_with_fresh_numbers(admin_client, cedula_factory):
    before = admin_client.get(reverse(FRAGMENT)).content.decode()
    cedula_factory(status=Status.ERROR)
    after = admin_client.get(reverse(FRAGMENT)).content.decode()

    assert "<html" not in after
    assert _count(before, "count-error") == "0"
    assert _count(after, "count-error") == "1"
