"""Which of the registry's pages the worker asks, and when it moves (REGISTRY_SOURCES, cedula.registry.sources).

The worker uses the first usable source of the ordered list. It moves to the next when the one in use is unusable:
- its page changed shape: more than PAGE_CHANGED_THRESHOLD of its last PAGE_CHANGED_MIN_ATTEMPTS attempts were
  `unexpected_page` (the page-changed condition, read per source and on the latest attempts, so a change is acted on
  within a few lookups rather than after an hour's share);
- or it cannot be loaded: the gate opens for `registry_down` while this source is in use. The gate then closes and
  the next source starts afresh; the rows that failed kept their place and their retries (cedula.services.outcomes).
A `blocked` answer never moves the work: the same WAF stands before every source, and a block is the registry asking
us to slow down. The gate pauses everything instead (cedula.services.outage).

While a later source is in use, the first is probed every REGISTRY_SOURCE_PROBE_S (its page loaded and its form
found: no captcha, no POST; the probe takes a throttle slot like any request). A probe that passes moves the work
back; one that fails doubles the interval, up to REGISTRY_BREAKER_MAX_COOLDOWN_S. Every switch is logged
(registry_source_switched), told to on-call (alerts.source_switched) and shown in the console.

Politeness is per deployment, not per source: one throttle, one budget and one set of quiet hours cover every source
together (cedula.services.gate, claims). A second source is for availability, never for more throughput.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cedula import alerts
from cedula.gate_display import since_text
from cedula.models import SOURCE_PK, THROTTLE_PK, Breaker, ErrorKind, LookupAttempt, SourceInUse, Throttle
from cedula.registry.failures import Cause
from cedula.registry.parser import LookupResult
from cedula.services.gate import breaker_announce, breaker_locked
from cedula.services.outage import breaker_close

logger = structlog.get_logger(__name__)

SourceProbe = Callable[[str], LookupResult | None]


@dataclass(frozen=True)
class Switch:
    left: str
    to: str
    reason: str
    detail: str


def source_names() -> tuple[str, ...]:
    return tuple(settings.REGISTRY_SOURCES)


def _next_after(name: str) -> str | None:
    names = source_names()
    if name not in names:
        return None
    index = names.index(name)
    return names[index + 1] if index + 1 < len(names) else None


def _locked(now: dt.datetime) -> tuple[SourceInUse, Switch | None]:
    """The row, locked; put back on the first source when the settings no longer list the one in use."""
    row, _ = SourceInUse.objects.select_for_update().get_or_create(
        pk=SOURCE_PK, defaults={"current": source_names()[0], "since": now}
    )
    if row.current in source_names():
        return row, None
    switch = _switch(row, to=source_names()[0], reason=SourceInUse.Reason.SETTINGS, detail="", now=now)
    return row, switch


def _switch(row: SourceInUse, *, to: str, reason: str, detail: str, now: dt.datetime) -> Switch:
    switch = Switch(left=row.current, to=to, reason=reason, detail=detail[:300])
    first = source_names()[0]
    row.current = to
    row.reason = reason
    row.detail = detail[:300]
    row.since = now
    row.switches += 1
    if to == first:
        row.next_probe_at = None
    else:
        base = settings.REGISTRY_SOURCE_PROBE_S
        # Leaving the first source again soon after coming back: the interval keeps growing (no flapping).
        row.probe_interval_s = (
            min(row.probe_interval_s * 2, settings.REGISTRY_BREAKER_MAX_COOLDOWN_S)
            if row.probe_interval_s and reason != SourceInUse.Reason.SETTINGS
            else base
        )
        row.next_probe_at = now + dt.timedelta(seconds=row.probe_interval_s)
    row.save()
    return switch


def source_announce(switch: Switch | None) -> None:
    """Tell the logs and on-call of a switch (after the change committed)."""
    if switch is None or switch.left == switch.to:
        return
    logger.warning(
        "registry_source_switched", left=switch.left, to=switch.to, reason=switch.reason, detail=switch.detail
    )
    alerts.source_switched(left=switch.left, to=switch.to, reason=switch.reason, detail=switch.detail)


def source_in_use() -> str:
    """The source the next lookup asks (a cheap read; the row is created on first use)."""
    now = timezone.now()
    row = SourceInUse.objects.filter(pk=SOURCE_PK).first()
    if row is not None and row.current in source_names():
        return row.current
    with transaction.atomic():
        row, switch = _locked(now)
    transaction.on_commit(lambda: source_announce(switch))
    return row.current


def source_state() -> SourceInUse:
    """The row as it stands (for the console, /metrics and /healthz)."""
    return SourceInUse.objects.filter(pk=SOURCE_PK).first() or SourceInUse(current=source_names()[0])


def page_changed_share(source: str) -> tuple[int, int]:
    """(unexpected_page answers, attempts) among the source's last PAGE_CHANGED_MIN_ATTEMPTS attempts that reached a
    verdict of the row's own (system failures, which say nothing about the page's shape, left out)."""
    recent = list(
        LookupAttempt.objects.filter(source=source, cause="")
        .order_by("-started_at")  # read backwards off attempt_source_idx
        .values_list("error_kind", flat=True)[: settings.PAGE_CHANGED_MIN_ATTEMPTS]
    )
    return sum(1 for kind in recent if kind == ErrorKind.UNEXPECTED_PAGE), len(recent)


def source_after_outcome(*, source: str, result: LookupResult) -> Switch | None:
    """After a recorded attempt: move on when the source in use answered unexpected_page often enough."""
    if not source or result.error_kind != ErrorKind.UNEXPECTED_PAGE or result.cause:
        return None
    target = _next_after(source)
    if target is None:
        return None
    unexpected, attempts = page_changed_share(source)
    if attempts < settings.PAGE_CHANGED_MIN_ATTEMPTS or unexpected / attempts <= settings.PAGE_CHANGED_THRESHOLD:
        return None
    now = timezone.now()
    with transaction.atomic():
        row, settled = _locked(now)
        switch = settled
        if row.current == source:
            detail = f"{unexpected} de sus últimas {attempts} consultas dieron una página desconocida"
            switch = _switch(row, to=target, reason=SourceInUse.Reason.PAGE_CHANGED, detail=detail, now=now)
    source_announce(switch)
    return switch


def source_failover_for_outage(breaker: Breaker, *, cause: str, now: dt.datetime) -> Switch | None:
    """Inside the transaction that holds the breaker, as it opens: a source that cannot be loaded hands the work to
    the next one, and the gate closes for it (a fresh start). None when the gate must stay open (another cause, or no
    source after this one)."""
    if cause != Cause.REGISTRY_DOWN:
        return None
    row, _ = _locked(now)
    target = _next_after(row.current)
    if target is None:
        return None
    since = since_text(breaker.cause_since or now, now=now)  # "desde las 02:14", as the gate's banner says it
    switch = _switch(row, to=target, reason=SourceInUse.Reason.DOWN, detail=f"no carga {since}", now=now)
    _close_gate(breaker)
    return switch


def _close_gate(breaker: Breaker) -> None:
    """The gate closed for a source that loads: a fresh start, the streak of unanswered POSTs forgotten too (they
    were the left source's)."""
    breaker_close(breaker, answered=True)
    breaker.consecutive_timeouts = 0
    breaker.last_timeout_cedula_id = None


def source_probe_take(now: dt.datetime | None = None) -> str | None:
    """Atomically: when a probe of the first source is due and a throttle slot is free, take the slot, push the next
    probe out (so no other worker probes too) and return the source to probe; else None."""
    now = now or timezone.now()
    first = source_names()[0]
    with transaction.atomic():
        # The same lock order as a claim and the gate's probe: the throttle first.
        throttle, _ = Throttle.objects.select_for_update().get_or_create(pk=THROTTLE_PK)
        row, switch = _locked(now)
        if row.current == first or (row.next_probe_at and row.next_probe_at > now):
            transaction.on_commit(lambda: source_announce(switch))
            return None
        if throttle.next_slot_at and throttle.next_slot_at > now:
            return None
        throttle.next_slot_at = now + dt.timedelta(seconds=settings.REGISTRY_MIN_GAP_S)
        throttle.save(update_fields=["next_slot_at"])
        row.last_probe_at = now
        row.next_probe_at = now + dt.timedelta(seconds=max(row.probe_interval_s, settings.REGISTRY_SOURCE_PROBE_S))
        row.save(update_fields=["last_probe_at", "next_probe_at"])
    logger.info("registry_source_probing", source=first)
    return first


def source_probe_record(*, source: str, failure: LookupResult | None) -> str:
    """A probe of the first source: "restored" (the work moves back), or "still_unusable" (the interval doubles)."""
    now = timezone.now()
    with transaction.atomic():
        row, _ = _locked(now)
        if row.current == source:
            return "ignored"
        if failure is None:
            row.last_probe_said = "La página cargó con su formulario."
            switch = _switch(row, to=source, reason=SourceInUse.Reason.RESTORED, detail="", now=now)
            _reopen_gate_for()
        else:
            switch = None
            row.last_probe_said = (failure.message or failure.error_kind or "")[:300]
            row.probe_interval_s = min(
                max(row.probe_interval_s, settings.REGISTRY_SOURCE_PROBE_S) * 2,
                settings.REGISTRY_BREAKER_MAX_COOLDOWN_S,
            )
            row.next_probe_at = now + dt.timedelta(seconds=row.probe_interval_s)
            row.save(update_fields=["last_probe_said", "probe_interval_s", "next_probe_at"])
    outcome = "restored" if failure is None else "still_unusable"
    logger.info("registry_source_probed", source=source, outcome=outcome, found=failure.error_kind if failure else "")
    source_announce(switch)
    return outcome


def _reopen_gate_for() -> None:
    """The first source loads again: a gate held open because the later one could not be loaded closes with it."""
    breaker = breaker_locked()
    if breaker.paused or breaker.state == Breaker.State.CLOSED or breaker.cause not in (Cause.REGISTRY_DOWN, ""):
        return
    cause = breaker.cause
    _close_gate(breaker)
    breaker.save()
    transaction.on_commit(lambda: breaker_announce("closed", cause=cause))


def source_probe_once(*, probe_page: SourceProbe | None) -> str | None:
    """Take, run and record a due probe of the first source; None when none was due (or this process cannot load
    pages)."""
    if probe_page is None or len(source_names()) < 2:
        return None
    source = source_probe_take()
    if source is None:
        return None
    try:
        failure = probe_page(source)
    except Exception as exc:  # a probe that crashed proves nothing: stay where we are
        logger.exception("registry_source_probe_crashed")
        failure = LookupResult(status="error", error_kind="browser", message=type(exc).__name__)
    return source_probe_record(source=source, failure=failure)
