"""Recording outcomes: one short transaction feeds the gate, writes the attempt row and updates the CedulaInfo (final
answer, or the backoff before the next retry, or `error` when the retries are spent; a system failure leaves the row as
it was and puts it back in its place)."""

from __future__ import annotations

import datetime as dt
import os
import re
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cedula.captcha_spend import attempt_spend_fields
from cedula.changes import Answer
from cedula.models import FINAL_STATUSES, CedulaInfo, ErrorKind, LookupAttempt, Status
from cedula.normalize import mask_cedula
from cedula.registry.parser import RESULT_FIELDS, LookupReport, LookupResult
from cedula.services.gate import breaker_announce, breaker_locked, breaker_observe
from cedula.services.history import change_record, previous_final_answer
from cedula.services.outage import Observed
from cedula.services.sources import source_after_outcome, source_announce, source_failover_for_outage

logger = structlog.get_logger(__name__)

# A number of 5+ digits, also written with thousands separators ("1.234.567", "1 234 567", "1,234,567").
_NUMBER = re.compile(r"\d(?:[.,'\s\u00a0]?\d){4,}")
# Words and the spaces between them, to find two or more capitalised words in a row: a name ("JUAN PEREZ").
_WORDS = re.compile(r"[^\W\d_]{2,}|[ \u00a0]+|.", re.S)
_TAG = re.compile(r"(<[^>]*>)")


def redact_snapshot(html: str, *, max_bytes: int) -> str:
    """A debugging copy of a non-final answer: numbers of 5+ digits (grouped or not) masked everywhere, runs of
    capitalised words (names, "JUAN PEREZ", "María Gómez") masked in the text between tags; the markup stays for
    debugging. Size-capped."""

    def mask(match: re.Match[str]) -> str:
        return re.sub(r"\w", "#", match.group(0))

    def names(text: str) -> str:
        out: list[str] = []
        run: list[str] = []  # capitalised words (and the spaces between them) not yet written

        def flush() -> None:
            words = [t for t in run if not t.isspace()]
            trailing = run[-1] if run and run[-1].isspace() else ""
            body = run[:-1] if trailing else run
            out.append(("#" * len("".join(body)) if len(words) >= 2 else "".join(body)) + trailing)
            run.clear()

        for token in _WORDS.findall(text):
            if token[0].isupper() and len(token) >= 2 and not token.isspace():
                run.append(token)
            elif token.isspace() and run:
                run.append(token)
            else:
                flush()
                out.append(token)
        flush()
        return "".join(out)

    numbers = _NUMBER.sub(mask, html or "")
    redacted = "".join(part if part.startswith("<") else names(part) for part in _TAG.split(numbers))
    encoded = redacted.encode("utf-8")[:max_bytes]
    return encoded.decode("utf-8", errors="ignore")


def retry_delay_s(attempt: int) -> float | None:
    """Backoff before the retry that follows `attempt` (1-based), or None when the retries are spent."""
    delays = settings.LOOKUP_RETRY_DELAYS_S
    return delays[attempt - 1] if attempt - 1 < len(delays) else None


def result_values(result: LookupResult | None) -> dict[str, Any]:
    """The eight result fields as CedulaInfo stores them: the answer's values, blank where it has none ("" for text,
    None for the date). `None` blanks them all (a reset)."""
    values = {field: getattr(result, field) if result is not None else None for field in RESULT_FIELDS}
    return {field: "" if value is None and field != "fecha_novedad" else value for field, value in values.items()}


def lookup_record_outcome(
    *, cedula_id: int, claim_token: str, report: LookupReport, task_id: str = ""
) -> LookupAttempt | None:
    """One short transaction: the attempt row, the CedulaInfo update, the breaker. A stale claim records nothing."""
    result = report.result
    now = timezone.now()
    is_final = result.status in FINAL_STATUSES
    breaker_change = None
    with transaction.atomic():
        info = CedulaInfo.objects.select_for_update().filter(pk=cedula_id, claim_token=claim_token).first()
        if info is None or not claim_token:
            logger.warning("lookup_claim_lost", cedula_id=cedula_id)
            return None
        # The gate first: whether this failure is the system's decides what the row may be charged.
        observed = Observed(change=None, cause="")
        breaker = None
        if result.error_kind != ErrorKind.WORKER_LOST:
            breaker = breaker_locked()
            observed = breaker_observe(breaker, result=result, cedula_id=info.pk, now=now)
        breaker_change = observed.change
        switch = None
        if breaker is not None and breaker_change == "opened":
            # A source that cannot be loaded hands the work to the next one instead of pausing it.
            switch = source_failover_for_outage(breaker, cause=observed.gate_cause, now=now)
            breaker_change = None if switch is not None else breaker_change
        # Read before this outcome's attempt exists and before the row is overwritten.
        previous = previous_final_answer(info) if is_final else None
        attempt = LookupAttempt.objects.create(
            cedula=info,
            started_at=now - dt.timedelta(milliseconds=report.duration_ms),
            duration_ms=report.duration_ms,
            wait_ms=min(report.wait_ms, report.duration_ms),
            outcome=result.status,
            error_kind=result.error_kind or "",
            message=(result.message or "")[:2000],
            attempt=info.attempts,
            worker_pid=os.getpid(),
            task_id=task_id,
            snapshot="" if is_final else redact_snapshot(report.html, max_bytes=settings.LOOKUP_SNAPSHOT_MAX_BYTES),
            selector_fallbacks=",".join(report.selector_fallbacks)[:200],
            **attempt_spend_fields(report.captcha),  # i24b: the captcha solves this attempt accounts for
            cause=observed.cause,
            source=report.source,
        )
        if breaker is not None:
            # The first failure of a streak: a refutation charges from here (cedula.services.outage).
            if observed.cause and breaker.confirming and breaker.streak_attempt_id is None:
                breaker.streak_attempt_id = attempt.pk
            breaker.save()
        held_at = info.claimed_at
        info.claimed_at = None
        info.claim_token = ""
        info.claimed_by = ""
        info.check_count = F("check_count") + 1
        if observed.cause:
            # Not the row's failure: its status, answer, error and retry budget stay as they were; it goes back to
            # its place in the queue and is handed out again once the gate closes.
            info.attempts = max(0, info.attempts - 1)
            info.next_attempt_at = queue_place(info, held_at or now)
        elif is_final:
            info.last_checked = now
            info.status = result.status
            for field, value in result_values(result).items():
                setattr(info, field, value)
            info.last_error = ""
            info.error_kind = ""
            info.attempts = 0
            info.next_attempt_at = None
            change = change_record(info=info, previous=previous, new=Answer.of(info), attempt=attempt, now=now)
            info.changed_at_last_check = change is not None
        else:
            info.last_checked = now
            _spend_retry(info, message=result.message or result.error_kind or "", error_kind=result.error_kind, now=now)
        info.save()
        if observed.charge_from is not None:
            streak_charge(from_attempt_id=observed.charge_from, now=now)
        if not is_final:
            _prune_snapshots()
    logger.info(
        "lookup_finished",
        cedula=mask_cedula(info.cedula),
        cedula_id=info.pk,
        outcome=result.status,
        error_kind=result.error_kind,
        attempt=attempt.attempt,
        duration_ms=report.duration_ms,
        will_retry=bool(info.next_attempt_at),
        cause=observed.cause,
        task_id=task_id,
    )
    if breaker_change:
        breaker_announce(breaker_change, cause=observed.gate_cause)
    source_announce(switch)
    source_after_outcome(source=report.source, result=result)
    return attempt


def _spend_retry(
    info: CedulaInfo, *, message: str, error_kind: str | None, now: dt.datetime, not_before: dt.datetime | None = None
) -> None:
    """The row's own failure spends one of its retries: the next after its backoff (never before `not_before`), or
    `error` when none is left, until staff retry it."""
    info.last_error = message[:2000]
    info.error_kind = error_kind or ErrorKind.UNEXPECTED_PAGE
    delay = retry_delay_s(info.attempts)
    if delay is None:
        info.status = Status.ERROR
        info.next_attempt_at = None
        info.attempts = 0
        return
    due = now + dt.timedelta(seconds=delay)
    info.next_attempt_at = max(not_before, due) if not_before else due


def streak_charge(*, from_attempt_id: int, now: dt.datetime) -> int:
    """The system failures of a streak that was refuted (the next answer or a confirming probe showed the system
    working) were their rows' own after all: each spends its row's retry now, as it would have then. Rows settled or
    held since are left alone. Returns how many attempts were charged."""
    charged = 0
    for attempt in LookupAttempt.objects.filter(id__gte=from_attempt_id).exclude(cause="").order_by("id"):
        info = CedulaInfo.objects.select_for_update().filter(pk=attempt.cedula_id).first()
        attempt.cause = ""
        attempt.save(update_fields=["cause"])
        if info is None or info.claimed_at is not None or info.next_attempt_at is None:
            continue
        info.attempts += 1
        _spend_retry(
            info, message=attempt.message, error_kind=attempt.error_kind, now=now, not_before=info.next_attempt_at
        )
        info.save(update_fields=["attempts", "last_error", "error_kind", "status", "next_attempt_at", "updated_at"])
        charged += 1
    if charged:
        logger.info("lookup_streak_charged", attempts=charged)
    return charged


def queue_place(info: CedulaInfo, held_at: dt.datetime) -> dt.datetime:
    """A due time that puts a released row back where it was: it was the most urgent due row of its priority when
    claimed, so just ahead of the earliest row of that priority still waiting (and never later than its claim)."""
    earliest = (
        CedulaInfo.objects.waiting()
        .filter(priority=info.priority)
        .exclude(pk=info.pk)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if earliest is None or earliest > held_at:
        return held_at
    return earliest - dt.timedelta(microseconds=1)


def _prune_snapshots() -> None:
    keep = settings.LOOKUP_SNAPSHOTS_KEPT
    cutoff = (
        LookupAttempt.objects.exclude(snapshot="").order_by("-id").values_list("id", flat=True)[keep : keep + 1].first()
    )
    if cutoff is not None:
        LookupAttempt.objects.filter(id__lte=cutoff).exclude(snapshot="").update(snapshot="")
