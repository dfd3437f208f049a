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
    label: str  # Spanish, for the console
    firing: bool
    last_sent_at: dt.datetime | None
    checked_at: dt.datetime | None
    detail: dict[str, Any]


class AlertKey(StrEnum):
    """Every alert's key, said once: the AlertState row, the Sentry `alert` tag, the log event's prefix."""

    ERROR_RATE = "error_rate"
    STALL = "stall"
    PAGE_CHANGED = "page_changed"
    CANARY = "canary"  # an AlertState row of its own, announced under the page_changed tag
    CAPTCHA_RUNWAY = "captcha_runway"  # i24b: cedula.services.captcha_balance
    BREAKER = "breaker"  # the gate: its state is the Breaker row, not an AlertState


# AlertState key -> (the Sentry `alert` tag, the console's label), in the panel's order.
ALERT_LABELS = {
    AlertKey.ERROR_RATE: (AlertKey.ERROR_RATE, "Tasa de errores"),
    AlertKey.STALL: (AlertKey.STALL, "Cola detenida"),
    AlertKey.PAGE_CHANGED: (AlertKey.PAGE_CHANGED, "Página cambiada (respuestas inesperadas)"),
    AlertKey.CANARY: (AlertKey.PAGE_CHANGED, "Cédula de control"),
    AlertKey.CAPTCHA_RUNWAY: (AlertKey.CAPTCHA_RUNWAY, "Saldo de captchas"),
}


def alert_statuses() -> list[AlertStatus]:
    """Every alert's current state (the breaker, which is its own alert, is read from breaker_state)."""

    states = {s.pk: s for s in AlertState.objects.filter(pk__in=list(ALERT_LABELS))}
    out = []
    for key, (alert, label) in ALERT_LABELS.items():
        state = states.get(key)
        out.append(
            AlertStatus(
                key=key,
                alert=alert,
                label=label,
                firing=bool(state and state.firing),
                last_sent_at=state.last_sent_at if state else None,
                checked_at=state.updated_at if state else None,
                detail=dict(state.detail) if state else {},
            )
        )
    return out
