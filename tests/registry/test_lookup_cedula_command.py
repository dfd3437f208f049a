"""`manage.py lookup_cedula` as a person runs it: a real process, real Chromium, the stand-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cedula.registry.simulator import demo_cedulas

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
KEYS = [
    "cedula",
    "status",
    "error_kind",
    "departamento",
    "municipio",
    "puesto",
    "direccion",
    "mesa",
    "novedad",
    "resolucion",
    "fecha_novedad",
    "duration_ms",
    "source",
]


def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ops.settings", "DEBUG": "1", **extra_env}
    return subprocess.run(
        [sys.executable, "manage.py", "lookup_cedula", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_json_output_is_one_object_with_the_documented_keys(registry_site):
    cedula, outcome = next((c, o) for c, o in demo_cedulas().items() if o.status == "cancelled")
    dotted = f"{int(cedula):,}".replace(",", ".")
    done = run(dotted, "--registry-url", registry_site.url, "--json")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert list(data) == KEYS
    assert data["cedula"] == cedula
    assert data["status"] == "cancelled"
    assert data["novedad"] == outcome.novedad
    assert data["fecha_novedad"] == outcome.fecha_novedad.isoformat()
    assert isinstance(data["duration_ms"], int)
    assert "registry_lookup_done" in done.stderr  # logs go to stderr, never stdout
    assert cedula not in done.stderr


def test_the_second_source_is_asked_by_name(registry_site):
    cedula, outcome = next((c, o) for c, o in demo_cedulas().items() if o.status == "active")
    done = run(
        cedula, "--source", "consultacenso", "--json", REGISTRY_CONSULTACENSO_URL=registry_site.consultacenso_url
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["status"], data["municipio"], data["source"]) == ("active", outcome.municipio, "consultacenso")
    assert registry_site.lookups(source="consultacenso")
    assert run(cedula, "--source", "otra").returncode == 2  # an unknown source is a usage error


def test_a_failed_lookup_still_exits_zero(registry_site):
    done = run("1000000002", "--registry-url", registry_site.url, "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["status"], data["error_kind"]) == ("error", "server_error")


@pytest.mark.parametrize("cedula", ["12ab", "12", "12345678901", "1,5E+09"])
def test_an_invalid_cedula_is_a_usage_error(cedula):
    done = run(cedula, "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "cédula" in done.stderr or "notación" in done.stderr or "corta" in done.stderr or "larga" in done.stderr
