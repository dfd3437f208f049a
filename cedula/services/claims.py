"""Claims: a ticket takes a claim slot and the most urgent due row in one transaction, and holds the row until its
outcome is recorded (cedula.services.outcomes) or the reaper hands it out again (cedula.services.dispatch).

Two slots live on the throttle row. The claim slot (`next_slot_at`) paces claims at one per gap. The request slot
(`last_request_at`) is what the politeness promise is about: the registry client takes it right before its POST
leaves (`throttle_take_request_slot`, handed in by the task layer), so no two requests reach the registry closer than
REGISTRY_MIN_GAP_S whatever the page load or the captcha solve took, across every process sharing the row."""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from cedula.models import THROTTLE_PK, Breaker, CedulaInfo, Throttle
from cedula.services.gate import (
    GATED_MIN_PRIORITY,
    breaker_blocks_claims,
    breaker_get,
    breaker_locked,
    bulk_gate,
    throttle_wait_s,
)

logger = structlog.get_logger(__name__)


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def due_rows() -> QuerySet[CedulaInfo]:
    """Rows that want a lookup and are not held by a worker (due now or after a backoff)."""
    return CedulaInfo.objects.waiting()


def claimable_rows(now: dt.datetime) -> QuerySet[CedulaInfo]:
    """due_rows() that the gate lets through now: in quiet hours or past the daily budget only interactive ones."""
    allowed, _wait = bulk_gate(now)
    rows = due_rows()
    return rows if allowed else rows.filter(priority__gte=GATED_MIN_PRIORITY)


@dataclass(frozen=True)
class Claim:
    cedula_id: int
    cedula: str
    token: str
    attempt: int


def lookup_claim_next() -> Claim | None:
    """Atomically: pick the most urgent due row, take a throttle slot, hold the row. None when not allowed now."""
    now = timezone.now()
    gap = dt.timedelta(seconds=settings.REGISTRY_MIN_GAP_S)
    with transaction.atomic():
        throttle, _ = Throttle.objects.select_for_update().get_or_create(pk=THROTTLE_PK)
        if throttle.next_slot_at and throttle.next_slot_at > now:
            return None
        breaker = breaker_locked()
        blocked, _wait = breaker_blocks_claims(breaker, now)
        if blocked:
            return None
        info = (
            claimable_rows(now)
            .filter(next_attempt_at__lte=now)
            .order_by("-priority", "next_attempt_at", "id")
            .select_for_update(skip_locked=True)
            .first()
        )
        if info is None:
            return None
        if breaker.state == Breaker.State.OPEN:
            breaker.state = Breaker.State.HALF_OPEN
            breaker.save(update_fields=["state"])
            logger.warning("breaker_probing", cooldown_s=breaker.cooldown_s)
        token = uuid.uuid4().hex
        info.claimed_at = now
        info.claim_token = token
        info.claimed_by = worker_identity()
        info.next_attempt_at = None
        info.attempts = info.attempts + 1
        info.save(
            update_fields=["claimed_at", "claim_token", "claimed_by", "next_attempt_at", "attempts", "updated_at"]
        )
        throttle.next_slot_at = now + gap
        throttle.save(update_fields=["next_slot_at"])
    return Claim(cedula_id=info.pk, cedula=info.cedula, token=token, attempt=info.attempts)


def seconds_until_claimable() -> float | None:
    """How long a ticket should wait before trying to claim again, or None when there is nothing to wait for."""
    now = timezone.now()
    # Bulk work held back by quiet hours or the budget is nothing to wait for: the scheduled dispatch picks it up.
    next_due = claimable_rows(now).order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first()
    if next_due is None:
        return None
    wait = max(0.0, (next_due - now).total_seconds(), throttle_wait_s())
    blocked, breaker_wait = breaker_blocks_claims(breaker_get(), now)
    if blocked:
        if breaker_wait is None:
            return None  # paused by hand: nothing to wait for until someone resumes
        wait = max(wait, breaker_wait)
    return wait


# The gap counts from when the browser reported the POST on its way (a few milliseconds after it truly left); this much
# more than the gap keeps that jitter from bringing two requests closer than the gap.
SLOT_MARGIN_S = 0.02
MAX_LEAD_S = 0.5


def throttle_take_request_slot(
    *, max_wait_s: float, lead_s: float = 0.0, sleep: Callable[[float], None] = time.sleep
) -> bool:
    """Reserve the moment a request leaves for the registry: wait (in short steps, outside any transaction) until
    REGISTRY_MIN_GAP_S has passed since the last request of any process sharing the throttle row, then record now.
    The registry client calls it right before its POST, through the callback the task layer hands in, and then
    `throttle_mark_request_sent` once the browser reports the POST on its way. `lead_s` is how long the client
    knows its request takes to leave after the reservation (the click; at most MAX_LEAD_S): the moment reserved is
    now + lead_s, so that time is not added to every gap. False when no slot came within `max_wait_s`."""
    deadline = time.monotonic() + max_wait_s
    lead = dt.timedelta(seconds=min(max(lead_s, 0.0), MAX_LEAD_S))
    gap = dt.timedelta(seconds=settings.REGISTRY_MIN_GAP_S + (SLOT_MARGIN_S if settings.REGISTRY_MIN_GAP_S else 0))
    while True:
        with transaction.atomic():
            throttle, _ = Throttle.objects.select_for_update().get_or_create(pk=THROTTLE_PK)
            now = timezone.now()
            leaves = now + lead
            opens = throttle.last_request_at + gap if throttle.last_request_at else leaves
            if opens <= leaves:
                throttle.last_request_at = leaves
                throttle.save(update_fields=["last_request_at"])
                return True
        wait = (opens - leaves).total_seconds()
        remaining = deadline - time.monotonic()
        if wait > remaining:
            return False
        sleep(min(wait, 0.5))


def throttle_mark_request_sent(*, at: dt.datetime) -> None:
    """The request reserved by throttle_take_request_slot left at `at` (however long the click took): the next slot
    counts from then. Never moves the mark back (another process may have reserved after us)."""
    with transaction.atomic():
        throttle, _ = Throttle.objects.select_for_update().get_or_create(pk=THROTTLE_PK)
        if throttle.last_request_at is None or throttle.last_request_at < at:
            throttle.last_request_at = at
            throttle.save(update_fields=["last_request_at"])


def lookups_due_soon(*, within_s: float, cap: int = 50) -> int:
    """How many more lookups the gate lets through within `within_s` (at most `cap`): the plan the registry client
    opens pages and solves captchas ahead for. Nothing due (or the breaker shut): 0, and nothing is done ahead."""
    now = timezone.now()
    blocked, _wait = breaker_blocks_claims(breaker_get(), now)
    if blocked:
        return 0
    horizon = now + dt.timedelta(seconds=within_s)
    return claimable_rows(now).filter(next_attempt_at__lte=horizon).values("pk")[:cap].count()
