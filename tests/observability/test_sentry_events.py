"""What reaches Sentry besides the alerts, received by a real local Sentry server."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import structlog
import time_machine

from cedula import alerts, services
from cedula.models import CedulaInfo, LookupTicket, Priority, Source
from tests.helpers.observability import bind_task_like_django_q, report


def crash_lookup(cedula: str):
    raise RuntimeError(f"page crashed while looking up {cedula}")


def run_one(ticket_task_id: str, run_lookup, run_probe=None) -> None:
    ticket = LookupTicket.objects.create().pk
    bind_task_like_django_q(ticket_task_id, f"lookup_next-{ticket}")
    try:
        services.lookup_run_ticket(
            ticket_id=ticket, run_lookup=run_lookup, task_id=ticket_task_id, max_wait_s=1, run_probe=run_probe
        )
    finally:
        structlog.contextvars.clear_contextvars()


def test_crashed_lookups_of_different_cedulas_and_tasks_group_into_one_issue(db, settings, sentry_capture):
    settings.LOOKUP_RETRY_DELAYS_S = []
    for n, cedula in enumerate(["1023456789", "52345678"]):
        services.cedula_request_lookup(cedula=cedula, priority=Priority.STAFF, source=Source.ADMIN)
        run_one(f"task-{n}", crash_lookup)

    events = sentry_capture.events()
    assert len(events) == 2
    assert [e["logentry"]["message"] for e in events] == ["lookup_crashed", "lookup_crashed"]
    assert events[0]["fingerprint"] == events[1]["fingerprint"] == ["lookup-error", "browser", "RuntimeError"]
    assert [e["exception"]["values"][-1]["value"] for e in events] == [
        "page crashed while looking up ***6789",
        "page crashed while looking up ***5678",
    ]
    assert events[1]["contexts"]["log"]["task_id"] == "task-1"
    assert events[1]["contexts"]["log"]["cedula"] == "***5678"
    raw = sentry_capture.raw().decode()
    for form in ("1023456789", "1.023.456.789", "52345678", "52.345.678"):
        assert form not in raw


def test_lookup_errors_are_grouped_by_error_kind(sentry_capture):
    log = structlog.get_logger("cedula.registry.browser")
    for cedula, task in (("1023456789", "t1"), ("52345678", "t2")):
        with structlog.contextvars.bound_contextvars(task_id=task, task_name=f"lookup_next-{task}"):
            log.error("registry_lookup_failed", cedula=cedula, error_kind="timeout")
    log.error("registry_lookup_failed", cedula="79123456", error_kind="network")

    events = sentry_capture.events()
    assert [e["fingerprint"] for e in events] == [
        ["lookup-error", "timeout"],
        ["lookup-error", "timeout"],
        ["lookup-error", "network"],
    ]
    assert [e["tags"]["error_kind"] for e in events] == ["timeout", "timeout", "network"]
    assert "1023456789" not in sentry_capture.raw().decode()


def test_a_blocked_lookup_is_a_breadcrumb_not_an_event(db, settings, sentry_capture):
    services.cedula_request_lookup(cedula="1000000005", priority=Priority.STAFF, source=Source.ADMIN)
    run_one("task-1", lambda cedula: report("error", "blocked"))

    assert CedulaInfo.objects.get().error_kind == "blocked"
    assert sentry_capture.events() == []


def test_the_django_q_logger_is_ignored(sentry_capture):
    logging.getLogger("django-q").error("Failed 'cedula.tasks.lookup_next' (ticket 7) - boom : Traceback ...")

    assert sentry_capture.events() == []


def test_events_carry_environment_and_release_and_no_personal_data(sentry_capture):
    alerts.breaker_changed(opened=True, cooldown_s=300)

    (event,) = sentry_capture.events()
    assert (event["environment"], event["release"]) == ("test", "ops-test@1")
    assert "user" not in event or not event["user"].get("ip_address")


@pytest.mark.integration
def test_blocked_lookups_through_the_stand_in_fire_the_alert_once(db, settings, sentry_capture, browser_runner):
    settings.LOOKUP_RETRY_DELAYS_S = [0, 0, 0]
    settings.REGISTRY_BREAKER_THRESHOLD = 100
    settings.ERROR_RATE_MIN_ATTEMPTS = 6
    cedulas = ["1000000005", "52345678"]
    for cedula in cedulas:
        services.cedula_request_lookup(cedula=cedula, priority=Priority.STAFF, source=Source.ADMIN)
    n = 0
    while CedulaInfo.objects.filter(next_attempt_at__isnull=False).exists() and n < 20:
        n += 1
        run_one(f"task-{n}", browser_runner.lookup, browser_runner.probe_page)
    # The stand-in blocks 1000000005 every time: 4 attempts (1 + 3 retries), then a staff retry: 4 more.
    services.cedulas_queue_now(ids=CedulaInfo.objects.filter(cedula="1000000005").values_list("pk", flat=True))
    while CedulaInfo.objects.filter(next_attempt_at__isnull=False).exists() and n < 40:
        n += 1
        run_one(f"task-{n}", browser_runner.lookup, browser_runner.probe_page)

    assert alerts.error_rate_check() == "fired"
    assert alerts.error_rate_check() is None
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(minutes=5)):
        assert alerts.error_rate_check() is None

    events = [e for e in sentry_capture.events() if e.get("tags", {}).get("alert") == "error_rate"]
    assert [e["message"] for e in events] == ["lookup error rate 89% over 15 min, 9 attempts"]
    assert events[0]["fingerprint"] == ["alert", "error_rate", "firing"]
    assert events[0]["contexts"]["alert"]["errors_by_kind"] == {"blocked": 8}
    raw = sentry_capture.raw().decode()
    for cedula in cedulas:
        assert cedula not in raw and f"{int(cedula):,}".replace(",", ".") not in raw


def test_a_task_that_raised_is_reported_once_per_task_function(sentry_capture):
    from django_q.signals import post_execute_in_worker

    from cedula import tasks
    from ops.sentry import connect_task_reporting

    connect_task_reporting()
    for task_id in ("a1", "b2"):
        task = {
            "id": task_id,
            "name": f"lookup_next-{task_id}",
            "func": "cedula.tasks.lookup_next",
            "success": False,
            "result": "database is locked : Traceback ... claim for 1023456789",
        }
        post_execute_in_worker.send(sender="django_q", func=tasks.lookup_next, task=task)
    post_execute_in_worker.send(sender="django_q", func=tasks.dispatch, task={"func": "x", "success": True})

    events = sentry_capture.events()
    assert [e["message"] for e in events] == ["task cedula.tasks.lookup_next failed"] * 2
    assert events[0]["fingerprint"] == events[1]["fingerprint"] == ["task-failed", "cedula.tasks.lookup_next"]
    assert events[0]["contexts"]["task"]["error"] == "database is locked : Traceback ... claim for ***6789"
