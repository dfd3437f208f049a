"""Throttle and breaker: whether a request may leave for the registry now.

The throttle is one row per egress (`throttle_key`) holding the next free request slot; the breaker is one row
(`BREAKER_PK`) that opens after REGISTRY_BREAKER_THRESHOLD consecutive `blocked` answers, lets one probe through when
its cooldown ends, and holds the console's manual pause. Claims read both (cedula.services.claims); outcomes feed the
breaker (cedula.services.outcomes); staff pause and resume it (cedula.services.queueing).
"""

from __future__ import annotations

import datetime as dt

import structlog
from django.conf import settings
from django.utils import timezone

from cedula import alerts
from cedula.models import BREAKER_PK, Breaker, CedulaInfo, Throttle

logger = structlog.get_logger(__name__)


def throttle_key() -> str:
    """Processes that leave through the same IP share one gap (the registry limits per IP)."""
    return f"registry:{settings.REGISTRY_EGRESS_ID}"


def throttle_wait_s() -> float:
    """Seconds until the next request slot (0 when one is free). A read: it reserves nothing."""
    slot = Throttle.objects.filter(pk=throttle_key()).values_list("next_slot_at", flat=True).first()
    if slot is None:
        return 0.0
    return max(0.0, (slot - timezone.now()).total_seconds())


def breaker_get() -> Breaker:
    return Breaker.objects.get_or_create(pk=BREAKER_PK)[0]


def breaker_locked() -> Breaker:
    """The breaker row, locked for the rest of the caller's transaction."""
    return Breaker.objects.select_for_update().get_or_create(pk=BREAKER_PK)[0]


def breaker_blocks_claims(breaker: Breaker, now: dt.datetime) -> tuple[bool, float | None]:
    """(blocked, seconds until it may allow a probe). A half-open breaker allows one probe at a time."""
    if breaker.paused:
        return True, None
    if breaker.state == Breaker.State.OPEN:
        if breaker.open_until and breaker.open_until > now:
            return True, (breaker.open_until - now).total_seconds()
        return False, None
    if breaker.state == Breaker.State.HALF_OPEN:
        probing = CedulaInfo.objects.filter(claimed_at__isnull=False).exists()
        return probing, 1.0 if probing else None
    return False, None


def breaker_observe(breaker: Breaker, *, blocked: bool, now: dt.datetime) -> str | None:
    """Feed one outcome to the breaker; returns "opened" / "closed" when it changed state."""
    threshold = settings.REGISTRY_BREAKER_THRESHOLD
    if blocked:
        breaker.consecutive_blocks += 1
        if breaker.state == Breaker.State.HALF_OPEN:
            breaker.cooldown_s = min(breaker.cooldown_s * 2, settings.REGISTRY_BREAKER_MAX_COOLDOWN_S)
        elif breaker.state == Breaker.State.CLOSED and breaker.consecutive_blocks >= threshold:
            breaker.cooldown_s = settings.REGISTRY_BREAKER_COOLDOWN_S
        else:
            return None
        breaker.state = Breaker.State.OPEN
        breaker.opened_at = now
        breaker.open_until = now + dt.timedelta(seconds=breaker.cooldown_s)
        return "opened"
    breaker.consecutive_blocks = 0
    if breaker.state != Breaker.State.CLOSED:
        breaker.state = Breaker.State.CLOSED
        breaker.open_until = None
        breaker.cooldown_s = 0
        return "closed"
    return None


def breaker_announce(change: str) -> None:
    """Tell the logs and on-call that the breaker opened or closed (after the change committed)."""
    breaker = breaker_get()
    event = "breaker_opened" if change == "opened" else "breaker_closed"
    logger.warning(event, cooldown_s=breaker.cooldown_s, open_until=str(breaker.open_until or ""))
    alerts.breaker_changed(opened=change == "opened", cooldown_s=breaker.cooldown_s)
