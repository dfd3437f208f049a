"""What on-call hears about: breaker changes and error-rate spikes (Sentry when SENTRY_DSN is set, logs always).

Every alert event carries the tags `alert` (error_rate | breaker) and `alert_state`, and a fixed fingerprint per
(alert, state), so Sentry keeps one issue each and an alert rule can match on the tags.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sentry_sdk
import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cedula import selectors
from cedula.models import AlertState

logger = structlog.get_logger(__name__)

ERROR_RATE_KEY = selectors.ERROR_RATE_ALERT_KEY


def _send(*, message: str, level: str, alert: str, state: str, data: dict[str, Any]) -> str | None:
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("alert", alert)
        scope.set_tag("alert_state", state)
        scope.set_context("alert", data)
        scope.fingerprint = ["alert", alert, state]
        return sentry_sdk.capture_message(message, level=level)  # type: ignore[arg-type]


def breaker_changed(*, opened: bool, cooldown_s: float) -> None:
    state = "opened" if opened else "closed"
    message = f"lookup circuit breaker opened for {cooldown_s:.0f} s" if opened else "lookup circuit breaker closed"
    _send(
        message=message,
        level="error" if opened else "info",
        alert="breaker",
        state=state,
        data={"cooldown_s": cooldown_s},
    )


def error_rate_message(stats: selectors.ErrorRate, *, recovered: bool = False) -> str:
    figures = f"{stats.rate:.0%} over {stats.window_min} min, {stats.attempts} attempts"
    return f"lookup error rate recovered: {figures}" if recovered else f"lookup error rate {figures}"


def error_rate_check(*, now: dt.datetime | None = None) -> str | None:
    """The scheduled check: alert when the error rate of the last window is over the threshold, once per cooldown,
    and once more when it recovers. Returns "fired", "recovered" or None (nothing sent).

    A window with fewer than ERROR_RATE_MIN_ATTEMPTS attempts changes nothing: a quiet queue (or an open breaker)
    is no evidence either way.
    """
    now = now or timezone.now()
    stats = selectors.lookup_error_rate(window_min=settings.ERROR_RATE_WINDOW_MIN, now=now)
    enough = stats.attempts >= settings.ERROR_RATE_MIN_ATTEMPTS
    over = enough and stats.rate > settings.ERROR_RATE_THRESHOLD
    cooldown = dt.timedelta(minutes=settings.ERROR_RATE_ALERT_COOLDOWN_MIN)
    action = None
    with transaction.atomic():
        state, _ = AlertState.objects.select_for_update().get_or_create(pk=ERROR_RATE_KEY)
        if over:
            # last_sent_at is the last *firing* event: a spike that flaps around the threshold pages once per
            # cooldown, and each recovery follows one firing event.
            if state.last_sent_at is None or now - state.last_sent_at >= cooldown:
                action = "fired"
                state.firing = True
                state.last_sent_at = now
            elif not state.firing:
                logger.info("error_rate_alert_suppressed", rate=round(stats.rate, 3), attempts=stats.attempts)
        elif enough and state.firing:
            action = "recovered"
            state.firing = False
        state.last_rate = stats.rate
        state.last_attempts = stats.attempts
        state.save()
    if action is None:
        return None
    data = {
        "rate": round(stats.rate, 4),
        "attempts": stats.attempts,
        "errors": stats.errors,
        "errors_by_kind": stats.errors_by_kind,
        "window_min": stats.window_min,
        "threshold": settings.ERROR_RATE_THRESHOLD,
    }
    # warning/info, not error: at error level the log line itself would become a second Sentry event.
    log = logger.warning if action == "fired" else logger.info
    log("error_rate_alert", alert_state=action, **data)
    _send(
        message=error_rate_message(stats, recovered=action == "recovered"),
        level="error" if action == "fired" else "info",
        alert="error_rate",
        state="firing" if action == "fired" else "recovered",
        data=data,
    )
    return action
