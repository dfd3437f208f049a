"""The queue's services on a real SQLite file. The registry is the only thing faked: it is what leaves the machine."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys

import pytest
import time_machine
from django.utils import timezone
from structlog.testing import capture_logs

from cedula import services
from cedula.models import (
    THROTTLE_PK,
    Breaker,
    CedulaInfo,
    LookupAttempt,
    LookupTicket,
    Priority,
    Source,
    Status,
    Throttle,
)
from cedula.registry.browser import LookupReport
from cedula.registry.parser import LookupResult

pytestmark = pytest.mark.django_db

ACTIVE = LookupResult(
    status="active", departamento="ANTIOQUIA", municipio="MEDELLIN", puesto="IE LA SALLE", direccion="CL 10", mesa="013"
)
BLOCKED = LookupResult(status="error", error_kind="blocked", message="block page")
TIMEOUT = LookupResult(status="error", error_kind="timeout", message="no answer in 20 s")
BLOCKED_CAUSE = LookupResult(status="error", error_kind="blocked", message="block page", cause="blocked")


def report(result: LookupResult, html: str = "<div>respuesta</div>") -> LookupReport:
    return LookupReport(result=result, html=html, duration_ms=42)


def queue(cedula: str, priority: int = Priority.BULK, source: str = Source.IMPORT) -> CedulaInfo:
    return services.cedula_request_lookup(cedula=cedula, priority=priority, source=source)


def run_one(answer: LookupResult, **kwargs) -> int:
    ticket = LookupTicket.objects.create()
    return services.lookup_run_ticket(ticket_id=ticket.pk, run_lookup=lambda c: report(answer), max_wait_s=0, **kwargs)


def test_a_final_answer_is_recorded_once_and_never_retried():
    info = queue("1234567")

    assert run_one(ACTIVE) == 1

    info.refresh_from_db()
    assert info.status == Status.ACTIVE
    assert (info.departamento, info.municipio, info.mesa) == ("ANTIOQUIA", "MEDELLIN", "013")
    assert info.next_attempt_at is None and info.claimed_at is None
    assert info.check_count == 1 and info.attempts == 0
    attempt = LookupAttempt.objects.get()
    assert (attempt.outcome, attempt.attempt, attempt.snapshot) == ("active", 1, "")
    assert run_one(ACTIVE) == 0  # nothing due any more


def test_transient_errors_back_off_then_end_as_error_with_the_kind_kept(settings):
    settings.LOOKUP_RETRY_DELAYS_S = [30, 60, 120]
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        info = queue("1234567")
        for expected_delay in (30, 60, 120):
            assert run_one(TIMEOUT) == 1
            info.refresh_from_db()
            assert info.status == Status.PENDING
            assert info.next_attempt_at == timezone.now() + dt.timedelta(seconds=expected_delay)
            assert run_one(TIMEOUT) == 0  # not due yet
            clock.shift(expected_delay)
        assert run_one(TIMEOUT) == 1

    info.refresh_from_db()
    assert info.status == Status.ERROR
    assert info.error_kind == "timeout"
    assert info.last_error == "no answer in 20 s"
    assert info.next_attempt_at is None
    assert list(LookupAttempt.objects.order_by("id").values_list("attempt", flat=True)) == [1, 2, 3, 4]


def test_staff_retry_starts_a_fresh_cycle_for_failed_rows():
    info = queue("1234567")
    info.status, info.next_attempt_at = Status.ERROR, None
    info.save()

    assert services.cedulas_retry_failed_matching(rows=CedulaInfo.objects.filter(pk=info.pk)) == 1

    info.refresh_from_db()
    assert info.next_attempt_at is not None and info.priority == Priority.STAFF and info.attempts == 0


def test_the_most_urgent_due_row_is_claimed_first():
    with time_machine.travel(timezone.now(), tick=False) as clock:
        bulk_old = queue("1000001")
        clock.shift(1)
        queue("1000002")
        clock.shift(1)
        staff = queue("2000001", priority=Priority.STAFF, source=Source.ADMIN)
        clock.shift(1)
        person = queue("3000001", priority=Priority.INTERACTIVE, source=Source.REGISTRATION)
        clock.shift(1)
        order = []
        for _ in range(3):
            claim = services.lookup_claim_next()
            order.append(claim.cedula_id)
            services.lookup_record_outcome(cedula_id=claim.cedula_id, claim_token=claim.token, report=report(ACTIVE))
    assert order == [person.pk, staff.pk, bulk_old.pk]


def test_the_throttle_allows_one_claim_per_gap_across_callers(settings):
    settings.REGISTRY_MIN_GAP_S = 5
    queue("1000001")
    queue("1000002")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert services.lookup_claim_next() is not None
        assert services.lookup_claim_next() is None
        assert services.throttle_wait_s() == pytest.approx(5)
        clock.shift(5)
        assert services.lookup_claim_next() is not None


def test_a_late_outcome_for_a_lost_claim_records_nothing():
    queue("1234567")
    claim = services.lookup_claim_next()

    assert (
        services.lookup_record_outcome(cedula_id=claim.cedula_id, claim_token="not-mine", report=report(ACTIVE)) is None
    )
    assert not LookupAttempt.objects.exists()


def test_a_duplicate_delivery_of_a_ticket_does_nothing():
    queue("1234567")
    ticket = LookupTicket.objects.create(started_at=timezone.now(), started_by="elsewhere:1")
    calls = []

    ran = services.lookup_run_ticket(ticket_id=ticket.pk, run_lookup=lambda c: calls.append(c), max_wait_s=0)

    assert ran == 0 and calls == []
    assert services.lookup_run_ticket(ticket_id=987654, run_lookup=lambda c: calls.append(c), max_wait_s=0) == 0


def test_a_new_request_for_a_queued_row_keeps_its_place_but_gains_priority():
    first = queue("1234567")
    again = services.cedula_request_lookup(cedula="1.234.567", priority=Priority.INTERACTIVE, source=Source.REFRESH)

    assert again.pk == first.pk
    assert again.priority == Priority.INTERACTIVE
    assert CedulaInfo.objects.count() == 1


def test_the_breaker_opens_after_consecutive_blocks_probes_after_cooldown_and_doubles(settings):
    # Issue 23: the probe is a page load (run_probe), not a lookup; a block spends no row's retries.
    settings.REGISTRY_BREAKER_THRESHOLD = 3
    settings.REGISTRY_BREAKER_COOLDOWN_S = 60
    settings.LOOKUP_RETRY_DELAYS_S = [0, 0, 0, 0, 0, 0, 0, 0]
    for n in range(5):
        queue(str(1000000 + n))
    with time_machine.travel(timezone.now(), tick=False) as clock, capture_logs() as logs:
        for _ in range(3):  # a block, the confirming probe blocked too, a block
            assert run_one(BLOCKED_CAUSE, run_probe=lambda: BLOCKED_CAUSE) == 1
        breaker = Breaker.objects.get()
        assert breaker.state == Breaker.State.OPEN and breaker.cooldown_s == 60 and breaker.cause == "blocked"
        assert run_one(ACTIVE, run_probe=lambda: None) == 0  # paused
        clock.shift(61)
        assert run_one(ACTIVE, run_probe=lambda: BLOCKED_CAUSE) == 1  # the probe, blocked again
        breaker.refresh_from_db()
        assert breaker.state == Breaker.State.OPEN and breaker.cooldown_s == 120
        clock.shift(121)
        assert run_one(ACTIVE, run_probe=lambda: None) == 1  # a successful probe closes it
        breaker.refresh_from_db()
        assert breaker.state == Breaker.State.CLOSED and breaker.consecutive_blocks == 0
    events = [e["event"] for e in logs]
    assert events.count("breaker_opened") == 1 and events.count("breaker_closed") == 1
    assert not CedulaInfo.objects.exclude(attempts=0).exists()  # no row spent a retry on the blocks
    assert LookupAttempt.objects.filter(cause="blocked").count() == 2


def test_a_manual_pause_stops_claims_until_resumed():
    queue("1234567")
    services.breaker_pause(by="ops@example.com", reason="mantenimiento")

    assert services.lookup_claim_next() is None
    assert services.seconds_until_claimable() is None

    services.breaker_resume(by="ops@example.com")
    assert services.lookup_claim_next() is not None


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_row_held_by_a_dead_worker_is_returned_to_the_queue(settings):
    settings.LOOKUP_RETRY_DELAYS_S = [0, 0, 0]
    info = queue("1234567")
    claim = services.lookup_claim_next()
    CedulaInfo.objects.filter(pk=claim.cedula_id).update(claimed_by=f"{socket.gethostname()}:{_dead_pid()}")
    LookupTicket.objects.create(started_at=timezone.now(), started_by=f"{socket.gethostname()}:{_dead_pid()}")

    assert services.lookups_reap_stale() == 1

    info.refresh_from_db()
    assert info.claimed_at is None and info.next_attempt_at is not None and info.status == Status.PENDING
    assert LookupAttempt.objects.get().error_kind == "worker_lost"
    assert not LookupTicket.objects.exists()
    assert run_one(ACTIVE) == 1


def test_a_redelivered_ticket_of_a_dead_runner_reaps_its_claim_and_dispatches_anew(settings):
    from django_q.brokers import get_broker

    settings.LOOKUP_RETRY_DELAYS_S = [0, 0, 0]
    broker = get_broker()
    broker.purge_queue()
    info = queue("1234567")
    dead = f"{socket.gethostname()}:{_dead_pid()}"
    claim = services.lookup_claim_next()
    CedulaInfo.objects.filter(pk=claim.cedula_id).update(claimed_by=dead)
    ticket = LookupTicket.objects.create(started_at=timezone.now(), started_by=dead)

    assert services.lookup_run_ticket(ticket_id=ticket.pk, run_lookup=lambda c: report(ACTIVE), max_wait_s=0) == 0

    info.refresh_from_db()
    assert info.claimed_at is None and info.next_attempt_at is not None
    assert not LookupTicket.objects.filter(pk=ticket.pk).exists()
    assert LookupTicket.objects.count() == settings.LOOKUP_DISPATCH_DEPTH == broker.queue_size()
    broker.purge_queue()


def test_a_ticket_whose_creator_died_before_it_started_is_replaced(settings):
    from django_q.brokers import get_broker

    broker = get_broker()
    broker.purge_queue()
    queue("1234567")
    LookupTicket.objects.all().delete()
    dead = f"{socket.gethostname()}:{_dead_pid()}"
    orphans = [LookupTicket.objects.create(created_by=dead).pk for _ in range(settings.LOOKUP_DISPATCH_DEPTH)]
    alive = LookupTicket.objects.create(created_by="other-host:1")  # another host's: only its age can condemn it

    services.lookups_dispatch()

    assert not LookupTicket.objects.filter(pk__in=orphans).exists()
    assert LookupTicket.objects.filter(pk=alive.pk).exists()
    assert LookupTicket.objects.count() == settings.LOOKUP_DISPATCH_DEPTH
    creators = set(LookupTicket.objects.values_list("created_by", flat=True))
    assert creators == {"other-host:1", services.worker_identity()}
    broker.purge_queue()


def test_a_row_held_past_the_task_timeout_is_returned_even_from_another_host():
    queue("1234567")
    claim = services.lookup_claim_next()
    CedulaInfo.objects.filter(pk=claim.cedula_id).update(
        claimed_by="other-host:1", claimed_at=timezone.now() - dt.timedelta(seconds=600)
    )
    assert services.lookups_reap_stale() == 1


def test_a_live_workers_claim_is_left_alone():
    queue("1234567")
    services.lookup_claim_next()
    assert services.lookups_reap_stale() == 0


def test_snapshots_of_failures_are_redacted_and_capped_and_successes_keep_none(settings):
    settings.LOOKUP_SNAPSHOT_MAX_BYTES = 100
    queue("1234567")
    html = "<html><p>Cédula 1234567 rechazada</p>" + "x" * 500 + "</html>"
    ticket = LookupTicket.objects.create()
    services.lookup_run_ticket(ticket_id=ticket.pk, run_lookup=lambda c: report(BLOCKED, html), max_wait_s=0)

    snapshot = LookupAttempt.objects.get().snapshot
    assert "1234567" not in snapshot and "#######" in snapshot
    assert len(snapshot.encode()) <= 100


def test_only_the_last_n_snapshots_are_kept(settings):
    settings.LOOKUP_SNAPSHOTS_KEPT = 2
    settings.LOOKUP_RETRY_DELAYS_S = []
    for n in range(4):
        queue(str(5000000 + n))
        run_one(TIMEOUT)
    kept = LookupAttempt.objects.exclude(snapshot="").count()
    assert kept == 2


def test_dispatch_keeps_at_most_the_configured_tickets(settings):
    from django_q.brokers import get_broker

    settings.LOOKUP_DISPATCH_DEPTH = 2
    broker = get_broker()
    broker.purge_queue()
    for n in range(10):
        queue(str(6000000 + n))
    services.lookups_dispatch()
    services.lookups_dispatch()

    assert LookupTicket.objects.count() == 2
    assert broker.queue_size() == 2
    broker.purge_queue()


def test_dispatch_enqueues_nothing_without_due_work():
    assert services.lookups_dispatch() == 0
    assert not LookupTicket.objects.exists()


def test_a_crash_inside_the_client_still_updates_the_row():
    info = queue("1234567")
    ticket = LookupTicket.objects.create()

    def explode(cedula):
        raise RuntimeError("browser died")

    services.lookup_run_ticket(ticket_id=ticket.pk, run_lookup=explode, max_wait_s=0)

    info.refresh_from_db()
    assert info.claimed_at is None and info.error_kind == "browser" and info.next_attempt_at is not None


def test_reset_forgets_results_and_queues_again():
    info = queue("1234567")
    run_one(ACTIVE)

    assert services.cedulas_reset_matching(rows=CedulaInfo.objects.filter(pk=info.pk)) == 1

    info.refresh_from_db()
    assert info.status == Status.PENDING and info.municipio == "" and info.next_attempt_at is not None


def test_queue_now_moves_queued_bulk_rows_up_and_starts_idle_ones():
    queued = queue("1234567")
    idle = queue("7654321")
    run_one(ACTIVE)  # one of them is done (the older)
    assert services.cedulas_queue_now(ids=[queued.pk, idle.pk]) == 2
    assert set(CedulaInfo.objects.values_list("priority", flat=True)) == {Priority.STAFF}


def test_no_log_line_carries_a_full_cedula():
    with capture_logs() as logs:
        queue("1234567")
        run_one(ACTIVE)
    assert logs and all("1234567" not in str(entry) for entry in logs)


def test_one_deployment_keeps_one_gap_whatever_its_hosts(settings):
    settings.REGISTRY_MIN_GAP_S = 5
    for n in range(3):
        queue(str(1000010 + n))
    with time_machine.travel(timezone.now(), tick=False):
        settings.HOSTNAME = "worker-a"
        assert services.lookup_claim_next() is not None
        settings.HOSTNAME = "worker-b"  # a second worker host adds no request slot
        assert services.lookup_claim_next() is None
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=5), tick=False):
        assert services.lookup_claim_next() is not None
    assert list(Throttle.objects.values_list("key", flat=True)) == [THROTTLE_PK]
    assert not hasattr(settings, "REGISTRY_EGRESS_ID")
