"""What on-call hears about: breaker changes and error-rate spikes (Sentry when SENTRY_DSN is set, logs always)."""

from __future__ import annotations

import structlog

logger = structlog.get_logger(__name__)


def breaker_changed(*, opened: bool, cooldown_s: float) -> None:
    import sentry_sdk

    message = (
        f"lookup circuit breaker opened for {cooldown_s:.0f} s" if opened else "lookup circuit breaker closed"
    )
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("alert", "breaker")
        scope.set_tag("breaker_state", "open" if opened else "closed")
        scope.fingerprint = ["lookup-breaker", "open" if opened else "closed"]
        sentry_sdk.capture_message(message, level="error" if opened else "info")
