"""The registry canary: a cedula whose answer is known (REGISTRY_CANARY_CEDULA, REGISTRY_CANARY_EXPECT) is looked
up on a schedule, and a different answer tells on-call the page changed before the error rate can.

It is a request like every other: it takes a slot of the global throttle, waits behind a paused or open breaker
(it is then skipped, not forced through), is recorded as a LookupAttempt of the canary's own row through the normal
outcome path (so the breaker and the error rate see it), and a mismatching answer keeps its redacted snapshot,
linked from the alert event.
"""

from __future__ import annotations

import datetime as dt
import time
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cedula import alerts
from cedula.models import (
    BREAKER_PK,
    FINAL_STATUSES,
    THROTTLE_PK,
    Breaker,
    CedulaInfo,
    ErrorKind,
    LookupAttempt,
    Source,
    Throttle,
)
from cedula.normalize import mask_cedula, normalize_cedula
from cedula.services.claims import Claim, worker_identity
from cedula.services.dispatch import error_report
from cedula.services.gate import breaker_blocks_claims
from cedula.services.outcomes import lookup_record_outcome, redact_snapshot

if TYPE_CHECKING:
    from cedula.registry.parser import LookupReport

logger = structlog.get_logger(__name__)

# How long the canary waits for a throttle slot before it gives up until its next run.
CANARY_MAX_WAIT_S = 60.0


@dataclass(frozen=True)
class Expectation:
    status: str
    municipio: str = ""

    @classmethod
    def parse(cls, text: str) -> Expectation:
        status, _, municipio = text.strip().partition(":")
        return cls(status=status.strip().lower(), municipio=municipio.strip())

    def __str__(self) -> str:
        return f"{self.status}:{self.municipio}" if self.municipio else self.status


def _fold(text: str) -> str:
    # The page's spelling of a municipio varies in case, accents and spacing between versions: match labels.
    plain = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return " ".join(plain.casefold().split())


def canary_matches(expected: Expectation, *, status: str, error_kind: str | None, municipio: str) -> bool | None:
    """True: the expected answer. False: another answer, or a page we cannot read. None: no verdict on the page
    (blocked, timeout, network...: the breaker and the error rate speak for those)."""
    if status not in FINAL_STATUSES:
        return False if error_kind == ErrorKind.UNEXPECTED_PAGE else None
    if status != expected.status:
        return False
    return not expected.municipio or _fold(municipio) == _fold(expected.municipio)


def _answer(status: str, error_kind: str | None, municipio: str) -> str:
    if status not in FINAL_STATUSES:
        return f"error:{error_kind or 'unknown'}"
    return f"{status}:{municipio}" if municipio else status


def _claim_canary(*, cedula: str, now: dt.datetime) -> tuple[Claim | None, float | None, str]:
    """Take a throttle slot and hold the canary's row, atomically, like lookup_claim_next does for the queue.
    Returns (claim, seconds to wait before trying again, why not)."""
    gap = dt.timedelta(seconds=settings.REGISTRY_MIN_GAP_S)
    with transaction.atomic():
        throttle, _ = Throttle.objects.select_for_update().get_or_create(pk=THROTTLE_PK)
        breaker = Breaker.objects.select_for_update().get_or_create(pk=BREAKER_PK)[0]
        blocked, _wait = breaker_blocks_claims(breaker, now)
        if blocked or breaker.state != Breaker.State.CLOSED:
            return None, None, "breaker"
        if throttle.next_slot_at and throttle.next_slot_at > now:
            return None, (throttle.next_slot_at - now).total_seconds(), "throttle"
        info, _ = CedulaInfo.objects.select_for_update().get_or_create(cedula=cedula, defaults={"source": Source.ADMIN})
        if info.claimed_at is not None:
            return None, None, "held"
        token = uuid.uuid4().hex
        info.claimed_at = now
        info.claim_token = token
        info.claimed_by = worker_identity()
        # A row of its own that the queue may also hold: the canary's request takes that one's place.
        info.next_attempt_at = None
        info.attempts = 1
        info.save(
            update_fields=["claimed_at", "claim_token", "claimed_by", "next_attempt_at", "attempts", "updated_at"]
        )
        throttle.next_slot_at = now + gap
        throttle.save(update_fields=["next_slot_at"])
    return Claim(cedula_id=info.pk, cedula=cedula, token=token, attempt=1), None, ""


def canary_run(
    *,
    run_lookup: Callable[[str], LookupReport],
    max_wait_s: float = CANARY_MAX_WAIT_S,
    sleep: Callable[[float], None] = time.sleep,
    task_id: str = "",
) -> str | None:
    """One canary lookup. Returns "matched", "mismatch", "inconclusive", "skipped" or None (no canary set)."""
    if not settings.REGISTRY_CANARY_CEDULA:
        return None
    cedula = normalize_cedula(settings.REGISTRY_CANARY_CEDULA)
    expected = Expectation.parse(settings.REGISTRY_CANARY_EXPECT)
    deadline = time.monotonic() + max_wait_s
    while True:
        claim, wait, why = _claim_canary(cedula=cedula, now=timezone.now())
        if claim is not None:
            break
        if wait is None or time.monotonic() + wait > deadline:
            logger.info("canary_skipped", reason=why, cedula=mask_cedula(cedula))
            return "skipped"
        sleep(min(max(wait, 0.05), 0.5))

    with structlog.contextvars.bound_contextvars(cedula=mask_cedula(cedula), canary=True):
        logger.info("lookup_started")
        try:
            report = run_lookup(cedula)
        except Exception as exc:  # the client classifies; this is the net under it
            logger.exception("lookup_crashed", error_kind=ErrorKind.BROWSER)
            report = error_report(ErrorKind.BROWSER, type(exc).__name__)
        attempt = lookup_record_outcome(
            cedula_id=claim.cedula_id, claim_token=claim.token, report=report, task_id=task_id or "canary"
        )
    # The canary's own cycle ends with this request: its retries are the next scheduled run.
    CedulaInfo.objects.unclaimed().filter(pk=claim.cedula_id).update(next_attempt_at=None, attempts=0)
    result = report.result
    municipio = result.municipio or ""
    matched = canary_matches(expected, status=result.status, error_kind=result.error_kind, municipio=municipio)
    snapshot_url = ""
    if attempt is not None:
        if matched is False and not attempt.snapshot:
            # A final answer keeps no snapshot normally; a wrong one is exactly what on-call needs to see.
            snapshot = redact_snapshot(report.html, max_bytes=settings.LOOKUP_SNAPSHOT_MAX_BYTES)
            LookupAttempt.objects.filter(pk=attempt.pk).update(snapshot=snapshot)
        path = reverse("admin:cedula_lookupattempt_change", args=[attempt.pk])
        snapshot_url = f"{settings.CONSOLE_BASE_URL.rstrip('/')}{path}"
    data = {
        "expected": str(expected),
        "got": _answer(result.status, result.error_kind, municipio),
        "attempt_id": attempt.pk if attempt is not None else None,
        "snapshot_url": snapshot_url,
        "duration_ms": report.duration_ms,
    }
    verdict = {True: "matched", False: "mismatch", None: "inconclusive"}[matched]
    logger.info("canary_checked", verdict=verdict, expected=data["expected"], got=data["got"])
    alerts.canary_checked(matched=matched, data=data)
    return verdict
