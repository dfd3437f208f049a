"""GET /metrics: Prometheus text computed from the database, parsed with prometheus-client's own parser."""

from __future__ import annotations

import datetime as dt
import math
import re

import pytest
from django.utils import timezone
from django_q.models import Task
from prometheus_client.parser import text_string_to_metric_families

from cedula.models import AlertState, Breaker, CedulaInfo, LookupAttempt, Priority

pytestmark = pytest.mark.django_db

TOKEN = "s3cr3t-scrape-token"


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_TOKEN = TOKEN

    def get() -> dict[str, list]:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        families = {}
        for family in text_string_to_metric_families(response.content.decode()):
            families[family.name] = family.samples
        return families

    return get


def value(samples: list, name: str | None = None, **labels: str) -> float:
    matches = [s for s in samples if s.labels == labels and (name is None or s.name == name)]
    assert len(matches) == 1, (labels, samples)
    return matches[0].value


def _attempt(info: CedulaInfo, *, ago_min: float, outcome: str, kind: str = "", ms: int = 1000) -> None:
    LookupAttempt.objects.create(
        cedula=info,
        started_at=timezone.now() - dt.timedelta(minutes=ago_min),
        outcome=outcome,
        error_kind=kind,
        duration_ms=ms,
    )


def test_the_queue_breaker_and_heartbeat_are_gauges(scrape, cedula_factory):
    now = timezone.now()
    for _ in range(3):
        cedula_factory(next_attempt_at=now - dt.timedelta(seconds=5))
    cedula_factory(next_attempt_at=now - dt.timedelta(seconds=5), priority=Priority.INTERACTIVE)
    cedula_factory(next_attempt_at=now + dt.timedelta(minutes=2))  # a retry backoff
    cedula_factory(claimed_at=now, claim_token="x", claimed_by="host:1")
    Breaker.objects.create(pk=1, state=Breaker.State.OPEN, paused=True)
    stopped = now - dt.timedelta(seconds=42)
    Task.objects.create(id="t" * 32, name="n", func="cedula.tasks.dispatch", started=stopped, stopped=stopped)

    families = scrape()

    assert value(families["cedula_backlog"], priority="bulk") == 3
    assert value(families["cedula_backlog"], priority="interactive") == 1
    assert value(families["cedula_backlog"], priority="staff") == 0
    assert value(families["cedula_in_flight"]) == 1
    assert value(families["cedula_retries_scheduled"]) == 1
    assert value(families["cedula_breaker_state"], state="open") == 1
    assert value(families["cedula_breaker_state"], state="closed") == 0
    assert value(families["cedula_lookups_paused"]) == 1
    assert 42 <= value(families["cedula_worker_heartbeat_age_seconds"]) < 60
    assert value(families["cedula_alert_firing"], alert="breaker", check="breaker") == 1


def test_lookups_of_the_last_hour_by_outcome_and_kind_and_their_duration_quantiles(scrape, cedula_factory):
    info = cedula_factory()
    for ms in range(100, 1100, 100):  # ten active answers: 0.1 s .. 1.0 s
        _attempt(info, ago_min=10, outcome="active", ms=ms)
    _attempt(info, ago_min=20, outcome="error", kind="blocked", ms=5000)
    _attempt(info, ago_min=30, outcome="error", kind="unexpected_page", ms=2000)
    _attempt(info, ago_min=90, outcome="error", kind="timeout", ms=9000)  # outside the hour

    families = scrape()

    lookups = families["cedula_lookups_last_hour"]
    assert value(lookups, outcome="active", error_kind="") == 10
    assert value(lookups, outcome="error", error_kind="blocked") == 1
    assert value(lookups, outcome="error", error_kind="unexpected_page") == 1
    assert not [s for s in lookups if s.labels.get("error_kind") == "timeout"]
    durations = families["cedula_lookup_duration_seconds"]
    assert value(durations, "cedula_lookup_duration_seconds", quantile="0.5") == pytest.approx(0.6)
    assert value(durations, "cedula_lookup_duration_seconds", quantile="0.99") == pytest.approx(5.0)
    assert value(durations, "cedula_lookup_duration_seconds_count") == 12
    assert value(durations, "cedula_lookup_duration_seconds_sum") == pytest.approx(5.5 + 7.0)


def test_an_empty_database_scrapes_cleanly(scrape):
    families = scrape()

    assert math.isnan(value(families["cedula_worker_heartbeat_age_seconds"]))
    assert math.isnan(
        value(families["cedula_lookup_duration_seconds"], "cedula_lookup_duration_seconds", quantile="0.5")
    )
    assert value(families["cedula_alert_firing"], alert="stall", check="stall") == 0


def test_every_metric_is_named_cedula_and_no_label_holds_a_cedula_or_an_email(scrape, cedula_factory, user_factory):
    user = user_factory(email="persona.privada@example.com", cedula="1234567890")
    info = CedulaInfo.objects.get(cedula="1234567890")
    _attempt(info, ago_min=1, outcome="error", kind="blocked")
    AlertState.objects.create(pk="stall", firing=True, detail={"due": 3})

    families = scrape()

    assert families and all(name.startswith("cedula_") for name in families)
    labels = " ".join(f"{k}={v}" for samples in families.values() for s in samples for k, v in s.labels.items())
    assert "1234567890" not in labels and user.email not in labels and "@" not in labels
    assert not re.search(r"\d{5,}", labels)
    assert value(families["cedula_alert_firing"], alert="stall", check="stall") == 1


@pytest.mark.parametrize(
    "configured, header",
    [
        ("", f"Bearer {TOKEN}"),  # unset: the endpoint is off
        (TOKEN, ""),
        (TOKEN, "Bearer wrong"),
        (TOKEN, TOKEN),  # no scheme
        (TOKEN, f"Basic {TOKEN}"),
    ],
)
def test_metrics_answer_404_without_the_right_bearer_token(client, settings, configured, header):
    settings.METRICS_TOKEN = configured
    extra = {"HTTP_AUTHORIZATION": header} if header else {}

    assert client.get("/metrics", **extra).status_code == 404
