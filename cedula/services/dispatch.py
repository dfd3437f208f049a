"""Dispatch: tickets in Django-Q2, running one ticket, and reaping what dead workers held.

A ticket (LookupTicket + one `cedula.tasks.lookup_next` task) does not name a cedula: when it runs it claims the most
urgent due row (cedula.services.claims), runs the lookup and records the outcome (cedula.services.outcomes).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
from collections.abc import Callable

import structlog
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django_q.tasks import async_task

from cedula import worker_now
from cedula.models import CedulaInfo, ErrorKind, LookupTicket
from cedula.normalize import mask_cedula
from cedula.registry.parser import LookupReport, LookupResult
from cedula.services.claims import (
    Claim,
    claimable_rows,
    lookup_claim_next,
    seconds_until_claimable,
    worker_identity,
)
from cedula.services.gate import breaker_blocks_claims, breaker_get
from cedula.services.outcomes import lookup_record_outcome
from cedula.services.probe import PageProbe, gate_probe_once
from cedula.services.sources import SourceProbe, source_probe_once

logger = structlog.get_logger(__name__)

# How long one ticket may wait for a throttle slot, a backoff or the breaker before it gives its place up.
TICKET_MAX_WAIT_S = 15.0
RECORD_RETRY_DELAYS_S = (1.0, 3.0)


class LookupNotRecordedError(RuntimeError):
    """The registry answered but the database refused the write (read-only file, disk full, ...)."""


# --- Tickets ---------------------------------------------------------------------------------------------------------


def lookups_dispatch() -> int:
    """Top the broker up to LOOKUP_DISPATCH_DEPTH live tickets when work is waiting. Cheap; safe to call often."""
    lookups_reap_stale()
    # Work due soon enough for a ticket to wait for it; later retries are picked up by the scheduled dispatch.
    horizon = timezone.now() + dt.timedelta(seconds=TICKET_MAX_WAIT_S)
    # Held back by quiet hours or the budget, bulk work gets no tickets (they would only spin until they gave up).
    if not claimable_rows(timezone.now()).filter(next_attempt_at__lte=horizon).exists():
        return 0
    # Behind a pause or an open gate whose probe is not near, a ticket would only spin until it gave up: the
    # scheduled dispatch (each minute), a resume or "Probar ahora" brings the next one.
    held, wait = breaker_blocks_claims(breaker_get(), timezone.now())
    if held and (wait is None or wait > TICKET_MAX_WAIT_S):
        return 0
    with transaction.atomic():
        live = LookupTicket.objects.select_for_update().count()
        wanted = max(0, settings.LOOKUP_DISPATCH_DEPTH - live)
        me = worker_identity()
        tickets = [LookupTicket.objects.create(created_by=me) for _ in range(wanted)]
    for sent, ticket in enumerate(tickets):
        try:
            async_task("cedula.tasks.lookup_next", ticket.pk, task_name=f"lookup_next-{ticket.pk}", group="lookups")
        except Exception as exc:  # the broker is down (Redis stopped, unreachable): any error of its client
            # A ticket without a task would hold its place until the reaper (minutes): drop it now. The rows stay
            # queued in the database; the next dispatch (each lookup's, the scheduled one) tries again.
            LookupTicket.objects.filter(pk__in=[t.pk for t in tickets[sent:]]).delete()
            logger.error("lookups_dispatch_failed", reason=str(exc), tickets=len(tickets) - sent)
            return sent
    if tickets:
        logger.debug("lookups_dispatched", tickets=len(tickets))
    return len(tickets)


def lookup_run_ticket(
    *,
    ticket_id: int,
    run_lookup: Callable[[str], LookupReport],
    task_id: str = "",
    max_wait_s: float = TICKET_MAX_WAIT_S,
    sleep: Callable[[float], None] = time.sleep,
    run_probe: PageProbe | None = None,
    run_source_probe: SourceProbe | None = None,
) -> int:
    """Run lookups for one ticket until nothing is claimable within `max_wait_s`. Returns how many ran (a probe of the
    open gate counts as one: it is the ticket's request).

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
            if source_probe_once(probe_page=run_source_probe) is not None:
                done += 1  # the first source probed to move back to it: this ticket's request
                break
            if gate_probe_once(probe_page=run_probe) is not None:
                done += 1
                break
            claim = lookup_claim_next()
            if claim is not None:
                with structlog.contextvars.bound_contextvars(
                    cedula=mask_cedula(claim.cedula), attempt=claim.attempt, cedula_id=claim.cedula_id
                ):
                    logger.info("lookup_started")
                    worker_now.begin(cedula_id=claim.cedula_id, attempt=claim.attempt, worker=me, task_id=task_id)
                    try:
                        report = run_lookup(claim.cedula)
                    except Exception as exc:  # the client classifies; this is the net under it
                        logger.exception("lookup_crashed", error_kind=ErrorKind.BROWSER)
                        report = error_report(ErrorKind.BROWSER, type(exc).__name__)
                    finally:
                        worker_now.end(cedula_id=claim.cedula_id)
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
            _drop_dead_connection()
            LookupTicket.objects.filter(pk=ticket_id).delete()
            lookups_dispatch()
        except DatabaseError as exc:
            # The reaper removes the ticket once this process is gone or the claim times out.
            logger.error("lookup_ticket_release_failed", reason=str(exc))
    return done


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
            # A connection the server dropped (pg_terminate_backend, a restart) stays dead for this task: drop it
            # so the retry opens a new one. A merely locked SQLite file keeps its connection.
            _drop_dead_connection()
            if delay is None:
                raise LookupNotRecordedError(
                    f"La consulta terminó pero la base de datos rechazó la escritura ({exc}); la cédula se "
                    "consultará de nuevo cuando venza su reserva."
                ) from exc
            sleep(delay)


def _drop_dead_connection() -> None:
    """Let Django close this process's connection when the server dropped it (or it is past CONN_MAX_AGE), so the
    next query opens a new one: Django does this only between requests and tasks. Never inside a transaction."""
    if connection.in_atomic_block:
        return
    connection.close_if_unusable_or_obsolete()


def error_report(error_kind: str, message: str) -> LookupReport:
    """An outcome no registry answer produced (a crashed client, a lost worker): nothing seen, no time spent."""
    return LookupReport(
        result=LookupResult(status="error", error_kind=error_kind, message=message), html="", duration_ms=0
    )


# --- Reaping ---------------------------------------------------------------------------------------------------------


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
    for info in CedulaInfo.objects.in_flight().only(
        "pk", "cedula", "claimed_at", "claimed_by", "claim_token", "attempts"
    ):
        if _holder_is_dead(info.claimed_by, info.claimed_at, now):
            # The lost attempt counts against the retry budget, so a cedula that kills its worker ends as error.
            # A dead worker, or a live one whose database refused the result: either way nothing was recorded.
            report = error_report(
                ErrorKind.WORKER_LOST, f"La reserva de {info.claimed_by} terminó sin un resultado registrado."
            )
            if lookup_record_outcome(cedula_id=info.pk, claim_token=info.claim_token, report=report, task_id=""):
                reaped += 1
    if reaped:
        logger.warning("lookup_claims_reaped", count=reaped)
    return reaped
