"""One truth per fact: a state shown in two places comes from one read. Each test sets a state and reads every place
that shows it (the dashboard's cards, banner, Interruptor card, error-rate headline and alerts panel, the cedula list's
banner, /healthz); the alerts panel says what holds now and, apart from that, when on-call last heard of it."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from cedula import services
from cedula.models import AlertState, Breaker, Status

pytestmark = pytest.mark.django_db


def _row(html: str, key: str) -> str:
    match = re.search(rf'<tr[^>]*data-testid="alert-{key}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, f"alert-{key} not on the panel"
    return re.sub(r"\s+", " ", match.group(0))


def _now(html: str, key: str) -> str:
    return re.search(r'data-now="(\w+)"', _row(html, key)).group(1)


def _text(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</(?:div|dd|span|p)>', html, re.S)
    assert match, testid
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def _screens(client):
    dashboard = client.get(reverse("admin:index")).content.decode()
    changelist = client.get(reverse("admin:cedula_cedulainfo_changelist")).content.decode()
    health = json.loads(client.get("/healthz").content)
    return dashboard, changelist, health


def test_every_alert_has_a_row(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()

    for key in ("error_rate", "stall", "page_changed", "canary", "captcha_runway", "breaker"):
        _row(html, key)


def test_a_manual_pause_reads_the_same_everywhere(admin_client):
    services.breaker_pause(by="ana", reason="mantenimiento")

    dashboard, changelist, health = _screens(admin_client)

    for html in (dashboard, changelist):
        assert 'data-breaker-state="paused"' in html
    assert _now(dashboard, "breaker") == "firing" and "en pausa por ana" in _row(dashboard, "breaker").lower()
    assert "mantenimiento" in _row(dashboard, "breaker")
    # Paused on purpose: the stall rule has no evidence, and says so instead of "Normal".
    assert _now(dashboard, "stall") == "unknown" and "detenidas a propósito" in _row(dashboard, "stall")
    assert health["breaker"]["paused"] is True and "pausa manual" in health["reasons"]

    services.breaker_resume(by="ana")
    dashboard, changelist, health = _screens(admin_client)

    assert health["breaker"]["paused"] is False and "pausa manual" not in health["reasons"]
    assert 'data-breaker-state="closed"' in dashboard and 'data-breaker-state="closed"' in changelist
    assert _now(dashboard, "breaker") == "ok" and "con normalidad" in _row(dashboard, "breaker")


def test_an_open_gate_reads_the_same_in_the_banner_the_card_and_the_alert_row(admin_client):
    since = timezone.now() - dt.timedelta(minutes=16)
    Breaker.objects.update_or_create(pk=1, defaults={
        "state": Breaker.State.OPEN, "cause": "registry_down", "cause_since": since, "opened_at": since,
        "open_until": timezone.now() + dt.timedelta(seconds=300), "cooldown_s": 300, "probes": 2,
    })  # fmt: skip

    dashboard, changelist, health = _screens(admin_client)

    headline = _text(dashboard, "gate-headline")
    assert health["breaker"]["cause"] == "registry_down" and "registro" in health["reasons"]
    assert headline.startswith("El registro no responde desde las")
    assert headline in _text(changelist, "gate-headline")
    assert 'data-breaker-state="open"' in dashboard
    assert _now(dashboard, "breaker") == "firing" and headline in _row(dashboard, "breaker")


def test_the_queue_counts_are_one_read_on_the_cards_the_queue_card_and_the_stall_row(
    admin_client, settings, cedula_factory, attempt_factory
):
    settings.STALL_AFTER_MIN = 10
    long_ago = timezone.now() - dt.timedelta(hours=2)
    for _ in range(4):
        cedula_factory(status=Status.PENDING, next_attempt_at=long_ago)
    cedula_factory(status=Status.ERROR, next_attempt_at=timezone.now() + dt.timedelta(hours=1), attempts=1)
    # A scheduled check ran earlier and saw 42 rows: the panel must not repeat that as the present.
    AlertState.objects.create(pk="stall", firing=True, last_sent_at=long_ago, detail={"due": 42})

    dashboard = admin_client.get(reverse("admin:index")).content.decode()

    due = int(_text(dashboard, "queue-due"))
    assert due == 4 and int(_text(dashboard, "count-queued")) == 5
    stall = _row(dashboard, "stall")
    assert "4 filas listas para consultar" in stall and "42" not in stall.split('data-testid="alert-stall-sent"')[0]
    assert _now(dashboard, "stall") == "firing"  # due for 2 h, no lookup ever started
    # When on-call last heard, apart: the stale "firing" is a past notice, not the present.
    sent = timezone.localtime(long_ago).strftime("%d/%m %H:%M")
    assert sent in stall and "sin aviso de recuperación" in stall


def test_nothing_due_reads_normal_now_even_after_a_past_alert(admin_client):
    AlertState.objects.create(pk="stall", firing=True, last_sent_at=timezone.now(), detail={"due": 42})

    dashboard = admin_client.get(reverse("admin:index")).content.decode()

    assert _now(dashboard, "stall") == "ok" and "Nada listo para consultar" in _row(dashboard, "stall")


def test_the_error_rate_headline_and_its_alert_row_are_one_figure(
    admin_client, settings, cedula_factory, attempt_factory
):
    settings.ERROR_RATE_MIN_ATTEMPTS = 5
    settings.ERROR_RATE_THRESHOLD = 0.2
    info = cedula_factory()
    now = timezone.now()
    for i in range(8):
        attempt_factory(info, outcome="error" if i < 3 else "active", started_at=now - dt.timedelta(minutes=i))
    # Older than the window: on the hourly chart, not in the alert's measure.
    for i in range(5):
        attempt_factory(info, outcome="active", started_at=now - dt.timedelta(hours=3, minutes=i))
    AlertState.objects.create(pk="error_rate", firing=False, last_rate=0.12, last_attempts=66)

    dashboard = admin_client.get(reverse("admin:index")).content.decode()

    headline, row = _text(dashboard, "error-rate-headline"), _row(dashboard, "error_rate")
    assert "37,5 %" in headline and "8 consultas" in headline
    assert "38% de error en 8 consultas" in row and _now(dashboard, "error_rate") == "firing"
    assert "66" not in headline and "66" not in row


def test_too_few_lookups_read_as_no_evidence_in_both_places(admin_client, settings, cedula_factory, attempt_factory):
    settings.ERROR_RATE_MIN_ATTEMPTS = 10
    info = cedula_factory()
    attempt_factory(info, outcome="active", started_at=timezone.now())
    attempt_factory(info, outcome="error", started_at=timezone.now())

    dashboard = admin_client.get(reverse("admin:index")).content.decode()

    assert "muy pocas" in _text(dashboard, "error-rate-headline") and "50,0 %" in _text(
        dashboard, "error-rate-headline"
    )
    assert _now(dashboard, "error_rate") == "unknown" and "muy pocas" in _row(dashboard, "error_rate")


def test_the_canary_row_shows_its_last_answer_and_its_snapshot(admin_client, settings):
    settings.REGISTRY_CANARY_CEDULA = "1013572479"
    AlertState.objects.create(pk="canary", firing=True, last_sent_at=timezone.now(), detail={
        "expected": "active", "got": "error:unexpected_page", "attempt_id": 42})  # fmt: skip

    dashboard = admin_client.get(reverse("admin:index")).content.decode()

    canary = _row(dashboard, "canary")
    assert _now(dashboard, "canary") == "firing"
    assert reverse("admin:cedula_lookupattempt_change", args=[42]) in canary


def test_without_a_canary_the_row_says_so_in_staff_words(admin_client, settings):
    settings.REGISTRY_CANARY_CEDULA = ""

    html = admin_client.get(reverse("admin:cedula_cedulainfo_dashboard")).content.decode()

    assert "Sin cédula de control configurada" in _row(html, "canary")
    assert "REGISTRY_CANARY_CEDULA" not in html
    assert _now(html, "canary") == "unknown" and _now(html, "breaker") == "ok"
