"""The domain: one CedulaInfo per cedula, one LookupAttempt per request to the registry, one ImportBatch per file.

Queue state lives on CedulaInfo itself (the backlog is in the database, not in the broker):
- next_attempt_at set   -> a lookup is wanted, due at that time (a retry has it in the future);
- claimed_at set        -> a worker holds the row right now (claim_token proves which one);
- both empty            -> idle: status holds the last final answer (or `error` after the retries ran out).

Operators steer bulk work without a hidden queue state:
- cancelled by the operator -> idle; a row that had an answer keeps it, a row never answered gets status
  `withdrawn` ("sin consultar (cancelada por el operador)"), which no count of pending work includes;
- held (its batch paused)   -> idle with `held` set; resuming queues exactly the held rows again.
Queueing a row again (any service) clears `held` and turns `withdrawn` back into `pending`.

The models live in modules by concern; every one is re-exported here, so `from cedula.models import X` and the
migrations keep working:
- cedula.models.cedula   the queue row, its choices, import batches and events, attempts, changes;
- cedula.models.control  re-validation runs, the throttle, the gate (breaker), the captcha balance, dispatch tickets,
                         alert states;
- cedula.models.audit    the audit trail;
- cedula.models.preview  an import preview waiting for its confirmation.
"""

from __future__ import annotations

from cedula.models.audit import AuditRecord, AuditRecordCedula
from cedula.models.cedula import (
    FINAL_STATUSES,
    BatchEvent,
    CedulaChange,
    CedulaInfo,
    ErrorKind,
    ImportBatch,
    LookupAttempt,
    Priority,
    Source,
    Status,
)
from cedula.models.control import (
    BREAKER_PK,
    SOURCE_PK,
    THROTTLE_PK,
    AlertState,
    Breaker,
    CaptchaBalance,
    LookupTicket,
    RevalidationRun,
    SourceInUse,
    Throttle,
)
from cedula.models.preview import ImportPreview

__all__ = [
    "BREAKER_PK",
    "FINAL_STATUSES",
    "SOURCE_PK",
    "THROTTLE_PK",
    "AlertState",
    "AuditRecord",
    "AuditRecordCedula",
    "BatchEvent",
    "Breaker",
    "CaptchaBalance",
    "CedulaChange",
    "CedulaInfo",
    "ErrorKind",
    "ImportBatch",
    "ImportPreview",
    "LookupAttempt",
    "LookupTicket",
    "Priority",
    "RevalidationRun",
    "Source",
    "SourceInUse",
    "Status",
    "Throttle",
]
