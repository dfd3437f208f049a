"""Real Chromium against the real stand-in: outcomes, stealth, captcha, faults, bounds, browser lifecycle."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from cedula.registry.browser import (
    CHROMIUM_ARGS,
    BrowserConfig,
    BrowserRunner,
    LookupReport,
    RegistryClient,
    get_runner,
)
from cedula.registry.simulator import demo_cedulas, expected_outcome, outcome_for
from devtools.procs import descendants, is_alive, process_name

pytestmark = [pytest.mark.integration, pytest.mark.serial]  # step and budget bounds in seconds

ROOT = Path(__file__).resolve().parents[2]
DEMO = demo_cedulas()
ACTIVE = next(c for c, o in DEMO.items() if o.status == "active")
CANCELLED = next(c for c, o in DEMO.items() if o.status == "cancelled")
NOT_FOUND = next(c for c, o in DEMO.items() if o.status == "not_found")


def config_for(site, **overrides) -> BrowserConfig:
    # The slow-render fault answers after ~4 s: the answer bound must be longer, the budget short enough for tests.
    values = {"answer_timeout_s": 7.0, "budget_s": 30.0, **overrides}
    return BrowserConfig.from_settings(registry_url=site.url, **values)


@pytest.fixture(scope="module")
def runner(registry_site):
    runner = BrowserRunner(config_for(registry_site))
    yield runner
    runner.close()


def outcome_of(report: LookupReport) -> str:
    result = report.result
    return result.status if result.status != "error" else f"error:{result.error_kind}"


def chromium_pids() -> set[int]:
    """Chromium browser processes (not their helpers) descended from this test process."""
    found = set()
    for pid in descendants(os.getpid()):
        cmdline = process_name(pid)
        if "chromium" in cmdline and "--type=" not in cmdline and "--remote-debugging-pipe" in cmdline:
            found.add(pid)
    return found


# --- outcomes --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cedula", [ACTIVE, CANCELLED, NOT_FOUND, "52000000"], ids=["active", "cancelled", "not_found", "hashed"]
)
def test_it_reads_each_outcome_like_a_person(runner, cedula):
    report = runner.lookup(cedula)
    expected = outcome_for(cedula)
    assert report.result.status == expected.status, report.result
    if expected.status == "active":
        result = report.result
        assert (result.departamento, result.municipio, result.puesto, result.direccion, result.mesa) == (
            expected.departamento,
            expected.municipio,
            expected.puesto,
            expected.direccion,
            expected.mesa,
        )
        assert "<table" in report.html  # what #success showed, kept for snapshots
    if expected.status == "cancelled":
        assert (report.result.novedad, report.result.resolucion, report.result.fecha_novedad) == (
            expected.novedad,
            expected.resolucion,
            expected.fecha_novedad,
        )
    assert report.duration_ms > 0


@pytest.mark.parametrize("cedula", ["1000000002", "1000000003", "1000000004", "1000000005", "1000000006", "1000000007"])
def test_each_fault_cedula_is_classified(runner, cedula):
    report = runner.lookup(cedula)
    assert outcome_of(report) == expected_outcome(cedula)
    assert cedula not in report.result.message


def test_the_flaky_cedula_recovers_on_retry(registry_site_factory):
    site = registry_site_factory()
    runner = BrowserRunner(config_for(site))
    try:
        assert outcome_of(runner.lookup("1000000008")) == "error:blocked"
        assert outcome_of(runner.lookup("1000000008")) == "active"
    finally:
        runner.close()


def test_a_hung_page_ends_as_timeout_within_its_answer_bound(registry_site):
    runner = BrowserRunner(config_for(registry_site, answer_timeout_s=2.0))
    try:
        runner.lookup(ACTIVE)  # the browser is up: the bound below measures the lookup, not the launch
        started = time.monotonic()
        report = runner.lookup("1000000001")
        elapsed = time.monotonic() - started
    finally:
        runner.close()
    assert outcome_of(report) == "error:timeout"
    assert 2.0 <= elapsed < 6.0
    assert 2000 <= report.duration_ms < 6000


def test_the_whole_lookup_ends_within_its_budget_even_when_steps_allow_more(registry_site):
    runner = BrowserRunner(config_for(registry_site, answer_timeout_s=60.0, budget_s=3.0))
    try:
        runner.lookup(ACTIVE)
        started = time.monotonic()
        report = runner.lookup("1000000001")
        elapsed = time.monotonic() - started
    finally:
        runner.close()
    assert outcome_of(report) == "error:timeout"
    assert elapsed < 5.0


def test_an_unreachable_registry_is_a_network_error(registry_site_factory):
    site = registry_site_factory()
    site.stop()  # nothing listens on its port any more
    runner = BrowserRunner(config_for(site))
    try:
        assert outcome_of(runner.lookup(ACTIVE)) == "error:network"
    finally:
        runner.close()


def test_a_browser_that_cannot_start_is_a_browser_error(registry_site):
    runner = BrowserRunner(config_for(registry_site, executable="/nonexistent/chromium"))
    try:
        report = runner.lookup(ACTIVE)
    finally:
        runner.close()
    assert outcome_of(report) == "error:browser"


# --- stealth ---------------------------------------------------------------------------------------------------------


async def plain_playwright_lookup(url: str, cedula: str) -> str:
    """What a hand-written Playwright script gets: same Chromium and flags, no stealth, default user agent."""
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=BrowserConfig.from_settings(registry_url=url).executable, args=list(CHROMIUM_ARGS)
        )
        page = await browser.new_page()
        await page.goto(url)
        html = await page.content()
        await browser.close()
        return html


def test_stealth_passes_where_plain_playwright_is_blocked(runner, registry_site):
    html = asyncio.run(plain_playwright_lookup(registry_site.url, ACTIVE))
    assert "The requested URL was rejected" in html
    assert registry_site.requests[-1]["answer"] == "blocked:user_agent"
    assert runner.lookup(ACTIVE).result.status == "active"
    assert registry_site.lookups()[-1]["answer"] == "active"


def test_without_stealth_our_own_client_is_blocked(registry_site):
    runner = BrowserRunner(config_for(registry_site, stealth=False))
    try:
        assert outcome_of(runner.lookup(ACTIVE)) == "error:blocked"
    finally:
        runner.close()


async def navigator_facts(url: str) -> tuple[dict[str, object], str]:
    client = RegistryClient(BrowserConfig.from_settings(registry_url=url))
    try:
        context = await client.new_context()
        page = await context.new_page()
        await page.goto(url)
        facts = await page.evaluate(
            "() => ({ua: navigator.userAgent, platform: navigator.platform, webdriver: navigator.webdriver,"
            " languages: navigator.languages})"
        )
        await context.close()
        return facts, client.user_agent
    finally:
        await client.close()


def test_header_and_script_both_read_as_desktop_chrome_on_linux(registry_site):
    facts, user_agent = asyncio.run(navigator_facts(registry_site.url))
    header = registry_site.requests[-1]["user_agent"]
    assert "HeadlessChrome" not in header and "HeadlessChrome" not in facts["ua"]
    assert header == facts["ua"] == user_agent
    assert "Chrome/" in header and "X11; Linux x86_64" in header
    assert facts["platform"] == "Linux x86_64"  # playwright-stealth would say Win32
    assert facts["webdriver"] is False
    assert facts["languages"][0] == "es-CO"


def test_no_cookies_survive_between_lookups(runner, registry_site):
    runner.lookup(ACTIVE)
    runner.lookup(ACTIVE)
    pages = [r for r in registry_site.requests if r["method"] == "GET" and r["path"] == "/censo/consultar/"][-2:]
    assert [page["had_session"] for page in pages] == [False, False]
    assert all(post["had_session"] for post in registry_site.lookups()[-2:])


def test_asking_faster_than_the_gap_is_blocked(registry_site_factory):
    site = registry_site_factory(min_gap_s=30)
    runner = BrowserRunner(config_for(site))
    try:
        assert outcome_of(runner.lookup(ACTIVE)) == "active"
        assert outcome_of(runner.lookup(ACTIVE)) == "error:blocked"
    finally:
        runner.close()


# --- captcha ---------------------------------------------------------------------------------------------------------


def test_captcha_mode_is_solved_through_the_solver_api(registry_site_captcha):
    site = registry_site_captcha
    runner = BrowserRunner(
        config_for(site, captcha_solver="2captcha", captcha_api_url=site.base_url, captcha_api_key=site.solver_key)
    )
    try:
        report = runner.lookup(ACTIVE)
    finally:
        runner.close()
    assert report.result.status == "active", report.result
    paths = [r["path"] for r in site.requests]
    assert "/in.php" in paths and "/res.php" in paths


def test_captcha_mode_without_a_solver_is_a_captcha_error(registry_site_captcha):
    runner = BrowserRunner(config_for(registry_site_captcha, captcha_solver="none"))
    try:
        assert outcome_of(runner.lookup(ACTIVE)) == "error:captcha"
    finally:
        runner.close()


def test_a_refused_solver_key_is_a_captcha_error(registry_site_captcha):
    site = registry_site_captcha
    runner = BrowserRunner(
        config_for(site, captcha_solver="2captcha", captcha_api_url=site.base_url, captcha_api_key="not-my-key")
    )
    try:
        report = runner.lookup(ACTIVE)
    finally:
        runner.close()
    assert outcome_of(report) == "error:captcha"
    assert "ERROR_KEY_DOES_NOT_EXIST" in report.result.message


# --- browser lifecycle -----------------------------------------------------------------------------------------------


def test_one_browser_serves_many_lookups_and_restarts_after_n(registry_site):
    runner = BrowserRunner(config_for(registry_site, restart_after=2))
    try:
        outcomes = [outcome_of(runner.lookup(ACTIVE)) for _ in range(5)]
        launches = runner.client.launches
    finally:
        runner.close()
    assert outcomes == ["active"] * 5
    assert launches == 3  # lookups 1-2, 3-4, 5


def test_chromium_runs_with_the_closed_network_flags(registry_site):
    before = chromium_pids()
    runner = BrowserRunner(config_for(registry_site))
    try:
        runner.lookup(ACTIVE)
        (browser_pid,) = chromium_pids() - before
        cmdline = Path(f"/proc/{browser_pid}/cmdline").read_bytes().decode().split("\0")
    finally:
        runner.close()
    assert set(CHROMIUM_ARGS) <= set(cmdline)


def test_a_crashed_browser_is_replaced(registry_site):
    before = chromium_pids()
    runner = BrowserRunner(config_for(registry_site))
    try:
        assert outcome_of(runner.lookup(ACTIVE)) == "active"
        (browser_pid,) = chromium_pids() - before
        os.kill(browser_pid, signal.SIGKILL)
        time.sleep(0.5)
        report = runner.lookup(ACTIVE)
        if outcome_of(report) == "error:browser":  # the crash may surface on this lookup: the next one recovers
            report = runner.lookup(ACTIVE)
        assert outcome_of(report) == "active"
        assert runner.client.launches == 2
    finally:
        runner.close()


def _runner_identity(queue) -> None:
    runner = get_runner()
    queue.put((os.getpid(), id(runner), runner is get_runner()))


def test_get_runner_is_one_per_process_and_new_after_fork():
    parent = get_runner()
    assert get_runner() is parent
    queue = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(target=_runner_identity, args=(queue,))
    child.start()
    pid, runner_id, stable = queue.get(timeout=30)
    child.join(timeout=30)
    assert pid != os.getpid()
    assert runner_id != id(parent)
    assert stable


WORKER_SCRIPT = """
import sys, time, django
django.setup()
from cedula.registry.browser import get_runner
report = get_runner().lookup(sys.argv[2])
print("ready", report.result.status, flush=True)
time.sleep(600)
"""


def test_chromium_does_not_outlive_a_killed_worker(registry_site):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ops.settings", "DEBUG": "1", "REGISTRY_URL": registry_site.url}
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT, "x", ACTIVE], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    try:
        assert worker.stdout.readline().split() == ["ready", "active"]
        family = descendants(worker.pid)
        assert any("chromium" in process_name(pid) for pid in family)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        deadline = time.monotonic() + 5
        while (alive := [pid for pid in family if is_alive(pid)]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert alive == [], "Chromium outlived the killed worker by more than 5 s"
    finally:
        if worker.poll() is None:
            worker.kill()


# --- The gate's page probe (issue 23) -------------------------------------------------------------------------------


def test_the_page_probe_loads_the_form_without_a_solve_or_a_post(registry_site_factory):
    site = registry_site_factory(captcha=True)
    probe = BrowserRunner(config_for(site))
    try:
        assert probe.probe_page() is None
        site.set_down(True)
        down = probe.probe_page()
        site.set_down(False)
        site.set_blocking(True)
        blocked = probe.probe_page()
    finally:
        probe.close()

    assert down is not None and (down.status, down.cause) == ("error", "registry_down")
    assert blocked is not None and (blocked.error_kind, blocked.cause) == ("blocked", "blocked")
    assert not [r for r in site.requests if r["method"] == "POST"]  # neither the registry nor the solver
