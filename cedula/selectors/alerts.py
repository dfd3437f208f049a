"""What each alert last measured, as data (the console's copy for it lives in cedula.admin.presenters)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cedula.models import (
    AlertState,
)


@dataclass(frozen=True)
class AlertStatus:
    """One alert as the dashboard panel and /metrics show it."""

    key: str  # the AlertState key: error_rate | stall | page_changed | canary
    alert: str  # the Sentry `alert` tag
    firing: bool
    last_sent_at: dt.datetime | None
    checked_at: dt.datetime | None  # None: never checked (no AlertState row yet)
    detail: dict[str, Any]
    last_rate: float = 0.0  # the error-rate check's latest figures (its own columns)
    last_attempts: int = 0


class AlertKey(StrEnum):
    """Every alert's key, said once: the AlertState row, the Sentry `alert` tag, the log event's prefix."""

    ERROR_RATE = "error_rate"
    STALL = "stall"
    PAGE_CHANGED = "page_changed"
    CANARY = "canary"  # an AlertState row of its own, announced under the page_changed tag
    CAPTCHA_RUNWAY = "captcha_runway"  # i24b: cedula.services.captcha_balance
    BREAKER = "breaker"  # the gate: its state is the Breaker row, not an AlertState
    SOURCE = "source"  # i22: the worker moved to another of the registry's pages (its state is SourceInUse)


# AlertState key -> the Sentry `alert` tag, in the panel's order (the console's labels: cedula.admin.presenters).
ALERT_TAGS = {
    AlertKey.ERROR_RATE: AlertKey.ERROR_RATE,
    AlertKey.STALL: AlertKey.STALL,
    AlertKey.PAGE_CHANGED: AlertKey.PAGE_CHANGED,
    AlertKey.CANARY: AlertKey.PAGE_CHANGED,
    AlertKey.CAPTCHA_RUNWAY: AlertKey.CAPTCHA_RUNWAY,
}


def alert_statuses() -> list[AlertStatus]:
    """Every alert's current state (the breaker, which is its own alert, is read from breaker_state)."""

    states = {s.pk: s for s in AlertState.objects.filter(pk__in=list(ALERT_TAGS))}
    out = []
    for key, alert in ALERT_TAGS.items():
        state = states.get(key)
        out.append(
            AlertStatus(
                key=key,
                alert=alert,
                firing=bool(state and state.firing),
                last_sent_at=state.last_sent_at if state else None,
                checked_at=state.updated_at if state else None,
                detail=dict(state.detail) if state else {},
                last_rate=state.last_rate if state else 0.0,
                last_attempts=state.last_attempts if state else 0,
            )
        )
    return out
