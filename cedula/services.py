"""Every write of the domain. Views, admin actions, commands, tasks and signals call these; nothing else writes.

The queue in one paragraph: a lookup is wanted when CedulaInfo.next_attempt_at is set. `lookups_dispatch` keeps at
most LOOKUP_DISPATCH_DEPTH tickets alive, each a Django-Q2 task `cedula.tasks.lookup_next(ticket_id)`. A ticket does
not name a cedula: when it runs it waits for the global throttle, then claims the most urgent due row, so a person who
registers a second ago overtakes 100,000 bulk rows at the very next request slot.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.db.models.constants import OnConflict
from django.db.models.expressions import RawSQL
from django.utils import timezone

from cedula.importing import Classified, DuplicateRow, InvalidRow, SourceRow, classify_rows
from cedula.models import (
    FINAL_STATUSES,
    Breaker,
    CedulaInfo,
    ErrorKind,
    ImportBatch,
    LookupAttempt,
    LookupTicket,
    Priority,
    Source,
    Status,
    Throttle,
)
from cedula.normalize import mask_cedula, normalize_cedula

if TYPE_CHECKING:
    from cedula.registry.browser import LookupReport
    from ops.accounts.models import User

logger = structlog.get_logger(__name__)


def throttle_key() -> str:
    """Processes that leave through the same IP share one gap (the registry limits per IP)."""
    return f"registry:{settings.REGISTRY_EGRESS_ID}"


# How long one ticket may wait for a throttle slot, a backoff or the breaker before it gives its place up.
TICKET_MAX_WAIT_S = 15.0
BREAKER_PK = 1


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# --- Requesting lookups --------------------------------------------------------------------------------------------


def cedula_request_lookup(
    *,
    cedula: str,
    priority: int,
    source: str,
    user: User | None = None,
    import_batch: ImportBatch | None = None,
) -> CedulaInfo:
    """Create the row when new and queue a lookup. Idempotent: a queued row keeps its place and may gain priority.

    Raises ValueError (with a message for people) when `cedula` is not a valid cedula.
    """
    digits = normalize_cedula(cedula)
    now = timezone.now()
    with transaction.atomic():
        info, created = CedulaInfo.objects.select_for_update().get_or_create(
            cedula=digits,
            defaults={
                "source": source,
                "priority": priority,
                "next_attempt_at": now,
                "user": user,
                "import_batch": import_batch,
            },
        )
        if not created:
            fields = ["priority", "updated_at"]
            if user is not None and info.user_id != user.pk:
                info.user = user
                fields.append("user")
            if info.claimed_at is None and info.next_attempt_at is None:
                # Idle: a fresh cycle of attempts.
                info.next_attempt_at = now
                info.attempts = 0
                info.priority = priority
                fields += ["next_attempt_at", "attempts"]
            else:
                info.priority = max(info.priority, priority)
                if priority > Priority.BULK and info.next_attempt_at and info.next_attempt_at > now:
                    # Somebody is waiting: do not sit out a backoff that was meant for bulk work.
                    info.next_attempt_at = now
                    fields.append("next_attempt_at")
            info.save(update_fields=fields)
        transaction.on_commit(lookups_dispatch)
    logger.info(
        "lookup_requested",
        cedula=mask_cedula(digits),
        cedula_id=info.pk,
        priority=int(priority),
        source=source,
        created=created,
    )
    return info


def cedula_register_for_user(*, user: User) -> CedulaInfo:
    """A person registered with a cedula (or staff changed it): link (or create) its row and look it up ahead of
    bulk work. A row of the person's former cedula is unlinked, not deleted: it stays in the console."""
    with transaction.atomic():
        CedulaInfo.objects.filter(user=user).exclude(cedula=user.cedula).update(user=None)
        return cedula_request_lookup(
            cedula=user.cedula, priority=Priority.INTERACTIVE, source=Source.REGISTRATION, user=user
        )


def user_cedula_is_linked(*, user: User) -> bool:
    return CedulaInfo.objects.filter(user=user, cedula=user.cedula).exists()


def cedulas_queue_now(*, ids: Iterable[int], priority: int = Priority.STAFF) -> int:
    """Queue lookups for the given rows (admin "queue now"): idle rows start a fresh cycle, queued rows move up."""
    ids = list(ids)
    now = timezone.now()
    with transaction.atomic():
        base = CedulaInfo.objects.filter(pk__in=ids)
        idle = base.filter(next_attempt_at__isnull=True, claimed_at__isnull=True).update(
            next_attempt_at=now, attempts=0, priority=priority, updated_at=now
        )
        moved = base.filter(next_attempt_at__isnull=False, priority__lt=priority).update(
            priority=priority, next_attempt_at=now, updated_at=now
        )
        transaction.on_commit(lookups_dispatch)
    logger.info("lookups_queued", count=idle + moved, priority=int(priority))
    return idle + moved


def cedulas_retry_failed(*, ids: Iterable[int] | None = None) -> int:
    """Queue a fresh cycle for rows that ended as `error` (all of them when ids is None)."""
    qs = CedulaInfo.objects.filter(status=Status.ERROR, next_attempt_at__isnull=True, claimed_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    now = timezone.now()
    with transaction.atomic():
        count = qs.update(next_attempt_at=now, attempts=0, priority=Priority.STAFF, updated_at=now)
        transaction.on_commit(lookups_dispatch)
    logger.info("lookups_retry_failed", count=count)
    return count


def cedulas_reset(*, ids: Iterable[int]) -> int:
    """Forget what is known of the rows and queue them again as pending (rows held by a worker are left alone)."""
    now = timezone.now()
    with transaction.atomic():
        count = CedulaInfo.objects.filter(pk__in=list(ids), claimed_at__isnull=True).update(
            status=Status.PENDING,
            departamento="",
            municipio="",
            puesto="",
            direccion="",
            mesa="",
            novedad="",
            resolucion="",
            fecha_novedad=None,
            last_error="",
            error_kind="",
            attempts=0,
            next_attempt_at=now,
            priority=Priority.STAFF,
            updated_at=now,
        )
        transaction.on_commit(lookups_dispatch)
    logger.info("lookups_reset", count=count)
    return count


# --- Dispatching -----------------------------------------------------------------------------------------------------


def lookups_dispatch() -> int:
    """Top the broker up to LOOKUP_DISPATCH_DEPTH live tickets when work is waiting. Cheap; safe to call often."""
    from django_q.tasks import async_task

    lookups_reap_stale()
    # Work due soon enough for a ticket to wait for it; later retries are picked up by the scheduled dispatch.
    horizon = timezone.now() + dt.timedelta(seconds=TICKET_MAX_WAIT_S)
    if not _due_rows().filter(next_attempt_at__lte=horizon).exists():
        return 0
    with transaction.atomic():
        live = LookupTicket.objects.select_for_update().count()
        wanted = max(0, settings.LOOKUP_DISPATCH_DEPTH - live)
        me = worker_identity()
        tickets = [LookupTicket.objects.create(created_by=me) for _ in range(wanted)]
    for ticket in tickets:
        async_task("cedula.tasks.lookup_next", ticket.pk, task_name=f"lookup_next-{ticket.pk}", group="lookups")
    if tickets:
        logger.debug("lookups_dispatched", tickets=len(tickets))
    return len(tickets)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder_is_dead(holder: str, started: dt.datetime | None, now: dt.datetime) -> bool:
    """A holder (host:pid) is gone when it is a dead process on this host, or silent past the task timeout."""
    timeout = dt.timedelta(seconds=settings.Q_CLUSTER["timeout"] + 10)
    if started is not None and now - started > timeout:
        return True
    host, _, pid = holder.rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid))


def lookups_reap_stale() -> int:
    """Return rows and tickets held by a dead or overdue worker to the queue. Nothing is lost when a worker dies."""
    now = timezone.now()
    reaped = 0
    # A ticket is stale when its runner died or overran, or when it never started: its creator died (perhaps before
    # enqueueing its task) or no task came for it within the broker's retry. A stale ticket whose task does arrive
    # later is ignored by that task, which dispatches afresh: dropping one is never worse than a late lookup.
    stale_tickets = [
        t.pk
        for t in LookupTicket.objects.all()
        if (t.started_by and _holder_is_dead(t.started_by, t.started_at, now))
        or (
            not t.started_at
            and (
                (t.created_by and _holder_is_dead(t.created_by, None, now))
                or now - t.created_at > dt.timedelta(seconds=settings.Q_CLUSTER["retry"] + 60)
            )
        )
    ]
    if stale_tickets:
        LookupTicket.objects.filter(pk__in=stale_tickets).delete()
        logger.warning("lookup_tickets_reaped", count=len(stale_tickets))
    for info in CedulaInfo.objects.filter(claimed_at__isnull=False).only(
        "pk", "cedula", "claimed_at", "claimed_by", "claim_token", "attempts"
    ):
        if _holder_is_dead(info.claimed_by, info.claimed_at, now):
            # The lost attempt counts against the retry budget, so a cedula that kills its worker ends as error.
            report = _lost_report(info.claimed_by)
            if lookup_record_outcome(cedula_id=info.pk, claim_token=info.claim_token, report=report, task_id=""):
                reaped += 1
    if reaped:
        logger.warning("lookup_claims_reaped", count=reaped)
    return reaped


def _lost_report(holder: str) -> LookupReport:
    from cedula.registry.browser import LookupReport
    from cedula.registry.parser import LookupResult

    return LookupReport(
        result=LookupResult(
            status="error",
            error_kind=ErrorKind.WORKER_LOST,
            # A dead worker, or a live one whose database refused the result: either way nothing was recorded.
            message=f"La reserva de {holder} terminó sin un resultado registrado.",
        ),
        html="",
        duration_ms=0,
    )


# --- Throttle and breaker --------------------------------------------------------------------------------------------


def _due_rows() -> Any:
    return CedulaInfo.objects.filter(next_attempt_at__isnull=False, claimed_at__isnull=True)


def throttle_wait_s() -> float:
    """Seconds until the next request slot (0 when one is free). A read: it reserves nothing."""
    slot = Throttle.objects.filter(pk=throttle_key()).values_list("next_slot_at", flat=True).first()
    if slot is None:
        return 0.0
    return max(0.0, (slot - timezone.now()).total_seconds())


def breaker_get() -> Breaker:
    return Breaker.objects.get_or_create(pk=BREAKER_PK)[0]


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
        throttle, _ = Throttle.objects.select_for_update().get_or_create(pk=throttle_key())
        if throttle.next_slot_at and throttle.next_slot_at > now:
            return None
        breaker = Breaker.objects.select_for_update().get_or_create(pk=BREAKER_PK)[0]
        blocked, _wait = breaker_blocks_claims(breaker, now)
        if blocked:
            return None
        info = (
            _due_rows()
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
    next_due = _due_rows().order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first()
    if next_due is None:
        return None
    wait = max(0.0, (next_due - now).total_seconds(), throttle_wait_s())
    blocked, breaker_wait = breaker_blocks_claims(breaker_get(), now)
    if blocked:
        if breaker_wait is None:
            return None  # paused by hand: nothing to wait for until someone resumes
        wait = max(wait, breaker_wait)
    return wait


def breaker_pause(*, by: str, reason: str = "") -> Breaker:
    with transaction.atomic():
        breaker = Breaker.objects.select_for_update().get_or_create(pk=BREAKER_PK)[0]
        breaker.paused = True
        breaker.paused_by = by
        breaker.paused_at = timezone.now()
        breaker.pause_reason = reason[:255]
        breaker.save()
    logger.warning("lookups_paused", by=by, reason=reason)
    return breaker


def breaker_resume(*, by: str) -> Breaker:
    with transaction.atomic():
        breaker = Breaker.objects.select_for_update().get_or_create(pk=BREAKER_PK)[0]
        breaker.paused = False
        breaker.paused_by = by
        breaker.paused_at = timezone.now()
        breaker.pause_reason = ""
        breaker.save()
        transaction.on_commit(lookups_dispatch)
    logger.warning("lookups_resumed", by=by)
    return breaker


def _breaker_observe(breaker: Breaker, *, blocked: bool, now: dt.datetime) -> str | None:
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


# --- Recording outcomes ----------------------------------------------------------------------------------------------

RESULT_FIELDS = ("departamento", "municipio", "puesto", "direccion", "mesa", "novedad", "resolucion", "fecha_novedad")
_DIGIT_RUN = re.compile(r"\d{5,}")


def redact_snapshot(html: str, *, max_bytes: int) -> str:
    """A debugging copy of a non-final answer: every run of 5+ digits masked, size-capped."""
    redacted = _DIGIT_RUN.sub(lambda m: "#" * len(m.group(0)), html or "")
    encoded = redacted.encode("utf-8")[:max_bytes]
    return encoded.decode("utf-8", errors="ignore")


def retry_delay_s(attempt: int) -> float | None:
    """Backoff before the retry that follows `attempt` (1-based), or None when the retries are spent."""
    delays = settings.LOOKUP_RETRY_DELAYS_S
    return delays[attempt - 1] if attempt - 1 < len(delays) else None


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
        attempt = LookupAttempt.objects.create(
            cedula=info,
            started_at=now - dt.timedelta(milliseconds=report.duration_ms),
            duration_ms=report.duration_ms,
            outcome=result.status,
            error_kind=result.error_kind or "",
            message=(result.message or "")[:2000],
            attempt=info.attempts,
            worker_pid=os.getpid(),
            task_id=task_id,
            snapshot="" if is_final else redact_snapshot(report.html, max_bytes=settings.LOOKUP_SNAPSHOT_MAX_BYTES),
            selector_fallbacks=",".join(report.selector_fallbacks)[:200],
        )
        info.claimed_at = None
        info.claim_token = ""
        info.claimed_by = ""
        info.last_checked = now
        info.check_count = F("check_count") + 1
        if is_final:
            info.status = result.status
            for field in RESULT_FIELDS:
                value = getattr(result, field)
                setattr(info, field, value if value is not None else ("" if field != "fecha_novedad" else None))
            info.last_error = ""
            info.error_kind = ""
            info.attempts = 0
            info.next_attempt_at = None
        else:
            info.last_error = (result.message or result.error_kind or "")[:2000]
            info.error_kind = result.error_kind or ErrorKind.UNEXPECTED_PAGE
            delay = retry_delay_s(info.attempts)
            if delay is None:
                info.status = Status.ERROR
                info.next_attempt_at = None
                info.attempts = 0
            else:
                info.next_attempt_at = now + dt.timedelta(seconds=delay)
        info.save()
        if result.error_kind != ErrorKind.WORKER_LOST:
            breaker = Breaker.objects.select_for_update().get_or_create(pk=BREAKER_PK)[0]
            breaker_change = _breaker_observe(breaker, blocked=result.error_kind == ErrorKind.BLOCKED, now=now)
            breaker.save()
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
        task_id=task_id,
    )
    if breaker_change:
        _announce_breaker(breaker_change)
    return attempt


def _announce_breaker(change: str) -> None:
    breaker = breaker_get()
    event = "breaker_opened" if change == "opened" else "breaker_closed"
    logger.warning(event, cooldown_s=breaker.cooldown_s, open_until=str(breaker.open_until or ""))
    from cedula import alerts

    alerts.breaker_changed(opened=change == "opened", cooldown_s=breaker.cooldown_s)


def _prune_snapshots() -> None:
    keep = settings.LOOKUP_SNAPSHOTS_KEPT
    cutoff = (
        LookupAttempt.objects.exclude(snapshot="").order_by("-id").values_list("id", flat=True)[keep : keep + 1].first()
    )
    if cutoff is not None:
        LookupAttempt.objects.filter(id__lte=cutoff).exclude(snapshot="").update(snapshot="")


# --- Running one ticket ----------------------------------------------------------------------------------------------


def lookup_run_ticket(
    *,
    ticket_id: int,
    run_lookup: Callable[[str], LookupReport],
    task_id: str = "",
    max_wait_s: float = TICKET_MAX_WAIT_S,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run lookups for one ticket until nothing is claimable within `max_wait_s`. Returns how many ran.

    A duplicate or late delivery (the ticket is gone or already running elsewhere) does nothing.
    """
    me = worker_identity()
    started = timezone.now()
    if not LookupTicket.objects.filter(pk=ticket_id, started_at__isnull=True).update(started_at=started, started_by=me):
        logger.info("lookup_ticket_ignored", ticket_id=ticket_id)
        # A late redelivery often means its first runner died: reap what that one held and keep the queue moving.
        lookups_dispatch()
        return 0
    done = 0
    # One lookup per ticket keeps the queue fair with other tasks; the budget bounds how long we wait for a slot.
    deadline = time.monotonic() + max_wait_s
    try:
        while True:
            claim = lookup_claim_next()
            if claim is not None:
                with structlog.contextvars.bound_contextvars(
                    cedula=mask_cedula(claim.cedula), attempt=claim.attempt, cedula_id=claim.cedula_id
                ):
                    logger.info("lookup_started")
                    try:
                        report = run_lookup(claim.cedula)
                    except Exception as exc:  # the client classifies; this is the net under it
                        logger.exception("lookup_crashed", error_kind=ErrorKind.BROWSER)
                        report = _crash_report(exc)
                    _record_or_give_up(claim=claim, report=report, task_id=task_id, sleep=sleep)
                done += 1
                break
            wait = seconds_until_claimable()
            remaining = deadline - time.monotonic()
            if wait is None or wait > remaining:
                break
            # Poll in short steps: a person who registers meanwhile must not wait for a long sleep to end.
            sleep(min(max(wait, 0.05), 0.5))
    finally:
        try:
            LookupTicket.objects.filter(pk=ticket_id).delete()
            lookups_dispatch()
        except DatabaseError as exc:
            # The reaper removes the ticket once this process is gone or the claim times out.
            logger.error("lookup_ticket_release_failed", reason=str(exc))
    return done


class LookupNotRecordedError(RuntimeError):
    """The registry answered but the database refused the write (read-only file, disk full, ...)."""


RECORD_RETRY_DELAYS_S = (1.0, 3.0)


def _record_or_give_up(*, claim: Claim, report: LookupReport, task_id: str, sleep: Callable[[float], None]) -> None:
    """Record the outcome, retrying a failing database briefly. When it keeps failing the row stays claimed and the
    reaper hands it out again once the claim outlives the task timeout: the lookup is repeated later, never lost."""
    for delay in (*RECORD_RETRY_DELAYS_S, None):
        try:
            lookup_record_outcome(cedula_id=claim.cedula_id, claim_token=claim.token, report=report, task_id=task_id)
            return
        except DatabaseError as exc:
            logger.error(
                "lookup_record_failed",
                reason=str(exc),
                will_retry_write=delay is not None,
                cedula_id=claim.cedula_id,
            )
            if delay is None:
                raise LookupNotRecordedError(
                    f"La consulta terminó pero la base de datos rechazó la escritura ({exc}); la cédula se "
                    "consultará de nuevo cuando venza su reserva."
                ) from exc
            sleep(delay)


def _crash_report(exc: BaseException) -> LookupReport:
    from cedula.registry.browser import LookupReport
    from cedula.registry.parser import LookupResult

    return LookupReport(
        result=LookupResult(status="error", error_kind=ErrorKind.BROWSER, message=type(exc).__name__),
        html="",
        duration_ms=0,
    )


# --- Public side: a person refreshes their own lookup ----------------------------------------------------------------


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
    from cedula import selectors
    from ops.accounts.models import RefreshRequest
    from ops.accounts.models import User as UserModel

    now = timezone.now()
    with transaction.atomic():
        # One decision at a time per person (row lock; SQLite's IMMEDIATE transactions serialize anyway): two quick
        # clicks must not both pass the limit check.
        UserModel.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
        allowance = selectors.refresh_allowance(user=user, now=now)
        if not allowance.allowed:
            logger.info(
                "refresh_refused",
                user_id=user.pk,
                reason=allowance.reason,
                next_allowed_at=allowance.next_allowed_at.isoformat() if allowance.next_allowed_at else None,
            )
            return RefreshDecision(accepted=False, reason=allowance.reason, next_allowed_at=allowance.next_allowed_at)
        current = selectors.cedula_for_user(user=user)
        # The row the person sees is the one refreshed (staff may have corrected the account's cedula since).
        cedula = current.cedula if current is not None else user.cedula
        RefreshRequest.objects.create(user=user, requested_at=now)
        info = cedula_request_lookup(cedula=cedula, priority=Priority.INTERACTIVE, source=Source.REFRESH, user=user)
        # cedula_request_lookup keeps an existing row's source; this cycle was asked for by its owner.
        CedulaInfo.objects.filter(pk=info.pk).update(source=Source.REFRESH)
        info.source = Source.REFRESH
    after = selectors.refresh_allowance(user=user, now=now)
    logger.info("refresh_requested", user_id=user.pk, cedula=mask_cedula(info.cedula), cedula_id=info.pk)
    return RefreshDecision(accepted=True, reason="accepted", next_allowed_at=after.next_allowed_at, info=info)


# --- Imports ---------------------------------------------------------------------------------------------------------
# A file of 100,000 cedulas is read once (cedula.importing, pure), classified in memory, compared with the table in one
# query and written with bulk inserts in one transaction: nothing runs a query per row. Invalid rows block the whole
# file unless the caller asks to skip them; a blocked file writes nothing, not even its ImportBatch.

IMPORT_SAMPLE_SIZE = 10
IMPORT_INSERT_BATCH = 10_000


@dataclass(frozen=True)
class ImportReport:
    file_name: str
    total_rows: int
    new: int
    existing: int
    requeued: int  # known cedulas queued again (only idle ones; a queued row keeps its place)
    duplicates: int
    invalid: int
    imported: bool  # False: nothing was written (a preview, or invalid rows blocked the file)
    blocked: bool
    batch_id: int | None
    new_sample: tuple[SourceRow, ...]
    existing_sample: tuple[SourceRow, ...]
    duplicate_sample: tuple[DuplicateRow, ...]
    invalid_rows: tuple[InvalidRow, ...]  # all of them: the row report and the rejected-rows CSV

    def counts(self) -> dict[str, Any]:
        return {
            "file": self.file_name,
            "total_rows": self.total_rows,
            "new": self.new,
            "existing": self.existing,
            "requeued": self.requeued,
            "duplicates": self.duplicates,
            "invalid": self.invalid,
            "imported": self.imported,
            "blocked": self.blocked,
            "batch_id": self.batch_id,
        }


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _cedula_sets(cedulas: list[str]) -> Iterable[Q]:
    """Filters that together match `cedulas`: one query on SQLite and PostgreSQL (the set is one parameter)."""
    if not cedulas:
        return
    if connection.vendor == "sqlite":
        yield Q(cedula__in=RawSQL("SELECT value FROM json_each(%s)", (json.dumps(cedulas),)))
    elif connection.vendor == "postgresql":
        yield Q(cedula__in=RawSQL("SELECT unnest(%s::varchar[])", (cedulas,)))
    else:
        for chunk in _chunks(cedulas, max(1, (connection.features.max_query_params or 999) - 10)):
            yield Q(cedula__in=chunk)


def _known_cedulas(cedulas: list[str]) -> dict[str, bool]:
    """The cedulas already in the table -> whether the row is idle (neither queued nor held by a worker)."""
    known: dict[str, bool] = {}
    for match in _cedula_sets(cedulas):
        rows = CedulaInfo.objects.filter(match).values_list("cedula", "next_attempt_at", "claimed_at")
        for cedula, next_attempt_at, claimed_at in rows.iterator(chunk_size=10_000):
            known[cedula] = next_attempt_at is None and claimed_at is None
    return known


def _import_report(
    *,
    file_name: str,
    classified: Classified,
    known: dict[str, bool],
    requeue_existing: bool,
    imported: bool,
    blocked: bool,
    new: int | None = None,
    requeued: int | None = None,
    batch_id: int | None = None,
) -> ImportReport:
    valid = classified.valid
    new_sample = list(
        itertools.islice(
            (SourceRow(number, cedula) for cedula, number in valid.items() if cedula not in known), IMPORT_SAMPLE_SIZE
        )
    )
    existing_sample = sorted(SourceRow(valid[cedula], cedula) for cedula in known)[:IMPORT_SAMPLE_SIZE]
    would_requeue = sum(known.values()) if requeue_existing else 0
    return ImportReport(
        file_name=file_name,
        total_rows=classified.total,
        new=len(classified.valid) - len(known) if new is None else new,
        existing=len(known),
        requeued=would_requeue if requeued is None else requeued,
        duplicates=len(classified.duplicates),
        invalid=len(classified.invalid),
        imported=imported,
        blocked=blocked,
        batch_id=batch_id,
        new_sample=tuple(new_sample),
        existing_sample=tuple(existing_sample),
        duplicate_sample=tuple(classified.duplicates[:IMPORT_SAMPLE_SIZE]),
        invalid_rows=tuple(classified.invalid),
    )


def cedula_import_preview(
    *, rows: Iterable[SourceRow], file_name: str, requeue_existing: bool = False, skip_invalid: bool = False
) -> ImportReport:
    """What `cedula_import_rows` would do with these rows, writing nothing."""
    classified = classify_rows(rows)
    known = _known_cedulas(list(classified.valid))
    return _import_report(
        file_name=file_name,
        classified=classified,
        known=known,
        requeue_existing=requeue_existing,
        imported=False,
        blocked=bool(classified.invalid) and not skip_invalid,
    )


def cedula_import_rows(
    *,
    rows: Iterable[SourceRow],
    file_name: str,
    user: User | None,
    requeue_existing: bool = False,
    skip_invalid: bool = False,
) -> ImportReport:
    """Import a file's cedulas: new ones are created and queued at bulk priority, known ones skipped or re-queued.

    All or nothing: any invalid row blocks the file (nothing written) unless `skip_invalid`.
    """
    classified = classify_rows(rows)
    if classified.invalid and not skip_invalid:
        report = _import_report(
            file_name=file_name,
            classified=classified,
            known=_known_cedulas(list(classified.valid)),
            requeue_existing=requeue_existing,
            imported=False,
            blocked=True,
        )
        logger.info("import_blocked", file_name=file_name, **_log_counts(report))
        return report

    cedulas = list(classified.valid)
    with transaction.atomic():
        # Inside the transaction: SQLite's IMMEDIATE mode holds the write lock, so the known set cannot go stale.
        known = _known_cedulas(cedulas)
        batch = ImportBatch.objects.create(created_by=user, file_name=file_name[:255])
        now = timezone.now()
        _insert_queued_cedulas((c for c in cedulas if c not in known), batch=batch, now=now)
        new = CedulaInfo.objects.filter(import_batch=batch).count()
        requeued = 0
        if requeue_existing:
            idle = [cedula for cedula, is_idle in known.items() if is_idle]
            for match in _cedula_sets(idle):
                requeued += CedulaInfo.objects.filter(
                    match, next_attempt_at__isnull=True, claimed_at__isnull=True
                ).update(next_attempt_at=now, attempts=0, priority=Priority.BULK, updated_at=now)
        report = _import_report(
            file_name=file_name,
            classified=classified,
            known=known,
            requeue_existing=requeue_existing,
            imported=True,
            blocked=False,
            new=new,
            requeued=requeued,
            batch_id=batch.pk,
        )
        batch.total_rows = report.total_rows
        batch.new_rows = report.new
        batch.existing_rows = report.existing
        batch.requeued_rows = report.requeued
        batch.duplicate_rows = report.duplicates
        batch.invalid_rows = report.invalid
        batch.save(
            update_fields=["total_rows", "new_rows", "existing_rows", "requeued_rows", "duplicate_rows", "invalid_rows"]
        )
        if report.new or report.requeued:
            transaction.on_commit(lookups_dispatch)
    logger.info("import_finished", file_name=file_name, batch_id=batch.pk, **_log_counts(report))
    return report


def _insert_queued_cedulas(cedulas: Iterable[str], *, batch: ImportBatch, now: dt.datetime) -> None:
    """New rows, queued at bulk priority, in file order (the queue then follows the file).

    bulk_create spends ~90% of its time compiling SQL for 25 fields x 100,000 rows (20 s here); every row but the
    cedula is identical, so the values are prepared once and only the cedula varies. On SQLite the whole set goes in
    one statement (INSERT ... SELECT FROM json_each), on PostgreSQL likewise (unnest), elsewhere as one prepared
    statement run per row (executemany).
    A cedula inserted meanwhile by someone else (a registration, on PostgreSQL) is left alone: ON CONFLICT IGNORE.
    """
    template = CedulaInfo(
        cedula="",
        status=Status.PENDING,
        source=Source.IMPORT,
        priority=Priority.BULK,
        next_attempt_at=now,
        import_batch=batch,
    )
    fields = [f for f in CedulaInfo._meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(template, add=True), connection) for f in fields]
    at = [f.name for f in fields].index("cedula")
    ops = connection.ops
    insert = "{insert} {table} ({columns})".format(
        insert=ops.insert_statement(on_conflict=OnConflict.IGNORE),
        table=ops.quote_name(CedulaInfo._meta.db_table),
        columns=", ".join(ops.quote_name(f.column) for f in fields),
    )
    suffix = ops.on_conflict_suffix_sql(fields, OnConflict.IGNORE, None, None)
    head, tail = values[:at], values[at + 1 :]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            select = ", ".join(["%s"] * len(head) + ["value"] + ["%s"] * len(tail))
            # Identifiers come from the model and the backend; every value is a parameter. json_each walks the array
            # in order (an ORDER BY key would only add a sort), so ids follow the file.
            cursor.execute(
                f"{insert} SELECT {select} FROM json_each(%s) {suffix}",  # noqa: S608
                [*head, *tail, json.dumps(list(cedulas))],
            )
            return
        if connection.vendor == "postgresql":
            select = ", ".join(["%s"] * len(head) + ["value"] + ["%s"] * len(tail))
            # One statement as on SQLite (row-by-row executemany costs ~0.4 ms a row); ORDER BY n keeps file order.
            cursor.execute(
                f"{insert} SELECT {select} FROM unnest(%s::varchar[]) WITH ORDINALITY AS t(value, n) "  # noqa: S608
                f"ORDER BY n {suffix}",
                [*head, *tail, list(cedulas)],
            )
            return
        sql = f"{insert} VALUES ({', '.join(['%s'] * len(fields))}) {suffix}"
        cedulas = iter(cedulas)
        while chunk := list(itertools.islice(cedulas, IMPORT_INSERT_BATCH)):
            cursor.executemany(sql, [(*head, cedula, *tail) for cedula in chunk])


def _log_counts(report: ImportReport) -> dict[str, int]:
    return {
        "total_rows": report.total_rows,
        "new": report.new,
        "existing": report.existing,
        "requeued": report.requeued,
        "duplicates": report.duplicates,
        "invalid": report.invalid,
    }
