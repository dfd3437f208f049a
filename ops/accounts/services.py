"""Writes of the public site that are not about a cedula (those live in cedula.services)."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.core.cache import cache

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
