"""The stall, page-changed and canary alerts, received by a real local Sentry server."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from cedula import alerts, selectors, services, tasks
from cedula.models import THROTTLE_PK, AlertState, Breaker, CedulaInfo, LookupAttempt, Throttle
from cedula.registry.simulator.outcomes import MALFORMED
from cedula.services import canary
from tests.helpers.observability import report

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
CANARY = "1013572479"  # a demo cedula: active in BARRANQUILLA


def alert_events(events: list[dict], alert: str) -> list[dict]:
    return [e for e in events if e.get("tags", {}).get("alert") == alert]


def _due_rows(n: int, *, since: dt.datetime) -> list[int]:
    return [CedulaInfo.objects.create(cedula=str(52_000_000 + i), next_attempt_at=since).pk for i in range(n)]


# --- Stall -----------------------------------------------------------------------------------------------------------


def test_a_queue_with_due_rows_and_no_lookup_started_alerts_once_then_recovers(lookups, sentry_capture, settings):
    settings.STALL_AFTER_MIN = 10
    settings.STALL_ALERT_COOLDOWN_MIN = 60
    with time_machine.travel(START, tick=False) as clock:
        lookups([report("active")])  # the last lookup that ever started, at 09:00
        _due_rows(3, since=START)
        clock.shift(dt.timedelta(minutes=9))
        assert tasks.check_stall() is None  # not yet ten minutes
        clock.shift(dt.timedelta(minutes=2))
        assert tasks.check_stall() == "fired"
        clock.shift(dt.timedelta(minutes=5))
        assert tasks.check_stall() is None  # still stalled, inside the cooldown
        events = alert_events(sentry_capture.events(), "stall")
        assert [e["message"] for e in events] == ["lookups stalled: 3 rows due, no lookup started for 11 min"]
        assert events[0]["tags"]["alert_state"] == "firing"
        assert events[0]["fingerprint"] == ["alert", "stall", "firing"]
        assert events[0]["level"] == "error"
        assert events[0]["contexts"]["alert"]["due"] == 3

        sentry_capture.clear()
        lookups([report("active")])  # the worker moves again
        assert tasks.check_stall() == "recovered"
        assert tasks.check_stall() is None

    events = alert_events(sentry_capture.events(), "stall")
    assert [(e["tags"]["alert_state"], e["fingerprint"], e["level"]) for e in events] == [
        ("recovered", ["alert", "stall", "recovered"], "info")
    ]
    assert AlertState.objects.get(pk="stall").firing is False


def test_a_paused_or_broken_queue_is_not_a_stall(db, sentry_capture, settings):
    settings.STALL_AFTER_MIN = 10
    with time_machine.travel(START, tick=False) as clock:
        _due_rows(2, since=START)
        services.breaker_pause(by="ops@example.com", reason="mantenimiento")
        clock.shift(dt.timedelta(minutes=30))
        assert alerts.stall_check() is None
        services.breaker_resume(by="ops@example.com")
        Breaker.objects.filter(pk=1).update(state=Breaker.State.OPEN, open_until=timezone.now())
        assert alerts.stall_check() is None
        Breaker.objects.filter(pk=1).update(state=Breaker.State.CLOSED, open_until=None)
        assert alerts.stall_check() == "fired"  # nothing holds it back any more: a stall, never started at all

    assert len(alert_events(sentry_capture.events(), "stall")) == 1


def test_an_empty_queue_is_not_a_stall_however_long_the_worker_is_idle(lookups, sentry_capture):
    with time_machine.travel(START, tick=False) as clock:
        lookups([report("active")])
        clock.shift(dt.timedelta(hours=5))
        assert alerts.stall_check() is None
    assert alert_events(sentry_capture.events(), "stall") == []


# --- Page changed: the share of unexpected_page answers -------------------------------------------------------------


def test_unexpected_pages_over_their_threshold_alert_apart_from_the_error_rate(lookups, sentry_capture, settings):
    settings.PAGE_CHANGED_THRESHOLD = 0.5
    settings.PAGE_CHANGED_MIN_ATTEMPTS = 5
    with time_machine.travel(START, tick=False) as clock:
        lookups([report("error", "unexpected_page") for _ in range(6)] + [report("active") for _ in range(4)])
        assert tasks.check_page_changed() == "fired"
        # Blocks are the error rate's business, not the page's: a window of blocks recovers this alert.
        clock.shift(dt.timedelta(minutes=16))
        lookups([report("error", "blocked") for _ in range(8)])
        assert tasks.check_page_changed() == "recovered"

    events = alert_events(sentry_capture.events(), "page_changed")
    assert [e["message"] for e in events] == [
        "registry page changed? 60% unexpected pages over 15 min, 10 attempts",
        "registry page answers again: 0% unexpected pages over 15 min, 8 attempts",
    ]
    assert [e["tags"]["alert_state"] for e in events] == ["firing", "recovered"]
    assert {e["tags"]["alert_source"] for e in events} == {"unexpected_page"}
    assert events[0]["fingerprint"] == ["alert", "page_changed", "unexpected_page", "firing"]
    assert events[0]["contexts"]["alert"]["unexpected_page"] == 6


def test_a_few_unexpected_pages_below_the_share_or_the_minimum_do_not_alert(lookups, sentry_capture, settings):
    settings.PAGE_CHANGED_THRESHOLD = 0.5
    settings.PAGE_CHANGED_MIN_ATTEMPTS = 5
    with time_machine.travel(START, tick=False) as clock:
        lookups([report("error", "unexpected_page") for _ in range(4)])  # 100 %, but only 4 attempts
        assert alerts.page_changed_check() is None
        clock.shift(dt.timedelta(minutes=16))
        lookups([report("error", "unexpected_page") for _ in range(5)] + [report("active") for _ in range(5)])
        assert alerts.page_changed_check() is None  # 50 % is not over 50 %
    assert alert_events(sentry_capture.events(), "page_changed") == []


# --- Canary ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def canary_settings(settings, db):
    settings.REGISTRY_CANARY_CEDULA = CANARY
    settings.REGISTRY_CANARY_EXPECT = "active:Barranquilla"
    settings.CONSOLE_BASE_URL = "https://consola.example.com"
    settings.REGISTRY_MIN_GAP_S = 0
    return settings


@pytest.mark.integration  # a real Chromium (browser_runner)
def test_the_canary_alerts_on_a_wrong_answer_with_a_link_to_the_redacted_snapshot(
    canary_settings, browser_runner, sentry_capture, stand_in
):
    canary_settings.REGISTRY_CANARY_EXPECT = "active:CARTAGENA"

    assert canary.canary_run(run_lookup=browser_runner.lookup) == "mismatch"

    [event] = alert_events(sentry_capture.events(), "page_changed")
    assert event["message"] == "registry canary answered active:BARRANQUILLA, expected active:CARTAGENA"
    assert event["tags"]["alert_source"] == "canary" and event["tags"]["alert_state"] == "firing"
    assert event["fingerprint"] == ["alert", "page_changed", "canary", "firing"]
    attempt = LookupAttempt.objects.get()
    url = event["contexts"]["alert"]["snapshot_url"]
    assert url == f"https://consola.example.com/admin/cedula/lookupattempt/{attempt.pk}/change/"
    assert attempt.snapshot and "BARRANQUILLA" in attempt.snapshot and CANARY not in attempt.snapshot
    assert CANARY not in sentry_capture.raw().decode()
    assert len(stand_in.lookups()) == 1
    # The row is idle again: the canary's next request is its next scheduled run.
    info = CedulaInfo.objects.get(cedula=CANARY)
    assert (info.claimed_at, info.next_attempt_at, info.status) == (None, None, "active")


@pytest.mark.integration  # a real Chromium (browser_runner)
def test_a_page_the_parser_cannot_read_is_a_canary_mismatch_and_the_right_answer_recovers_it(
    canary_settings, browser_runner, sentry_capture, admin_client
):
    canary_settings.REGISTRY_CANARY_CEDULA = MALFORMED
    assert canary.canary_run(run_lookup=browser_runner.lookup) == "mismatch"
    attempt = LookupAttempt.objects.get()
    assert attempt.error_kind == "unexpected_page"
    # The console shows the snapshot the event links to.
    page = admin_client.get(f"/admin/cedula/lookupattempt/{attempt.pk}/change/")
    assert page.status_code == 200 and "captura (redactada)" in page.content.decode().lower()

    canary_settings.REGISTRY_CANARY_CEDULA = CANARY
    assert canary.canary_run(run_lookup=browser_runner.lookup) == "matched"  # accents and case do not matter

    events = alert_events(sentry_capture.events(), "page_changed")
    assert [e["tags"]["alert_state"] for e in events] == ["firing", "recovered"]
    assert events[0]["message"] == "registry canary answered error:unexpected_page, expected active:Barranquilla"
    raw = sentry_capture.raw().decode()
    assert MALFORMED not in raw and CANARY not in raw
    assert selectors.alert_statuses()[-1].firing is False


def test_the_canary_takes_a_throttle_slot_and_waits_behind_a_paused_queue(canary_settings, stand_in, sentry_capture):
    from cedula.registry.browser import LookupReport
    from cedula.registry.parser import LookupResult

    canary_settings.REGISTRY_MIN_GAP_S = 30
    asked: list[str] = []

    def lookup(cedula: str) -> LookupReport:
        asked.append(cedula)
        return LookupReport(result=LookupResult(status="active", municipio="BARRANQUILLA"), html="", duration_ms=5)

    services.breaker_pause(by="ops@example.com")
    assert canary.canary_run(run_lookup=lookup) == "skipped"
    services.breaker_resume(by="ops@example.com")
    assert canary.canary_run(run_lookup=lookup) == "matched"
    slot = Throttle.objects.get(pk=THROTTLE_PK).next_slot_at
    assert slot > timezone.now() + dt.timedelta(seconds=25)
    # The next request, canary or queue, waits for that slot: within a short wait the canary gives up.
    assert canary.canary_run(run_lookup=lookup, max_wait_s=1, sleep=lambda s: None) == "skipped"
    assert asked == [CANARY]
    assert alert_events(sentry_capture.events(), "page_changed") == []


def test_without_a_canary_cedula_nothing_runs_and_no_schedule_is_declared(db, settings):
    from cedula.management.commands.setup_schedules import declared_schedules

    settings.REGISTRY_CANARY_CEDULA = ""
    assert canary.canary_run(run_lookup=lambda c: (_ for _ in ()).throw(AssertionError("looked up"))) is None
    assert "registry-canary" not in declared_schedules()
    settings.REGISTRY_CANARY_CEDULA = CANARY
    settings.REGISTRY_CANARY_EVERY_MIN = 60
    assert declared_schedules()["registry-canary"] == ("cedula.tasks.run_canary", 60)
