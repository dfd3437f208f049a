"""The solver's balance, read on a schedule (getbalance is free), and the runway alert it feeds.

No solver configured: nothing is read and the row says so. A failed reading keeps the last good balance (the console
shows both) and changes no alert: an unreadable balance is no evidence that it lasts, nor that it does not.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import structlog
from django.conf import settings
from django.utils import timezone

from cedula import alerts, captcha_spend
from cedula.models import CaptchaBalance
from cedula.registry.captcha import CaptchaError, make_solver
from cedula.selectors.alerts import AlertKey

logger = structlog.get_logger(__name__)

RUNWAY_KEY = AlertKey.CAPTCHA_RUNWAY
# While the runway stays short on-call is reminded once a day, not at every reading; a runway that flaps around the
# threshold within a day pages once.
RUNWAY_ALERT_COOLDOWN_MIN = 24 * 60


def captcha_balance_read(*, now: dt.datetime | None = None) -> CaptchaBalance:
    """Read the balance, store it on the state row (pk=1), then check the runway. Never raises for the solver."""
    now = now or timezone.now()
    solver = make_solver(
        kind=settings.CAPTCHA_SOLVER, api_url=settings.CAPTCHA_API_URL, api_key=settings.CAPTCHA_API_KEY
    )
    row, _ = CaptchaBalance.objects.get_or_create(pk=1)
    row.checked_at = now
    if solver is None:
        row.solver, row.balance_usd, row.read_at, row.error_code, row.error = "", None, None, "", ""
        row.save()
        logger.info("captcha_balance_skipped", reason="no_solver")
        captcha_runway_check(now=now, reading=row)  # changes no alert; the console's alerts card says why
        return row
    row.solver = solver.name
    try:
        balance = asyncio.run(solver.get_balance())
    except CaptchaError as exc:
        row.error_code, row.error = (exc.code or "unreachable")[:64], str(exc)[:255]
        row.save()
        logger.warning("captcha_balance_failed", solver=solver.name, code=exc.code)
        return row
    row.balance_usd, row.read_at, row.error_code, row.error = balance, now, "", ""
    row.save()
    logger.info("captcha_balance_read", solver=solver.name, balance_usd=balance)
    captcha_runway_check(now=now, reading=row)
    return row


def captcha_runway_check(*, now: dt.datetime, reading: CaptchaBalance) -> str | None:
    """Fire when the balance lasts fewer than CAPTCHA_RUNWAY_ALERT_DAYS at today's rate, recover when it lasts longer
    again (or nothing is spent today). Returns "fired", "recovered" or None (nothing sent)."""
    threshold = float(settings.CAPTCHA_RUNWAY_ALERT_DAYS)
    spent = captcha_spend.spend_today(now=now).cost_usd
    runway = captcha_spend.runway(
        balance_usd=reading.balance_usd, spent_today_usd=spent, now=now, solver=bool(reading.solver)
    )
    known = bool(threshold) and runway.reason in ("empty", "no_spend", "rate")
    bad = known and runway.days is not None and runway.days < threshold
    data = {
        "balance_usd": reading.balance_usd,
        "runway_days": None if runway.days is None else round(runway.days, 2),
        "rate_per_day_usd": round(runway.rate_per_day_usd, 4),
        "spent_today_usd": round(spent, 4),
        "threshold_days": threshold,
        "reason": runway.reason,
    }
    action = alerts.transition(
        key=RUNWAY_KEY, bad=bad, known=known, now=now, cooldown_min=RUNWAY_ALERT_COOLDOWN_MIN, detail=data
    )
    if action == "fired":
        message = (
            "captcha solver balance is empty"
            if runway.reason == "empty"
            else f"captcha solver balance lasts {data['runway_days']} days at today's rate"
        )
    else:
        message = "captcha solver balance lasts again at today's rate"
    return alerts.announce(action, alert=AlertKey.CAPTCHA_RUNWAY, message=message, data=data)
