"""What the stand-in answers for each cedula (pure: no HTTP, no Django).

Demo cedulas come from demo_cedulas.json (fictional people). Every other valid cedula gets a hash-based answer, the
same on every run: mostly active, some cancelled, some not found, so bulk imports and benchmarks have realistic mixes.
"""

from __future__ import annotations

import datetime
import hashlib
import html
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).with_name("demo_cedulas.json")

HANG = "1000000001"
SERVER_ERROR = "1000000002"
MALFORMED = "1000000003"
SLOW = "1000000004"
BLOCKED = "1000000005"
STALE_TOKEN = "1000000006"  # noqa: S105 - a cedula, not a secret
DROPPED = "1000000007"
FLAKY = "1000000008"

# Fault cedula -> the final outcome our client must reach (a retry of FLAKY succeeds).
FAULT_CEDULAS: dict[str, str] = {
    HANG: "error:timeout",
    SERVER_ERROR: "error:server_error",
    MALFORMED: "error:unexpected_page",
    SLOW: "active",
    BLOCKED: "error:blocked",
    STALE_TOKEN: "error:expired",
    DROPPED: "error:network",
    FLAKY: "active",
}
SLOW_RENDER_S = 4.0
HANG_S = 600.0  # how long a hung answer waits (the server's stop releases it sooner)

NOVEDADES = (
    "Cancelada por Muerte",
    "Cancelada por Doble Cedulación",
    "Cancelada por Falsa Identidad",
    "Vigente con Pérdida o Suspensión de los Derechos Políticos",
)


@dataclass(frozen=True)
class Outcome:
    status: str  # "active" | "cancelled" | "not_found"
    departamento: str = ""
    municipio: str = ""
    puesto: str = ""
    direccion: str = ""
    mesa: str = ""
    novedad: str = ""
    resolucion: str = ""
    fecha_novedad: datetime.date | None = None


@cache
def _demo() -> dict[str, Outcome]:
    rows = json.loads(DATA_FILE.read_text(encoding="utf-8"))["cedulas"]
    demo: dict[str, Outcome] = {}
    for row in rows:
        fields = {key: value for key, value in row.items() if key != "cedula"}
        if fields.get("fecha_novedad"):
            fields["fecha_novedad"] = datetime.date.fromisoformat(fields["fecha_novedad"])
        demo[row["cedula"]] = Outcome(**fields)
    return demo


@cache
def _places() -> tuple[tuple[str, str, str, str], ...]:
    seen = {
        (o.departamento, o.municipio, o.puesto, o.direccion): None for o in _demo().values() if o.status == "active"
    }
    return tuple(seen)


def demo_cedulas() -> dict[str, Outcome]:
    """The demo people by cedula (a copy: callers may not change the stand-in's answers)."""
    return dict(_demo())


def outcome_for(cedula: str) -> Outcome:
    """The answer for a non-fault cedula (digits; export-style leading zeros are ignored, as the stand-in does)."""
    cedula = cedula.lstrip("0") or cedula
    if cedula in _demo():
        return _demo()[cedula]
    n = int.from_bytes(hashlib.sha256(cedula.encode()).digest()[:8], "big")
    bucket = n % 100
    if bucket < 80 or FAULT_CEDULAS.get(cedula) == "active":
        dep, mun, puesto, direccion = _places()[(n // 100) % len(_places())]
        return Outcome(
            status="active",
            departamento=dep,
            municipio=mun,
            puesto=puesto,
            direccion=direccion,
            mesa=f"{(n // 10_000) % 45 + 1:03d}",
        )
    if bucket < 90:
        return Outcome(
            status="cancelled",
            novedad=NOVEDADES[(n // 100) % len(NOVEDADES)],
            resolucion=f"{(n // 1_000) % 300 + 1:04d}",
            fecha_novedad=datetime.date(2005, 1, 1) + datetime.timedelta(days=(n // 100_000) % 6900),
        )
    return Outcome(status="not_found")


def expected_outcome(cedula: str) -> str:
    """The final status our client should record for `cedula`: a status, or "error:<kind>" for fault cedulas."""
    cedula = cedula.lstrip("0") or cedula
    if cedula in FAULT_CEDULAS:
        return FAULT_CEDULAS[cedula]
    return outcome_for(cedula).status


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def render_answer(cedula: str, outcome: Outcome) -> str:
    """The HTML the real page puts in data.message (markup as public scrapers of the page describe it)."""
    if outcome.status == "active":
        cells = [
            ("NUIP", _e(cedula)),
            ("DEPARTAMENTO", _e(outcome.departamento)),
            ("MUNICIPIO", _e(outcome.municipio)),
            ("PUESTO", _e(outcome.puesto)),
            ("DIRECCIÓN", _e(outcome.direccion)),
            ("MESA", f"<b>{_e(outcome.mesa)}</b>"),
        ]
        notice = (
            "<div class='alert alert-info'><strong>Señor Ciudadano:</strong> Recuerde que el día de la elección "
            "debe presentar su cédula de ciudadanía.</div>"
        )
        return _table(cells) + notice
    if outcome.status == "cancelled":
        fecha = outcome.fecha_novedad.strftime("%d/%m/%Y") if outcome.fecha_novedad else ""
        cells = [
            ("NUIP", _e(cedula)),
            ("NOVEDAD", _e(outcome.novedad)),
            ("RESOLUCIÓN", _e(outcome.resolucion)),
            ("FECHA NOVEDAD", _e(fecha)),
        ]
        return _table(cells)
    return (
        f"<div class='alert alert-warning'>El documento {_e(cedula)} no se encuentra en el censo para esta "
        "elección.</div>"
    )


def _table(cells: list[tuple[str, str]]) -> str:
    head = "".join(f"<th>{label}</th>" for label, _ in cells)
    body = "".join(f"<td data-th='{label}'>{value}</td>" for label, value in cells)
    return (
        "<div class='table-responsive'><table id='consulta' class='table table-striped table-bordered'>"
        f"<thead><tr>{head}</tr></thead><tbody><tr>{body}</tr></tbody></table></div>"
    )


BLOCK_PAGE = (
    "<html><head><title>Request Rejected</title></head><body>The requested URL was rejected. Please consult with "
    "your administrator.<br><br>Your support ID is: {support_id}<br><br>"
    "<a href='javascript:history.back();'>[Go Back]</a></body></html>"
)
CAPTCHA_MESSAGE = "Marque el cuadro de verificación o captcha para continuar con la consulta."
EXPIRED_MESSAGE = "La sesión ha expirado, recargue la página para realizar una nueva consulta."
INVALID_MESSAGE = "Ingrese un número de documento válido."
MALFORMED_MESSAGE = "<div class='resp'><p>%%ERR%% <span>&#xfffd;&#xfffd; 0x1f undefined</span><td>null"
