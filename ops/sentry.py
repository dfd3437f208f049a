"""Sentry: switched on by SENTRY_DSN. No personal data leaves: send_default_pii is off and every event is scrubbed
of cedula-shaped numbers before it is sent."""

from __future__ import annotations

from typing import Any

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import ignore_logger

from cedula.normalize import scrub_text


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_scrub(v) for v in value)
    return value


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """Mask cedula-shaped numbers everywhere in the event: message, exception values, breadcrumbs, request, extra."""
    return _scrub(event)


def init_sentry(*, dsn: str, environment: str, release: str | None) -> None:
    # django-q logs failures as plain strings that duplicate our own structured events.
    ignore_logger("django-q")
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        before_send=before_send,
        before_send_transaction=before_send,
        traces_sample_rate=0.0,
    )
