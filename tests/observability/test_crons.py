"""Sentry Crons: a real `qcluster` running the real schedules checks in to a real local Sentry server."""

from __future__ import annotations

import pytest
import sentry_sdk
from django.core.management import call_command
from django_q.models import Schedule

from cedula import crons
from cedula.management.commands.setup_schedules import SCHEDULES
from tests.helpers.queue import wait_until
from tests.helpers.sentry import SentryCaptureServer


@pytest.fixture
def sentry_server():
    server = SentryCaptureServer().start()
    yield server
    server.stop()


def test_a_minute_schedule_gets_an_interval_monitor_that_outlasts_the_task_timeout(settings):
    config = crons.monitor_config(schedule_type=Schedule.MINUTES, minutes=1)

    assert config is not None
    assert config["schedule"] == {"type": "interval", "value": 1, "unit": "minute"}
    assert config["max_runtime"] * 60 >= settings.Q_CLUSTER["timeout"]
    assert config["checkin_margin"] >= 1
    assert (config["failure_issue_threshold"], config["recovery_threshold"]) == (2, 1)


def test_hourly_and_cron_schedules_get_their_own_monitor_schedule():
    assert crons.monitor_config(schedule_type=Schedule.HOURLY, minutes=None)["schedule"] == {
        "type": "interval",
        "value": 1,
        "unit": "hour",
    }
    assert crons.monitor_config(schedule_type=Schedule.CRON, minutes=None, cron="0 3 * * *")["schedule"] == {
        "type": "crontab",
        "value": "0 3 * * *",
    }
    assert crons.monitor_config(schedule_type=Schedule.ONCE, minutes=None) is None


def test_without_a_dsn_a_scheduled_task_sends_no_check_in_and_raises_nothing(db):
    sentry_sdk.get_client().close()
    assert not crons._enabled()
    call_command("setup_schedules", stdout=open("/dev/null", "w"))  # noqa: SIM115
    task = {"id": "t1", "group": "lookups-dispatch", "success": True}

    crons.task_started(sender="django_q", func=None, task=task)
    crons.task_finished(sender="django_q", func=None, task=task)

    assert crons._open == {}


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_a_real_cluster_checks_every_schedule_in_with_its_slug_and_config(start_worker, sentry_server, settings):
    call_command("setup_schedules", stdout=open("/dev/null", "w"))  # noqa: SIM115
    # A schedule whose task raises: its run must end in an `error` check-in.
    Schedule.objects.create(
        name="test-broken", func="cedula.tasks.no_such_task", schedule_type=Schedule.MINUTES, minutes=1, repeats=-1
    )
    start_worker(SENTRY_DSN=sentry_server.dsn, SENTRY_ENVIRONMENT="test")
    slugs = {*SCHEDULES, "test-broken"}

    def closed() -> dict[str, list[dict]]:
        by_slug: dict[str, list[dict]] = {}
        for check_in in sentry_server.check_ins():
            by_slug.setdefault(check_in["monitor_slug"], []).append(check_in)
        done = {slug for slug, items in by_slug.items() if any(c["status"] != "in_progress" for c in items)}
        return by_slug if slugs <= done else {}

    by_slug = wait_until(closed, timeout=120, interval=0.5, message="every schedule checked in and out")

    for slug in slugs:
        items = by_slug[slug]
        started = [c for c in items if c["status"] == "in_progress"]
        ended = [c for c in items if c["status"] != "in_progress"]
        assert started and ended, slug
        assert ended[0]["check_in_id"] == started[0]["check_in_id"], slug
        assert ended[0]["status"] == ("error" if slug == "test-broken" else "ok"), slug
        assert ended[0]["duration"] >= 0
        config = started[0]["monitor_config"]
        assert config["schedule"] == {"type": "interval", "value": SCHEDULES.get(slug, ("", 1))[1], "unit": "minute"}
        assert config["max_runtime"] * 60 >= settings.Q_CLUSTER["timeout"]
        assert started[0]["environment"] == "test"
    # Lookup tasks are not schedules: they never check in.
    assert not [c for c in sentry_server.check_ins() if c["monitor_slug"] not in slugs]
