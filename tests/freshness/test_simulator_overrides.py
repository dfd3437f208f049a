"""The stand-in's overrides file: answers changed while it runs."""

from __future__ import annotations

import datetime as dt
import os

from cedula.registry.simulator.outcomes import Outcome, demo_cedulas, outcome_for
from cedula.registry.simulator.overrides import OverridesFile, write_overrides

CEDULA = "25837220"


def test_without_the_file_every_cedula_keeps_its_usual_answer(tmp_path):
    overrides = OverridesFile(tmp_path / "missing.json")

    assert overrides.outcome_for(CEDULA) == demo_cedulas()[CEDULA]
    assert overrides.outcome_for("1234567") == outcome_for("1234567")


def test_a_changed_file_is_read_again_on_the_next_answer(tmp_path):
    path = tmp_path / "overrides.json"
    overrides = OverridesFile(path)
    moved = Outcome(status="active", departamento="ANTIOQUIA", municipio="BELLO", puesto="I.E. FERNANDO VELEZ",
                    direccion="CALLE 50 # 49-35", mesa="038")  # fmt: skip
    write_overrides(path, {CEDULA: moved})
    assert overrides.outcome_for(CEDULA) == moved
    assert overrides.outcome_for("00" + CEDULA) == moved  # export-style zeros, as the stand-in reads them

    dead = Outcome(status="cancelled", novedad="Cancelada por Muerte", resolucion="0012",
                   fecha_novedad=dt.date(2026, 5, 2))  # fmt: skip
    write_overrides(path, {CEDULA: dead})
    os.utime(path, ns=(1, 1))  # even a write within the same mtime tick is seen: size and mtime both count

    assert overrides.outcome_for(CEDULA) == dead
    assert overrides.outcome_for("1234567") == outcome_for("1234567")


def test_a_half_written_file_keeps_the_last_good_reading(tmp_path):
    path = tmp_path / "overrides.json"
    overrides = OverridesFile(path)
    moved = Outcome(status="not_found")
    write_overrides(path, {CEDULA: moved})
    assert overrides.outcome_for(CEDULA) == moved

    path.write_text('{"cedulas": [{"cedula": "2583', encoding="utf-8")

    assert overrides.outcome_for(CEDULA) == moved
