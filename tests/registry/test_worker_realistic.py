"""A real `qcluster` drains a mixed batch against the `--realistic` stand-in: every row ends right."""

from __future__ import annotations

import time

import pytest

from cedula import services
from cedula.models import CedulaInfo, LookupAttempt, Priority, Source, Status
from cedula.registry.simulator import demo_cedulas, expected_outcome
from cedula.registry.simulator.outcomes import (
    BLOCKED,
    DROPPED,
    FLAKY,
    MALFORMED,
    SERVER_ERROR,
    SLOW,
    STALE_TOKEN,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def final_state(info: CedulaInfo) -> str:
    return f"error:{info.error_kind}" if info.status == Status.ERROR else info.status


def all_settled(ids: list[int]) -> bool:
    rows = CedulaInfo.objects.filter(pk__in=ids, next_attempt_at__isnull=True).exclude(status=Status.PENDING)
    return rows.count() == len(ids)


def test_a_mixed_batch_against_the_realistic_stand_in_ends_with_every_row_right(
    start_worker, settings, registry_site_factory
):
    settings.LOOKUP_RETRY_DELAYS_S = [0.2, 0.2, 0.2]
    demo = demo_cedulas()
    people = [next(c for c, o in demo.items() if o.status == s) for s in ("active", "cancelled", "not_found")]
    faults = [SERVER_ERROR, MALFORMED, SLOW, BLOCKED, STALE_TOKEN, DROPPED, FLAKY]
    cedulas = [*people, "52123456", "79000111", *faults]
    ids = [services.cedula_request_lookup(cedula=c, priority=Priority.BULK, source=Source.IMPORT).pk for c in cedulas]
    site = registry_site_factory(realistic=True)
    start_worker(registry_url=site.url, REGISTRY_BREAKER_THRESHOLD="100")

    deadline = time.monotonic() + 240
    while not all_settled(ids) and time.monotonic() < deadline:
        time.sleep(0.5)

    rows = {info.cedula: info for info in CedulaInfo.objects.filter(pk__in=ids)}
    assert {c: final_state(rows[c]) for c in cedulas} == {c: expected_outcome(c) for c in cedulas}
    for info in rows.values():
        if info.status == Status.ACTIVE:
            assert info.municipio and info.puesto and info.mesa
        if info.status == Status.CANCELLED:
            assert info.novedad and info.fecha_novedad
    attempts = LookupAttempt.objects.filter(cedula_id__in=ids)
    # The realistic page renames its elements: every attempt that reached the form says which fallbacks it used.
    reached_form = attempts.exclude(error_kind__in=["blocked"])
    assert reached_form.exists()
    assert all("enviar:text" in a.selector_fallbacks for a in reached_form)
    # Final answers were corroborated by the page: no mismatch, nothing left unconfirmed.
    assert not attempts.filter(message__contains="[").exclude(outcome="error").exists()
