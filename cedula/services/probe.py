"""The open gate's probe: one cheap check per cooldown instead of one lookup per throttle gap.

- registry_down, blocked: the registry page loaded in a fresh context, the form found; no captcha solve, no POST
  (BrowserRunner.probe_page). It takes a throttle slot like any request to the registry.
- solver_balance, solver_unavailable, solver_key: the solver's balance call (free; nothing leaves for the registry).
- no_solver: whether this process now has a solver configured.

The worker runs it from a ticket (cedula.services.dispatch); staff ask for one with "Probar ahora"
(`gate_probe_request`), which also clears what the cooldown alone never would (solver_key, no_solver).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cedula.models import THROTTLE_PK, Breaker, Throttle
from cedula.registry.captcha import CaptchaError, make_solver
from cedula.registry.failures import Cause, solver_cause
from cedula.registry.parser import LookupResult
from cedula.services.gate import breaker_announce, breaker_locked
from cedula.services.outage import breaker_probe_result, probe_wait_s
from cedula.services.outcomes import streak_charge
from cedula.services.sources import source_announce, source_failover_for_outage

logger = structlog.get_logger(__name__)

PAGE_CAUSES = frozenset({Cause.REGISTRY_DOWN, Cause.BLOCKED, ""})
CONFIG_CAUSES = frozenset({Cause.NO_SOLVER})

PageProbe = Callable[[], LookupResult | None]


@dataclass(frozen=True)
class Probe:
    cause: str
    kind: str  # page | balance | config


def probe_kind(cause: str) -> str:
    if cause in PAGE_CAUSES:
        return "page"
    return "config" if cause in CONFIG_CAUSES else "balance"


def gate_probe_take(*, can_load_page: bool = True) -> Probe | None:
    """Atomically: when the open gate's probe is due (and, for a page probe, a throttle slot is free), mark it as
    probing and return what to probe. None when there is nothing to probe now."""
    now = timezone.now()
    with transaction.atomic():
        # The same lock order as a claim: the throttle, then the breaker.
        throttle, _ = Throttle.objects.select_for_update().get_or_create(pk=THROTTLE_PK)
        breaker = breaker_locked()
        if breaker.paused or breaker.state == Breaker.State.CLOSED or probe_wait_s(breaker, now) != 0.0:
            return None
        kind = probe_kind(breaker.cause)
        if kind == "page":
            if not can_load_page or (throttle.next_slot_at and throttle.next_slot_at > now):
                return None
            throttle.next_slot_at = now + dt.timedelta(seconds=settings.REGISTRY_MIN_GAP_S)
            throttle.save(update_fields=["next_slot_at"])
        breaker.state = Breaker.State.HALF_OPEN
        breaker.last_probe_at = now
        breaker.probes += 1
        breaker.probe_requested = False
        breaker.save()
        probe = Probe(cause=breaker.cause, kind=kind)
    logger.warning("breaker_probing", cause=probe.cause, probe=probe.kind)
    return probe


def _balance_failure() -> LookupResult | None:
    solver = make_solver(
        kind=settings.CAPTCHA_SOLVER, api_url=settings.CAPTCHA_API_URL, api_key=settings.CAPTCHA_API_KEY
    )
    if solver is None:
        # No solver now: nothing of the solver's is wrong. A page that wants a captcha will say no_solver.
        return None
    try:
        balance = asyncio.run(solver.get_balance())
    except CaptchaError as exc:
        cause = solver_cause(exc.code) or Cause.SOLVER_UNAVAILABLE
        return LookupResult(status="error", error_kind="captcha", message=str(exc)[:200], cause=cause)
    if balance <= 0:
        return LookupResult(
            status="error", error_kind="captcha", message="El resolvedor no tiene saldo.", cause=Cause.SOLVER_BALANCE
        )
    return None


def gate_probe_run(*, probe: Probe, probe_page: PageProbe | None) -> LookupResult | None:
    """Run the probe: None when its cause is gone, else what failed (with its cause). Never raises."""
    try:
        if probe.kind == "page":
            if probe_page is None:
                raise RuntimeError("no page probe in this process")
            return probe_page()
        if probe.kind == "balance":
            return _balance_failure()
        if settings.CAPTCHA_SOLVER == "none":
            return LookupResult(
                status="error", error_kind="captcha", message="No hay resolvedor configurado.", cause=Cause.NO_SOLVER
            )
        return None
    except Exception as exc:  # a probe that crashed proves nothing: the gate stays open
        logger.exception("breaker_probe_crashed")
        return LookupResult(status="error", error_kind="browser", message=type(exc).__name__, cause=probe.cause)


def gate_probe_record(*, probe: Probe, failure: LookupResult | None) -> str:
    """Apply the probe's result to the gate and tell on-call when it opened, closed or its cause changed. A
    confirming probe that passes charges the failure it was asked about to its row."""
    now = timezone.now()
    with transaction.atomic():
        breaker = breaker_locked()
        if breaker.state != Breaker.State.HALF_OPEN:
            return "ignored"  # closed meanwhile (an in-flight lookup answered)
        result = breaker_probe_result(breaker, probe_cause=probe.cause, failure=failure, now=now)
        outcome = result.outcome
        switch = None
        if outcome == "opened":
            # The source in use cannot be loaded: the next one takes the work instead of a pause.
            switch = source_failover_for_outage(breaker, cause=breaker.cause, now=now)
            outcome = "switched" if switch is not None else outcome
        breaker.save()
        if result.charge_from is not None:
            streak_charge(from_attempt_id=result.charge_from, now=now)
    logger.warning(
        "breaker_probed",
        cause=probe.cause,
        probe=probe.kind,
        outcome=outcome,
        found=failure.cause if failure else "",
        cooldown_s=breaker.cooldown_s,
    )
    if outcome in ("closed", "opened"):
        breaker_announce(outcome, cause=probe.cause if outcome == "closed" else breaker.cause or probe.cause)
    source_announce(switch)
    return outcome


def gate_probe_once(*, probe_page: PageProbe | None) -> str | None:
    """Take, run and record a due probe; None when none was due."""
    probe = gate_probe_take(can_load_page=probe_page is not None)
    if probe is None:
        return None
    return gate_probe_record(probe=probe, failure=gate_probe_run(probe=probe, probe_page=probe_page))


def gate_probe_request(*, by: str) -> bool:
    """Staff's "Probar ahora": the next ticket probes at once, whatever the cause. False when the gate is closed."""
    from cedula.services.dispatch import lookups_dispatch  # dispatch imports this module (a cycle at the top)

    with transaction.atomic():
        breaker = breaker_locked()
        if breaker.state == Breaker.State.CLOSED:
            return False
        breaker.probe_requested = True
        if breaker.state == Breaker.State.HALF_OPEN:
            breaker.state = Breaker.State.OPEN  # a probe that never reported must not hold the request back
        breaker.save()
        transaction.on_commit(lookups_dispatch)
    logger.warning("breaker_probe_requested", by=by, cause=breaker.cause)
    return True
