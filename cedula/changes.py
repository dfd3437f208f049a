"""Did the registry's answer change? Pure: two final answers in, the change (or None) out. No Django imports.

Answers are compared the way the parser reads the page: accents, case and whitespace folded. The registry re-spaces
and re-accents its texts between page versions ("MEDELLÍN" / "Medellin  "), and that is not news for anyone; a
different puesto, mesa, status or novedad is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from cedula.registry.parser import fold

# The values of CedulaChange.Kind (kept here as text so this module stays free of Django).
STATUS = "status"
PLACE = "place"
CANCELLATION = "cancellation"

PLACE_FIELDS = ("departamento", "municipio", "puesto", "direccion", "mesa")
CANCELLATION_FIELDS = ("novedad", "resolucion", "fecha_novedad")
ANSWER_FIELDS = PLACE_FIELDS + CANCELLATION_FIELDS
FINAL = ("active", "cancelled", "not_found")


@dataclass(frozen=True)
class Answer:
    """One final answer of the registry, as the row stores it ("" for an absent text, None for no date)."""

    status: str
    departamento: str = ""
    municipio: str = ""
    puesto: str = ""
    direccion: str = ""
    mesa: str = ""
    novedad: str = ""
    resolucion: str = ""
    fecha_novedad: dt.date | None = None

    @classmethod
    def of(cls, source: object, *, status: str | None = None) -> Answer:
        """The answer held by anything with the answer's attributes (a CedulaInfo, a LookupResult)."""
        values: dict[str, object] = {}
        for f in fields(cls):
            value = getattr(source, f.name, None)
            if f.name == "fecha_novedad":
                values[f.name] = value if isinstance(value, dt.date) else None
            elif f.name != "status":
                values[f.name] = value if isinstance(value, str) else ""
        return cls(status=status if status is not None else str(getattr(source, "status", "")), **values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Change:
    kind: str  # STATUS | PLACE | CANCELLATION
    old_status: str
    new_status: str
    old_values: dict[str, str]  # only what differs; "status" included when it changed
    new_values: dict[str, str]

    @property
    def changed_fields(self) -> tuple[str, ...]:
        return tuple(self.new_values)


def _comparable(value: str | dt.date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return fold(value)


def _shown(value: str | dt.date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return " ".join(value.split())


def detect_change(previous: Answer | None, new: Answer) -> Change | None:
    """The change from `previous` to `new`, or None when they say the same thing (or there was no previous answer:
    the first answer for a row is not a change)."""
    if previous is None or previous.status not in FINAL or new.status not in FINAL:
        return None
    differing = [
        name for name in ANSWER_FIELDS if _comparable(getattr(previous, name)) != _comparable(getattr(new, name))
    ]
    status_changed = previous.status != new.status
    if not status_changed and not differing:
        return None
    if status_changed:
        kind = STATUS
    elif any(name in PLACE_FIELDS for name in differing):
        kind = PLACE
    else:
        kind = CANCELLATION
    names = (["status"] if status_changed else []) + differing
    return Change(
        kind=kind,
        old_status=previous.status,
        new_status=new.status,
        old_values={name: _shown(getattr(previous, name)) for name in names},
        new_values={name: _shown(getattr(new, name)) for name in names},
    )
