"""Captcha spend on screen: the Spanish copy of the dashboard's panel and the batch page's card (the numbers come from
cedula.captcha_spend)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import formats, timezone

from cedula import captcha_spend
from cedula.captcha_spend import BatchSpend, Runway, Spend, SpendPanel

# The solver's codes an operator meets on a balance reading, in words (the others are shown as they come).
BALANCE_ERRORS = {
    "ERROR_WRONG_USER_KEY": "la clave del resolvedor (CAPTCHA_API_KEY) está vacía o mal escrita",
    "ERROR_KEY_DOES_NOT_EXIST": "el resolvedor no reconoce la clave (CAPTCHA_API_KEY)",
    "ERROR_IP_NOT_ALLOWED": "el resolvedor no acepta llamadas desde esta IP",
    "ERROR_IP_BANNED": "el resolvedor bloqueó esta IP",
    "unreachable": "el resolvedor no responde",
}


def decimal(value: float, decimals: int, *, grouping: bool = False) -> str:
    # Django's number_format cuts the digits past decimal_pos; money and rates are rounded.
    return formats.number_format(round(value, decimals), decimal_pos=decimals, use_l10n=True, force_grouping=grouping)


def usd(value: float, decimals: int = 2) -> str:
    return "USD " + decimal(value, decimals, grouping=True)


def count(value: int) -> str:
    return formats.number_format(value, use_l10n=True, force_grouping=True)


def plural(n: int | float, one: str, many: str) -> str:
    return one if n == 1 else many


def solved_text(n: int) -> str:
    return f"{count(n)} {plural(n, 'resuelto', 'resueltos')}"


def spend_line(spend: Spend) -> str:
    """ "12 resueltos (USD 0,04): 11 usados, 1 rechazado, 0 perdidos" """
    return (
        f"{count(spend.solved)} {plural(spend.solved, 'resuelto', 'resueltos')} ({usd(spend.cost_usd)}): "
        f"{count(spend.used)} {plural(spend.used, 'usado', 'usados')}, "
        f"{count(spend.refused)} {plural(spend.refused, 'rechazado', 'rechazados')}, "
        f"{count(spend.wasted)} {plural(spend.wasted, 'perdido', 'perdidos')}"
    )


def loss_text(spend: Spend) -> str:
    rate = spend.loss_rate
    if rate is None:
        return "sin captchas resueltos todavía"
    pct = decimal(rate * 100, 1)
    return f"{pct}\u00a0% rechazados o perdidos"  # the sign stays with its number on a narrow screen


def days_text(days: float) -> str:
    if days < 1:
        return "menos de un día"
    whole = int(days)
    return f"{count(whole)} {plural(whole, 'día', 'días')}"


def runway_text(runway: Runway) -> str:
    """ "alcanza para N días" at today's rate, or why there is no such figure."""
    if runway.reason == "no_solver":
        return "No hay resolvedor de captcha configurado: no se gasta nada y no hay saldo que leer."
    if runway.reason == "unread":
        return "Todavía no se ha podido leer el saldo: sin cálculo de cuánto alcanza."
    if runway.reason == "empty":
        return "Saldo agotado: los captchas no se resuelven hasta que se recargue."
    if runway.reason == "no_spend":
        return "Hoy no se ha gastado nada: al ritmo de hoy el saldo no se agota."
    assert runway.days is not None
    return f"Al ritmo de hoy ({usd(runway.rate_per_day_usd)} al día) alcanza para {days_text(runway.days)}."


def balance_text(panel: SpendPanel) -> str:
    row = panel.balance
    if not panel.solver:
        return "sin resolvedor"
    if row is None or row.checked_at is None:
        return "sin leer todavía (se lee cada 15 min)"
    parts = []
    if row.balance_usd is not None and row.read_at is not None:
        parts.append(f"{usd(row.balance_usd)} (leído el {_when(row.read_at)})")
    if row.error_code:
        reason = BALANCE_ERRORS.get(row.error_code, row.error_code)
        parts.append(f"la última lectura falló el {_when(row.checked_at)}: {reason}")
    return "; ".join(parts) or "sin leer todavía"


def _when(moment: dt.datetime) -> str:
    return f"{timezone.localtime(moment):%d/%m %H:%M}"


def spend_panel_view(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """The dashboard's "Gasto en captchas" card."""
    now = now or timezone.now()
    panel = captcha_spend.spend_panel(now=now)
    days = captcha_spend.spend_by_day(days=7, now=now)
    return {
        "days": [
            {"day": f"{d.day:%d/%m}", "cost": usd(d.spend.cost_usd), "solved": solved_text(d.spend.solved)}
            for d in reversed(days)
        ],
        "solver": panel.solver,
        "today_cost": usd(panel.today.cost_usd),
        "today_line": spend_line(panel.today),
        "today_loss": loss_text(panel.today),
        "month_cost": usd(panel.month.cost_usd),
        "month_line": spend_line(panel.month),
        "balance": balance_text(panel),
        "balance_failed": bool(panel.balance and panel.balance.error_code),
        "runway": runway_text(panel.runway),
        "runway_reason": panel.runway.reason,
        "runway_low": panel.runway_low,
        "price": f"{usd(panel.price_per_1000_usd)} por 1.000 captchas",
        "alert": (
            f"Alerta a guardia si alcanza para menos de {days_text(panel.alert_days)}."
            if panel.alert_days
            else "Sin alerta de saldo a guardia (apagada en la configuración)."
        ),
    }


BASIS_TEXT = {
    "batch": "según lo observado en este lote",
    "recent": "según lo observado en los últimos 30 días",
    "price": "sin captchas observados todavía: un captcha por cédula",
}


def batch_spend_view(*, batch_id: int, rows_left: int) -> dict[str, Any]:
    """The batch page's "Gasto en captchas" card: so far, and to finish."""
    estimate: BatchSpend = captcha_spend.batch_spend_estimate(batch_id=batch_id, rows_left=rows_left)
    spend = estimate.so_far
    ratio = estimate.solves_per_row
    per_row = count(int(ratio)) if ratio == int(ratio) else decimal(ratio, 2)
    if not estimate.solver:
        to_finish = "No hay resolvedor de captcha configurado: terminar el lote no gasta captchas."
    elif rows_left == 0:
        to_finish = "Nada por consultar: el lote no gastará más."
    else:
        to_finish = (
            f"{count(rows_left)} {plural(rows_left, 'cédula', 'cédulas')} por consultar × {per_row} "
            f"{plural(ratio, 'captcha', 'captchas')} por cédula ({BASIS_TEXT[estimate.basis]})"
        )
    return {
        "so_far_cost": usd(spend.cost_usd),
        "so_far_line": spend_line(spend),
        "loss": loss_text(spend),
        "to_finish_cost": usd(estimate.to_finish_usd),
        "to_finish_line": to_finish,
        "price": f"{usd(spend.price_per_solve_usd * 1000)} por 1.000 captchas",
    }
