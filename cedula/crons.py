"""Sentry Crons: every Django-Q2 schedule checks in to a monitor named after it (`lookups-dispatch`, ...).

Wired to Django-Q2's worker signals, so every schedule declared in `setup_schedules` is covered without touching
its task: `pre_execute` sends `in_progress` with the monitor's config (Sentry upserts the monitor from it: nothing is
clicked together), `post_execute_in_worker` sends `ok` or `error` with the duration. A cluster that is dead or never
started misses its check-ins; one that is wedged inside a task overruns `max_runtime`: both reach on-call as a
monitor alert. A task is recognised as scheduled by its group, which Django-Q2 sets to the schedule's name.

Without SENTRY_DSN the SDK has no client: nothing is sent, nothing fails.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, cast

import sentry_sdk
import structlog
from django.conf import settings
from sentry_sdk.crons import MonitorStatus, capture_checkin

if TYPE_CHECKING:
    from sentry_sdk._types import MonitorConfig

logger = structlog.get_logger(__name__)

# Sentry opens a monitor issue after this many failed (missed, error, timeout) check-ins in a row, and resolves it
# after this many good ones: one late minute does not page, two do.
FAILURE_ISSUE_THRESHOLD = 2
RECOVERY_THRESHOLD = 1

# task id -> (slug, check-in id, monotonic start): one worker process runs one task at a time.
_open: dict[str, tuple[str, str, float]] = {}


def monitor_config(*, schedule_type: str, minutes: int | None, cron: str | None = None) -> dict[str, Any] | None:
    """The monitor config Sentry upserts for a Django-Q2 schedule, or None for a one-off or unknown schedule."""
    from django_q.models import Schedule

    every: dict[str, tuple[int, str]] = {
        Schedule.MINUTES: (max(1, minutes or 1), "minute"),
        Schedule.HOURLY: (1, "hour"),
        Schedule.DAILY: (1, "day"),
        Schedule.WEEKLY: (1, "week"),
        Schedule.MONTHLY: (1, "month"),
        Schedule.YEARLY: (1, "year"),
    }
    if schedule_type == Schedule.CRON and cron:
        schedule: dict[str, Any] = {"type": "crontab", "value": cron}
        interval_min = 60
    elif schedule_type in every:
        value, unit = every[schedule_type]
        schedule = {"type": "interval", "value": value, "unit": unit}
        interval_min = value if unit == "minute" else 60
    else:
        return None
    timeout_s = int(settings.Q_CLUSTER["timeout"])
    return {
        "schedule": schedule,
        # A run may start late by the scheduler's own tick and a busy worker (one process, a lookup may hold it for
        # up to the task timeout); beyond that it is missed.
        "checkin_margin": max(2, min(interval_min, math.ceil(timeout_s / 60) + 1)),
        # Minutes, rounded up, never under the task timeout: past it Django-Q2 kills the task anyway.
        "max_runtime": math.ceil(timeout_s / 60) + 1,
        "failure_issue_threshold": FAILURE_ISSUE_THRESHOLD,
        "recovery_threshold": RECOVERY_THRESHOLD,
        "timezone": "UTC",
    }


def _enabled() -> bool:
    # No DSN: no client at all; a closed client (or one without a DSN) has no transport either.
    client = sentry_sdk.get_client()
    return client.is_active() and getattr(client, "transport", None) is not None


def _schedule_for(task: dict[str, Any]) -> Any:
    from django_q.models import Schedule

    group = task.get("group")
    if not group or group == "lookups":
        return None
    return Schedule.objects.filter(name=str(group)).first()


def task_started(sender: Any, func: Any, task: dict[str, Any], **kwargs: Any) -> None:
    if not _enabled():
        return
    try:
        schedule = _schedule_for(task)
    except Exception as exc:  # a database hiccup must not keep the task itself from running
        logger.warning("cron_checkin_skipped", reason=str(exc))
        return
    if schedule is None:
        return
    config = monitor_config(schedule_type=schedule.schedule_type, minutes=schedule.minutes, cron=schedule.cron)
    check_in_id = capture_checkin(
        monitor_slug=schedule.name,
        status=MonitorStatus.IN_PROGRESS,
        monitor_config=cast("MonitorConfig | None", config),
    )
    if check_in_id:
        _open[str(task.get("id", ""))] = (schedule.name, check_in_id, time.monotonic())


def task_finished(sender: Any, func: Any, task: dict[str, Any], **kwargs: Any) -> None:
    opened = _open.pop(str(task.get("id", "")), None)
    if opened is None or not _enabled():
        return
    slug, check_in_id, started = opened
    status = MonitorStatus.OK if task.get("success") else MonitorStatus.ERROR
    capture_checkin(monitor_slug=slug, check_in_id=check_in_id, status=status, duration=time.monotonic() - started)
    # The worker may be killed (timeout, recycle) before the SDK's background thread sends it.
    sentry_sdk.flush(timeout=2)


def connect() -> None:
    from django_q.signals import post_execute_in_worker, pre_execute

    pre_execute.connect(task_started, dispatch_uid="cedula_cron_started")
    post_execute_in_worker.connect(task_finished, dispatch_uid="cedula_cron_finished")
