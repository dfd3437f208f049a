"""The faults of what the pipeline runs on: its browser, its broker, its database, the registry itself.

Each test runs a real `qcluster`, the real stand-in and the real test database (SQLite file by default; PostgreSQL and
Redis on the scale-out pass), and ends with every row final (or in `error` after its retries), none lost, none
counted twice, nothing claimed or queued.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from cedula import services
from cedula.models import CedulaInfo, LookupAttempt, LookupTicket, Status
from cedula.registry.simulator.outcomes import SLOW, demo_cedulas, expected_outcome
from devtools.procs import is_alive
from tests.helpers.queue import all_settled, final_state, queue, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def assert_accounted(ids: list[int], *, allow_error: bool = False) -> dict[str, list[tuple[str, str]]]:
    """Every row final (its expected answer, or `error` after its retries when allowed), idle, answered once and
    counted once per request. Returns each cedula's attempts (outcome, error kind), oldest first."""
    history = {}
    for info in CedulaInfo.objects.filter(pk__in=ids):
        attempts = list(LookupAttempt.objects.filter(cedula=info).order_by("id").values_list("outcome", "error_kind"))
        history[info.cedula] = attempts
        assert info.claimed_at is None and info.next_attempt_at is None, (info.cedula, "still queued or held")
        assert info.check_count == len(attempts), (info.cedula, attempts)
        finals = [a for a in attempts if a[0] != "error"]
        if info.status == Status.ERROR:
            assert allow_error, (info.cedula, attempts)
            assert not finals and len(attempts) == 4, (info.cedula, attempts)  # the first try and 3 retries
        else:
            assert final_state(info) == expected_outcome(info.cedula), (info.cedula, attempts)
            assert len(finals) == 1, (info.cedula, attempts)  # answered once, never twice-counted
    assert len(history) == len(set(ids))
    return history


def assert_nothing_left_forever() -> None:
    """No ticket or claim outlives the reaper: five minutes on, a reap leaves nothing behind."""
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=5)):
        services.lookups_reap_stale()
        assert not LookupTicket.objects.exists()
        assert not CedulaInfo.objects.filter(claimed_at__isnull=False).exists()


def some_cedulas(n: int) -> list[str]:
    return sorted(demo_cedulas())[:n]


# --- Chromium killed under a lookup ----------------------------------------------------------------------------------


@pytest.mark.timeout(240)
def test_chromium_killed_under_a_lookup_is_retried_and_every_row_ends_final(start_worker):
    ids = queue([SLOW, *some_cedulas(4)])  # SLOW renders after ~4 s: the kill lands inside that lookup
    worker = start_worker(LOOKUP_RETRY_DELAYS_S="0.2,0.2,0.2")
    slow = ids[0]
    wait_until(
        lambda: CedulaInfo.objects.filter(pk=slow, claimed_at__isnull=False).exists() and worker.chromium_pids(),
        timeout=90,
        interval=0.05,
        message="the slow lookup never started",
    )
    time.sleep(1.0)  # well inside the slow render
    browsers = worker.chromium_pids()
    assert browsers
    for pid in browsers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_until(lambda: not [p for p in browsers if is_alive(p)], timeout=10, message="chromium survived SIGKILL")

    wait_until(lambda: all_settled(ids), timeout=150, message="rows left unsettled after chromium died")

    history = assert_accounted(ids)
    # The lookup under the kill failed as a browser/network error and was asked again; the worker lives on.
    assert history[SLOW][0][0] == "error" and history[SLOW][-1] == ("active", ""), history[SLOW]
    assert worker.proc.poll() is None
    assert_nothing_left_forever()


# --- The broker loses every queued ticket ----------------------------------------------------------------------------


def _flush_broker() -> None:
    """Everything the broker holds, gone: FLUSHDB on Redis, the ORM broker's rows on the database."""
    from django.conf import settings

    if settings.Q_REDIS_URL:
        import redis

        redis.Redis.from_url(settings.Q_REDIS_URL).flushdb()
    else:
        from django_q.models import OrmQ

        OrmQ.objects.all().delete()


@pytest.mark.timeout(240)
def test_a_broker_that_loses_every_queued_ticket_heals_and_loses_no_row(start_worker):
    ids = queue([SLOW, *some_cedulas(11)])
    start_worker(LOOKUP_RETRY_DELAYS_S="0.2,0.2,0.2")
    for _ in range(2):
        # While a lookup runs, the other ticket waits in the broker: that one is lost.
        wait_until(
            lambda: CedulaInfo.objects.filter(pk__in=ids, claimed_at__isnull=False).exists() or all_settled(ids),
            timeout=90,
            interval=0.05,
            message="no lookup running",
        )
        _flush_broker()
        time.sleep(1.0)

    wait_until(lambda: all_settled(ids), timeout=150, message="rows lost with the broker's tickets")

    assert_accounted(ids)
    assert_nothing_left_forever()


# --- The stand-in down, then back: the gate opens and closes, no row ends in error (issue 23) ------------------------


@pytest.mark.timeout(300)
def test_the_registry_down_then_back_pauses_the_rows_and_tells_on_call_once_each_way(
    start_worker, settings, local_sentry
):
    from cedula.models import Breaker
    from cedula.registry.simulator import start_simulator

    site = start_simulator()
    port, url = site.port, site.url
    site.stop()  # the registry is down before the worker's first request
    down = queue(some_cedulas(4))
    start_worker(
        registry_url=url,
        LOOKUP_RETRY_DELAYS_S="1,1,1",
        REGISTRY_BREAKER_THRESHOLD="3",
        REGISTRY_BREAKER_COOLDOWN_S="1",
        REGISTRY_BREAKER_MAX_COOLDOWN_S="4",
        SENTRY_DSN=local_sentry.server.dsn,  # the gate's alerts leave from the worker
    )

    wait_until(
        lambda: Breaker.objects.filter(pk=1, state=Breaker.State.OPEN, cause="registry_down").exists(),
        timeout=120,
        message="the gate never opened on a registry that is down",
    )
    time.sleep(8)  # the outage lasts several cooldowns
    # Nothing gave up on a registry that is down: every row waits as it was, no retry spent.
    assert set(CedulaInfo.objects.filter(pk__in=down).values_list("status", flat=True)) == {Status.PENDING}
    assert not CedulaInfo.objects.filter(pk__in=down).exclude(attempts=0).exists()

    site = start_simulator(port=port)  # back, at the same address
    try:
        back = queue(some_cedulas(10)[4:])
        wait_until(lambda: all_settled(down + back), timeout=150, message="rows did not settle once the site was back")
    finally:
        site.stop()

    assert not CedulaInfo.objects.filter(pk__in=down + back, status=Status.ERROR).exists()
    for info in CedulaInfo.objects.filter(pk__in=down + back):
        assert info.status == expected_outcome(info.cedula), info.cedula
        assert info.claimed_at is None and info.next_attempt_at is None
    states = [e["tags"]["alert_state"] for e in local_sentry.events() if e.get("tags", {}).get("alert") == "breaker"]
    assert states == ["opened", "closed"]  # one each way, no storm while it stayed open
    assert_nothing_left_forever()


# --- The worker's database connections killed mid-run ----------------------------------------------------------------

BUSY_TIMEOUT_S = 1.0


def _cut_the_database_off(hold_s: float) -> None:
    """PostgreSQL: every other backend on the test database terminated (the worker's, mid-lookup). SQLite: the file
    write-locked by another writer for longer than the worker's busy timeout."""
    if connection.vendor == "postgresql":
        # The worker holds a connection only while it talks to the database: terminate it the moment it does.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                if cursor.fetchall():
                    return
            time.sleep(0.01)
        raise AssertionError("no backend of the worker to terminate")
    import sqlite3

    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=30, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # the write lock, held by a writer that is not ours
        time.sleep(hold_s)
        other.execute("COMMIT")
    finally:
        other.close()


@pytest.mark.timeout(300)
def test_database_connections_killed_mid_run_lose_nothing_and_count_nothing_twice(start_worker):
    ids = queue([SLOW, *some_cedulas(5)])
    worker = start_worker(LOOKUP_RETRY_DELAYS_S="0.2,0.2,0.2", SQLITE_BUSY_TIMEOUT_S=str(BUSY_TIMEOUT_S))
    for _ in range(3):
        # Mid-run: a lookup holds a claim, the worker is inside the browser and writes its answer next.
        wait_until(
            lambda: CedulaInfo.objects.filter(pk__in=ids, claimed_at__isnull=False).exists(),
            timeout=120,
            interval=0.05,
            message="no lookup running",
        )
        _cut_the_database_off(hold_s=BUSY_TIMEOUT_S + 1.5)
        time.sleep(1.0)

    wait_until(lambda: all_settled(ids), timeout=200, message="rows left unsettled after the database cut-offs")

    # The cut-offs did reach the worker: a write of its failed, and was retried on a working connection.
    assert "lookup_record_failed" in worker.log_text() or "OperationalError" in worker.log_text()
    assert_accounted(ids)
    assert_nothing_left_forever()


# --- Redis down for 30 s ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_redis(port: int, workdir) -> object:
    import subprocess

    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    import redis

    wait_until(lambda: _pings(redis.Redis(port=port)), timeout=10, interval=0.1, message="redis-server did not start")
    return proc


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:  # noqa: BLE001
        return False


@pytest.mark.timeout(300)
def test_redis_down_for_thirty_seconds_then_back_loses_no_row(start_worker, tmp_path):
    """The shared Redis cannot be stopped here: the worker gets a redis-server of its own (a free port, no
    persistence), which is stopped for 30 s and started again empty, as a restart of an unpersisted Redis is."""
    import shutil

    from django.core.management import call_command

    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    port = _free_port()
    redis_proc = _start_redis(port, tmp_path)
    try:
        # Rows straight into the table: this process's broker is not the worker's, so the worker dispatches.
        now = timezone.now()
        ids = [CedulaInfo.objects.create(cedula=c, next_attempt_at=now).pk for c in some_cedulas(10)]
        call_command("setup_schedules", stdout=open(os.devnull, "w"))  # noqa: SIM115 - the scheduled safety net
        start_worker(LOOKUP_RETRY_DELAYS_S="0.2,0.2,0.2", Q_REDIS_URL=f"redis://127.0.0.1:{port}/0")
        wait_until(
            lambda: LookupAttempt.objects.filter(cedula_id__in=ids).count() >= 2,
            timeout=120,
            message="the worker never started on its Redis",
        )
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        time.sleep(30)
        redis_proc = _start_redis(port, tmp_path)

        wait_until(lambda: all_settled(ids), timeout=200, message="rows left unsettled after Redis came back")
    finally:
        redis_proc.kill()
        redis_proc.wait(timeout=10)

    assert_accounted(ids)
    assert_nothing_left_forever()
