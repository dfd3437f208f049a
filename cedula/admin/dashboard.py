"""Unfold DASHBOARD_CALLBACK: the console's front page, and the fragment it reloads every 30 s."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from cedula import alerts, display, permissions, selectors
from cedula.admin import presenters
from cedula.admin.spend import spend_panel_view
from cedula.admin.working import working_view_context
from cedula.gate_display import gate_banner
from cedula.models import ErrorKind, LookupAttempt, Status
from cedula.normalize import scrub_text
from cedula.task_words import task_label

STATUS_ICONS: dict[str, str] = {
    "queued": "schedule",
    Status.PENDING: "hourglass_top",
    Status.ACTIVE: "how_to_vote",
    Status.CANCELLED: "block",
    Status.NOT_FOUND: "person_search",
    Status.ERROR: "error",
    Status.WITHDRAWN: "cancel_schedule_send",
}


def dashboard_callback(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    context.update(dashboard_context(request))
    return context


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    """Everything the panel shows; empty for staff who may not view cedulas (the panel then says so)."""
    if not request.user.has_perm(permissions.VIEW_CEDULAS):
        return {"console_allowed": False}
    now = timezone.now()
    changelist = reverse("admin:cedula_cedulainfo_changelist")
    series = selectors.hourly_outcomes(hours=48, now=now)
    breaker = breaker_view(now=now)
    worker = selectors.worker_health(now=now)
    queue = selectors.queue_counts(now=now)
    # One read per fact: the error-rate headline, the alerts panel and the page-changed row share these.
    window = selectors.lookup_error_rate(window_min=settings.ERROR_RATE_WINDOW_MIN, now=now)
    error_rate = alerts.read_error_rate(now=now, stats=window)
    spend = spend_panel_view(now=now)
    source = selectors.source_view(now=now)
    counts = display.state_counts(
        by_status=selectors.status_counts(), queued_by_status=selectors.queued_status_counts(queued_total=queue.total)
    )
    return {
        "console_allowed": True,
        "generated_at": now,
        # One card per state a row reads as (cedula/display.py): a queued row counts under "En cola" only.
        "status_cards": [
            {
                "status": state,
                "label": display.STATES[state].label,
                "count": counts[state],
                "icon": STATUS_ICONS[state],
                "href": f"{changelist}?cola=si" if state == "queued" else f"{changelist}?status__exact={state}&cola=no",
            }
            for state in ["queued", *display.IDLE_STATES]
            if state not in (Status.PENDING, Status.WITHDRAWN) or counts[state]
        ],
        "total": sum(counts.values()),
        "queue": queue,
        "throughput_chart": json.dumps(_throughput_chart(series)),
        "throughput_options": json.dumps(_stacked_options()),
        "error_rate_chart": json.dumps(_error_rate_chart(series)),
        "error_rate_options": json.dumps(_error_rate_options()),
        "lookups_48h": sum(series.totals),
        "error_threshold_pct": round(settings.ERROR_RATE_THRESHOLD * 100),
        "error_rate_now": error_rate.data,
        "error_rate_known": error_rate.known,
        "error_rate_pct": f"{error_rate.data['rate'] * 100:.1f}".replace(".", ","),
        "error_rate_min_attempts": settings.ERROR_RATE_MIN_ATTEMPTS,
        "worker": worker,
        "worker_silent": worker.heartbeat_age_s is None or worker.heartbeat_age_s > settings.WORKER_SILENT_AFTER_S,
        "breaker": breaker,
        "can_pause": request.user.has_perm(permissions.PAUSE),
        "can_probe": request.user.has_perm(permissions.PROBE),
        "failures_table": _failures_table(selectors.recent_lookup_failures(limit=10)),
        "worker_failures_table": _worker_failures_table(worker.recent_failures),
        "batches": selectors.import_batch_progress(limit=5),
        "registry_drift": (drift := selectors.registry_drift(hours=24, now=now)),
        "registry_drift_lines": presenters.drift_lines(drift.by_element),
        "registry_source": presenters.source_panel(source, selectors.source_attempts_24h(now=now)),
        "budget": selectors.budget_state(now=now),
        "changelist_url": changelist,
        "changes_7d": changes_view(now=now),
        "alerts_panel": presenters.alert_panel(
            now=now,
            breaker=breaker,
            error_rate=error_rate,
            stall=alerts.read_stall(now=now, breaker=breaker, due=queue.due_now),
            page_changed=alerts.read_page_changed(now=now, stats=window),
            runway=spend,
            source=source,
        ),
        "captcha_spend": spend,
        **working_view_context(next_n=3, recent_n=5),
    }


def changes_view(*, now: dt.datetime, days: int = 7) -> dict[str, Any]:
    """selectors.changes_by_kind with the links of the card (the Cambios list filtered by kind, since `days` ago)."""
    from cedula.models import CedulaChange

    counts = selectors.changes_by_kind(days=days, now=now)
    since = timezone.localtime(now - dt.timedelta(days=days))
    changes = reverse("admin:cedula_cedulachange_changelist")
    window = f"changed_at_from_0={since:%Y-%m-%d}&changed_at_from_1={since:%H:%M}"
    return {
        "total": sum(counts.values()),
        "href": f"{changes}?{window}",
        "kinds": [
            {"kind": kind, "label": label, "count": counts[kind], "href": f"{changes}?kind__exact={kind}&{window}"}
            for kind, label in CedulaChange.Kind.choices
        ],
    }


def breaker_view(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """selectors.breaker_state plus the datetimes a template shows."""
    now = now or timezone.now()
    state = selectors.breaker_state(now=now)
    paused_at = state.get("paused_at")
    return {
        **state,
        "gate": gate_banner(state, now=now),
        "paused_at_dt": dt.datetime.fromisoformat(paused_at) if paused_at else None,
        "resume_at": now + dt.timedelta(seconds=state["resume_in_s"]) if state.get("resume_in_s") else None,
    }


def message_html(text: str, *, preview: int = 60) -> str:
    """A failure message that fits a table cell: cut at a word, the whole text one click away."""
    if len(text) <= preview:
        return format_html('<span class="cc-msg">{}</span>', text)
    cut = text[:preview].rsplit(" ", 1)[0] if " " in text[:preview] else text[:preview]
    return format_html(
        '<details class="cc-msg"><summary title="Ver el mensaje completo">{}…</summary><div>{}</div></details>',
        cut,
        text,
    )


def _failures_table(failures: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "headers": ["última falla", "cédula", "fallas", "tipo de error", "mensaje"],
        "rows": [
            [
                display.format_staff_time(f["started_at"]),
                format_html(
                    '<a class="text-primary-600 underline" href="{}">{}</a>',
                    reverse("admin:cedula_cedulainfo_change", args=[f["cedula_id"]]),
                    f["cedula"],
                ),
                f["failures"],
                ErrorKind(f["error_kind"]).label if f["error_kind"] in ErrorKind.values else f["error_kind"],
                message_html(f["message"]),
            ]
            for f in failures
        ],
    }


def _worker_failures_table(failures: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "headers": ["hora", "tarea", "resultado"],
        "rows": [
            [
                display.format_staff_time(f["stopped"]),
                task_label(f["func"], f["name"]),
                message_html(scrub_text(str(f["result"] or ""))),
            ]
            for f in failures
        ],
    }


def _hour_labels(series: selectors.HourlyOutcomes) -> list[str]:
    return [timezone.localtime(h).strftime("%d/%m %Hh") for h in series.hours]


def _throughput_chart(series: selectors.HourlyOutcomes) -> dict[str, Any]:
    return {
        "labels": _hour_labels(series),
        "datasets": [
            {
                "label": LookupAttempt.Outcome(outcome).label,
                "data": counts,
                "backgroundColor": display.CHART_COLORS[display.OUTCOME_COLORS[outcome]],
                "stack": "lookups",
            }
            for outcome, counts in series.counts.items()
        ],
    }


def _error_rate_chart(series: selectors.HourlyOutcomes) -> dict[str, Any]:
    threshold = round(settings.ERROR_RATE_THRESHOLD * 100, 1)
    return {
        "labels": _hour_labels(series),
        "datasets": [
            {
                "label": "Tasa de error (%)",
                "data": [None if r is None else round(r * 100, 1) for r in series.error_rates],
                "borderColor": display.CHART_COLORS[display.OUTCOME_COLORS[LookupAttempt.Outcome.ERROR]],
                "backgroundColor": display.CHART_COLORS[display.OUTCOME_COLORS[LookupAttempt.Outcome.ERROR]],
                "spanGaps": True,
            },
            {
                "label": f"Umbral de alerta ({threshold:g} %)",
                "data": [threshold] * len(series.hours),
                "borderColor": "#9ca3af",
                "borderDash": [6, 4],
                "pointRadius": 0,
            },
        ],
    }


def _base_options() -> dict[str, Any]:
    # Passing options replaces Unfold's defaults in its chart script, so the look is restated here.
    return {
        "responsive": True,
        "maintainAspectRatio": False,
        "animation": False,
        "plugins": {
            "legend": {"display": True, "align": "end", "labels": {"boxWidth": 8, "boxHeight": 8, "color": "#9ca3af"}},
            "tooltip": {"enabled": True, "mode": "index", "intersect": False},
        },
    }


def _stacked_options() -> dict[str, Any]:
    options = _base_options()
    options["scales"] = {
        "x": {"stacked": True, "grid": {"display": False}, "ticks": {"color": "#9ca3af", "maxTicksLimit": 12}},
        "y": {"stacked": True, "beginAtZero": True, "ticks": {"color": "#9ca3af"}},
    }
    return options


def _error_rate_options() -> dict[str, Any]:
    options = _base_options()
    options["scales"] = {
        "x": {"grid": {"display": False}, "ticks": {"color": "#9ca3af", "maxTicksLimit": 12}},
        "y": {"beginAtZero": True, "suggestedMax": 100, "ticks": {"color": "#9ca3af"}},
    }
    return options
