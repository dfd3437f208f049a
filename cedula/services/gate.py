"""Throttle and breaker: whether a request may leave for the registry now.

The throttle is one row for the deployment (`THROTTLE_PK`) holding the next free request slot; the breaker is one row
(`BREAKER_PK`), the gate over system failures (its state machine: cedula.services.outage; its probe:
cedula.services.probe), which also holds the console's manual pause. Claims read both (cedula.services.claims);
outcomes feed the breaker (cedula.services.outcomes); staff pause and resume it (cedula.services.queueing).
"""

from __future__ import annotations

import datetime as dt

import structlog
from django.conf import settings
from django.utils import timezone

from cedula import alerts, budget
from cedula.models import BREAKER_PK, THROTTLE_PK, Breaker, Priority, Throttle
from cedula.selectors.budget import lookups_used_today
from cedula.services.outage import breaker_blocks_claims, breaker_observe

__all__ = ["breaker_blocks_claims", "breaker_observe"]  # re-exported: claims and outcomes import them from here

logger = structlog.get_logger(__name__)


def bulk_gate(now: dt.datetime) -> tuple[bool, float | None]:
    """(may non-interactive lookups run now, seconds until they may again). The operator's daily budget
    (REGISTRY_MAX_PER_DAY, a Bogotá day) and quiet hours (REGISTRY_QUIET_HOURS); interactive lookups ignore both.

    The day's use counts recorded attempts plus what workers hold now, so a budget is never overrun by the lookups in
    flight."""
    quiet = budget.parse_quiet_hours(settings.REGISTRY_QUIET_HOURS)
    max_per_day = settings.REGISTRY_MAX_PER_DAY
    if quiet is None and not max_per_day:
        return True, None
    local = timezone.localtime(now)
    used = lookups_used_today(now=now) if max_per_day else 0
    if budget.bulk_allowed(local=local, used_today=used, max_per_day=max_per_day, quiet=quiet):
        return True, None
    reopens = budget.bulk_reopens_at(local=local, used_today=used, max_per_day=max_per_day, quiet=quiet)
    return False, (reopens - local).total_seconds() if reopens else None


# Inside quiet hours or past the budget only rows at this priority or above are handed out.
GATED_MIN_PRIORITY = Priority.INTERACTIVE


def throttle_wait_s() -> float:
    """Seconds until the next request slot (0 when one is free). A read: it reserves nothing."""
    slot = Throttle.objects.filter(pk=THROTTLE_PK).values_list("next_slot_at", flat=True).first()
    if slot is None:
        return 0.0
    return max(0.0, (slot - timezone.now()).total_seconds())


def breaker_get() -> Breaker:
    return Breaker.objects.get_or_create(pk=BREAKER_PK)[0]


def breaker_locked() -> Breaker:
    """The breaker row, locked for the rest of the caller's transaction."""
    return Breaker.objects.select_for_update().get_or_create(pk=BREAKER_PK)[0]


def breaker_announce(change: str, *, cause: str = "") -> None:
    """Tell the logs and on-call that the gate opened (for a cause) or closed, after the change committed. Once per
    change: a probe that finds the cause still there says nothing (no storm while it stays open)."""
    breaker = breaker_get()
    event = "breaker_opened" if change == "opened" else "breaker_closed"
    cause = cause or breaker.cause
    logger.warning(event, cause=cause, cooldown_s=breaker.cooldown_s, open_until=str(breaker.open_until or ""))
    alerts.breaker_changed(opened=change == "opened", cooldown_s=breaker.cooldown_s, cause=cause)
