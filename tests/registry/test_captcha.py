"""The captcha solvers and the solve-ahead pipeline against the stand-in's solver service (real HTTP, no browser).

The services' manners are scaled down through Manners (the settings CAPTCHA_FIRST_POLL_S, CAPTCHA_POLL_S, ...)."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from cedula.registry.captcha import (
    MESSAGES,
    CaptchaError,
    CaptchaPipeline,
    Manners,
    PipelineConfig,
    make_solver,
    pipeline_size,
)
from cedula.registry.failures import Cause, solver_cause
from cedula.registry.simulator import start_simulator
from tests.helpers.registry import Visitor

FAST = Manners(first_poll_s=0.3, poll_s=0.2, no_slot_wait_s=0.4, zero_balance_wait_s=30.0, request_timeout_s=5.0)
PROTOCOLS = ("2captcha", "anticaptcha", "capmonster", "capsolver")


@pytest.fixture
def site():
    site = start_simulator(captcha=True, solve_delay_s=0.5)
    yield site
    site.stop()


def solver_for(site, kind: str = "2captcha", *, key: str | None = None, manners: Manners = FAST):
    return make_solver(
        kind=kind, api_url=site.base_url, api_key=site.solver_key if key is None else key, manners=manners
    )


def solver_calls(site) -> list[dict]:
    return [r for r in site.requests if r["path"] not in ("/censo/consultar/",)]


def accepted_by_the_page(site, token: str) -> bool:
    data = json.loads(Visitor(site).lookup("25837220", **{"g-recaptcha-response": token})[1])
    return data["success"] is True


# --- protocols ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", PROTOCOLS)
def test_each_service_solves_a_token_the_page_accepts_once(site, kind):
    solved = asyncio.run(solver_for(site, kind).solve(site_key=site.site_key, page_url=site.url, timeout_s=10))
    assert accepted_by_the_page(site, solved.token)
    assert not accepted_by_the_page(site, solved.token)  # single use
    paths = {r["path"] for r in solver_calls(site)}
    assert paths == ({"/in.php", "/res.php"} if kind == "2captcha" else {"/createTask", "/getTaskResult"})


@pytest.mark.parametrize("kind", PROTOCOLS)
def test_each_service_reads_the_balance(site, kind):
    assert asyncio.run(solver_for(site, kind).get_balance()) == pytest.approx(10.0)
    site.set_solver_error("ERROR_ZERO_BALANCE")
    assert asyncio.run(solver_for(site, kind).get_balance()) == 0.0


def test_the_default_addresses_are_the_services_own():
    urls = {kind: make_solver(kind=kind, api_url="", api_key="k").api_url for kind in PROTOCOLS}
    assert urls == {
        "2captcha": "https://2captcha.com",
        "anticaptcha": "https://api.anti-captcha.com",
        "capmonster": "https://api.capmonster.cloud",
        "capsolver": "https://api.capsolver.com",
    }
    assert make_solver(kind="none", api_url="", api_key="") is None


def test_an_expired_token_is_refused_by_the_page():
    site = start_simulator(captcha=True, solve_delay_s=0.0, token_life_s=0.3)
    try:
        solved = asyncio.run(solver_for(site).solve(site_key=site.site_key, page_url=site.url, timeout_s=5))
        time.sleep(0.5)
        assert not accepted_by_the_page(site, solved.token)
        assert site.counts()["solver_refused"] == 1
    finally:
        site.stop()


# --- errors: each code, its Spanish message and its cause ------------------------------------------------------------


@pytest.mark.parametrize("kind", PROTOCOLS)
@pytest.mark.parametrize(
    ("code", "cause"),
    [
        ("ERROR_ZERO_BALANCE", Cause.SOLVER_BALANCE),
        ("ERROR_KEY_DOES_NOT_EXIST", Cause.SOLVER_KEY),
        ("ERROR_NO_SLOT_AVAILABLE", None),
        ("ERROR_CAPTCHA_UNSOLVABLE", None),
    ],
)
def test_each_solver_error_is_a_clear_message_and_its_cause(site, kind, code, cause):
    site.set_solver_error(code)
    with pytest.raises(CaptchaError) as caught:
        asyncio.run(solver_for(site, kind).solve(site_key=site.site_key, page_url=site.url, timeout_s=1.5))
    assert caught.value.code == code
    assert str(caught.value).startswith(MESSAGES[code])
    assert "_" not in MESSAGES[code].replace("CAPTCHA_API_KEY", "")  # words, not identifiers
    assert solver_cause(caught.value.code) == cause


def test_a_wrong_key_is_refused_with_its_own_code(site):
    with pytest.raises(CaptchaError) as caught:
        asyncio.run(solver_for(site, key="not-mine").solve(site_key=site.site_key, page_url=site.url, timeout_s=2))
    assert caught.value.code == "ERROR_KEY_DOES_NOT_EXIST"
    assert solver_cause(caught.value.code) == Cause.SOLVER_KEY


# --- manners --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["2captcha", "anticaptcha"])
def test_the_first_poll_waits_and_polls_keep_their_interval(site, kind):
    site.set_solver(solve_delay_s=0.9)
    asyncio.run(solver_for(site, kind).solve(site_key=site.site_key, page_url=site.url, timeout_s=10))
    calls = solver_calls(site)
    submitted = calls[0]["at"]
    polls = [r["at"] for r in calls[1:]]
    assert polls[0] - submitted >= FAST.first_poll_s
    assert all(b - a >= FAST.poll_s * 0.95 for a, b in zip(polls, polls[1:], strict=False))
    assert len(polls) <= 1 + (0.9 - FAST.first_poll_s) / FAST.poll_s + 1


def test_no_slot_is_retried_after_its_wait(site):
    site.set_solver_error("ERROR_NO_SLOT_AVAILABLE")
    threading.Timer(0.2, site.set_solver_error, args=(None,)).start()
    solved = asyncio.run(solver_for(site).solve(site_key=site.site_key, page_url=site.url, timeout_s=10))
    submits = [r["at"] for r in solver_calls(site) if r["path"] == "/in.php"]
    assert solved.token and len(submits) == 2
    assert submits[1] - submits[0] >= FAST.no_slot_wait_s


def test_after_zero_balance_the_solver_is_left_alone_for_its_wait(site):
    solver = solver_for(site)
    site.set_solver_error("ERROR_ZERO_BALANCE")
    with pytest.raises(CaptchaError):
        asyncio.run(solver.solve(site_key=site.site_key, page_url=site.url, timeout_s=2))
    site.set_solver_error(None)
    asked = len(solver_calls(site))
    with pytest.raises(CaptchaError) as caught:
        asyncio.run(solver.solve(site_key=site.site_key, page_url=site.url, timeout_s=2))
    assert caught.value.code == "ERROR_ZERO_BALANCE"
    assert len(solver_calls(site)) == asked  # nothing asked within the wait


def test_a_balance_read_that_finds_funds_ends_the_silence_for_every_client_of_the_account(site):
    # The gate's probe reads the balance with its own client; the worker's solver must hear that the account was
    # refilled, or its lookups go on refusing themselves (and spending their rows' retries) for the whole wait.
    lookups, probe = solver_for(site), solver_for(site)
    site.set_solver_error("ERROR_ZERO_BALANCE")
    with pytest.raises(CaptchaError):
        asyncio.run(lookups.solve(site_key=site.site_key, page_url=site.url, timeout_s=2))
    assert asyncio.run(probe.get_balance()) == 0.0  # still empty: the silence stays
    with pytest.raises(CaptchaError):
        asyncio.run(lookups.solve(site_key=site.site_key, page_url=site.url, timeout_s=2))

    site.set_solver_error(None)
    assert asyncio.run(probe.get_balance()) > 0
    solved = asyncio.run(lookups.solve(site_key=site.site_key, page_url=site.url, timeout_s=10))
    assert solved.token


@pytest.mark.parametrize(("kind", "reported"), [("2captcha", True), ("anticaptcha", True), ("capsolver", False)])
def test_a_refused_token_is_reported_where_the_api_allows(site, kind, reported):
    solver = solver_for(site, kind)
    solved = asyncio.run(solver.solve(site_key=site.site_key, page_url=site.url, timeout_s=10))
    assert asyncio.run(solver.report_bad(solved)) is reported
    assert site.counts()["solver_reported"] == int(reported)


# --- the pipeline ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("solve_s", "gap_s", "due_after", "safe_age_s", "ahead_max", "expected"),
    [
        (20.0, 5.0, 100, 100.0, 8, 5),  # ceil(20/5) + 1
        (8.0, 2.0, 100, 100.0, 8, 5),
        (8.0, 2.0, 2, 100.0, 8, 2),  # only two more are due
        (8.0, 2.0, 0, 100.0, 8, 0),  # nothing due, nothing solved ahead
        (40.0, 2.0, 100, 100.0, 8, 8),  # the setting caps it
        (40.0, 20.0, 100, 30.0, 8, 1),  # at one lookup per 20 s, one token's safe life covers one lookup
    ],
)
def test_the_pipeline_size_follows_the_rule(solve_s, gap_s, due_after, safe_age_s, ahead_max, expected):
    size = pipeline_size(solve_s=solve_s, gap_s=gap_s, due_after=due_after, safe_age_s=safe_age_s, ahead_max=ahead_max)
    assert size == expected


def run_pipeline(site, scenario, **config):
    async def go():
        pipeline = CaptchaPipeline(solver_for(site), PipelineConfig(**{"gap_s": 0.2, "timeout_s": 10, **config}))
        try:
            return await scenario(pipeline)
        finally:
            await pipeline.close()

    return asyncio.run(go())


def test_nothing_due_nothing_solved_ahead(site):
    async def scenario(pipeline):
        pipeline.plan(due_after=0)
        first = await pipeline.take(site_key=site.site_key, page_url=site.url, timeout_s=10)
        pipeline.sent(first)
        await asyncio.sleep(1.0)  # idle
        return pipeline.spend()

    spend = run_pipeline(site, scenario)
    assert site.counts()["solver_tasks"] == 1
    assert spend.solved == 1 and spend.used == 1 and spend.wasted == 0


def test_tokens_are_solved_ahead_for_what_is_due_and_handed_out_once(site):
    async def scenario(pipeline):
        first = await pipeline.take(site_key=site.site_key, page_url=site.url, timeout_s=10)
        pipeline.plan(due_after=2)  # the second lookup, with two more due after it
        await asyncio.sleep(0.9)  # the solves ahead finish while the first lookup "runs"
        t0 = time.monotonic()
        rest = [await pipeline.take(site_key=site.site_key, page_url=site.url, timeout_s=10) for _ in range(3)]
        waited = time.monotonic() - t0
        ahead = pipeline.spend()  # solves are accounted as their tokens are settled, on the lookup that sends them
        for solved in [first, *rest]:
            pipeline.sent(solved)
        return first, rest, waited, (ahead, pipeline.spend())

    first, rest, waited, spend = run_pipeline(site, scenario, initial_solve_s=0.5)
    # The first lookup's own solve, then 1 + min(ceil(0.5 / 0.2) + 1, 2 due) for the next three lookups.
    assert site.counts()["solver_tasks"] == 4
    assert waited < 0.2  # ready when asked for
    assert len({s.token for s in [first, *rest]}) == 4
    ahead, settled = spend
    assert ahead.solved == 0
    assert (settled.solved, settled.used, settled.wasted) == (4, 4, 0)


def test_a_token_past_its_safe_age_is_never_handed_out(site):
    async def scenario(pipeline):
        pipeline.plan(due_after=1)
        first = await pipeline.take(site_key=site.site_key, page_url=site.url, timeout_s=10)  # solves 1 ahead too
        pipeline.sent(first)
        await asyncio.sleep(1.6)  # the one ahead (solved at ~0.5 s) is now older than 1 s
        fresh = await pipeline.take(site_key=site.site_key, page_url=site.url, timeout_s=10)
        pipeline.sent(fresh)
        return fresh, pipeline.spend()

    fresh, spend = run_pipeline(site, scenario, safe_age_s=1.0)
    assert fresh.age() < 1.0
    assert (spend.solved, spend.used, spend.wasted) == (3, 2, 1)
