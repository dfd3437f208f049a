"""The registry client against a captcha page, through real Chromium and the stand-in: pages and captchas ahead
only for what is due, a lone lookup is one page visit and one POST, a refused token is reported and replaced with
one more slot, and tokens solved ahead are ready when the slot opens."""

from __future__ import annotations

import threading
import time

import pytest

from cedula.registry.browser import BrowserConfig, BrowserRunner
from cedula.registry.simulator import start_simulator

pytestmark = [pytest.mark.integration, pytest.mark.serial]  # tokens ready when the slot opens

ACTIVE = "25837220"


class Throttle:
    """A gap between requests, as the task layer's callback keeps it (here in memory, for one process)."""

    def __init__(self, gap_s: float) -> None:
        self.gap_s = gap_s
        self.last = 0.0
        self.calls: list[tuple[float, float | None]] = []
        self.lock = threading.Lock()

    def __call__(self, max_wait_s: float, sent_at: float | None = None, lead_s: float = 0.0) -> bool:
        with self.lock:
            self.calls.append((max_wait_s, sent_at))
            if sent_at is None:
                time.sleep(max(0.0, self.last + self.gap_s - time.time()))
            self.last = max(self.last, time.time() if sent_at is None else sent_at)
            return True

    def slots(self) -> int:
        return sum(1 for _, sent_at in self.calls if sent_at is None)


def runner_for(site, **overrides) -> BrowserRunner:
    values = {
        "registry_url": site.url,
        "answer_timeout_s": 7.0,
        "budget_s": 30.0,
        "captcha_solver": "2captcha",
        "captcha_api_url": site.base_url,
        "captcha_api_key": site.solver_key,
        **overrides,
    }
    return BrowserRunner(BrowserConfig.from_settings(**values))


@pytest.fixture
def site():
    site = start_simulator(captcha=True, solve_delay_s=0.3)
    yield site
    site.stop()


def test_a_lone_lookup_is_one_page_visit_one_post_one_solve_and_then_nothing(site):
    runner = runner_for(site)
    throttle = Throttle(0.0)
    try:
        report = runner.lookup(ACTIVE, take_slot=throttle, due_after=0)
        counts = site.counts()
        time.sleep(2.0)  # idle: nothing due
        assert site.counts() == counts
    finally:
        runner.close()
    assert report.result.status == "active"
    assert (counts["page_visits"], counts["posts"], counts["solver_tasks"]) == (1, 1, 1)
    assert (report.captcha.solved, report.captcha.used, report.captcha.wasted) == (1, 1, 0)
    assert throttle.slots() == 1


def test_pages_and_solves_ahead_follow_what_is_due(site):
    runner = runner_for(site, prewarm_pages=2)
    throttle = Throttle(0.0)
    try:
        runner.lookup(ACTIVE, take_slot=throttle, due_after=1)
        time.sleep(1.5)
        counts = site.counts()
        # This lookup's page and one ahead; this lookup's solve and one ahead: never more than what is due.
        assert (counts["page_visits"], counts["solver_tasks"]) == (2, 2)
        report = runner.lookup(ACTIVE, take_slot=throttle, due_after=0)
        time.sleep(1.0)
        counts = site.counts()
    finally:
        runner.close()
    assert report.result.status == "active"
    assert (counts["page_visits"], counts["posts"], counts["solver_tasks"]) == (2, 2, 2)


def test_tokens_solved_ahead_are_ready_when_the_slot_opens():
    # Each solve takes three gaps: inline, POSTs would be a solve apart; ahead, a gap apart.
    gap, solve = 0.5, 1.5
    site = start_simulator(captcha=True, solve_delay_s=solve)
    runner = runner_for(site, min_gap_s=gap, captcha_first_poll_s=solve * 0.8, captcha_poll_s=0.2, prewarm_pages=2)
    throttle = Throttle(gap)
    try:
        for left in range(5, -1, -1):
            assert runner.lookup(ACTIVE, take_slot=throttle, due_after=left).result.status == "active"
        posts = [r["at"] for r in site.lookups()]
    finally:
        runner.close()
        site.stop()
    spacing = [b - a for a, b in zip(posts, posts[1:], strict=False)]
    assert min(spacing) >= gap
    # After the first token (its solve is on the path), each POST follows the last well within a solve.
    assert max(spacing[1:]) < solve * 0.8, spacing
    assert site.counts()["solver_tasks"] == 6  # one per lookup: nothing wasted


def test_a_refused_token_is_reported_and_replaced_once_with_one_more_slot():
    # The page accepts tokens for 1 s; the client thinks they are good for 100 s: the token solved ahead is refused.
    site = start_simulator(captcha=True, solve_delay_s=0.2, token_life_s=1.0)
    runner = runner_for(site, prewarm_pages=0)
    throttle = Throttle(0.0)
    try:
        assert runner.lookup(ACTIVE, take_slot=throttle, due_after=1).result.status == "active"
        time.sleep(1.5)
        slots_before = throttle.slots()
        report = runner.lookup(ACTIVE, take_slot=throttle, due_after=0)
    finally:
        runner.close()
        site.stop()
    assert report.result.status == "active"
    assert report.captcha.refused == 1 and report.captcha.used == 2
    assert throttle.slots() - slots_before == 2  # its slot lost once
    counts = site.counts()
    assert counts["solver_reported"] == 1
    assert [r["answer"] for r in site.lookups()] == ["active", "captcha", "active"]


def test_a_token_the_page_keeps_refusing_ends_the_lookup_as_captcha_after_one_retry():
    site = start_simulator(captcha=True, solve_delay_s=0.2, token_life_s=0.0)
    runner = runner_for(site, prewarm_pages=0)
    throttle = Throttle(0.0)
    try:
        report = runner.lookup(ACTIVE, take_slot=throttle, due_after=0)
    finally:
        runner.close()
        site.stop()
    assert report.result.error_kind == "captcha"
    assert report.captcha.refused == 2
    assert throttle.slots() == 2
    assert len(site.lookups()) == 2


def test_the_probe_opens_the_page_without_solving_or_posting(site):
    runner = runner_for(site)
    try:
        assert runner.probe_page() is None
    finally:
        runner.close()
    counts = site.counts()
    assert (counts["page_visits"], counts["posts"], counts["solver_tasks"]) == (1, 0, 0)
