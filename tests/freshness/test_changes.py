"""Change detection, pure: two final answers in, the change (or None) out."""

from __future__ import annotations

import datetime as dt

import pytest

from cedula import changes
from cedula.changes import Answer, detect_change
from cedula.models import CedulaChange

ACTIVE = Answer(
    status="active",
    departamento="ANTIOQUIA",
    municipio="MEDELLÍN",
    puesto="I.E. INEM JOSÉ FÉLIX DE RESTREPO",
    direccion="CARRERA 48 # 1-125",
    mesa="030",
)
CANCELLED = Answer(
    status="cancelled",
    novedad="Cancelada por Muerte",
    resolucion="0023",
    fecha_novedad=dt.date(2024, 3, 1),
)


def test_the_kinds_are_the_models_kinds():
    assert {changes.STATUS, changes.PLACE, changes.CANCELLATION} == set(CedulaChange.Kind.values)


def test_the_first_answer_is_not_a_change():
    assert detect_change(None, ACTIVE) is None


def test_the_same_answer_is_not_a_change():
    assert detect_change(ACTIVE, ACTIVE) is None
    assert detect_change(CANCELLED, CANCELLED) is None
    assert detect_change(Answer(status="not_found"), Answer(status="not_found")) is None


def test_the_same_answer_spaced_accented_and_cased_differently_is_not_a_change():
    respaced = Answer(
        status="active",
        departamento=" Antioquia ",
        municipio="MEDELLIN",
        puesto="I.E.  INEM  Jose Felix de Restrepo",
        direccion="carrera 48 #  1-125",
        mesa="030",
    )
    assert detect_change(ACTIVE, respaced) is None
    assert detect_change(CANCELLED, Answer(**{**CANCELLED.__dict__, "novedad": "CANCELADA  POR  MUERTE"})) is None


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
def test_each_place_field_that_differs_is_a_place_change(field, value):
    change = detect_change(ACTIVE, Answer(**{**ACTIVE.__dict__, field: value}))

    assert change is not None
    assert change.kind == changes.PLACE
    assert change.old_values == {field: getattr(ACTIVE, field)}
    assert change.new_values == {field: value}
    assert (change.old_status, change.new_status) == ("active", "active")


def test_mesa_013_and_13_are_different_tables():
    change = detect_change(Answer(**{**ACTIVE.__dict__, "mesa": "013"}), Answer(**{**ACTIVE.__dict__, "mesa": "13"}))

    assert change is not None and change.new_values == {"mesa": "13"}


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("novedad", "Cancelada por Doble Cedulación", "Cancelada por Doble Cedulación"),
        ("resolucion", "0024", "0024"),
        ("fecha_novedad", dt.date(2024, 3, 2), "2024-03-02"),
    ],
)
def test_each_cancellation_field_that_differs_is_a_cancellation_change(field, value, shown):
    change = detect_change(CANCELLED, Answer(**{**CANCELLED.__dict__, field: value}))

    assert change is not None
    assert change.kind == changes.CANCELLATION
    assert change.new_values == {field: shown}
    assert change.changed_fields == (field,)


def test_active_to_cancelled_is_a_status_change_with_every_field_that_differs():
    change = detect_change(ACTIVE, CANCELLED)

    assert change is not None
    assert change.kind == changes.STATUS
    assert (change.old_status, change.new_status) == ("active", "cancelled")
    assert change.old_values == {
        "status": "active",
        "departamento": "ANTIOQUIA",
        "municipio": "MEDELLÍN",
        "puesto": "I.E. INEM JOSÉ FÉLIX DE RESTREPO",
        "direccion": "CARRERA 48 # 1-125",
        "mesa": "030",
        "novedad": "",
        "resolucion": "",
        "fecha_novedad": "",
    }
    assert change.new_values == {
        "status": "cancelled",
        "departamento": "",
        "municipio": "",
        "puesto": "",
        "direccion": "",
        "mesa": "",
        "novedad": "Cancelada por Muerte",
        "resolucion": "0023",
        "fecha_novedad": "2024-03-01",
    }


def test_not_found_to_active_is_a_status_change():
    change = detect_change(Answer(status="not_found"), ACTIVE)

    assert change is not None and change.kind == changes.STATUS
    assert change.new_values["status"] == "active" and change.new_values["mesa"] == "030"


def test_an_answer_that_is_not_final_is_never_a_change():
    assert detect_change(ACTIVE, Answer(status="error")) is None
    assert detect_change(Answer(status="pending"), ACTIVE) is None
