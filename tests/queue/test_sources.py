"""Which source the worker asks, when it moves on and when it moves back (issue 22; cedula.services.sources). A real
SQLite file and the real services; the registry's answers are the only thing faked (they leave the machine)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from cedula import selectors, services
from cedula.models import (
    THROTTLE_PK,
    Breaker,
    CedulaInfo,
    LookupAttempt,
    LookupTicket,
    Priority,
    Source,
    SourceInUse,
    Status,
    Throttle,
)
from cedula.registry.parser import LookupReport, LookupResult
from cedula.services.sources import source_probe_once

pytestmark = pytest.mark.django_db

ACTIVE = LookupResult(status="active", departamento="ANTIOQUIA", municipio="MEDELLIN", puesto="INEM", mesa="013")
CHANGED = LookupResult(status="error", error_kind="unexpected_page", message="La página del registro no tiene …")
DOWN = LookupResult(status="error", error_kind="network", message="ERR_CONNECTION_REFUSED", cause="registry_down")
BLOCKED = LookupResult(status="error", error_kind="blocked", message="URL rechazada", cause="blocked")
START = dt.datetime(2026, 3, 2, 7, 14, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def two_sources(settings):
    settings.REGISTRY_SOURCES = ("wsp", "consultacenso")
    settings.REGISTRY_SOURCE_PROBE_S = 60
    settings.REGISTRY_BREAKER_THRESHOLD = 3
    settings.REGISTRY_BREAKER_COOLDOWN_S = 60
    settings.REGISTRY_BREAKER_MAX_COOLDOWN_S = 200
    settings.REGISTRY_MIN_GAP_S = 0
    settings.LOOKUP_RETRY_DELAYS_S = [0, 0, 0]
    settings.PAGE_CHANGED_MIN_ATTEMPTS = 3
    settings.PAGE_CHANGED_THRESHOLD = 0.5
    return settings


def queue(n: int) -> list[CedulaInfo]:
    return [
        services.cedula_request_lookup(cedula=str(70_000_000 + i), priority=Priority.BULK, source=Source.IMPORT)
        for i in range(n)
    ]


def run_one(answers: dict[str, LookupResult], *, probe: LookupResult | None = None, source_probe=None) -> str:
    """One ticket; the registry answers per source. Returns the source the lookup asked."""
    asked = []

    def lookup(cedula: str) -> LookupReport:
        source = services.source_in_use()
        asked.append(source)
        return LookupReport(result=answers[source], html="", duration_ms=5, source=source)

    services.lookup_run_ticket(
        ticket_id=LookupTicket.objects.create().pk,
        run_lookup=lookup,
        max_wait_s=0,
        run_probe=lambda: probe,
        run_source_probe=source_probe,
    )
    return asked[0] if asked else ""


def row() -> SourceInUse:
    return SourceInUse.objects.get()


def test_the_first_source_is_used_and_each_attempt_records_it():
    queue(2)
    assert run_one({"wsp": ACTIVE}) == "wsp"
    assert list(LookupAttempt.objects.values_list("source", flat=True)) == ["wsp"]
    assert row().current == "wsp" and row().reason == SourceInUse.Reason.FIRST


def test_a_page_that_changed_moves_the_work_to_the_next_source_within_a_few_lookups():
    infos = queue(6)
    answers = {"wsp": CHANGED, "consultacenso": ACTIVE}
    assert [run_one(answers) for _ in range(2)] == ["wsp", "wsp"]
    assert row().current == "wsp"  # 2 of 3 attempts are needed: one stray unexpected_page moves nothing
    run_one({"wsp": ACTIVE})
    run_one(answers)
    run_one(answers)
    assert row().current == "consultacenso" and row().reason == SourceInUse.Reason.PAGE_CHANGED
    assert "de sus últimas 3 consultas" in row().detail
    while CedulaInfo.objects.waiting().exists():
        assert run_one(answers) == "consultacenso"
    # The rows the change met spent one retry, then answered through the second source.
    assert set(CedulaInfo.objects.filter(pk__in=[i.pk for i in infos]).values_list("status", flat=True)) == {
        Status.ACTIVE
    }


def test_with_one_source_a_changed_page_moves_nothing(settings):
    settings.REGISTRY_SOURCES = ("wsp",)
    queue(4)
    for _ in range(4):
        assert run_one({"wsp": CHANGED}) == "wsp"
    assert row().current == "wsp" and row().switches == 0


def test_a_source_that_cannot_be_loaded_hands_the_work_on_instead_of_opening_the_gate():
    answers = {"wsp": DOWN, "consultacenso": ACTIVE}
    with time_machine.travel(START, tick=False):
        infos = queue(4)
        run_one(answers)  # the first failure: a confirming probe is due
        run_one(answers, probe=DOWN)  # the probe confirms; the row goes out again
        run_one(answers, probe=DOWN)
        run_one(answers, probe=DOWN)
    assert row().current == "consultacenso" and row().reason == SourceInUse.Reason.DOWN
    assert row().detail == "no carga desde las 02:14"
    breaker = Breaker.objects.get()
    assert breaker.state == Breaker.State.CLOSED and breaker.cooldown_s == 0
    # No row spent a retry on the outage.
    assert not CedulaInfo.objects.filter(pk__in=[i.pk for i in infos]).exclude(attempts=0).exists()
    assert run_one(answers) == "consultacenso"


def test_a_block_never_moves_the_work_it_pauses_it():
    queue(4)
    answers = {"wsp": BLOCKED, "consultacenso": ACTIVE}
    for _ in range(4):
        run_one(answers, probe=BLOCKED)
    assert row().current == "wsp"
    assert Breaker.objects.get().state != Breaker.State.CLOSED and Breaker.objects.get().cause == "blocked"


def test_the_first_source_is_probed_on_schedule_and_the_work_moves_back_when_it_loads():
    probes = []

    def probe(result):
        def run(source: str):
            probes.append(source)
            return result

        return run

    with time_machine.travel(START, tick=False) as clock:
        queue(8)
        SourceInUse.objects.create(pk=1, current="wsp")
        run_one({"wsp": CHANGED})
        run_one({"wsp": CHANGED})
        run_one({"wsp": CHANGED})
        assert row().current == "consultacenso"
        assert row().next_probe_at == START + dt.timedelta(seconds=60)
        assert run_one({"consultacenso": ACTIVE}, source_probe=probe(CHANGED)) == "consultacenso"
        assert probes == []  # not due yet
        clock.shift(61)
        assert source_probe_once(probe_page=probe(CHANGED)) == "still_unusable"
        assert probes == ["wsp"]
        assert row().current == "consultacenso" and row().probe_interval_s == 120
        assert "no tiene" in row().last_probe_said
        assert Throttle.objects.get(pk=THROTTLE_PK).next_slot_at is not None  # a probe takes a request slot
        clock.shift(61)
        assert source_probe_once(probe_page=probe(None)) is None  # the interval doubled: not due
        clock.shift(60)
        assert source_probe_once(probe_page=probe(None)) == "restored"
        assert row().current == "wsp" and row().reason == SourceInUse.Reason.RESTORED
        assert row().next_probe_at is None
    assert run_one({"wsp": ACTIVE}) == "wsp"


def test_a_probe_waits_for_the_throttle_slot(settings):
    settings.REGISTRY_MIN_GAP_S = 5
    with time_machine.travel(START, tick=False):
        SourceInUse.objects.create(pk=1, current="consultacenso", next_probe_at=START)
        Throttle.objects.create(pk=THROTTLE_PK, next_slot_at=START + dt.timedelta(seconds=3))
        assert source_probe_once(probe_page=lambda source: None) is None
        assert row().current == "consultacenso"


def test_leaving_the_first_source_soon_again_grows_the_probe_interval():
    with time_machine.travel(START, tick=False) as clock:
        queue(12)
        for _ in range(3):
            run_one({"wsp": CHANGED})
        first_interval = row().probe_interval_s
        clock.shift(61)
        source_probe_once(probe_page=lambda source: None)
        for _ in range(3):
            run_one({"wsp": CHANGED, "consultacenso": ACTIVE})
        assert row().current == "consultacenso"
        assert row().probe_interval_s == 2 * first_interval  # the page that keeps failing is probed less often


def test_settings_without_the_source_in_use_put_the_work_back_on_the_first(settings):
    SourceInUse.objects.create(pk=1, current="consultacenso", reason=SourceInUse.Reason.PAGE_CHANGED)
    settings.REGISTRY_SOURCES = ("wsp",)
    assert services.source_in_use() == "wsp"
    assert row().reason == SourceInUse.Reason.SETTINGS


def test_the_console_reads_the_source_in_use_and_why():
    queue(3)
    for _ in range(3):
        run_one({"wsp": CHANGED})
    view = selectors.source_view()
    assert (view.current, view.on_first, view.reason) == ("consultacenso", False, "page_changed")
    assert selectors.source_attempts_24h() == {"wsp": 3, "consultacenso": 0}
    assert view.next_probe_at is not None and view.configured[0] == "wsp"
    health = selectors.system_health(silent_after_s=60).public_dict()
    assert health["source"] == {"in_use": "consultacenso", "first": False, "reason": "page_changed"}
