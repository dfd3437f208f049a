"""GET /healthz: database, worker heartbeat age, due backlog, breaker; 503 when the worker is silent too long."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from django_q.models import Task

pytestmark = pytest.mark.django_db


def _task_finished(ago_s: float) -> None:
    # Django-Q2 records every finished task; the last one is the worker's last sign of life once its heartbeat
    # (kept only seconds in the cache) is gone.
    stopped = timezone.now() - dt.timedelta(seconds=ago_s)
    Task.objects.create(
        id="t" * 32, name="lookup_next-1", func="cedula.tasks.lookup_next", started=stopped, stopped=stopped,
        success=True,
    )  # fmt: skip


def test_healthz_reports_database_heartbeat_backlog_and_breaker(client, cedula_factory, settings):
    settings.WORKER_SILENT_AFTER_S = 180
    _task_finished(ago_s=20)
    cedula_factory(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))

    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 200
    assert body["database"] is True
    assert 19 <= body["worker_heartbeat_age_s"] < 60
    assert body["due_backlog"] == 1
    assert body["breaker"]["state"] == "closed" and body["breaker"]["paused"] is False


def test_healthz_is_503_when_the_worker_has_been_silent_too_long(client, settings):
    settings.WORKER_SILENT_AFTER_S = 180
    _task_finished(ago_s=600)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["worker_heartbeat_age_s"] >= 600


def test_healthz_is_503_when_no_worker_ever_reported(client):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["worker_heartbeat_age_s"] is None


# --- what a stranger reads, what staff read (issue 25) ---------------------------------------------------------------

PAUSE_REASON = "Llamar a Ana al 300 123 4567 antes de reanudar"


@pytest.fixture
def paused_by_staff():
    from cedula.services.queueing import breaker_pause

    breaker_pause(by="jefa@example.com", reason=PAUSE_REASON)


def test_a_stranger_reads_healthy_or_not_and_why_in_categories_but_not_who_paused_or_why(client, paused_by_staff):
    response = client.get("/healthz")

    text = response.content.decode()
    body = response.json()
    assert "pausa manual" in body["reasons"] and "trabajador" in body["reasons"]
    assert body["breaker"]["paused"] is True
    assert "jefa@example.com" not in text and "300 123 4567" not in text and "Ana" not in text
    assert not {"paused_by", "pause_reason", "paused_at"} & set(body["breaker"])


def test_a_healthy_system_gives_no_reasons(client, settings):
    settings.WORKER_SILENT_AFTER_S = 180
    _task_finished(ago_s=5)

    body = client.get("/healthz").json()

    assert body["ok"] is True and body["reasons"] == []


def test_staff_and_the_metrics_token_read_who_paused_and_the_reason(client, paused_by_staff, staff_in, settings):
    settings.METRICS_TOKEN = "t" * 32
    client.force_login(staff_in("Consulta"))

    as_staff = client.get("/healthz").json()
    with_token = Client().get("/healthz", HTTP_AUTHORIZATION="Bearer " + "t" * 32).json()
    wrong_token = Client().get("/healthz", HTTP_AUTHORIZATION="Bearer nope").json()

    for body in (as_staff, with_token):
        assert body["breaker"]["paused_by"] == "jefa@example.com" and body["breaker"]["pause_reason"] == PAUSE_REASON
    assert "pause_reason" not in wrong_token["breaker"]


def test_a_public_account_reads_what_a_stranger_reads(client, paused_by_staff, user_factory):
    client.force_login(user_factory(email="persona@example.com", cedula="1234567"))

    assert "pause_reason" not in client.get("/healthz").json()["breaker"]


def test_a_staff_session_still_owing_its_second_factor_reads_what_a_stranger_reads(
    client, paused_by_staff, user_factory, settings
):
    settings.STAFF_2FA_REQUIRED = True
    client.force_login(user_factory(email="jefa2@example.com", is_staff=True, is_superuser=True))

    assert "pause_reason" not in client.get("/healthz").json()["breaker"]


@pytest.mark.parametrize(
    ("cause", "category"),
    [("registry_down", "registro"), ("blocked", "registro"), ("solver_balance", "resolvedor de captcha"),
     ("solver_key", "resolvedor de captcha"), ("no_solver", "resolvedor de captcha")],
)  # fmt: skip
def test_an_open_gate_tells_strangers_whose_side_stopped_as_a_category(client, cause, category):
    from cedula.models import BREAKER_PK, Breaker

    now = timezone.now()
    Breaker.objects.update_or_create(
        pk=BREAKER_PK,
        defaults={"state": Breaker.State.OPEN, "cause": cause, "cause_since": now, "open_until": now},
    )

    body = client.get("/healthz").json()

    assert category in body["reasons"]
    assert ("resolvedor de captcha" in body["reasons"]) != ("registro" in body["reasons"])
