"""Prometheus metrics for /metrics, computed at scrape time from the database by one custom collector: every web
process answers the same, and nothing is counted in process memory that a restart would lose.

Labels carry only enumerations (priority, outcome, error kind, breaker state, alert): never a cedula, an email or a
proxy credential.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from cedula import captcha_spend, selectors
from cedula.models import Breaker, Priority
from cedula.registry.failures import Cause

WINDOW_MIN = 60
QUANTILES = (0.5, 0.9, 0.99)


def _priority_label(value: int) -> str:
    try:
        return Priority(value).name.lower()
    except ValueError:
        return str(value)


def _quantile(sorted_values: list[int], q: float) -> float:
    # Nearest rank: the smallest value with at least q of the sample at or below it.
    rank = max(1, math.ceil(q * len(sorted_values)))
    return float(sorted_values[rank - 1])


class CedulaCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        now = timezone.now()

        backlog = GaugeMetricFamily(
            "cedula_backlog", "Rows due for a lookup now and held by no worker, by priority.", labels=["priority"]
        )
        by_priority = selectors.due_backlog_by_priority(now=now)
        for value in sorted({*Priority.values, *by_priority}):
            backlog.add_metric([_priority_label(value)], by_priority.get(value, 0))
        yield backlog

        in_flight, scheduled = selectors.in_flight_and_scheduled(now=now)
        yield GaugeMetricFamily("cedula_in_flight", "Rows held by a worker right now.", value=in_flight)
        yield GaugeMetricFamily("cedula_retries_scheduled", "Rows waiting for a retry backoff to end.", value=scheduled)

        breaker = selectors.breaker_state(now=now)
        state = GaugeMetricFamily(
            "cedula_breaker_state", "1 for the circuit breaker's current state, 0 for the others.", labels=["state"]
        )
        for choice in Breaker.State.values:
            state.add_metric([choice], 1.0 if breaker["state"] == choice else 0.0)
        yield state
        gate = GaugeMetricFamily(
            "cedula_gate_cause",
            "1 for the cause the lookup gate is open for (system failures), 0 for the others; all 0 while closed.",
            labels=["cause"],
        )
        for cause in Cause:
            gate.add_metric([cause.value], 1.0 if breaker["cause"] == cause.value else 0.0)
        yield gate
        yield GaugeMetricFamily(
            "cedula_gate_probes",
            "Probes run since the lookup gate opened (0 while closed).",
            value=float(breaker["probes"]),
        )
        yield GaugeMetricFamily(
            "cedula_lookups_paused",
            "1 while staff paused the lookups by hand.",
            value=1.0 if breaker["paused"] else 0.0,
        )

        source = selectors.source_view(now=now)
        in_use = GaugeMetricFamily(
            "cedula_registry_source_in_use",
            "1 for the registry page the worker asks now (REGISTRY_SOURCES), 0 for the other configured ones.",
            labels=["source"],
        )
        for name in source.configured:
            in_use.add_metric([name], 1.0 if name == source.current else 0.0)
        yield in_use
        yield GaugeMetricFamily(
            "cedula_registry_source_switches",
            "Switches between the registry's pages since the deployment started recording them.",
            value=float(source.switches),
        )

        last_seen = selectors.worker_last_seen(now=now)
        age = max(0.0, (now - last_seen).total_seconds()) if last_seen else math.nan
        yield GaugeMetricFamily(
            "cedula_worker_heartbeat_age_seconds",
            "Seconds since a Django-Q2 cluster last reported (NaN when none ever did).",
            value=age,
        )

        lookups = GaugeMetricFamily(
            "cedula_lookups_last_hour",
            "Registry requests of the last hour by outcome and error kind.",
            labels=["outcome", "error_kind"],
        )
        for row in selectors.lookup_outcomes(window_min=WINDOW_MIN, now=now):
            lookups.add_metric([row.outcome, row.error_kind], row.count)
        yield lookups

        durations = selectors.lookup_durations_ms(window_min=WINDOW_MIN, now=now)
        summary = Metric(
            "cedula_lookup_duration_seconds", "Duration of the registry requests of the last hour.", "summary"
        )
        for q in QUANTILES:
            seconds = _quantile(durations, q) / 1000 if durations else math.nan
            summary.add_sample("cedula_lookup_duration_seconds", {"quantile": str(q)}, seconds)
        summary.add_sample("cedula_lookup_duration_seconds_count", {}, float(len(durations)))
        summary.add_sample("cedula_lookup_duration_seconds_sum", {}, sum(durations) / 1000)
        yield summary

        alerts = GaugeMetricFamily(
            "cedula_alert_firing", "1 while an alert is firing (sent, not yet recovered).", labels=["alert", "check"]
        )
        for status in selectors.alert_statuses():
            alerts.add_metric([status.alert, status.key], 1.0 if status.firing else 0.0)
        alerts.add_metric(["breaker", "breaker"], 0.0 if breaker["state"] == Breaker.State.CLOSED else 1.0)
        yield alerts

        yield from captcha_spend.spend_metrics(now=now)


def render() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CedulaCollector())
    return generate_latest(registry)
