"""The gate over system failures: the breaker generalized from `blocked` to every cause in cedula.registry.failures.

REGISTRY_BREAKER_THRESHOLD consecutive system failures open it for every lookup, with the cause and since when. While
it is open no row is handed out; when the cooldown ends one cheap probe runs (cedula.services.probe): it closes the
gate, or the gate stays open for a cooldown twice as long (up to REGISTRY_BREAKER_MAX_COOLDOWN_S). A system failure
never spends a row's retries (cedula.services.outcomes releases the row in its place). Causes no probe can clear
(solver_key, no_solver) wait for a worker started with other solver settings, or for staff ("Probar ahora").

A POST that is not answered (timeout, connection cut) is the row's own: the stand-in's hang cedulas, a cedula the
registry chokes on. REGISTRY_BREAKER_THRESHOLD of them in a row, on different rows, with no answer between them, is the
registry's: the last one is counted as registry_down and opens the gate (docs/registry.md, "Whose failure").
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from django.conf import settings

from cedula.models import Breaker
from cedula.registry.failures import PROBED_CAUSES, Cause, is_system
from cedula.registry.parser import LookupResult

# A probe that has not reported after this long died with its worker: another may run.
PROBE_STALE_S = 180.0
# Row failures that say the POST went unanswered; without a cause they are the row's own, in a streak the system's.
UNANSWERED_KINDS = frozenset({"timeout", "network"})


def settings_fingerprint() -> str:
    """The solver settings this process runs with (the key hashed): a worker started with new ones clears what only
    the configuration can clear (solver_key, no_solver)."""
    text = f"{settings.CAPTCHA_SOLVER}|{settings.CAPTCHA_API_URL}|{settings.CAPTCHA_API_KEY}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def probe_stale(breaker: Breaker, now: dt.datetime) -> bool:
    return breaker.last_probe_at is None or (now - breaker.last_probe_at).total_seconds() > PROBE_STALE_S


def probe_wait_s(breaker: Breaker, now: dt.datetime) -> float | None:
    """Seconds until the open gate's next probe (0: due now), None when no probe will run by itself."""
    if breaker.state == Breaker.State.CLOSED:
        return None
    if breaker.state == Breaker.State.HALF_OPEN:
        return 0.0 if probe_stale(breaker, now) else 1.0
    if breaker.probe_requested:
        return 0.0
    if breaker.confirming or not breaker.cause or breaker.cause in PROBED_CAUSES:
        return max(0.0, (breaker.open_until - now).total_seconds()) if breaker.open_until else 0.0
    return 0.0 if breaker.settings_fingerprint != settings_fingerprint() else None


def breaker_blocks_claims(breaker: Breaker, now: dt.datetime) -> tuple[bool, float | None]:
    """(blocked, seconds until something may change). No row is handed out while the gate is not closed: a probe,
    not a lookup, decides when it closes."""
    if breaker.paused:
        return True, None
    if breaker.state == Breaker.State.CLOSED:
        return False, None
    return True, probe_wait_s(breaker, now)


@dataclass(frozen=True)
class Observed:
    change: str | None  # "opened" / "closed" when this outcome changed the gate
    cause: str  # the system cause this outcome counts as ("" when it is the row's own)
    gate_cause: str = ""  # the cause the gate opened for, or had when it closed
    charge_from: int | None = None  # an answer refuted the streak: charge its attempts from this id to their rows


def _open(breaker: Breaker, *, cause: str, now: dt.datetime) -> None:
    base = settings.REGISTRY_BREAKER_COOLDOWN_S
    # A gate that a probe closed and the next lookups opened again: the cause lasts, the cooldown keeps doubling.
    previous = breaker.cooldown_s
    breaker.cooldown_s = min(previous * 2, settings.REGISTRY_BREAKER_MAX_COOLDOWN_S) if previous else base
    breaker.state = Breaker.State.OPEN
    breaker.cause = cause
    breaker.cause_since = breaker.cause_since or now
    breaker.opened_at = now
    breaker.open_until = now + dt.timedelta(seconds=breaker.cooldown_s)
    breaker.probes = 0
    breaker.probe_requested = False
    breaker.confirming = False
    breaker.streak_attempt_id = None  # confirmed: those failures were the system's for good
    breaker.settings_fingerprint = settings_fingerprint()


def _confirm(breaker: Breaker, *, cause: str, now: dt.datetime) -> None:
    """Hold every lookup for one probe, due now: it tells whether the failure just seen was the system's (the
    probe fails too) or the row's (the probe passes). The row would otherwise be the next one handed out again (it
    kept its place) and could not tell."""
    breaker.state = Breaker.State.OPEN
    breaker.confirming = True
    breaker.cause = cause
    breaker.open_until = now
    breaker.probe_requested = False


def breaker_close(breaker: Breaker, *, answered: bool) -> None:
    breaker.state = Breaker.State.CLOSED
    breaker.cause = ""
    breaker.cause_since = None
    breaker.open_until = None
    breaker.probe_requested = False
    breaker.confirming = False
    breaker.consecutive_blocks = 0
    breaker.streak_attempt_id = None
    if answered:
        breaker.cooldown_s = 0  # a real answer ends the outage; a probe alone leaves the doubling armed


def _count(breaker: Breaker, *, cause: str, now: dt.datetime) -> str | None:
    """One more system failure in a row (a lookup's or a confirming probe's): "opened" at the threshold."""
    if breaker.consecutive_blocks == 0:
        breaker.cause_since = now
    breaker.consecutive_blocks += 1
    breaker.last_failure_cause = cause
    if breaker.consecutive_blocks >= settings.REGISTRY_BREAKER_THRESHOLD:
        _open(breaker, cause=cause, now=now)
        return "opened"
    return None


# Outcomes that say nothing about the registry or the solver either way: the streak stands.
NOISE_KINDS = frozenset({"browser", "worker_lost"})


def breaker_observe(breaker: Breaker, *, result: LookupResult, cedula_id: int, now: dt.datetime) -> Observed:
    """Feed one lookup outcome to the gate. The caller saves the breaker (and sets streak_attempt_id to the attempt
    it records when this outcome starts a streak)."""
    cause = result.cause if is_system(result.cause) else ""
    unanswered = not cause and result.status == "error" and result.error_kind in UNANSWERED_KINDS
    if unanswered:
        if breaker.last_timeout_cedula_id != cedula_id:
            breaker.consecutive_timeouts += 1
            breaker.last_timeout_cedula_id = cedula_id
        if breaker.consecutive_timeouts >= settings.REGISTRY_BREAKER_THRESHOLD:
            cause = Cause.REGISTRY_DOWN
            # The streak itself is the evidence: it opens the gate now.
            breaker.consecutive_blocks = max(breaker.consecutive_blocks, settings.REGISTRY_BREAKER_THRESHOLD - 1)
    if cause:
        if breaker.state != Breaker.State.CLOSED:
            return Observed(change=None, cause=cause)  # in flight when the gate opened: counted already
        change = _count(breaker, cause=cause, now=now)
        if change is None:
            _confirm(breaker, cause=cause, now=now)
        return Observed(change=change, cause=cause, gate_cause=cause)
    if unanswered or (result.status == "error" and result.error_kind in NOISE_KINDS):
        return Observed(change=None, cause="")
    # An answer: the registry (and the solver, when the page wanted one) worked for this row.
    breaker.consecutive_timeouts = 0
    breaker.last_timeout_cedula_id = None
    if breaker.state == Breaker.State.CLOSED:
        charge_from = breaker.streak_attempt_id if breaker.consecutive_blocks else None
        breaker.consecutive_blocks = 0
        breaker.cause_since = None
        breaker.streak_attempt_id = None
        if result.status != "error":
            breaker.cooldown_s = 0
        return Observed(change=None, cause="", charge_from=charge_from)
    if result.status != "error" and not breaker.confirming:
        # A lookup that was in flight when the gate opened came back with an answer: the system works.
        was = breaker.cause
        breaker_close(breaker, answered=True)
        return Observed(change="closed", cause="", gate_cause=was)
    return Observed(change=None, cause="")


@dataclass(frozen=True)
class ProbeOutcome:
    # closed | still_open | opened; for a confirming probe: refuted (the row's failure after all) or confirmed
    outcome: str
    charge_from: int | None = None


def breaker_probe_result(
    breaker: Breaker, *, probe_cause: str, failure: LookupResult | None, now: dt.datetime
) -> ProbeOutcome:
    """Apply a probe's result to the gate."""
    breaker.last_probe_at = now
    cause = (failure.cause if is_system(failure.cause) else probe_cause) if failure is not None else ""
    if breaker.confirming:
        if failure is None:
            charge_from = breaker.streak_attempt_id
            breaker_close(breaker, answered=False)
            return ProbeOutcome("refuted", charge_from)
        breaker.confirming = False
        breaker.state = Breaker.State.CLOSED
        breaker.open_until = None
        breaker.cause = ""
        breaker.streak_attempt_id = None  # confirmed: the failures so far were the system's for good
        if _count(breaker, cause=cause, now=now) == "opened":
            return ProbeOutcome("opened")
        # Confirmed but under the threshold: the row is handed out again and its next failure counts on.
        return ProbeOutcome("confirmed")
    if failure is None:
        breaker_close(breaker, answered=False)
        return ProbeOutcome("closed")
    changed = bool(breaker.cause) and cause != breaker.cause
    breaker.cooldown_s = min(
        max(breaker.cooldown_s, settings.REGISTRY_BREAKER_COOLDOWN_S / 2) * 2, settings.REGISTRY_BREAKER_MAX_COOLDOWN_S
    )
    breaker.state = Breaker.State.OPEN
    breaker.cause = cause
    breaker.last_failure_cause = cause
    breaker.open_until = now + dt.timedelta(seconds=breaker.cooldown_s)
    breaker.settings_fingerprint = settings_fingerprint()
    if changed:
        breaker.opened_at = now
        breaker.cause_since = now
        return ProbeOutcome("opened")
    return ProbeOutcome("still_open")
