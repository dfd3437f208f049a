"""What each worker is doing right now, for the console's "Consultando ahora": the row it holds, the attempt, when
the lookup started and the step it is at (opening the page, waiting for the captcha, waiting for its turn, reading
the answer) and since when.

Kept in the cache that every process shares (a file cache by default, Redis on the scale-out profile), never in the
rows' table: a step is a few writes a lookup that nobody needs once it ends. An entry outlives a dead worker by
ENTRY_TTL_S at most; the console shows only entries of rows the database says are held (claimed_at set).
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from django.core.cache import cache

ENTRY_TTL_S = 600
STEP_LABELS = {
    "claimed": "Empezando",
    "page": "Abriendo la página del registro",
    "captcha": "Esperando la solución del captcha",
    "slot": "Esperando su turno (intervalo de cortesía con el registro)",
    "answer": "Enviando y leyendo la respuesta",
}

_lock = threading.Lock()
_current: dict[str, Any] | None = None  # this process's lookup (one at a time: the browser runner's lock)


def _key(cedula_id: int) -> str:
    return f"lookup-now:{cedula_id}"


def _write(entry: dict[str, Any]) -> None:
    with contextlib.suppress(Exception):  # the console's view never breaks a lookup
        cache.set(_key(entry["cedula_id"]), entry, ENTRY_TTL_S)


def begin(*, cedula_id: int, attempt: int, worker: str, task_id: str = "") -> None:
    global _current
    now = time.time()
    entry = {"cedula_id": cedula_id, "attempt": attempt, "worker": worker, "task_id": task_id, "started": now,
             "step": "claimed", "step_at": now}  # fmt: skip
    with _lock:
        _current = entry
    _write(entry)


def step(name: str) -> None:
    """The lookup moved on to `name` (a STEP_LABELS key). Called from the browser's thread: no database here."""
    global _current
    with _lock:
        if _current is None:
            return
        _current = {**_current, "step": name, "step_at": time.time()}
        entry = _current
    _write(entry)


def end(*, cedula_id: int) -> None:
    global _current
    with _lock:
        if _current is not None and _current["cedula_id"] == cedula_id:
            _current = None
    with contextlib.suppress(Exception):
        cache.delete(_key(cedula_id))


def read(cedula_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The live entries of these rows (those a worker holds), by row id."""
    if not cedula_ids:
        return {}
    try:
        found = cache.get_many([_key(i) for i in cedula_ids])
    except Exception:  # noqa: BLE001 - an unreadable cache shows the rows without their step
        return {}
    return {entry["cedula_id"]: entry for entry in found.values()}
