"""A second source keeps the work going when the first changes shape or goes down, and the work moves back once the
first is restored (issue 22). A real `qcluster`, real Chromium, the real stand-in serving both sources and switching
the first one mid-batch; minutes scaled to seconds through settings."""

from __future__ import annotations

import pytest

from cedula.models import Breaker, CedulaInfo, LookupAttempt, SourceInUse, Status
from cedula.registry.simulator import demo_cedulas, expected_outcome
from tests.helpers.queue import all_settled, final_state, queue, settled_count, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

GAP = 0.5
SOURCES = {
    "REGISTRY_SOURCES": "wsp,consultacenso",
    "REGISTRY_MIN_GAP_S": str(GAP),
    "REGISTRY_SOURCE_PROBE_S": "2",
    "REGISTRY_BREAKER_MAX_COOLDOWN_S": "4",  # the probe interval's ceiling too
    "REGISTRY_BREAKER_THRESHOLD": "3",
    "REGISTRY_BREAKER_COOLDOWN_S": "1",
    "PAGE_CHANGED_MIN_ATTEMPTS": "3",
    "PAGE_CHANGED_THRESHOLD": "0.5",
    "LOOKUP_RETRY_DELAYS_S": "1,1,1",
}


def source_row() -> SourceInUse | None:
    return SourceInUse.objects.filter(pk=1).first()


def in_use(name: str, reason: str | None = None) -> bool:
    row = source_row()
    return row is not None and row.current == name and (reason is None or row.reason == reason)


def answered_on(source: str) -> int:
    return LookupAttempt.objects.filter(source=source).exclude(outcome="error").count()


def assert_every_row_right(ids: list[int]) -> None:
    assert not CedulaInfo.objects.filter(pk__in=ids, status=Status.ERROR).exists()
    for info in CedulaInfo.objects.filter(pk__in=ids):
        assert final_state(info) == expected_outcome(info.cedula), info.cedula
        assert info.claimed_at is None and info.next_attempt_at is None


def assert_politeness_held(site) -> None:
    """One throttle for both pages: no lookup POST closer than the gap to the previous one, whichever source either
    went to, across the switch (the stand-in blocks a client that asks faster, on both pages together)."""
    posts = sorted(r["at"] for r in site.requests if r["method"] == "POST" and r.get("source"))
    gaps = [b - a for a, b in zip(posts, posts[1:], strict=False)]
    assert gaps and min(gaps) >= GAP * 0.95, min(gaps)
    assert not [r for r in site.requests if r.get("answer") == "blocked:too_fast"]


def source_alerts(local_sentry) -> list[tuple[str, str]]:
    return [
        (e["tags"]["alert_state"], e["tags"]["alert_source"])
        for e in local_sentry.events()
        if e.get("tags", {}).get("alert") == "source"
    ]


@pytest.mark.timeout(300)
def test_a_batch_survives_the_first_source_changing_under_it_and_moves_back_once_restored(
    start_worker, registry_site_factory, local_sentry
):
    site = registry_site_factory(min_gap_s=GAP * 0.9)
    ids = queue(sorted(demo_cedulas())[:40])
    start_worker(
        registry_url=site.url,
        REGISTRY_CONSULTACENSO_URL=site.consultacenso_url,
        SENTRY_DSN=local_sentry.server.dsn,
        **SOURCES,
    )

    wait_until(lambda: settled_count(ids) >= 4, timeout=90, message="the batch never started")
    site.set_source("wsp", "changed")  # the census page is redesigned under the batch
    wait_until(lambda: in_use("consultacenso", "page_changed"), timeout=60, message="the worker never moved on")
    wait_until(lambda: answered_on("consultacenso") >= 4, timeout=60, message="no answer through consultacenso")
    assert not all_settled(ids), "the batch ended before the first source came back: queue more rows"
    site.set_source("wsp", "ok")
    wait_until(lambda: in_use("wsp", "restored"), timeout=60, message="the worker never moved back")
    wait_until(lambda: all_settled(ids), timeout=180, message="the batch did not finish")

    assert_every_row_right(ids)
    restored_at = source_row().since
    assert LookupAttempt.objects.filter(source="wsp", started_at__gt=restored_at).exclude(outcome="error").exists()
    assert not LookupAttempt.objects.filter(source="").exists()  # each attempt records its source
    # The change cost a few rows one retry each, never their answer: no row needed more than one.
    assert LookupAttempt.objects.filter(cedula_id__in=ids, error_kind="unexpected_page").count() <= 6
    assert_politeness_held(site)
    assert source_alerts(local_sentry) == [("switched", "wsp->consultacenso"), ("restored", "consultacenso->wsp")]


@pytest.mark.timeout(300)
def test_the_first_source_down_hands_the_work_to_the_second_without_spending_a_retry(
    start_worker, registry_site_factory, local_sentry
):
    site = registry_site_factory(min_gap_s=GAP * 0.9)
    site.set_source("wsp", "down")
    ids = queue(sorted(demo_cedulas())[:12])
    start_worker(
        registry_url=site.url,
        REGISTRY_CONSULTACENSO_URL=site.consultacenso_url,
        SENTRY_DSN=local_sentry.server.dsn,
        **SOURCES,
    )

    wait_until(lambda: in_use("consultacenso", "down"), timeout=90, message="the worker never moved on")
    wait_until(lambda: all_settled(ids), timeout=120, message="the batch did not finish on the second source")

    assert_every_row_right(ids)
    # The outage was the system's: the failures that met it spent no row's retry, and the gate did not pause the work.
    down = LookupAttempt.objects.filter(source="wsp").exclude(outcome__in=["active", "cancelled", "not_found"])
    assert down.exists() and set(down.values_list("cause", flat=True)) == {"registry_down"}
    assert not LookupAttempt.objects.filter(cedula_id__in=ids, source="consultacenso", outcome="error").exists()
    assert Breaker.objects.get(pk=1).state == Breaker.State.CLOSED
    breaker_alerts = [e for e in local_sentry.events() if e.get("tags", {}).get("alert") == "breaker"]
    assert breaker_alerts == []  # on-call hears of the switch, not of a pause that never happened
    assert source_alerts(local_sentry) == [("switched", "wsp->consultacenso")]
    assert_politeness_held(site)
