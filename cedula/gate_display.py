"""What the console says while the gate is open: one sentence per cause, since when (Bogotá time), the next probe.

The one place the Spanish copy of each system cause lives (the dashboard and the cedulas list show the same banner;
docs/oncall.md has a section per cause). Pure but for the time zone: it takes selectors.breaker_state's dict.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from cedula.registry.failures import Cause


@dataclass(frozen=True)
class CauseCopy:
    headline: str  # what stopped; "desde las HH:MM" follows
    advice: str  # what staff can do about it


CAUSE_COPY: dict[str, CauseCopy] = {
    Cause.REGISTRY_DOWN: CauseCopy(
        "El registro no responde",
        "No hace falta hacer nada: una prueba carga la página del registro, sin consultar ninguna cédula, y las "
        "consultas siguen solas cuando responda.",
    ),
    Cause.BLOCKED: CauseCopy(
        "El registro está bloqueando nuestras consultas",
        "Espere: cada prueba que sigue bloqueada alarga la pausa. No cambie de red ni acelere el ritmo.",
    ),
    Cause.SOLVER_BALANCE: CauseCopy(
        "El resolvedor de captcha no tiene saldo",
        "Recargue la cuenta del resolvedor: la próxima prueba consulta el saldo y reanuda sola.",
    ),
    Cause.SOLVER_KEY: CauseCopy(
        "El resolvedor de captcha rechaza nuestra clave",
        "Corrija la clave del resolvedor en la configuración y reinicie el trabajador, o pulse «Probar ahora».",
    ),
    Cause.SOLVER_UNAVAILABLE: CauseCopy(
        "El resolvedor de captcha no está disponible",
        "El servicio del resolvedor falla o no se alcanza: la próxima prueba consulta el saldo y reanuda sola.",
    ),
    Cause.NO_SOLVER: CauseCopy(
        "El registro pide captcha y no hay resolvedor configurado",
        "Configure un resolvedor de captcha y reinicie el trabajador, o pulse «Probar ahora».",
    ),
}
UNKNOWN_CAUSE = CauseCopy("Las consultas fallan por una causa del sistema", "Una prueba decide cuándo reanudar.")


def since_text(since: dt.datetime, *, now: dt.datetime) -> str:
    """ "desde las 02:14" today (Bogotá), "desde el 03/12 a las 23:50" on another day."""
    local, today = timezone.localtime(since), timezone.localtime(now)
    if local.date() == today.date():
        return f"desde las {local:%H:%M}"
    return f"desde el {local:%d/%m} a las {local:%H:%M}"


def next_probe_text(state: dict[str, Any], *, now: dt.datetime) -> str:
    wait = state.get("next_probe_in_s")
    if state.get("state") == "half_open":
        return "Prueba en curso."
    if wait is None:
        return "Sin prueba automática: espera una nueva configuración del trabajador o «Probar ahora»."
    if wait < 1:
        return "Próxima prueba: en unos segundos."
    at = timezone.localtime(now + dt.timedelta(seconds=wait))
    minutes = round(wait / 60)
    within = f"en {minutes} minuto{'s' if minutes != 1 else ''}" if wait >= 90 else f"en {wait:.0f} s"
    return f"Próxima prueba a las {at:%H:%M:%S} ({within})."


def gate_banner(state: dict[str, Any], *, now: dt.datetime | None = None) -> dict[str, str] | None:
    """The banner's lines, or None while the gate is closed (a manual pause has its own line)."""
    if not state.get("cause") or state.get("state") == "closed":
        return None
    now = now or timezone.now()
    copy = CAUSE_COPY.get(state["cause"], UNKNOWN_CAUSE)
    since = state.get("cause_since")
    headline = copy.headline
    if since:
        headline += " " + since_text(dt.datetime.fromisoformat(since), now=now)
    probes = int(state.get("probes") or 0)
    return {
        "cause": state["cause"],
        "headline": headline + ".",
        "paused": "Todas las consultas están en pausa. Las cédulas en cola esperan en su lugar y no gastan reintentos.",
        "next_probe": next_probe_text(state, now=now),
        "probes": f"{probes} prueba{'s' if probes != 1 else ''} desde que se pausó." if probes else "",
        "advice": copy.advice,
    }
