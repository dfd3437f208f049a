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
- gate: the throttle and the breaker;
- outcomes: recording an answer, the retry backoff, redacted snapshots;
- imports (+ import_sql): a file of cedulas into the queue;
- canary: the scheduled lookup of a cedula whose answer is known (the page-changed alert's second source).
The public "Actualizar datos" (a person's refresh and its allowance) lives with its model in ops.accounts.
"""

from __future__ import annotations

from cedula.registry.parser import RESULT_FIELDS
from cedula.services.canary import canary_run
from cedula.services.claims import Claim, lookup_claim_next, seconds_until_claimable, worker_identity
from cedula.services.dispatch import (
    RECORD_RETRY_DELAYS_S,
    TICKET_MAX_WAIT_S,
    LookupNotRecordedError,
    lookup_run_ticket,
    lookups_dispatch,
    lookups_reap_stale,
)
from cedula.services.gate import breaker_blocks_claims, breaker_get, throttle_key, throttle_wait_s
from cedula.services.import_sql import IMPORT_INSERT_BATCH
from cedula.services.imports import IMPORT_SAMPLE_SIZE, ImportReport, cedula_import_preview, cedula_import_rows
from cedula.services.outcomes import lookup_record_outcome, redact_snapshot, retry_delay_s
from cedula.services.queueing import (
    breaker_pause,
    breaker_resume,
    cedula_register_for_user,
    cedula_request_lookup,
    cedulas_queue_now,
    cedulas_reset,
    cedulas_retry_failed,
    user_cedula_is_linked,
)

__all__ = [
    "IMPORT_INSERT_BATCH",
    "IMPORT_SAMPLE_SIZE",
    "RECORD_RETRY_DELAYS_S",
    "RESULT_FIELDS",
    "TICKET_MAX_WAIT_S",
    "Claim",
    "ImportReport",
    "LookupNotRecordedError",
    "breaker_blocks_claims",
    "breaker_get",
    "breaker_pause",
    "breaker_resume",
    "canary_run",
    "cedula_import_preview",
    "cedula_import_rows",
    "cedula_register_for_user",
    "cedula_request_lookup",
    "cedulas_queue_now",
    "cedulas_reset",
    "cedulas_retry_failed",
    "lookup_claim_next",
    "lookup_record_outcome",
    "lookup_run_ticket",
    "lookups_dispatch",
    "lookups_reap_stale",
    "redact_snapshot",
    "retry_delay_s",
    "seconds_until_claimable",
    "throttle_key",
    "throttle_wait_s",
    "user_cedula_is_linked",
    "worker_identity",
]
