"""The worker's tasks in staff words: what each one does, how often, and what its last run gave (the Django-Q2 task
and schedule pages, the dashboard's failed-task table). No dotted path, schedule key or Python value reaches a screen.
"""

from __future__ import annotations

from typing import Any

# dotted function -> what it does, in Spanish
TASK_LABELS: dict[str, str] = {
    "cedula.tasks.lookup_next": "Consulta al registro",
    "cedula.tasks.dispatch": "Reparto de consultas (red de seguridad)",
    "cedula.tasks.check_error_rate": "Vigilancia de la tasa de errores",
    "cedula.tasks.revalidate": "Revalidación de cédulas antiguas",
    "cedula.tasks.retention_purge": "Borrado por retención de datos",
    "cedula.tasks.import_previews_expire": "Limpieza de vistas previas de importación",
    "ops.accounts.tasks.refresh_requests_purge": "Limpieza de solicitudes de actualización",
    "cedula.tasks.check_stall": "Vigilancia de cola detenida",
    "cedula.tasks.check_page_changed": "Vigilancia de cambios en la página del registro",
    "cedula.tasks.read_captcha_balance": "Lectura del saldo de captchas",
    "cedula.tasks.run_canary": "Consulta de la cédula de control",
}
_ALERT_RESULTS = {
    "fired": "alerta enviada a guardia",
    "recovered": "recuperación avisada a guardia",
    None: "sin cambios",
}
_CANARY_RESULTS = {
    "matched": "respondió como se esperaba",
    "mismatch": "respondió distinto de lo esperado",
    "skipped": "no se consultó (consultas en pausa o sin turno)",
    "error": "la consulta falló",
}
_BALANCE_RESULTS = {"read": "saldo leído", "no_solver": "sin resolvedor configurado"}


def task_label(func: str | None, name: str | None = None) -> str:
    return TASK_LABELS.get(func or "", name or func or "—")


def _count(n: Any, one: str, many: str) -> str:
    try:
        value = int(n)
    except (TypeError, ValueError):
        return str(n)
    return f"{value:,}".replace(",", ".") + " " + (one if value == 1 else many)


def result_text(func: str | None, result: Any) -> str:
    """A task's return value in words; an unknown task's value as short text."""
    func = func or ""
    if func == "cedula.tasks.lookup_next":
        return _count(result, "consulta hecha", "consultas hechas")
    if func == "cedula.tasks.dispatch":
        return _count(result, "tique repartido", "tiques repartidos")
    if func in ("cedula.tasks.check_error_rate", "cedula.tasks.check_stall", "cedula.tasks.check_page_changed"):
        return _ALERT_RESULTS.get(result, str(result))
    if func == "cedula.tasks.revalidate":
        return _count(result, "cédula puesta en cola", "cédulas puestas en cola")
    if func == "cedula.tasks.retention_purge" and isinstance(result, dict):
        return (
            f"{_count(result.get('attempts_deleted', 0), 'intento borrado', 'intentos borrados')}, "
            f"{_count(result.get('snapshots_blanked', 0), 'captura vaciada', 'capturas vaciadas')}"
        )
    if func in ("cedula.tasks.import_previews_expire", "ops.accounts.tasks.refresh_requests_purge"):
        return (
            _count(result, "archivo borrado", "archivos borrados")
            if "previews" in func
            else _count(result, "solicitud borrada", "solicitudes borradas")
        )
    if func == "cedula.tasks.read_captcha_balance":
        return _BALANCE_RESULTS.get(result, f"el resolvedor respondió {result}")
    if func == "cedula.tasks.run_canary":
        return _CANARY_RESULTS.get(result, str(result))
    if result is None:
        return "sin resultado"
    return str(result)[:80]


def interval_text(schedule_type: str, minutes: int | None) -> str:
    """ "Cada minuto", "Cada 15 minutos", "Cada hora", "Cada día" (Django-Q2's schedule types beyond MINUTES named)."""
    if schedule_type == "I" and minutes:
        if minutes % (24 * 60) == 0:
            days = minutes // (24 * 60)
            return "Cada día" if days == 1 else f"Cada {days} días"
        if minutes % 60 == 0:
            hours = minutes // 60
            return "Cada hora" if hours == 1 else f"Cada {hours} horas"
        return "Cada minuto" if minutes == 1 else f"Cada {minutes} minutos"
    return SCHEDULE_TYPES.get(schedule_type, "—")


SCHEDULE_TYPES = {
    "O": "Una vez",
    "H": "Cada hora",
    "D": "Cada día",
    "W": "Cada semana",
    "BW": "Cada dos semanas",
    "M": "Cada mes",
    "BM": "Cada dos meses",
    "Q": "Cada trimestre",
    "Y": "Cada año",
    "C": "Según calendario (cron)",
}
