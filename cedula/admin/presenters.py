"""The console's words for what the selectors return: Spanish copy, links and colours stay with the admin."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from cedula import alerts, selectors
from cedula.gate_display import gate_banner
from cedula.models import Breaker
from cedula.registry.sources import SOURCES
from cedula.selectors.alerts import AlertKey

# Every alert's name on the console, in Spanish.
ALERT_LABELS: dict[AlertKey, str] = {
    AlertKey.ERROR_RATE: "Tasa de errores",
    AlertKey.STALL: "Cola detenida",
    AlertKey.PAGE_CHANGED: "Página cambiada (respuestas inesperadas)",
    AlertKey.CANARY: "Cédula de control",
    AlertKey.CAPTCHA_RUNWAY: "Saldo de captchas",
    AlertKey.BREAKER: "Interruptor",
    AlertKey.SOURCE: "Fuente del registro",
}


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,}".replace(",", ".") + " " + (one if n == 1 else many)


def _error_rate_now(reading: alerts.Reading) -> str:
    d = reading.data
    figures = f"{d['rate']:.0%} de error en {_plural(d['attempts'], 'consulta', 'consultas')} de los últimos " \
        f"{d['window_min']} min"  # fmt: skip
    if not reading.known:
        return f"{figures}: muy pocas para juzgar (la alerta espera al menos {settings.ERROR_RATE_MIN_ATTEMPTS})."
    return f"{figures} (umbral {d['threshold']:.0%})."


def _stall_now(reading: alerts.Reading) -> str:
    d = reading.data
    if d["paused"] or d["breaker"] != Breaker.State.CLOSED:
        return "Las consultas están detenidas a propósito: no se mide."
    if not d["due"]:
        return "Nada listo para consultar."
    started = d["last_started_min"]
    since = "nunca" if started is None else "hace menos de 1 min" if started < 1 else f"hace {started:.0f} min"
    due = _plural(d["due"], "fila lista", "filas listas")
    return f"{due} para consultar; última consulta iniciada {since} (alerta tras {d['stall_after_min']} min)."


def _page_changed_now(reading: alerts.Reading) -> str:
    d = reading.data
    return (
        f"{d['share']:.0%} de páginas inesperadas en {_plural(d['attempts'], 'consulta', 'consultas')} de los últimos "
        f"{d['window_min']} min (umbral {d['threshold']:.0%})."
    )


def _canary_now(status: selectors.AlertStatus) -> str:
    if not settings.REGISTRY_CANARY_CEDULA:
        return "Sin cédula de control configurada: pídala al equipo técnico."
    if status.checked_at is None or not status.detail:
        return "Aún no se ha comprobado."
    checked = timezone.localtime(status.checked_at)
    if status.firing:
        return (
            f"Comprobada el {checked:%d/%m a las %H:%M}: se esperaba «{status.detail.get('expected', '')}» y el "
            f"registro respondió «{status.detail.get('got', '')}»."
        )
    return f"Comprobada el {checked:%d/%m a las %H:%M}: respondió como se esperaba."


@dataclass(frozen=True)
class AlertPanelRow:
    key: str
    label: str
    now: str  # what holds now: "firing" | "ok" | "unknown"
    summary: str  # the figures now, in words
    last_sent_at: dt.datetime | None  # when on-call was last told it fired (None: never)
    told_firing: bool  # on-call's last word on it was "firing" (no "recovered" since)
    link: str  # the console page to look at (a snapshot for the canary), or ""


def _now(reading: alerts.Reading) -> str:
    return "firing" if reading.bad else "ok" if reading.known else "unknown"


def alert_panel(
    *,
    now: dt.datetime | None = None,
    breaker: dict[str, Any] | None = None,
    error_rate: alerts.Reading | None = None,
    stall: alerts.Reading | None = None,
    page_changed: alerts.Reading | None = None,
    runway: dict[str, Any] | None = None,
    source: selectors.SourceView | None = None,
) -> list[AlertPanelRow]:
    """The dashboard's alerts panel: every alert on-call may hear of, read from the same figures the rest of the
    dashboard shows at this moment (the dashboard passes its reads: one read per fact), and apart from that, when
    on-call last heard of it. What is not passed is read here, now."""
    from cedula.admin.spend import spend_panel_view

    now = now or timezone.now()
    if breaker is None:
        read = selectors.breaker_state(now=now)
        breaker = {**read, "gate": gate_banner(read, now=now)}
    error_rate = error_rate or alerts.read_error_rate(now=now)
    stall = stall or alerts.read_stall(now=now, breaker=breaker)
    page_changed = page_changed or alerts.read_page_changed(now=now)
    runway = runway or spend_panel_view(now=now)
    rows = []
    for status in selectors.alert_statuses():
        key = status.key
        link = ""
        if key == AlertKey.ERROR_RATE:
            state, summary = _now(error_rate), _error_rate_now(error_rate)
        elif key == AlertKey.STALL:
            state, summary = _now(stall), _stall_now(stall)
        elif key == AlertKey.PAGE_CHANGED:
            state, summary = _now(page_changed), _page_changed_now(page_changed)
        elif key == AlertKey.CANARY:
            # The canary is a lookup of its own, on a schedule: its last answer is what holds now.
            known = bool(settings.REGISTRY_CANARY_CEDULA and status.checked_at and status.detail)
            state = "firing" if status.firing else "ok" if known else "unknown"
            summary = _canary_now(status)
            if status.detail.get("attempt_id"):
                link = reverse("admin:cedula_lookupattempt_change", args=[status.detail["attempt_id"]])
        else:  # the captcha balance, as the spend panel reads it
            low = runway["runway_low"] or runway["runway_reason"] == "empty"
            state = "firing" if low else "ok" if runway["runway_reason"] in ("rate", "no_spend") else "unknown"
            summary = runway["runway"] + ("" if runway["runway_reason"] == "no_solver" else " " + runway["alert"])
        rows.append(
            AlertPanelRow(
                key=key,
                label=ALERT_LABELS[AlertKey(key)],
                now=state,
                summary=summary,
                last_sent_at=status.last_sent_at,
                told_firing=status.firing,
                link=link,
            )
        )
    # The gate, from the same read as the dashboard's Interruptor card and banner.
    closed = breaker["state"] == Breaker.State.CLOSED and not breaker["paused"]
    if breaker["paused"]:
        summary = f"Consultas en pausa por {breaker.get('paused_by') or '—'}" + (
            f": {breaker['pause_reason']}." if breaker.get("pause_reason") else "."
        )
    elif breaker.get("gate"):
        summary = f"{breaker['gate']['headline']} {breaker['gate']['next_probe']}"
    elif not closed:
        summary = "Consultas detenidas: una prueba decide cuándo reanudar."
    else:
        summary = "Las consultas salen con normalidad."
    rows.append(
        AlertPanelRow(
            key=AlertKey.BREAKER,
            label=ALERT_LABELS[AlertKey.BREAKER],
            now="ok" if closed else "firing",
            summary=summary,
            last_sent_at=None,
            told_firing=False,
            link="",
        )
    )
    # The source in use, from the same read as the "Fuente del registro" card: on-call heard of each switch.
    source = source or selectors.source_view(now=now)
    if len(source.configured) > 1:
        backup = not source.on_first
        label = SOURCES[source.current].label if source.current in SOURCES else source.current
        rows.append(
            AlertPanelRow(
                key=AlertKey.SOURCE,
                label=ALERT_LABELS[AlertKey.SOURCE],
                now="firing" if backup else "ok",
                summary=f"Se consulta en la fuente de respaldo, {label}: {source.reason_label.lower()}."
                if backup
                else "Se consulta en la fuente principal.",
                last_sent_at=source.since if source.switches else None,
                told_firing=backup,
                link="",
            )
        )
    return rows


# The registry page's elements and the fallback ways they were found by (cedula/registry/browser/form.py SELECTORS),
# in the words of a person looking at the page.
DRIFT_ELEMENTS = {
    "nuip": "La casilla del número de cédula",
    "tipo": "La lista del tipo de documento",
    "enviar": "El botón «Consultar»",
    "success": "El área donde aparece la respuesta",
}
DRIFT_WAYS = {
    "name": "por su nombre interno",
    "label": "por el texto de su etiqueta",
    "text": "por el texto del botón",
    "alt-id": "por otro identificador",
    "aria-live": "por ser la zona que la página actualiza",
}


def drift_lines(by_element: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """One line per element found by a fallback way: "El botón «Consultar» ya no está donde solía: se encontró por el
    texto del botón"."""
    lines = []
    for item, n in by_element:
        element, _, way = item.partition(":")
        what = DRIFT_ELEMENTS.get(element, "Un elemento de la página")
        how = DRIFT_WAYS.get(way, "de otra manera")
        lines.append({"text": f"{what} ya no está donde solía: se encontró {how}", "count": n})
    return lines


def source_panel(view: selectors.SourceView, attempts_24h: dict[str, int]) -> dict[str, Any]:
    """The "Fuente del registro" card: which page the worker asks, why, and when it tries the first one again."""
    labels = {name: SOURCES[name].label for name in view.configured}
    lines = []
    if len(view.configured) == 1:
        lines.append(
            "Solo hay una fuente configurada: si su página cambia o no carga, las consultas esperan hasta que se "
            "corrija."
        )
    elif view.on_first:
        backup = ", ".join(labels[name] for name in view.configured[1:])
        lines.append(f"Si esta página cambia o deja de cargar, el trabajo pasa solo a: {backup}.")
    else:
        why = view.reason_label + (f" ({view.detail})" if view.detail else "")
        lines.append(f"Motivo: {why}.")
        first = labels[view.configured[0]]
        if view.next_probe_at:
            lines.append(f"Se volverá a probar «{first}» hacia las {_hour(view.next_probe_at)}.")
        if view.last_probe_at and view.last_probe_said:
            lines.append(f"Última prueba ({_hour(view.last_probe_at)}): {view.last_probe_said}")
    return {
        "current": labels.get(view.current, view.current),
        "on_first": view.on_first,
        "since": view.since,
        "lines": lines,
        "attempts": [(labels[name], attempts_24h.get(name, 0)) for name in view.configured],
        "several": len(view.configured) > 1,
    }


def _hour(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M")
