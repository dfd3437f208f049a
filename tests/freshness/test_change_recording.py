"""Recording an outcome writes one CedulaChange per final answer that differs from the row's previous final answer,
in the same transaction. The registry is the only thing faked: it is what leaves the machine."""

from __future__ import annotations

import datetime as dt

import pytest
from structlog.testing import capture_logs

from cedula import services
from cedula.models import CedulaChange, CedulaInfo, LookupAttempt, LookupTicket, Priority, Source, Status
from cedula.registry.browser import LookupReport
from cedula.registry.parser import LookupResult, parse_result
from cedula.registry.simulator.outcomes import Outcome, render_answer

pytestmark = pytest.mark.django_db

CEDULA = "25837220"
ACTIVE = LookupResult(
    status="active",
    departamento="ANTIOQUIA",
    municipio="MEDELLÍN",
    puesto="I.E. INEM JOSÉ FÉLIX DE RESTREPO",
    direccion="CARRERA 48 # 1-125",
    mesa="030",
)
CANCELLED = LookupResult(
    status="cancelled", novedad="Cancelada por Muerte", resolucion="0023", fecha_novedad=dt.date(2026, 3, 1)
)
NOT_FOUND = LookupResult(status="not_found")
TIMEOUT = LookupResult(status="error", error_kind="timeout", message="sin respuesta")


def answer(result: LookupResult, *, cedula: str = CEDULA) -> CedulaInfo:
    """Queue the cedula (a fresh cycle) and let one ticket record `result` for it."""
    info = services.cedula_request_lookup(cedula=cedula, priority=Priority.STAFF, source=Source.ADMIN)
    ticket = LookupTicket.objects.create()
    report = LookupReport(result=result, html="<div/>", duration_ms=5)
    assert services.lookup_run_ticket(ticket_id=ticket.pk, run_lookup=lambda c: report, max_wait_s=0) == 1
    info.refresh_from_db()
    return info


def with_(result: LookupResult, **fields) -> LookupResult:
    return LookupResult(**{**result.__dict__, **fields})


def test_the_first_answer_writes_no_change():
    info = answer(ACTIVE)

    assert info.status == Status.ACTIVE
    assert not CedulaChange.objects.exists()
    assert info.changed_at_last_check is False


def test_the_same_answer_again_writes_no_change():
    answer(ACTIVE)
    info = answer(ACTIVE)

    assert info.check_count == 2
    assert not CedulaChange.objects.exists()
    assert info.changed_at_last_check is False


def test_the_same_answer_spaced_and_accented_differently_writes_no_change():
    answer(ACTIVE)
    info = answer(
        with_(
            ACTIVE, municipio="Medellin", puesto="I.E.  INEM jose felix de restrepo ", direccion="CARRERA 48 #  1-125"
        )
    )

    assert not CedulaChange.objects.exists()
    assert info.changed_at_last_check is False
    assert info.municipio == "Medellin"  # the row still shows the registry's latest spelling


def test_the_same_page_respaced_by_the_registry_parses_to_no_change():
    place = Outcome(status="active", departamento="ANTIOQUIA", municipio="MEDELLÍN", puesto="I.E. INEM",
                    direccion="CARRERA 48 # 1-125", mesa="030")  # fmt: skip
    first = parse_result(render_answer(CEDULA, place))
    respaced_html = render_answer(CEDULA, place).replace("MEDELLÍN", "  Medellin\n ").replace("I.E. INEM", "I.E.  inem")
    answer(first)

    answer(parse_result(respaced_html))

    assert not CedulaChange.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("departamento", "CAUCA"),
        ("municipio", "BELLO"),
        ("puesto", "UNIVERSIDAD DE ANTIOQUIA"),
        ("direccion", "CALLE 67 # 53-108"),
        ("mesa", "031"),
    ],
)
def test_every_place_field_is_tracked(field, value):
    answer(ACTIVE)
    info = answer(with_(ACTIVE, **{field: value}))

    change = CedulaChange.objects.get()
    assert change.kind == CedulaChange.Kind.PLACE
    assert change.old_values == {field: getattr(ACTIVE, field)}
    assert change.new_values == {field: value}
    assert change.cedula_id == info.pk
    assert change.attempt == LookupAttempt.objects.filter(cedula=info).latest("started_at")
    assert change.changed_at == info.last_checked
    assert info.changed_at_last_check is True


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("novedad", "Cancelada por Doble Cedulación", "Cancelada por Doble Cedulación"),
        ("resolucion", "0024", "0024"),
        ("fecha_novedad", dt.date(2026, 3, 2), "2026-03-02"),
    ],
)
def test_every_cancellation_field_is_tracked(field, value, shown):
    answer(CANCELLED)
    answer(with_(CANCELLED, **{field: value}))

    change = CedulaChange.objects.get()
    assert change.kind == CedulaChange.Kind.CANCELLATION
    assert change.new_values == {field: shown}


def test_a_row_going_from_active_to_cancelled_records_the_status_and_every_field():
    answer(ACTIVE)
    info = answer(CANCELLED)

    change = CedulaChange.objects.get()
    assert change.kind == CedulaChange.Kind.STATUS
    assert (change.old_status, change.new_status) == ("active", "cancelled")
    assert change.old_values["status"] == "active" and change.new_values["status"] == "cancelled"
    assert change.old_values["puesto"] == "I.E. INEM JOSÉ FÉLIX DE RESTREPO" and change.new_values["puesto"] == ""
    assert change.new_values["novedad"] == "Cancelada por Muerte"
    assert change.new_values["fecha_novedad"] == "2026-03-01"
    assert info.status == Status.CANCELLED and info.puesto == "" and info.novedad == "Cancelada por Muerte"


def test_found_again_after_not_found_is_a_status_change():
    answer(NOT_FOUND)
    answer(ACTIVE)

    change = CedulaChange.objects.get()
    assert (change.kind, change.old_status, change.new_status) == ("status", "not_found", "active")


def test_transient_errors_between_two_answers_do_not_hide_the_change(settings):
    settings.LOOKUP_RETRY_DELAYS_S = []  # the first error ends the cycle: the row reads `error`
    answer(ACTIVE)
    failed = answer(TIMEOUT)
    assert failed.status == Status.ERROR and not CedulaChange.objects.exists()

    answer(CANCELLED)

    change = CedulaChange.objects.get()
    assert (change.old_status, change.new_status) == ("active", "cancelled")


def test_a_change_records_the_rows_import_batch_and_logs_without_the_full_cedula():
    from cedula.models import ImportBatch

    batch = ImportBatch.objects.create(file_name="lote.csv")
    answer(ACTIVE)
    CedulaInfo.objects.filter(cedula=CEDULA).update(import_batch=batch)

    with capture_logs() as logs:
        answer(with_(ACTIVE, mesa="031"))

    assert CedulaChange.objects.get().import_batch == batch
    event = next(e for e in logs if e["event"] == "cedula_changed")
    assert event["kind"] == "place" and event["fields"] == ["mesa"]
    assert CEDULA not in str(logs)


def test_a_later_unchanged_answer_clears_changed_at_last_check():
    answer(ACTIVE)
    assert answer(with_(ACTIVE, mesa="031")).changed_at_last_check is True

    assert answer(with_(ACTIVE, mesa="031")).changed_at_last_check is False
    assert CedulaChange.objects.count() == 1


def test_a_row_reset_by_staff_starts_afresh_even_after_errors(settings):
    settings.LOOKUP_RETRY_DELAYS_S = []
    info = answer(ACTIVE)
    services.cedulas_reset_matching(rows=CedulaInfo.objects.filter(pk=info.pk))
    assert answer(TIMEOUT).status == Status.ERROR

    answer(CANCELLED)

    assert not CedulaChange.objects.exists()
