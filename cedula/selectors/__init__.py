"""Every read the console, the public pages and /healthz need, by concern (docs/architecture.md).

`from cedula import selectors; selectors.x` keeps working: the public names are re-exported here."""

from __future__ import annotations

from cedula.selectors.alerts import (
    ALERT_TAGS,
    AlertKey,
    AlertStatus,
    alert_statuses,
)
from cedula.selectors.attempts import (
    ANSWER_MISMATCH_NOTE,
    ErrorRate,
    HourlyOutcomes,
    OutcomeCount,
    RegistryDrift,
    hourly_outcomes,
    lookup_durations_ms,
    lookup_error_rate,
    lookup_outcomes,
    recent_lookup_failures,
    registry_drift,
)
from cedula.selectors.batches import (
    BatchEta,
    BatchPage,
    BatchProgress,
    batch_eta,
    batch_page,
    import_batch_progress,
)
from cedula.selectors.budget import (
    RECENT_RATE_SAMPLES,
    BudgetState,
    budget_state,
    lookups_used_today,
    recent_interval_s,
)
from cedula.selectors.cedulas import (
    cedula_for_user,
    departamentos,
    lookup_in_progress,
)
from cedula.selectors.freshness import (
    cedula_changes,
    changes_by_kind,
    place_change_since,
    revalidation_candidates,
    revalidation_eligible_count,
    revalidations_queued_today,
)
from cedula.selectors.health import (
    HEALTH_STAFF_ONLY_BREAKER_KEYS,
    SystemHealth,
    breaker_state,
    due_backlog,
    health_reasons,
    system_health,
    worker_heartbeat_age_s,
)
from cedula.selectors.queue import (
    CLAIMS_SINCE,
    QueueCounts,
    due_backlog_by_priority,
    in_flight_and_scheduled,
    last_lookup_started_at,
    oldest_due_at,
    queue_counts,
    queued_status_counts,
    status_counts,
)
from cedula.selectors.worker import (
    WORKER_LAST_SEEN_KEY,
    WorkerHealth,
    worker_health,
    worker_last_seen,
)

__all__ = [
    "ALERT_TAGS",
    "ANSWER_MISMATCH_NOTE",
    "AlertKey",
    "AlertStatus",
    "BatchEta",
    "BatchPage",
    "BatchProgress",
    "BudgetState",
    "CLAIMS_SINCE",
    "ErrorRate",
    "HEALTH_STAFF_ONLY_BREAKER_KEYS",
    "HourlyOutcomes",
    "OutcomeCount",
    "QueueCounts",
    "RECENT_RATE_SAMPLES",
    "RegistryDrift",
    "SystemHealth",
    "WORKER_LAST_SEEN_KEY",
    "WorkerHealth",
    "alert_statuses",
    "batch_eta",
    "batch_page",
    "breaker_state",
    "budget_state",
    "cedula_changes",
    "cedula_for_user",
    "changes_by_kind",
    "departamentos",
    "due_backlog",
    "due_backlog_by_priority",
    "health_reasons",
    "hourly_outcomes",
    "import_batch_progress",
    "in_flight_and_scheduled",
    "last_lookup_started_at",
    "lookup_durations_ms",
    "lookup_error_rate",
    "lookup_in_progress",
    "lookup_outcomes",
    "lookups_used_today",
    "oldest_due_at",
    "place_change_since",
    "queue_counts",
    "queued_status_counts",
    "recent_interval_s",
    "recent_lookup_failures",
    "registry_drift",
    "revalidation_candidates",
    "revalidation_eligible_count",
    "revalidations_queued_today",
    "status_counts",
    "system_health",
    "worker_health",
    "worker_heartbeat_age_s",
    "worker_last_seen",
]
