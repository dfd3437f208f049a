"""The console's words for what the selectors return: Spanish copy, links and colours stay with the admin."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from cedula import selectors
from cedula.gate_display import gate_banner
from cedula.models import Breaker
from cedula.selectors.alerts import AlertKey

# Every alert's name on the console, in Spanish.
ALERT_LABELS: dict[AlertKey, str] = {
    AlertKey.ERROR_RATE: "Tasa de errores",
    AlertKey.STALL: "Cola detenida",
    AlertKey.PAGE_CHANGED: "Página cambiada (respuestas inesperadas)",
    AlertKey.CANARY: "Cédula de control",
    AlertKey.CAPTCHA_RUNWAY: "Saldo de captchas",
    AlertKey.BREAKER: "Interruptor",
}


def _alert_summary(key: str, detail: dict[str, Any], state: selectors.AlertStatus | None) -> str:
    """One line of Spanish for the alerts panel, from what the latest check measured."""
    if key == AlertKey.ERROR_RATE:
        if state is None:
            return "Sin comprobaciones todavía."
        return f"{state.last_rate:.0%} de errores en {state.last_attempts} consultas (última comprobación)."
    if not detail:
        return "Sin comprobaciones todavía."
    if key == AlertKey.STALL:
        if not detail.get("due"):
            return "Nada pendiente."
        started = detail.get("last_started_min")
        since = "nunca" if started is None else f"hace {started:.0f} min"
        return f"{detail['due']} filas para ya; última consulta iniciada {since}."
    if key == AlertKey.PAGE_CHANGED:
        return (
            f"{detail.get('share', 0):.0%} de páginas inesperadas en {detail.get('attempts', 0)} consultas "
            f"(umbral {detail.get('threshold', 0):.0%})."
        )
    if key == AlertKey.CANARY:
        return f"Esperada «{detail.get('expected', '')}», recibida «{detail.get('got', '')}»."
    if key == AlertKey.CAPTCHA_RUNWAY:
        return _runway_summary(detail)
    return ""


def _runway_summary(detail: dict[str, Any]) -> str:
    days, threshold = detail.get("runway_days"), detail.get("threshold_days", 0)
    if detail.get("reason") == "no_solver":
        return "Sin resolvedor de captcha configurado."
    if detail.get("reason") == "empty":
        return "Saldo agotado."
    if days is None:
        return "Hoy no se ha gastado nada."
    whole = int(days)
    span = "menos de un día" if whole < 1 else f"{whole} día" + ("" if whole == 1 else "s")
    return f"Alcanza para {span} al ritmo de hoy (alerta bajo {threshold:g} día{'' if threshold == 1 else 's'})."


@dataclass(frozen=True)
class AlertPanelRow:
    key: str
    label: str
    firing: bool
    last_sent_at: dt.datetime | None
    checked_at: dt.datetime | None
    summary: str
    link: str  # the console page to look at (a snapshot for the canary), or ""


def alert_panel(*, now: dt.datetime | None = None) -> list[AlertPanelRow]:
    """The dashboard's alerts panel: every alert on-call may hear of, with its current state."""

    now = now or timezone.now()
    rows = []
    for status in selectors.alert_statuses():
        key, detail = status.key, status.detail
        link = ""
        if key == AlertKey.CANARY and detail.get("attempt_id"):
            link = reverse("admin:cedula_lookupattempt_change", args=[detail["attempt_id"]])
        if key == AlertKey.CANARY and not settings.REGISTRY_CANARY_CEDULA:
            summary = "Sin cédula de control configurada (REGISTRY_CANARY_CEDULA)."
        else:
            summary = _alert_summary(key, detail, status if status.checked_at else None)
        rows.append(
            AlertPanelRow(
                key=key,
                label=ALERT_LABELS[AlertKey(key)],
                firing=status.firing,
                last_sent_at=status.last_sent_at,
                checked_at=status.checked_at,
                summary=summary,
                link=link,
            )
        )
    breaker = selectors.breaker_state(now=now)
    closed = breaker["state"] == Breaker.State.CLOSED
    rows.append(
        AlertPanelRow(
            key=AlertKey.BREAKER,
            label=ALERT_LABELS[AlertKey.BREAKER],
            firing=not closed,
            last_sent_at=None,
            checked_at=None,
            summary="Cerrado: las consultas salen."
            if closed
            else (gate_banner(breaker, now=now) or {}).get("headline", "Abierto: las consultas esperan."),
            link="",
        )
    )
    return rows
