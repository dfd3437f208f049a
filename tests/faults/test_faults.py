"""Faults: a worker killed again and again, every stand-in fault mode at once, a database that refuses the write."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import time

import pytest
import time_machine
from django.db import connection
from django.db.backends.signals import connection_created
from django.utils import timezone

from cedula import services
from cedula.models import CedulaInfo, LookupAttempt, LookupTicket, Priority, Source, Status
from cedula.registry.simulator.outcomes import FAULT_CEDULAS, demo_cedulas, expected_outcome
from devtools.procs import is_alive
from tests.helpers.queue import all_settled, final_state, queue, settled_count, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def live_holder(worker) -> int | None:
    """The pid of a live worker process that holds a claim right now (a killed one's claim waits for the reaper)."""
    holders = CedulaInfo.objects.filter(claimed_at__isnull=False, claimed_by__contains=":")
    pids = {int(h.rpartition(":")[2]) for h in holders.values_list("claimed_by", flat=True)}
    alive = pids.intersection(worker.worker_pids(timeout=0.2)) if pids else set()
    return min(alive) if alive else None


@pytest.mark.timeout(900)
def test_ten_sigkills_during_a_hundred_lookups_lose_nothing_and_count_nothing_twice(start_worker):
    cedulas = sorted(demo_cedulas()) + [str(60_000_000 + n * 7919) for n in range(100 - len(demo_cedulas()))]
    ids = queue(cedulas[:100])
    worker = start_worker(LOOKUP_RETRY_DELAYS_S="0.2,0.2,0.2")
    rng = random.Random(20261128)
    # Ten random moments spread over the run: a kill lands once that many rows have settled, at a random point inside
    # the lookup that holds the claim then. Driven by progress, not by wall-clock sleeps, so a fast machine cannot
    # finish the run before the ten kills land (at least fifteen rows are still open after the last one).
    targets = sorted(rng.sample(range(3, 86), 10))

    def kill_a_holder() -> bool:
        pid = live_holder(worker)
        if pid is None:
            return False
        time.sleep(rng.uniform(0.0, 0.4))
        if pid not in worker.worker_pids(timeout=1):
            return False
        os.kill(pid, signal.SIGKILL)
        # Gone before the next look: a dying process still shows its command line and its claim for a moment.
        wait_until(lambda: not is_alive(pid), timeout=10, interval=0.02, message=f"{pid} survived SIGKILL")
        return True

    for target in targets:
        wait_until(lambda t=target: settled_count(ids) >= t, timeout=300, interval=0.05, message=f"{target} settled")
        # Each of the ten kills must land: a run that ends, or stalls, before then fails here.
        wait_until(kill_a_holder, timeout=120, interval=0.02, message=f"no worker held a claim to kill at {target}")

    wait_until(lambda: all_settled(ids), timeout=600, message="rows left unsettled after the kills")

    lost = 0
    for info in CedulaInfo.objects.filter(pk__in=ids):
        assert final_state(info) == expected_outcome(info.cedula), info.cedula
        outcomes = list(LookupAttempt.objects.filter(cedula=info).values_list("outcome", "error_kind"))
        finals = [o for o in outcomes if o[0] != "error"]
        assert len(finals) == 1, (info.cedula, outcomes)  # answered once, never twice-counted
        assert all(kind == "worker_lost" for outcome, kind in outcomes if outcome == "error")
        assert info.check_count == len(outcomes)
        lost += len(outcomes) - 1
    assert 1 <= lost <= 10
    assert not LookupTicket.objects.filter(started_at__lt=timezone.now() - dt.timedelta(minutes=5)).exists()


def test_every_stand_in_fault_mixed_in_a_batch_ends_with_the_right_status_and_kind(start_worker):
    normal = sorted(demo_cedulas())[:4]
    ids = queue([*FAULT_CEDULAS, *normal])
    start_worker(
        LOOKUP_RETRY_DELAYS_S="0.2,0.2,0.2",
        REGISTRY_ANSWER_TIMEOUT_S="7",  # the slow render answers after ~4 s; the hang never does
        REGISTRY_BREAKER_THRESHOLD="100",
    )

    wait_until(lambda: all_settled(ids), timeout=300, message="a fault left a row unsettled")

    for info in CedulaInfo.objects.filter(pk__in=ids):
        assert final_state(info) == expected_outcome(info.cedula), info.cedula
        assert info.claimed_at is None and info.next_attempt_at is None
    assert not CedulaInfo.objects.filter(pk__in=ids, status=Status.PENDING).exists()


# --- A database that refuses the write ---------------------------------------------------------------------------


@pytest.fixture
def registry_runner(registry_site):
    from cedula.registry.browser import BrowserConfig, BrowserRunner

    runner = BrowserRunner(BrowserConfig.from_settings(registry_url=registry_site.url))
    yield runner
    runner.close()


def _read_only_pragma(cursor, *, on: bool = True) -> None:
    if connection.vendor == "sqlite":
        cursor.execute(f"PRAGMA query_only = {'ON' if on else 'OFF'}")
    else:
        cursor.execute(f"SET default_transaction_read_only = {'on' if on else 'off'}")


def _refuse_on_every_connection(apply) -> None:
    """Apply a refusal to this connection and to any the code under test opens after dropping it: a read-only or
    full database stays so however often the process reconnects."""

    def on_new_connection(sender, connection, **kwargs):  # noqa: ARG001
        with connection.cursor() as cursor:
            apply(cursor)

    _REFUSALS.append(on_new_connection)
    connection_created.connect(on_new_connection, weak=False)
    with connection.cursor() as cursor:
        apply(cursor)


def _stop_refusing() -> None:
    while _REFUSALS:
        connection_created.disconnect(_REFUSALS.pop())


_REFUSALS: list = []


@pytest.fixture(autouse=True)
def _refusals_end_with_the_test():
    yield
    _stop_refusing()


def _read_only_on() -> None:
    _refuse_on_every_connection(_read_only_pragma)


def _read_only_off() -> None:
    _stop_refusing()
    with connection.cursor() as cursor:
        _read_only_pragma(cursor, on=False)


FILLER_CEDULA = "9999999999"


def _no_growth_pragma(cursor) -> None:
    cursor.execute("PRAGMA page_count")
    cursor.execute(f"PRAGMA max_page_count = {cursor.fetchone()[0]}")


def _disk_full_on() -> None:
    """The disk fills up: SQLite may not grow the file any more, and the pages it has are full of other rows."""
    filler = CedulaInfo.objects.get_or_create(cedula=FILLER_CEDULA)[0]
    _refuse_on_every_connection(_no_growth_pragma)
    with connection.cursor() as cursor:
        for _ in range(100_000):
            try:
                cursor.execute(
                    "INSERT INTO cedula_lookupattempt (cedula_id, started_at, duration_ms, outcome, error_kind,"
                    " message, attempt, task_id, snapshot, selector_fallbacks)"
                    " VALUES (%s, %s, 0, 'error', '', '', 1, '', %s, '')",
                    [filler.pk, timezone.now(), "x" * 200],
                )
            except Exception as exc:  # noqa: BLE001
                assert "full" in str(exc)
                return
    raise AssertionError("the database never filled up")


def _disk_full_off() -> None:
    _stop_refusing()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA max_page_count = 1073741823")
    CedulaInfo.objects.filter(cedula=FILLER_CEDULA).delete()


FAILURES = {
    "read_only": (_read_only_on, _read_only_off, ("readonly", "read-only")),
    "disk_full": (_disk_full_on, _disk_full_off, ("full",)),
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_a_database_that_refuses_the_write_gives_a_clear_error_and_the_row_is_looked_up_again_later(
    failure, registry_runner, settings
):
    from structlog.testing import capture_logs

    if failure == "disk_full" and connection.vendor != "sqlite":
        pytest.skip("the disk-full condition is simulated with SQLite's max_page_count")
    settings.LOOKUP_RETRY_DELAYS_S = [0, 0, 0]
    fail, recover, words = FAILURES[failure]
    cedula = "1000000005"  # the block page: a non-final answer whose snapshot needs new pages
    info = services.cedula_request_lookup(cedula=cedula, priority=Priority.STAFF, source=Source.ADMIN)
    ticket = LookupTicket.objects.create()

    def lookup_then_fail(value: str):
        report = registry_runner.lookup(value)
        fail()
        return report

    with capture_logs() as logs:
        with pytest.raises(services.LookupNotRecordedError) as raised:
            services.lookup_run_ticket(
                ticket_id=ticket.pk, run_lookup=lookup_then_fail, max_wait_s=0, sleep=lambda s: None
            )
        recover()

    assert any(word in str(raised.value).lower() for word in words), str(raised.value)
    failed = [e for e in logs if e["event"] == "lookup_record_failed"]
    assert len(failed) == 3 and not failed[-1]["will_retry_write"]
    info.refresh_from_db()
    assert info.claimed_at is not None and not LookupAttempt.objects.exists()  # nothing half-written

    # Later: the claim outlives the task timeout, the reaper hands the row out again, and it ends final.
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=300)):
        assert services.lookups_reap_stale() == 1
        services.breaker_resume(by="test")
        CedulaInfo.objects.filter(pk=info.pk).update(cedula="52123456")  # the registry answers now
        ticket = LookupTicket.objects.create()
        services.lookup_run_ticket(ticket_id=ticket.pk, run_lookup=registry_runner.lookup, max_wait_s=0)
    info.refresh_from_db()
    assert info.status == expected_outcome("52123456")
    assert [a.error_kind for a in LookupAttempt.objects.order_by("id")] == ["worker_lost", ""]
