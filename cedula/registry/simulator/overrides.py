"""Answers changed while the stand-in runs: a JSON file it re-reads whenever the file changes.

The real registry changes its answers (people die, move, get their cedula cancelled); the stand-in is deterministic.
To rehearse a change (re-validation, the change history) point the stand-in at a file (start_simulator(
overrides_file=...), `registry_simulator --overrides FILE`) and write into it, while it runs:

    {"cedulas": [{"cedula": "25837220", "status": "active", "departamento": "ANTIOQUIA", "municipio": "BELLO",
                  "puesto": "I.E. FERNANDO VELEZ", "direccion": "CALLE 50 # 49-35", "mesa": "038"},
                 {"cedula": "5342442", "status": "cancelled", "novedad": "Cancelada por Muerte",
                  "resolucion": "0012", "fecha_novedad": "2026-05-02"}]}

A cedula in the file gets that answer; every other cedula keeps its usual one. A missing, empty or half-written file
means no overrides (the previous good reading is kept while a write is in progress).
"""

from __future__ import annotations

import datetime
import json
import threading
from pathlib import Path

from cedula.registry.simulator.outcomes import Outcome, outcome_for


class OverridesFile:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._answers: dict[str, Outcome] = {}

    def _read(self) -> dict[str, Outcome]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._stamp = None
            return {}
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return self._answers
        try:
            rows = json.loads(self.path.read_text(encoding="utf-8") or "{}").get("cedulas", [])
            answers: dict[str, Outcome] = {}
            for row in rows:
                fields = {key: value for key, value in row.items() if key != "cedula"}
                if fields.get("fecha_novedad"):
                    fields["fecha_novedad"] = datetime.date.fromisoformat(fields["fecha_novedad"])
                answers[str(row["cedula"]).lstrip("0")] = Outcome(**fields)
        except (ValueError, KeyError, TypeError, AttributeError):
            return self._answers  # half-written or malformed: keep the last good reading
        self._stamp, self._answers = stamp, answers
        return answers

    def outcome_for(self, cedula: str) -> Outcome:
        with self._lock:
            answers = self._read()
        return answers.get(cedula.lstrip("0") or cedula) or outcome_for(cedula)


def write_overrides(path: Path | str, answers: dict[str, Outcome]) -> None:
    """Replace the file's answers atomically (tests and demos call this while the stand-in runs)."""
    rows = []
    for cedula, outcome in answers.items():
        row: dict[str, object] = {"cedula": cedula, **outcome.__dict__}
        row["fecha_novedad"] = outcome.fecha_novedad.isoformat() if outcome.fecha_novedad else None
        rows.append({key: value for key, value in row.items() if value not in ("", None)})
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"cedulas": rows}, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)
