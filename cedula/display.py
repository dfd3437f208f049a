"""How the console shows things to staff: a row's state, a cedula, a moment. One place, so no two screens disagree.

A row's state on screen is not its `status` column alone: a row that is queued again (a retry, "Consultar ahora",
an import) reads as queued everywhere - badge, detail, dashboard cards - whatever its last answer was. The last
answer stays visible beside it ("último resultado"), never as the state. New states (e.g. one the operator
cancelled) are one more branch in `row_state` and one more entry in STATES.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from cedula.models import LookupAttempt, Status

# Re-exported: the console's one clock (cedula/staff_time.py, which models can import).
from cedula.staff_time import STAFF_DATETIME as STAFF_DATETIME
from cedula.staff_time import format_staff_time as format_staff_time


@dataclass(frozen=True)
class StateDisplay:
    key: str  # stable, used in data-testid and CSS hooks
    label: str  # what staff read
    color: str  # Unfold label type: success, warning, danger, info, default


STATES: dict[str, StateDisplay] = {
    "in_flight": StateDisplay("in_flight", "En consulta", "info"),
    # Out of the queue while its batch is paused (the batch page counts these rows apart).
    "held": StateDisplay("held", "En pausa", "warning"),
    "retry": StateDisplay("retry", "Reintento en espera", "info"),
    "queued": StateDisplay("queued", "En cola", "info"),
    Status.PENDING: StateDisplay(Status.PENDING, "Sin consultar", "default"),
    Status.ACTIVE: StateDisplay(Status.ACTIVE, Status.ACTIVE.label, "success"),
    Status.CANCELLED: StateDisplay(Status.CANCELLED, Status.CANCELLED.label, "warning"),
    Status.NOT_FOUND: StateDisplay(Status.NOT_FOUND, Status.NOT_FOUND.label, "default"),
    Status.ERROR: StateDisplay(Status.ERROR, Status.ERROR.label, "danger"),
    # Taken out of the queue by an operator before its first answer: not work in progress, and queueable again.
    Status.WITHDRAWN: StateDisplay(Status.WITHDRAWN, Status.WITHDRAWN.label, "default"),
}
# The states a row can rest in (not queued): one dashboard card each, beside "En cola".
IDLE_STATES = [Status.ACTIVE, Status.CANCELLED, Status.NOT_FOUND, Status.ERROR, Status.PENDING, Status.WITHDRAWN]
QUEUED_STATES = ["queued", "retry", "in_flight"]
# The batch page's rows, in its order: work in progress first, then the answers.
BATCH_PAGE_STATES = ["in_flight", "queued", "held", Status.ACTIVE, Status.CANCELLED, Status.NOT_FOUND, Status.ERROR,
                     Status.WITHDRAWN, Status.PENDING]  # fmt: skip

# A registry answer's colour (Unfold label type), the same as the row state it leads to.
OUTCOME_COLORS: dict[str, str] = {
    LookupAttempt.Outcome.ACTIVE: STATES[Status.ACTIVE].color,
    LookupAttempt.Outcome.CANCELLED: STATES[Status.CANCELLED].color,
    LookupAttempt.Outcome.NOT_FOUND: STATES[Status.NOT_FOUND].color,
    LookupAttempt.Outcome.ERROR: STATES[Status.ERROR].color,
}
# The hex each label type draws with in the dashboard's charts (Unfold's palette).
CHART_COLORS: dict[str, str] = {"success": "#16a34a", "warning": "#f59e0b", "default": "#64748b", "danger": "#dc2626"}


class _Row(Protocol):
    status: str
    next_attempt_at: dt.datetime | None
    claimed_at: dt.datetime | None
    attempts: int


def row_state(row: _Row) -> StateDisplay:
    """The one rule for how a cedula row's state reads on screen."""
    if row.claimed_at is not None:
        return STATES["in_flight"]
    if row.next_attempt_at is not None:
        # attempts > 0 while queued: an attempt of this cycle already failed and the row waits for its retry.
        return STATES["retry"] if row.attempts > 0 else STATES["queued"]
    return STATES.get(row.status, STATES[Status.ERROR])


def state_counts(*, by_status: dict[str, int], queued_by_status: dict[str, int]) -> dict[str, int]:
    """Dashboard cards from two cheap reads: rows per status, and queued rows per status. A queued row counts as
    "queued" only, never also under its last answer: the cards add up to the total."""
    counts: dict[str, int] = {
        str(status): by_status.get(status, 0) - queued_by_status.get(status, 0) for status in IDLE_STATES
    }
    counts["queued"] = sum(queued_by_status.values())
    return counts


def format_cedula(cedula: str) -> str:
    """1098765432 -> 1.098.765.432, the way people write it. Storage and search stay digits only."""
    if not cedula or not cedula.isdigit():
        return cedula
    return f"{int(cedula):,}".replace(",", ".")


def duration_text(seconds: float) -> str:
    """A span staff read at a glance: "45 s", "3 min 20 s", "2 h 05 min", "1 día 3 h"."""
    total = max(0, round(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} día{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min" + (f" {secs:02d} s" if secs else "")
    return f"{secs} s"
