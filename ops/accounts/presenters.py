"""What a person sees of their own lookup, in Spanish and Colombian time: one payload for /estado.json and the pages.

The pages render from the same dict the JSON endpoint returns, so what the script writes in place after a poll is
what a reload would show. Internals (last_error, error_kind, attempts, queue fields) never enter it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from cedula.models import Status
from ops.accounts.selectors import PublicStatus, RefreshAllowance

# The public is in Colombia whatever the server's TIME_ZONE says.
BOGOTA = ZoneInfo("America/Bogota")

RESULT_FIELDS: dict[str, tuple[str, ...]] = {
    Status.ACTIVE: ("departamento", "municipio", "puesto", "direccion", "mesa"),
    Status.CANCELLED: ("novedad", "resolucion", "fecha_novedad"),
}


def _clock(moment: dt.datetime) -> str:
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment:%M} {'a. m.' if moment.hour < 12 else 'p. m.'}"


def format_datetime(moment: dt.datetime) -> str:
    local = moment.astimezone(BOGOTA)
    return f"{local:%d/%m/%Y} {_clock(local)}"


def format_moment(moment: dt.datetime, *, now: dt.datetime) -> str:
    """A moment in Bogotá time: 'hoy a las 3:45 p. m.', 'mañana a la 1:05 a. m.', 'el 14/03/2025 a las 9:00 a. m.'."""
    local, today = moment.astimezone(BOGOTA), now.astimezone(BOGOTA).date()
    at = "a la" if local.hour % 12 == 1 else "a las"
    if local.date() == today:
        day = "hoy"
    elif local.date() == today + dt.timedelta(days=1):
        day = "mañana"
    else:
        day = f"el {local:%d/%m/%Y}"
    return f"{day} {at} {_clock(local)}"


def refresh_message(refresh: RefreshAllowance, *, now: dt.datetime) -> str:
    when = (
        f"Podrás volver a hacerlo {format_moment(refresh.next_allowed_at, now=now)} (hora de Colombia)."
        if refresh.next_allowed_at
        else ""
    )
    per_hour, per_day = settings.REFRESH_MAX_PER_HOUR, settings.REFRESH_MAX_PER_DAY
    messages = {
        "allowed": "",
        "checking": "Estamos verificando tu cédula; podrás pedir otra actualización cuando termine.",
        "hourly_limit": (f"Ya pediste {_times(per_hour)} en la última hora, el máximo por hora. {when}"),
        "daily_limit": f"Ya pediste {_times(per_day)} en las últimas 24 horas, el máximo por día. {when}",
        "no_cedula": "Tu cuenta no tiene una cédula asociada.",
        "disabled": "Las actualizaciones no están disponibles en este momento.",
    }
    return messages.get(refresh.reason, "").strip()


def _times(n: int) -> str:
    return "una actualización" if n == 1 else f"{n} actualizaciones"


def visible_panels(*, status: str | None, checking: bool, has_cedula: bool, checked: bool) -> list[str]:
    """Which parts of the status card show. The script only toggles these names, so the rule lives here once."""
    if not has_cedula:
        return ["no_cedula"]
    if status is None:
        return ["never_checked"]
    if checking:
        # A refresh keeps the last final answer on screen under the spinner; an old error is not worth repeating.
        panels = ["checking"] + (["previous", status] if status in RESULT_FIELDS or status == Status.NOT_FOUND else [])
    else:
        panels = [status]
    return panels + (["last_checked"] if checked else [])


def status_payload(status: PublicStatus, *, now: dt.datetime) -> dict[str, Any]:
    info = status.info
    result: dict[str, str] = {}
    if info is not None:
        for field in RESULT_FIELDS.get(info.status, ()):
            value = getattr(info, field)
            if isinstance(value, dt.date):
                result[field] = value.isoformat()
                result[f"{field}_display"] = f"{value:%d/%m/%Y}"
            else:
                result[field] = value or ""
    refresh = status.refresh
    has_cedula = info is not None or refresh.reason != "no_cedula"
    return {
        "has_cedula": has_cedula,
        "status": info.status if info is not None else None,
        "status_label": info.get_status_display() if info is not None else "",
        "checking": status.checking,
        "panels": visible_panels(
            status=info.status if info is not None else None,
            checking=status.checking,
            has_cedula=has_cedula,
            checked=bool(info is not None and info.last_checked),
        ),
        "result": result,
        "last_checked": info.last_checked.isoformat() if info is not None and info.last_checked else None,
        "last_checked_display": format_datetime(info.last_checked) if info is not None and info.last_checked else "",
        "refresh": {
            "allowed": refresh.allowed,
            "reason": refresh.reason,
            "next_allowed_at": refresh.next_allowed_at.isoformat() if refresh.next_allowed_at else None,
            "next_allowed_display": (
                format_moment(refresh.next_allowed_at, now=now) if refresh.next_allowed_at else ""
            ),
            "message": refresh_message(refresh, now=now),
        },
    }


def refusal_message(*, reason: str, next_allowed_at: dt.datetime | None, now: dt.datetime) -> str:
    """The flash message after a refused "Actualizar datos" (same wording as the hint under the button)."""
    refresh = RefreshAllowance(
        allowed=False, reason=reason, next_allowed_at=next_allowed_at, used_last_hour=0, used_last_day=0
    )
    return "No pudimos pedir la actualización. " + refresh_message(refresh, now=now)
