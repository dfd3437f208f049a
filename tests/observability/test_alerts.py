"""Error-rate and breaker alerts, received by a real local Sentry server."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
import time_machine

from cedula import alerts, selectors, services, tasks
from cedula.models import AlertState
from cedula.registry.parser import LookupResult
from cedula.selectors.alerts import AlertKey
from tests.helpers.observability import report

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


BLOCKED_AGAIN = LookupResult(status="error", error_kind="blocked", message="still blocked", cause="blocked")


def blocked(n: int) -> list:
    return [report("error", "blocked") for _ in range(n)]


def active(n: int) -> list:
    return [report("active") for _ in range(n)]


def alert_events(events: list[dict], alert: str) -> list[dict]:
    return [e for e in events if e.get("tags", {}).get("alert") == alert]


def test_the_error_rate_reads_attempts_of_the_window_only(lookups):
    with time_machine.travel(START - dt.timedelta(minutes=20), tick=False):
        lookups(blocked(5))
    with time_machine.travel(START, tick=False):
        lookups(blocked(3) + active(5) + [report("error", "timeout")])
        stats = selectors.lookup_error_rate(window_min=15)

    assert (stats.attempts, stats.errors) == (9, 4)
    assert stats.errors_by_kind == {"blocked": 3, "timeout": 1}
    assert stats.rate == pytest.approx(4 / 9)


def test_a_spike_of_blocked_lookups_sends_one_event_per_cooldown_and_one_on_recovery(lookups, sentry_capture, settings):
    settings.ERROR_RATE_MIN_ATTEMPTS = 10
    settings.ERROR_RATE_ALERT_COOLDOWN_MIN = 60
    with time_machine.travel(START, tick=False) as clock:
        cedulas = lookups(blocked(18) + active(22))
        # A third-party line that logs a raw cedula ends up as a breadcrumb of the alert event: it must be masked.
        logging.getLogger("thirdparty.client").warning("request for %s failed", cedulas[0])

        assert tasks.check_error_rate() == "fired"
        clock.shift(dt.timedelta(minutes=5))
        lookups(blocked(5))
        assert tasks.check_error_rate() is None  # still over, inside the cooldown

        events = alert_events(sentry_capture.events(), "error_rate")
        assert len(events) == 1
        event = events[0]
        assert event["message"] == "lookup error rate 45% over 15 min, 40 attempts"
        assert event["level"] == "error"
        assert event["tags"]["alert_state"] == "firing"
        assert event["fingerprint"] == ["alert", "error_rate", "firing"]
        assert event["environment"] == "test" and event["release"] == "ops-test@1"
        assert event["contexts"]["alert"]["errors_by_kind"] == {"blocked": 18}
        raw = sentry_capture.raw().decode()
        assert "request for ***" in raw  # the breadcrumb arrived, masked
        assert not [c for c in cedulas if c in raw]

        # Past the cooldown the failures are over: the window holds fresh, mostly successful lookups.
        clock.shift(dt.timedelta(minutes=60))
        sentry_capture.clear()
        lookups(active(12))
        assert tasks.check_error_rate() == "recovered"

    events = alert_events(sentry_capture.events(), "error_rate")
    assert [e["message"] for e in events] == ["lookup error rate recovered: 0% over 15 min, 12 attempts"]
    assert events[0]["tags"]["alert_state"] == "recovered"
    assert events[0]["fingerprint"] == ["alert", "error_rate", "recovered"]
    assert events[0]["level"] == "info"
    assert AlertState.objects.get(pk="error_rate").firing is False


def test_a_spike_that_lasts_past_the_cooldown_is_sent_again(lookups, sentry_capture, settings):
    settings.ERROR_RATE_ALERT_COOLDOWN_MIN = 30
    with time_machine.travel(START, tick=False) as clock:
        lookups(blocked(10))
        assert alerts.error_rate_check() == "fired"
        for _ in range(3):  # every 10 minutes, still all blocked
            clock.shift(dt.timedelta(minutes=10))
            lookups(blocked(10))
            alerts.error_rate_check()

    assert len(alert_events(sentry_capture.events(), "error_rate")) == 2  # at 0 and 30 minutes


def test_a_spike_that_flaps_inside_the_cooldown_pages_once(lookups, sentry_capture):
    with time_machine.travel(START, tick=False) as clock:
        lookups(blocked(10))
        assert alerts.error_rate_check() == "fired"
        clock.shift(dt.timedelta(minutes=16))
        lookups(active(10))
        assert alerts.error_rate_check() == "recovered"
        clock.shift(dt.timedelta(minutes=16))
        lookups(blocked(10))
        assert alerts.error_rate_check() is None

    states = [e["tags"]["alert_state"] for e in alert_events(sentry_capture.events(), "error_rate")]
    assert states == ["firing", "recovered"]
    state = AlertState.objects.get(pk=AlertKey.ERROR_RATE)
    assert state.firing is False
    assert state.last_attempts >= 10 and state.last_rate > 0.30  # over the threshold, silenced by the cooldown


def test_too_few_attempts_never_alert(lookups, sentry_capture, settings):
    settings.ERROR_RATE_MIN_ATTEMPTS = 10
    with time_machine.travel(START, tick=False):
        lookups(blocked(9))
        assert alerts.error_rate_check() is None

    assert alert_events(sentry_capture.events(), "error_rate") == []


def test_a_rate_at_the_threshold_does_not_alert(lookups, settings):
    settings.ERROR_RATE_THRESHOLD = 0.30
    with time_machine.travel(START, tick=False):
        lookups(blocked(3) + active(7))
        assert alerts.error_rate_check() is None


def test_the_check_records_the_alert_state_it_measured(lookups, sentry_capture, settings):
    assert not AlertState.objects.filter(pk=AlertKey.ERROR_RATE).exists()
    with time_machine.travel(START, tick=False):
        lookups(blocked(8) + active(4))
        alerts.error_rate_check()
        state = AlertState.objects.get(pk=AlertKey.ERROR_RATE)

    assert state.firing is True
    assert state.last_sent_at == START
    assert state.last_rate == pytest.approx(8 / 12)
    assert state.last_attempts == 12
    assert (settings.ERROR_RATE_THRESHOLD, settings.ERROR_RATE_WINDOW_MIN, settings.ERROR_RATE_MIN_ATTEMPTS) == (
        0.30,
        15,
        10,
    )


def test_the_breaker_opening_and_closing_are_alert_events(db, settings, sentry_capture):
    from cedula.models import CedulaInfo
    from cedula.registry.parser import LookupReport
    from tests.helpers.observability import BLOCK_PAGE

    settings.REGISTRY_BREAKER_THRESHOLD = 3
    settings.REGISTRY_BREAKER_COOLDOWN_S = 300
    settings.LOOKUP_RETRY_DELAYS_S = [86_400, 86_400, 86_400]
    # What the client reports for a block page: a system cause (issue 23).
    block = LookupResult(status="error", error_kind="blocked", message="blocked answer", cause="blocked")
    with time_machine.travel(START, tick=False) as clock:
        # A block is not the row's: the same row is handed out again each time, its retries untouched.
        info = CedulaInfo.objects.create(cedula="1234500077")
        services.cedulas_queue_now(ids=[info.pk])
        for n in range(2):
            claim = services.lookup_claim_next()
            assert claim is not None and claim.cedula_id == info.pk
            rep = LookupReport(result=block, html=BLOCK_PAGE, duration_ms=1200)
            services.lookup_record_outcome(cedula_id=info.pk, claim_token=claim.token, report=rep)
            if n == 0:  # the probe that confirms it is the system's: still blocked
                assert services.gate_probe_once(probe_page=lambda: BLOCKED_AGAIN) == "confirmed"
        cedulas = [info.cedula]
        clock.shift(dt.timedelta(seconds=301))
        assert services.gate_probe_once(probe_page=lambda: BLOCKED_AGAIN) == "still_open"  # no second alert
        clock.shift(dt.timedelta(seconds=601))
        assert services.gate_probe_once(probe_page=lambda: None) == "closed"  # the probe succeeds

    events = alert_events(sentry_capture.events(), "breaker")
    assert [e["message"] for e in events] == [
        "lookup gate opened (blocked) for 300 s",
        "lookup gate closed (blocked)",
    ]
    assert [e["tags"]["alert_state"] for e in events] == ["opened", "closed"]
    assert [e["fingerprint"] for e in events] == [
        ["alert", "breaker", "blocked", "opened"],
        ["alert", "breaker", "blocked", "closed"],
    ]
    assert [e["level"] for e in events] == ["error", "info"]
    raw = sentry_capture.raw().decode()
    assert not [c for c in cedulas if c in raw]
    assert not re.search(r"(?<!\d)1234\d{6}(?!\d)", raw)
