"""What on-call hears about (Sentry when SENTRY_DSN is set, logs always): breaker changes, error-rate spikes, a
stalled queue, and a changed registry page (a share of `unexpected_page` answers, or the canary's wrong answer).

Every alert event carries the tags `alert` (error_rate | breaker | stall | page_changed) and `alert_state`, and a
fixed fingerprint per (alert, state) - per (alert, source, state) for page_changed, which has two sources - so
Sentry keeps one issue each and an alert rule can match on the tags. A dead or wedged cluster is not one of these:
the checks run inside it, so it reaches on-call as a missed Sentry cron check-in (cedula.crons).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sentry_sdk
import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cedula import selectors
from cedula.models import AlertState, Breaker
from cedula.selectors.alerts import AlertKey

logger = structlog.get_logger(__name__)


def _send(
    *, message: str, level: str, alert: str, state: str, data: dict[str, Any], source: str | None = None
) -> str | None:
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("alert", alert)
        scope.set_tag("alert_state", state)
        if source:
            scope.set_tag("alert_source", source)
        scope.set_context("alert", data)
        scope.fingerprint = ["alert", alert, *([source] if source else []), state]
        return sentry_sdk.capture_message(message, level=level)  # type: ignore[arg-type]


def breaker_changed(*, opened: bool, cooldown_s: float, cause: str = "") -> None:
    """One event when the gate opens for a cause (the cause is the source: one Sentry issue per cause) and one when it
    closes; the probes in between send nothing."""
    state = "opened" if opened else "closed"
    why = f" ({cause})" if cause else ""
    message = f"lookup gate opened{why} for {cooldown_s:.0f} s" if opened else f"lookup gate closed{why}"
    _send(
        message=message,
        level="error" if opened else "info",
        alert=AlertKey.BREAKER,
        state=state,
        data={"cooldown_s": cooldown_s, "cause": cause},
        source=cause or None,
    )


def source_switched(*, left: str, to: str, reason: str, detail: str) -> None:
    """One event per switch between the registry's pages (cedula.services.sources): warning when the worker leaves a
    source, info when it moves back to the first. The fingerprint is per (source left, source taken)."""
    back = reason == "restored"
    _send(
        message=f"registry source switched: {left} -> {to} ({reason})",
        level="info" if back else "warning",
        alert=AlertKey.SOURCE,
        state="restored" if back else "switched",
        data={"from": left, "to": to, "reason": reason, "detail": detail},
        source=f"{left}->{to}",
    )


def error_rate_message(stats: selectors.ErrorRate, *, recovered: bool = False) -> str:
    figures = f"{stats.rate:.0%} over {stats.window_min} min, {stats.attempts} attempts"
    return f"lookup error rate recovered: {figures}" if recovered else f"lookup error rate {figures}"


@dataclass(frozen=True)
class Reading:
    """What an alert's rule sees at one moment: `bad` (it would fire), `known` (enough evidence either way), the
    figures. The scheduled checks act on it; the dashboard shows the same reading, taken when the page is drawn."""

    bad: bool
    known: bool
    data: dict[str, Any]


def read_error_rate(*, now: dt.datetime, stats: selectors.ErrorRate | None = None) -> Reading:
    stats = stats or selectors.lookup_error_rate(window_min=settings.ERROR_RATE_WINDOW_MIN, now=now)
    enough = stats.attempts >= settings.ERROR_RATE_MIN_ATTEMPTS
    data = {
        "rate": round(stats.rate, 4),
        "attempts": stats.attempts,
        "errors": stats.errors,
        "errors_by_kind": stats.errors_by_kind,
        "window_min": stats.window_min,
        "threshold": settings.ERROR_RATE_THRESHOLD,
    }
    return Reading(bad=enough and stats.rate > settings.ERROR_RATE_THRESHOLD, known=enough, data=data)


def error_rate_check(*, now: dt.datetime | None = None) -> str | None:
    """The scheduled check: alert when the error rate of the last window is over the threshold, once per cooldown,
    and once more when it recovers. Returns "fired", "recovered" or None (nothing sent).

    A window with fewer than ERROR_RATE_MIN_ATTEMPTS attempts changes nothing: a quiet queue (or an open breaker)
    is no evidence either way.
    """
    now = now or timezone.now()
    stats = selectors.lookup_error_rate(window_min=settings.ERROR_RATE_WINDOW_MIN, now=now)
    reading = read_error_rate(now=now, stats=stats)
    action = transition(
        key=AlertKey.ERROR_RATE,
        bad=reading.bad,
        known=reading.known,
        now=now,
        cooldown_min=settings.ERROR_RATE_ALERT_COOLDOWN_MIN,
        detail=reading.data,
        # /metrics reads the latest figures from these two columns.
        figures={"last_rate": stats.rate, "last_attempts": stats.attempts},
        suppressed={"rate": round(stats.rate, 3), "attempts": stats.attempts},
    )
    message = error_rate_message(stats, recovered=action == "recovered")
    return announce(action, alert=AlertKey.ERROR_RATE, message=message, data=reading.data)


def transition(
    *,
    key: str,
    bad: bool,
    known: bool,
    now: dt.datetime,
    cooldown_min: int,
    detail: dict[str, Any],
    figures: dict[str, Any] | None = None,
    suppressed: dict[str, Any] | None = None,
) -> str | None:
    """Move an alert's state: "fired" when `bad` and the cooldown since the last firing event is over (a condition
    that flaps pages once per cooldown), "recovered" when it is `known` to be good again after firing, else None.
    The latest figures are kept for the console's alerts panel either way (`figures`: AlertState columns to set as
    well). `suppressed`, when given, is logged as `<key>_alert_suppressed` for a bad reading the cooldown silences."""
    cooldown = dt.timedelta(minutes=cooldown_min)
    action = None
    with transaction.atomic():
        state, _ = AlertState.objects.select_for_update().get_or_create(pk=key)
        if bad:
            if state.last_sent_at is None or now - state.last_sent_at >= cooldown:
                action = "fired"
                state.firing = True
                state.last_sent_at = now
            elif not state.firing and suppressed is not None:
                logger.info(f"{key}_alert_suppressed", **suppressed)
        elif known and state.firing:
            action = "recovered"
            state.firing = False
        for name, value in (figures or {}).items():
            setattr(state, name, value)
        state.detail = {**detail, "bad": bad, "known": known}
        state.save()
    return action


def announce(
    action: str | None, *, alert: str, message: str, data: dict[str, Any], source: str | None = None
) -> str | None:
    if action is None:
        return None
    # warning/info, not error: at error level the log line itself would become a second Sentry event.
    log = logger.warning if action == "fired" else logger.info
    log(f"{alert}_alert", alert_state=action, alert_source=source, **data)
    _send(
        message=message,
        level="error" if action == "fired" else "info",
        alert=alert,
        state="firing" if action == "fired" else "recovered",
        data=data,
        source=source,
    )
    return action


def read_stall(*, now: dt.datetime, breaker: dict[str, Any] | None = None, due: int | None = None) -> Reading:
    """The worker is alive but does no work: rows have been due for STALL_AFTER_MIN, the lookups are neither paused
    nor held by the gate, and no lookup started for STALL_AFTER_MIN. While lookups are paused or the gate is open
    there is no evidence either way."""
    after = dt.timedelta(minutes=settings.STALL_AFTER_MIN)
    breaker = breaker or selectors.breaker_state(now=now)
    held = bool(breaker["paused"]) or breaker["state"] != Breaker.State.CLOSED
    oldest_due = selectors.oldest_due_at(now=now)
    last_started = selectors.last_lookup_started_at()
    waiting = oldest_due is not None and now - oldest_due >= after
    idle = last_started is None or now - last_started >= after
    data = {
        "due": (selectors.due_backlog(now=now) if due is None else due) if oldest_due is not None else 0,
        "oldest_due_min": round((now - oldest_due).total_seconds() / 60, 1) if oldest_due else None,
        "last_started_min": round((now - last_started).total_seconds() / 60, 1) if last_started else None,
        "stall_after_min": settings.STALL_AFTER_MIN,
        "breaker": breaker["state"],
        "paused": breaker["paused"],
    }
    return Reading(bad=not held and waiting and idle, known=not held, data=data)


def stall_check(*, now: dt.datetime | None = None) -> str | None:
    """The scheduled stall check (read_stall). Returns "fired", "recovered" or None."""
    now = now or timezone.now()
    reading = read_stall(now=now)
    data = reading.data
    action = transition(
        key=AlertKey.STALL,
        bad=reading.bad,
        known=reading.known,
        now=now,
        cooldown_min=settings.STALL_ALERT_COOLDOWN_MIN,
        detail=data,
    )
    if action == "fired":
        started = f"{data['last_started_min']:.0f} min" if data["last_started_min"] is not None else "ever"
        message = f"lookups stalled: {data['due']} rows due, no lookup started for {started}"
    else:
        message = "lookups resumed: a lookup started again" if data["due"] else "lookups resumed: nothing is due"
    return announce(action, alert=AlertKey.STALL, message=message, data=data)


def read_page_changed(*, now: dt.datetime, stats: selectors.ErrorRate | None = None) -> Reading:
    """The registry page changed shape: the share of `unexpected_page` answers over the error-rate window crosses
    PAGE_CHANGED_THRESHOLD (with at least PAGE_CHANGED_MIN_ATTEMPTS attempts)."""
    stats = stats or selectors.lookup_error_rate(window_min=settings.ERROR_RATE_WINDOW_MIN, now=now)
    unexpected = stats.errors_by_kind.get("unexpected_page", 0)
    share = unexpected / stats.attempts if stats.attempts else 0.0
    enough = stats.attempts >= settings.PAGE_CHANGED_MIN_ATTEMPTS
    data = {
        "share": round(share, 4),
        "unexpected_page": unexpected,
        "attempts": stats.attempts,
        "window_min": stats.window_min,
        "threshold": settings.PAGE_CHANGED_THRESHOLD,
    }
    return Reading(bad=enough and share > settings.PAGE_CHANGED_THRESHOLD, known=enough, data=data)


def page_changed_check(*, now: dt.datetime | None = None) -> str | None:
    """The scheduled page-changed check (read_page_changed): fix the parser; waiting will not help. Returns "fired",
    "recovered" or None."""
    now = now or timezone.now()
    reading = read_page_changed(now=now)
    data = reading.data
    action = transition(
        key=AlertKey.PAGE_CHANGED,
        bad=reading.bad,
        known=reading.known,
        now=now,
        cooldown_min=settings.PAGE_CHANGED_ALERT_COOLDOWN_MIN,
        detail=data,
    )
    figures = f"{data['share']:.0%} unexpected pages over {data['window_min']} min, {data['attempts']} attempts"
    message = f"registry page changed? {figures}" if action == "fired" else f"registry page answers again: {figures}"
    return announce(action, alert=AlertKey.PAGE_CHANGED, message=message, data=data, source="unexpected_page")


def canary_checked(*, matched: bool | None, data: dict[str, Any], now: dt.datetime | None = None) -> str | None:
    """The canary's answer: False (a mismatch) fires, True recovers, None (blocked, timeout...: not about the page
    shape) changes nothing. `data` carries the expectation, the answer and `snapshot_url`."""
    now = now or timezone.now()
    action = transition(
        key=AlertKey.CANARY,
        bad=matched is False,
        known=matched is not None,
        now=now,
        cooldown_min=settings.PAGE_CHANGED_ALERT_COOLDOWN_MIN,
        detail=data,
    )
    if action == "fired":
        message = f"registry canary answered {data.get('got')}, expected {data.get('expected')}"
    else:
        message = f"registry canary answers as expected again: {data.get('got')}"
    return announce(action, alert=AlertKey.PAGE_CHANGED, message=message, data=data, source=AlertKey.CANARY)
