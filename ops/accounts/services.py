"""Writes of the public site: the registration throttle, and a person's own "Actualizar datos" (its allowance is in
ops.accounts.selectors, with RefreshRequest). Writes about cedulas in general live in cedula.services."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from cedula import selectors as cedula_selectors
from cedula import services as cedula_services
from cedula.models import CedulaInfo, Priority, Source
from cedula.normalize import mask_cedula
from ops.accounts import selectors
from ops.accounts.models import RefreshRequest, User

logger = structlog.get_logger(__name__)

REGISTRATION_WINDOW_S = 3600


@dataclass(frozen=True)
class RegistrationThrottle:
    allowed: bool
    retry_at: dt.datetime | None  # when the next attempt from this address will be accepted (None: now)


def _ip_key(ip: str) -> str:
    # The address itself never reaches the cache directory or a log line.
    return "public:registration:" + hashlib.sha256(ip.encode()).hexdigest()[:32]


def registration_attempt(*, ip: str) -> RegistrationThrottle:
    """Count one registration attempt (a POST of the form) from `ip`; refuse past REGISTRATION_MAX_PER_IP_PER_HOUR
    in a sliding hour. Failed attempts count too: the form answers "this cedula is already registered", and that must
    not be a free oracle. A refused attempt is not counted, so the block lifts an hour after the earliest counted one.

    The shared cache (file-based or Redis) is enough here: losing it only forgets a short-lived counter.
    """
    limit = settings.REGISTRATION_MAX_PER_IP_PER_HOUR
    now = time.time()
    key = _ip_key(ip or "unknown")
    recent = sorted((t for t in cache.get(key, []) if t > now - REGISTRATION_WINDOW_S), reverse=True)
    if len(recent) >= limit:
        retry_at = (recent[limit - 1] + REGISTRATION_WINDOW_S) if limit > 0 else None
        logger.warning("registration_throttled", ip_hash=key[-12:], attempts=len(recent))
        return RegistrationThrottle(
            allowed=False,
            retry_at=dt.datetime.fromtimestamp(retry_at, tz=dt.UTC) if retry_at else None,
        )
    cache.set(key, [now, *recent], timeout=REGISTRATION_WINDOW_S)
    return RegistrationThrottle(allowed=True, retry_at=None)


# --- A person refreshes their own lookup -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RefreshDecision:
    accepted: bool
    # "accepted", or why not: "checking" | "hourly_limit" | "daily_limit" | "no_cedula" | "disabled"
    reason: str
    next_allowed_at: dt.datetime | None
    info: CedulaInfo | None = None


def cedula_user_refresh(*, user: User) -> RefreshDecision:
    """A person pressed "Actualizar datos": queue a fresh lookup of their own cedula at interactive priority, within
    the per-hour / per-day limits and never while a lookup is already in progress. Acts only on `user`'s own row."""
    now = timezone.now()
    with transaction.atomic():
        # One decision at a time per person (row lock; SQLite's IMMEDIATE transactions serialize anyway): two quick
        # clicks must not both pass the limit check.
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
        allowance = selectors.refresh_allowance(user=user, now=now)
        if not allowance.allowed:
            logger.info(
                "refresh_refused",
                user_id=user.pk,
                reason=allowance.reason,
                next_allowed_at=allowance.next_allowed_at.isoformat() if allowance.next_allowed_at else None,
            )
            return RefreshDecision(accepted=False, reason=allowance.reason, next_allowed_at=allowance.next_allowed_at)
        current = cedula_selectors.cedula_for_user(user=user)
        # The row the person sees is the one refreshed (staff may have corrected the account's cedula since).
        cedula = current.cedula if current is not None else user.cedula
        RefreshRequest.objects.create(user=user, requested_at=now)
        info = cedula_services.cedula_request_lookup(
            cedula=cedula, priority=Priority.INTERACTIVE, source=Source.REFRESH, user=user
        )
        # cedula_request_lookup keeps an existing row's source; this cycle was asked for by its owner.
        CedulaInfo.objects.filter(pk=info.pk).update(source=Source.REFRESH)
        info.source = Source.REFRESH
    after = selectors.refresh_allowance(user=user, now=now)
    logger.info("refresh_requested", user_id=user.pk, cedula=mask_cedula(info.cedula), cedula_id=info.pk)
    return RefreshDecision(accepted=True, reason="accepted", next_allowed_at=after.next_allowed_at, info=info)
