"""The gate over system failures (issue 23): whose failure it is, what it does to the row, when the gate opens, probes
and closes. A real SQLite file; the registry (the page probe) is the only thing faked, the solver is the stand-in's."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from structlog.testing import capture_logs

from cedula import selectors, services
from cedula.models import Breaker, CedulaInfo, LookupAttempt, LookupTicket, Priority, Source, Status
from cedula.registry.failures import PROBED_CAUSES, SOLVER_CODE_CAUSES, Cause, is_system, solver_cause
from cedula.registry.parser import LookupReport, LookupResult

pytestmark = pytest.mark.django_db

ACTIVE = LookupResult(status="active", departamento="ANTIOQUIA", municipio="MEDELLIN", mesa="013")
DOWN = LookupResult(status="error", error_kind="network", message="ERR_CONNECTION_REFUSED", cause="registry_down")
NO_BALANCE = LookupResult(status="error", error_kind="captcha", message="ERROR_ZERO_BALANCE", cause="solver_balance")
MALFORMED = LookupResult(status="error", error_kind="unexpected_page", message="no table")
POST_TIMEOUT = LookupResult(status="error", error_kind="timeout", message="El registro no respondió a tiempo.")
START = dt.datetime(2026, 3, 2, 7, 14, tzinfo=dt.UTC)  # 02:14 in Bogotá


@pytest.fixture(autouse=True)
def gate_settings(settings):
    settings.REGISTRY_BREAKER_THRESHOLD = 3
    settings.REGISTRY_BREAKER_COOLDOWN_S = 60
    settings.REGISTRY_BREAKER_MAX_COOLDOWN_S = 200
    settings.REGISTRY_MIN_GAP_S = 0
    settings.LOOKUP_RETRY_DELAYS_S = [0, 0, 0]
    return settings


def queue(cedula: str, priority: int = Priority.BULK) -> CedulaInfo:
    return services.cedula_request_lookup(cedula=cedula, priority=priority, source=Source.IMPORT)


def run_one(answer: LookupResult, *, probe: LookupResult | None = None) -> int:
    ticket = LookupTicket.objects.create()
    return services.lookup_run_ticket(
        ticket_id=ticket.pk,
        run_lookup=lambda c: LookupReport(result=answer, html="", duration_ms=5),
        max_wait_s=0,
        run_probe=lambda: probe,
    )


def gate() -> Breaker:
    return Breaker.objects.get()


# --- The failure table ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "cause"), sorted(SOLVER_CODE_CAUSES.items()))
def test_every_listed_solver_code_is_a_system_cause(code, cause):
    assert solver_cause(code) == cause and is_system(cause)


@pytest.mark.parametrize("code", ["ERROR_CAPTCHA_UNSOLVABLE", "ERROR_BAD_PARAMETERS", "ERROR_WRONG_CAPTCHA_ID", ""])
def test_a_solver_code_about_one_solve_is_the_rows_own(code):
    assert solver_cause(code) is None


def test_only_the_configuration_causes_are_left_unprobed():
    assert set(Cause) - PROBED_CAUSES == {Cause.SOLVER_KEY, Cause.NO_SOLVER}
    assert not is_system("") and not is_system("timeout")


# --- The row keeps everything, unless the next request shows the system working ---------------------------------


def fail(result: LookupResult, times: int = 3) -> None:
    """The row fails, the confirming probe fails the same way, ... `times` system failures in a row in all."""
    for _ in range(times):
        assert run_one(result, probe=result) == 1


def test_a_system_failure_is_recorded_spends_no_retry_and_the_row_keeps_its_place():
    first = queue("1000001")
    queue("1000002")
    CedulaInfo.objects.filter(pk=first.pk).update(status=Status.ACTIVE, mesa="009")  # a known answer, re-validated

    assert run_one(DOWN) == 1

    first.refresh_from_db()
    assert (first.status, first.mesa, first.attempts, first.error_kind) == (Status.ACTIVE, "009", 0, "")
    assert first.claimed_at is None and first.next_attempt_at is not None
    (attempt,) = LookupAttempt.objects.filter(cedula=first)
    assert (attempt.outcome, attempt.cause) == ("error", "registry_down")
    # The row would be next again and could not tell: one probe decides first, nothing is handed out meanwhile.
    assert gate().confirming and services.lookup_claim_next() is None
    assert selectors.breaker_state()["cause"] == ""  # not an outage yet: no banner, no gauge
    assert services.gate_probe_once(probe_page=lambda: DOWN) == "confirmed"
    assert gate().state == Breaker.State.CLOSED and gate().consecutive_blocks == 2
    assert services.lookup_claim_next().cedula_id == first.pk  # still first in the queue


def test_a_system_failure_that_the_probe_refutes_was_the_rows_own():
    info = queue("1000001")

    run_one(DOWN)
    assert services.gate_probe_once(probe_page=lambda: None) == "refuted"

    info.refresh_from_db()
    assert (info.attempts, info.error_kind, info.status) == (1, "network", Status.PENDING)
    assert LookupAttempt.objects.get().cause == ""  # counted as the row's after all
    assert gate().state == Breaker.State.CLOSED and gate().consecutive_blocks == 0


def test_an_answer_after_a_system_failure_resets_the_count():
    queue("1000001")
    fail(DOWN, times=2)
    assert gate().state == Breaker.State.CLOSED and gate().consecutive_blocks == 2

    run_one(ACTIVE)

    assert gate().consecutive_blocks == 0 and gate().cause_since is None
    assert CedulaInfo.objects.get().status == Status.ACTIVE


# --- Opening, probing, doubling, closing ---------------------------------------------------------------------------


def test_the_threshold_opens_the_gate_with_its_cause_and_since_when_and_nothing_is_handed_out():
    with time_machine.travel(START, tick=False) as clock, capture_logs() as logs:
        rows = [queue(str(1000001 + n)) for n in range(4)]
        for _ in range(3):
            run_one(DOWN, probe=DOWN)
            clock.shift(1)
        breaker = gate()
        assert (breaker.state, breaker.cause, breaker.cause_since) == (Breaker.State.OPEN, "registry_down", START)
        assert breaker.open_until == START + dt.timedelta(seconds=2 + 60)
        assert services.lookup_claim_next() is None
        assert services.lookups_dispatch() == 0  # no ticket spins behind a long cooldown
    assert [e["cause"] for e in logs if e["event"] == "breaker_opened"] == ["registry_down"]
    assert not CedulaInfo.objects.filter(pk__in=[r.pk for r in rows]).exclude(attempts=0).exists()
    assert set(CedulaInfo.objects.values_list("status", flat=True)) == {Status.PENDING}
    assert LookupAttempt.objects.filter(cause="registry_down").count() == 2  # two lookups, one probe


def test_the_cooldown_doubles_up_to_the_maximum_while_the_probe_fails_and_one_probe_closes_it():
    with time_machine.travel(START, tick=False) as clock, capture_logs() as logs:
        queue("1000001")
        fail(DOWN)
        cooldowns = []
        for _ in range(3):
            clock.shift(gate().cooldown_s - 1)
            assert run_one(ACTIVE, probe=DOWN) == 0  # not yet: the cooldown has a second to run
            clock.shift(1)
            assert run_one(ACTIVE, probe=DOWN) == 1  # the probe, nothing else
            cooldowns.append(gate().cooldown_s)
        assert cooldowns == [120, 200, 200]
        assert gate().probes == 3 and LookupAttempt.objects.count() == 2  # probes are not lookups
        clock.shift(200)
        assert run_one(ACTIVE, probe=None) == 1
        assert gate().state == Breaker.State.CLOSED
        assert run_one(ACTIVE) == 1  # and the row flows again
    assert CedulaInfo.objects.get().status == Status.ACTIVE
    events = [e["event"] for e in logs if e["event"].startswith("breaker_")]
    assert events.count("breaker_opened") == 1 and events.count("breaker_closed") == 1
    assert events.count("breaker_probed") == 5  # the confirming one, three failing, the one that closed it


def test_a_probe_that_finds_another_cause_reopens_for_it():
    with time_machine.travel(START, tick=False) as clock:
        queue("1000001")
        fail(DOWN)
        clock.shift(61)
        blocked = LookupResult(status="error", error_kind="blocked", message="block", cause="blocked")
        assert services.gate_probe_once(probe_page=lambda: blocked) == "opened"
    assert gate().cause == "blocked"


def test_a_cause_only_the_configuration_clears_is_never_probed_by_the_clock(settings):
    settings.CAPTCHA_SOLVER = "none"
    no_solver = LookupResult(status="error", error_kind="captcha", message="sin resolvedor", cause="no_solver")
    with time_machine.travel(START, tick=False) as clock:
        queue("1000001")
        fail(no_solver)  # the confirming probe: still no solver configured
        assert gate().state == Breaker.State.OPEN
        clock.shift(10 * 3600)
        assert services.gate_probe_once(probe_page=lambda: None) is None
        assert selectors.breaker_state()["next_probe_in_s"] is None
        # A worker started with a solver configured clears it.
        settings.CAPTCHA_SOLVER = "2captcha"
        assert services.gate_probe_once(probe_page=lambda: None) == "closed"


def test_probar_ahora_runs_the_probe_at_once_whatever_the_cause(settings):
    settings.CAPTCHA_SOLVER = "none"
    queue("1000001")
    no_solver = LookupResult(status="error", error_kind="captcha", message="sin resolvedor", cause="no_solver")
    fail(no_solver)

    assert services.gate_probe_request(by="ops@example.com") is True
    assert services.gate_probe_once(probe_page=lambda: None) == "still_open"  # still none configured

    assert gate().state == Breaker.State.OPEN and gate().cause == "no_solver" and gate().probes == 1


def test_a_page_probe_takes_a_throttle_slot(settings):
    settings.REGISTRY_MIN_GAP_S = 5
    with time_machine.travel(START, tick=False) as clock:
        queue("1000001")
        for _ in range(3):
            run_one(DOWN, probe=DOWN)
            clock.shift(5)
        clock.shift(60)
        assert services.gate_probe_once(probe_page=lambda: DOWN) == "still_open"
        assert services.throttle_wait_s() == pytest.approx(5)


def test_the_balance_probe_asks_the_stand_ins_solver(settings, registry_site_captcha):
    settings.CAPTCHA_SOLVER = "2captcha"
    settings.CAPTCHA_API_URL = registry_site_captcha.base_url
    settings.CAPTCHA_API_KEY = registry_site_captcha.solver_key
    registry_site_captcha.set_solver_error("ERROR_ZERO_BALANCE")
    try:
        with time_machine.travel(START, tick=False) as clock:
            queue("1000001")
            fail(NO_BALANCE)  # the confirming probe asks the stand-in's balance: 0
            assert gate().state == Breaker.State.OPEN
            clock.shift(61)
            assert services.gate_probe_once(probe_page=None) == "still_open"
            registry_site_captcha.set_solver_error(None)  # refilled
            clock.shift(121)
            assert services.gate_probe_once(probe_page=None) == "closed"
    finally:
        registry_site_captcha.set_solver_error(None)


# --- A POST that is not answered ------------------------------------------------------------------------------------


def test_one_cedula_whose_post_hangs_spends_its_own_retries_and_ends_in_error():
    queue("1000001")
    for _ in range(4):
        run_one(POST_TIMEOUT)

    info = CedulaInfo.objects.get()
    assert (info.status, info.error_kind) == (Status.ERROR, "timeout")
    assert gate().state == Breaker.State.CLOSED


def test_posts_unanswered_on_different_rows_in_a_row_open_the_gate_as_registry_down():
    rows = [queue(str(1000001 + n)) for n in range(3)]
    for _ in range(3):
        run_one(POST_TIMEOUT)

    breaker = gate()
    assert (breaker.state, breaker.cause) == (Breaker.State.OPEN, "registry_down")
    attempts = {r.pk: CedulaInfo.objects.get(pk=r.pk).attempts for r in rows}
    assert sorted(attempts.values()) == [0, 1, 1]  # the two before the streak proved it spent one; the last none
    assert LookupAttempt.objects.filter(cause="registry_down").count() == 1
