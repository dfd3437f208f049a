"""The pipeline end to end: a real `qcluster` process, the real stand-in registry, real Chromium."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Schedule

from cedula import services
from cedula.models import Breaker, CedulaInfo, LookupAttempt, LookupTicket, Priority, Source, Status
from cedula.registry.simulator.outcomes import (
    BLOCKED,
    FLAKY,
    MALFORMED,
    SERVER_ERROR,
    SLOW,
    demo_cedulas,
    expected_outcome,
)
from devtools.procs import process_name
from tests.helpers.queue import all_settled, final_state, queue, wait_until

# Priority latency and breaker cooldowns in seconds: measured alone.
pytestmark = [pytest.mark.integration, pytest.mark.serial, pytest.mark.django_db(transaction=True)]


def test_a_batch_reaches_the_right_final_statuses(start_worker):
    cedulas = sorted(demo_cedulas())[:6] + ["52123456", "79000111"]
    ids = queue(cedulas)
    start_worker()

    wait_until(lambda: all_settled(ids), timeout=120, message="batch did not settle")

    for info in CedulaInfo.objects.filter(pk__in=ids):
        assert final_state(info) == expected_outcome(info.cedula), info.cedula
        if info.status == Status.ACTIVE:
            assert info.municipio and info.puesto and info.mesa
    assert LookupAttempt.objects.filter(cedula_id__in=ids).count() == len(ids)


def test_fault_cedulas_are_retried_per_policy_and_end_with_the_right_kind(
    start_worker, settings, registry_site_factory
):
    settings.LOOKUP_RETRY_DELAYS_S = [0.2, 0.2, 0.2]
    faults = [SERVER_ERROR, MALFORMED, BLOCKED, FLAKY, SLOW]
    ids = queue(faults)
    # A private stand-in: the flaky cedula is blocked on its first request per server run.
    start_worker(registry_url=registry_site_factory().url, REGISTRY_BREAKER_THRESHOLD="100")

    wait_until(lambda: all_settled(ids), timeout=180, message="faults did not settle")

    for info in CedulaInfo.objects.filter(pk__in=ids):
        assert final_state(info) == expected_outcome(info.cedula), info.cedula
        attempts = LookupAttempt.objects.filter(cedula=info).count()
        if info.status == Status.ERROR:
            assert attempts == 4, (info.cedula, attempts)  # the first try and 3 retries
        elif info.cedula == FLAKY:
            assert attempts == 2
        else:
            assert attempts == 1


def test_an_interactive_row_jumps_ahead_of_a_long_bulk_backlog(start_worker, settings):
    settings.REGISTRY_MIN_GAP_S = 0.5
    now = timezone.now()
    CedulaInfo.objects.bulk_create(
        CedulaInfo(cedula=str(80_000_000 + n), source=Source.IMPORT, priority=Priority.BULK, next_attempt_at=now)
        for n in range(2000)
    )
    services.lookups_dispatch()
    start_worker()
    wait_until(lambda: LookupAttempt.objects.count() >= 2, timeout=60, message="worker did not start")

    person = services.cedula_request_lookup(cedula="3000111", priority=Priority.INTERACTIVE, source=Source.REGISTRATION)
    requested = time.monotonic()
    wait_until(lambda: LookupAttempt.objects.filter(cedula=person).exists(), timeout=30, message="person waited")

    assert time.monotonic() - requested < 0.5 + 5  # G plus one lookup's worth of slack
    bulk_done = LookupAttempt.objects.exclude(cedula=person).count()
    assert bulk_done < 2000


def _kill_process_holding(cedula_id: int) -> int:
    holder = wait_until(
        lambda: (
            CedulaInfo.objects.filter(pk=cedula_id, claimed_at__isnull=False)
            .values_list("claimed_by", flat=True)
            .first()
        ),
        timeout=60,
        interval=0.05,
        message="row never claimed",
    )
    pid = int(holder.rpartition(":")[2])
    os.kill(pid, signal.SIGKILL)
    return pid


def test_sigkill_of_the_worker_mid_lookup_loses_nothing(start_worker):
    ids = queue([SLOW])  # answers after ~4 s: plenty of time to kill the worker mid-lookup
    worker = start_worker()
    browsers_before = wait_until(worker.chromium_pids, timeout=60, interval=0.1, message="no chromium started")
    killed = _kill_process_holding(ids[0])

    # No Chromium of the killed worker outlives it for more than a few seconds.
    wait_until(
        lambda: not [p for p in browsers_before if "chrom" in process_name(p)],
        timeout=10,
        message=f"chromium of worker {killed} survived it",
    )

    # The sentinel respawns a worker; the reaper hands the row out again and it ends final.
    wait_until(lambda: all_settled(ids), timeout=150, message="row lost after SIGKILL")
    info = CedulaInfo.objects.get(pk=ids[0])
    assert info.status == Status.ACTIVE
    kinds = list(LookupAttempt.objects.filter(cedula=info).order_by("id").values_list("error_kind", flat=True))
    assert kinds == ["worker_lost", ""]


def test_a_worker_that_starts_after_a_crash_takes_over_what_the_dead_one_held(start_worker):
    """Both tickets died with their worker and the broker holds nothing: the (re)spawned worker reaps and re-queues at
    once instead of waiting for the scheduled dispatch or a redelivery (the Redis broker never redelivers)."""
    ids = queue(sorted(demo_cedulas())[:2])
    dead = f"{socket.gethostname()}:{_dead_pid()}"
    claim = services.lookup_claim_next()
    CedulaInfo.objects.filter(pk=claim.cedula_id).update(claimed_by=dead)
    LookupTicket.objects.all().delete()  # the tickets queueing dispatched: they died with the worker too
    for _ in range(2):
        LookupTicket.objects.create(started_at=timezone.now(), started_by=dead)
    get_broker().purge_queue()
    assert not Schedule.objects.exists()  # no scheduled safety net in this test

    start_worker()

    wait_until(lambda: all_settled(ids), timeout=60, message="nothing took over the dead worker's claim")
    for info in CedulaInfo.objects.filter(pk__in=ids):
        assert final_state(info) == expected_outcome(info.cedula), info.cedula
    assert LookupAttempt.objects.filter(cedula_id=claim.cedula_id, error_kind="worker_lost").count() == 1


def test_a_worker_killed_while_idle_does_not_wedge_the_cluster(start_worker):
    """An idle worker waits in the task queue's get() holding its read lock; killed there, its successor must not
    wait on that lock forever (django-q2/django-q2#23)."""
    worker = start_worker()
    idle = wait_until(worker.task_worker_pids, timeout=60, interval=0.1, message="no task worker started")[-1]
    time.sleep(1.0)  # nothing queued: the worker is blocked in task_queue.get()
    os.kill(idle, signal.SIGKILL)
    wait_until(
        lambda: [p for p in worker.task_worker_pids() if p != idle], timeout=30, interval=0.1, message="no respawn"
    )

    ids = queue(sorted(demo_cedulas())[:2])

    wait_until(lambda: all_settled(ids), timeout=60, message="the cluster stopped running tasks after the kill")
    for info in CedulaInfo.objects.filter(pk__in=ids):
        assert final_state(info) == expected_outcome(info.cedula), info.cedula


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_the_breaker_opens_on_repeated_blocks_and_closes_after_the_cooldown(
    start_worker, settings, registry_site_factory
):
    # Issue 23: a block is the system's when the site blocks every request (a probe sees it too); one cedula the
    # stand-in blocks alone is that row's own (tests/queue/test_gate.py, the fault-cedula tests).
    settings.LOOKUP_RETRY_DELAYS_S = [0.2, 0.2, 0.2]
    site = registry_site_factory()
    site.set_blocking(True)
    blocked = queue([sorted(demo_cedulas())[1]])
    start_worker(registry_url=site.url, REGISTRY_BREAKER_THRESHOLD="2", REGISTRY_BREAKER_COOLDOWN_S="3")

    # Open for good, not the one-second confirming probe of a first failure (which the site still blocking confirms).
    wait_until(
        lambda: Breaker.objects.filter(state=Breaker.State.OPEN, confirming=False).exists(),
        timeout=60,
        message="breaker never opened",
    )
    opened = time.monotonic()
    good = queue([sorted(demo_cedulas())[0]], priority=Priority.INTERACTIVE, source=Source.REGISTRATION)
    assert not LookupAttempt.objects.filter(cedula_id=good[0]).exists()
    site.set_blocking(False)

    wait_until(lambda: all_settled(good + blocked), timeout=60, message="breaker never closed")
    assert time.monotonic() - opened >= 2.5
    assert Breaker.objects.get().state == Breaker.State.CLOSED
    assert CedulaInfo.objects.get(pk=blocked[0]).status != Status.ERROR
