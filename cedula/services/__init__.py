"""Every write of the domain. Views, admin actions, commands, tasks and signals call these; nothing else writes.

The queue in one paragraph: a lookup is wanted when CedulaInfo.next_attempt_at is set. `lookups_dispatch` keeps at
most LOOKUP_DISPATCH_DEPTH tickets alive, each a Django-Q2 task `cedula.tasks.lookup_next(ticket_id)`. A ticket does
not name a cedula: when it runs it waits for the global throttle, then claims the most urgent due row, so a person who
registers a second ago overtakes 100,000 bulk rows at the very next request slot.

One module per concern (docs/architecture.md has the map); callers use `from cedula import services` and the names
below, which every module re-exports here:
- queueing: requesting lookups (a person, staff, the public refresh), queue now, retry, reset, pause and resume;
- dispatch: tickets, running one ticket, reaping what dead workers held;
- claims: taking a throttle slot and the most urgent due row;
- gate: the throttle and the breaker; outage: the gate over system failures; probe: its cheap probe;
- outcomes: recording an answer, the retry backoff, redacted snapshots;
- imports (+ import_sql, import_previews): a file of cedulas into the queue, its preview kept until confirmed;
- batches: operators steering bulk work (a batch's buttons, actions on a whole changelist filter), set-based;
- schedules: "Ejecutar ahora" for a Django-Q2 schedule.
- revalidation: rows whose last answer is old back into the queue (scheduled, command, console);
- history: the CedulaChange rows of answers that changed, and a person's "your place changed" visit;
- audit: the one call that records a staff action (docs/security.md);
- retention: the batched purge of old attempts and failure snapshots.
- sources: which of the registry's pages the worker asks, moving to the next and back (REGISTRY_SOURCES);
- canary: the scheduled lookup of a cedula whose answer is known (the page-changed alert's second source).
The public "Actualizar datos" (a person's refresh and its allowance) lives with its model in ops.accounts.
"""

from __future__ import annotations

from cedula.registry.parser import RESULT_FIELDS
from cedula.services.audit import ACTION_LABELS, audit_record, audit_selection_ids
from cedula.services.batches import (
    BATCH_ACTIONS,
    batch_cancel_pending,
    batch_move,
    batch_pause,
    batch_record_export,
    batch_resume,
    batch_retry_errors,
    cedulas_cancel_pending,
    cedulas_queue_matching,
    cedulas_reset_matching,
    cedulas_retry_failed_matching,
    rows_touched,
)
from cedula.services.canary import canary_run
from cedula.services.claims import (
    Claim,
    lookup_claim_next,
    lookups_due_soon,
    seconds_until_claimable,
    throttle_mark_request_sent,
    throttle_take_request_slot,
    worker_identity,
)
from cedula.services.dispatch import (
    RECORD_RETRY_DELAYS_S,
    TICKET_MAX_WAIT_S,
    LookupNotRecordedError,
    lookup_run_ticket,
    lookups_dispatch,
    lookups_reap_stale,
)
from cedula.services.gate import breaker_blocks_claims, breaker_get, throttle_wait_s
from cedula.services.history import cedula_owner_visit, change_record, previous_final_answer
from cedula.services.import_previews import (
    ConfirmOutcome,
    import_preview_confirm,
    import_preview_create,
    import_previews_expire,
)
from cedula.services.import_sql import IMPORT_INSERT_BATCH
from cedula.services.imports import (
    IMPORT_SAMPLE_SIZE,
    ImportReport,
    cedula_import_audit,
    cedula_import_preview,
    cedula_import_rows,
)
from cedula.services.outcomes import lookup_record_outcome, redact_snapshot, retry_delay_s
from cedula.services.probe import gate_probe_once, gate_probe_request
from cedula.services.queueing import (
    breaker_pause,
    breaker_resume,
    cedula_register_for_user,
    cedula_request_lookup,
    cedulas_queue_now,
    user_cedula_is_linked,
)
from cedula.services.retention import PurgeReport, in_batches, retention_purge
from cedula.services.revalidation import (
    RevalidationReport,
    batches_revalidate,
    cedulas_revalidate,
    cedulas_revalidate_due,
    revalidation_budget_left,
    revalidation_run_scheduled,
)
from cedula.services.schedules import schedule_run_now
from cedula.services.sources import source_in_use, source_probe_once, source_state

__all__ = [
    "BATCH_ACTIONS",
    "batch_cancel_pending",
    "batch_move",
    "batch_pause",
    "batch_record_export",
    "batch_resume",
    "batch_retry_errors",
    "cedulas_cancel_pending",
    "cedulas_queue_matching",
    "cedulas_reset_matching",
    "cedulas_retry_failed_matching",
    "rows_touched",
    "schedule_run_now",
    "RevalidationReport",
    "batches_revalidate",
    "cedula_owner_visit",
    "cedulas_revalidate",
    "cedulas_revalidate_due",
    "change_record",
    "previous_final_answer",
    "revalidation_budget_left",
    "revalidation_run_scheduled",
    "IMPORT_INSERT_BATCH",
    "IMPORT_SAMPLE_SIZE",
    "RECORD_RETRY_DELAYS_S",
    "RESULT_FIELDS",
    "TICKET_MAX_WAIT_S",
    "ACTION_LABELS",
    "Claim",
    "PurgeReport",
    "audit_record",
    "audit_selection_ids",
    "in_batches",
    "retention_purge",
    "ConfirmOutcome",
    "ImportReport",
    "import_preview_confirm",
    "import_preview_create",
    "import_previews_expire",
    "LookupNotRecordedError",
    "breaker_blocks_claims",
    "breaker_get",
    "breaker_pause",
    "breaker_resume",
    "canary_run",
    "gate_probe_once",
    "source_in_use",
    "source_probe_once",
    "source_state",
    "gate_probe_request",
    "cedula_import_preview",
    "cedula_import_rows",
    "cedula_import_audit",
    "cedula_register_for_user",
    "cedula_request_lookup",
    "cedulas_queue_now",
    "lookup_claim_next",
    "lookups_due_soon",
    "lookup_record_outcome",
    "lookup_run_ticket",
    "lookups_dispatch",
    "lookups_reap_stale",
    "redact_snapshot",
    "retry_delay_s",
    "seconds_until_claimable",
    "throttle_mark_request_sent",
    "throttle_take_request_slot",
    "throttle_wait_s",
    "user_cedula_is_linked",
    "worker_identity",
]
