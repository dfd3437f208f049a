"""The audit trail: ONE call records that a staff member did something (docs/security.md, "Audit trail").

    from cedula.services.audit import audit_record

    audit_record(actor=user, ip=address, action="batch.cancel", target=batch, count=cancelled)
    audit_record(actor=None, action="cedula.import", target=batch, details={"via": "import_cedulas"})  # a command

Entry points call it through cedula.request_audit.audit_request(request, ...), which reads the actor and the
address off the request; a service never sees an HttpRequest.

A console action or batch button is declared in cedula/console_actions.py (its code and label come from there);
any other new action is a new code plus one line in ACTION_LABELS (no migration). Bulk actions write ONE record
with their count, never one per row. The IP is read through ops.net.client_ip (the trusted-proxy rules) by the
entry point.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from django.db import models
from django.http import QueryDict
from django.utils import timezone

from cedula.console_actions import CONSOLE_ACTIONS
from cedula.models import AuditRecord, AuditRecordCedula, CedulaInfo

if TYPE_CHECKING:
    from ops.accounts.models import User

logger = structlog.get_logger(__name__)

Outcome = AuditRecord.Outcome

# A selection of up to this many cedula rows is remembered row by row (a data-subject export finds it); a larger one
# is recorded by its filter and count only.
AUDIT_NAMED_ROWS_MAX = 500

ACTION_LABELS: dict[str, str] = {
    # the console's declared actions and batch buttons (cedula/console_actions.py)
    **{spec.audit_code: spec.audit_label for spec in CONSOLE_ACTIONS},
    # console actions declared where they run (imports, exports, schedules, tasks)
    "cedula.import": "Importar cédulas",
    "cedula.export": "Exportar cédulas",
    "cedula.import_rejected_download": "Descargar filas rechazadas",
    "attempts.export": "Exportar intentos de consulta",
    "changes.export": "Exportar los cambios",
    "task.resubmit": "Reenviar tareas",
    # objects changed through console forms (users, groups and permissions, schedules...)
    "object.add": "Crear",
    "object.change": "Modificar",
    "object.delete": "Eliminar",
    # accounts and sessions
    "auth.login": "Ingreso",
    "auth.logout": "Salida",
    "auth.lockout": "Bloqueo por intentos fallidos",
    "auth.unlock": "Desbloqueo de ingreso",
    "auth.2fa_enrolled": "Alta de verificación en dos pasos",
    "auth.2fa_verified": "Verificación en dos pasos",
    "auth.2fa_failed": "Código de verificación incorrecto",
    "auth.2fa_recovery_used": "Código de recuperación usado",
    "auth.2fa_reset": "Restablecer verificación en dos pasos",
    "auth.2fa_enrol_code_issued": "Código de alta en dos pasos generado",
    "auth.2fa_enrol_code_used": "Código de alta en dos pasos usado",
    "auth.2fa_enrol_code_failed": "Código de alta en dos pasos incorrecto",
    "account.self_delete": "Cuenta eliminada por su titular",
    "audit.export": "Exportar la auditoría",
    "console.denied": "Acción no permitida",
    "permissions.change": "Cambio de grupos o permisos",
    "retention.purge": "Purga de datos antiguos",
}

_suppress_logentry: contextvars.ContextVar[bool] = contextvars.ContextVar("audit_suppress_logentry", default=False)


@dataclass(frozen=True)
class AuditOrigin:
    """Who is acting and from which address, for the request being served: the web's entry points bind it
    (cedula.request_audit), so a record written without them (an admin LogEntry, a lockout) still says so.
    `actor` is read when a record is written: a login changes the request's user halfway through."""

    actor: Callable[[], Any]
    ip: str | None


_current_origin: contextvars.ContextVar[AuditOrigin | None] = contextvars.ContextVar("audit_origin", default=None)


def action_label(code: str) -> str:
    return ACTION_LABELS.get(code, code)


def bind_origin(origin: AuditOrigin | None) -> contextvars.Token[AuditOrigin | None]:
    """Remember who acts from where while a request is served, for records written from signals."""
    return _current_origin.set(origin)


def unbind_origin(token: contextvars.Token[AuditOrigin | None]) -> None:
    _current_origin.reset(token)


def current_origin() -> AuditOrigin | None:
    return _current_origin.get()


def logentry_audit_suppressed() -> bool:
    return _suppress_logentry.get()


@contextlib.contextmanager
def suppress_logentry_audit() -> Iterator[None]:
    """Within, admin LogEntries write no audit record (the caller writes one for the whole bulk action)."""
    token = _suppress_logentry.set(True)
    try:
        yield
    finally:
        _suppress_logentry.reset(token)


def _target_fields(target: Any) -> tuple[str, str, str]:
    if target is None:
        return "", "", ""
    if isinstance(target, models.QuerySet):
        return target.model._meta.label_lower, "", f"selección de {target.model._meta.verbose_name_plural}"
    if isinstance(target, models.Model):
        return target._meta.label_lower, str(target.pk), str(target)[:255]
    return "", "", str(target)[:255]


def audit_selection_ids(queryset: models.QuerySet[Any]) -> list[int]:
    """Take this BEFORE an action changes the rows (a filter on status may not match them afterwards): the ids a
    record will name, or more than AUDIT_NAMED_ROWS_MAX of them (then none are named)."""
    return list(queryset.order_by().values_list("pk", flat=True)[: AUDIT_NAMED_ROWS_MAX + 1])


def _named_cedula_ids(target: Any, cedula_ids: Iterable[int] | None) -> list[int]:
    if cedula_ids is not None:
        ids = list(cedula_ids)[: AUDIT_NAMED_ROWS_MAX + 1]
    elif isinstance(target, CedulaInfo):
        ids = [target.pk]
    elif isinstance(target, models.QuerySet) and target.model is CedulaInfo:
        ids = list(target.order_by().values_list("pk", flat=True)[: AUDIT_NAMED_ROWS_MAX + 1])
    else:
        return []
    return ids if len(ids) <= AUDIT_NAMED_ROWS_MAX else []


def _clean(text: object) -> str:
    # A refused request's path or value is recorded as sent, less what no database column can hold (PostgreSQL
    # refuses NUL in text; a denied "/admin/x/%00/change/" must be audited, not turn into a 500).
    return ("" if text is None else str(text)).replace("\x00", "\ufffd")


def audit_record(
    *,
    action: str,
    target: models.Model | models.QuerySet[Any] | str | None = None,
    count: int | None = None,
    outcome: str = Outcome.SUCCESS,
    filter_query: QueryDict | Mapping[str, Any] | str | None = None,
    details: Mapping[str, Any] | None = None,
    actor: User | None = None,
    ip: str | None = None,
    cedula_ids: Iterable[int] | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    anonymous: bool = False,
) -> AuditRecord:
    """Record one staff action. `target` is one object, a queryset (a selection), or a text (a filter, a username);
    `count` is how many rows it touched; `filter_query` the changelist filter it ran on (stored as its query string).
    `actor` and `ip` say who acted from where; left out, they are those of the request being served (AuditOrigin),
    none outside a request (a command, a task). Entry points pass them through cedula.request_audit.audit_request.
    `cedula_ids` names the cedula rows touched when the target does not say it; `target_type`/`target_id` override
    what is derived from `target`. `anonymous` records neither who nor from where (a person deleting themselves)."""
    origin = None if anonymous else current_origin()
    if anonymous:
        ip = None
    elif ip is None and origin is not None:
        ip = origin.ip
    if actor is None and origin is not None:
        user = origin.actor()
        actor = user if user is not None and user.is_authenticated else None
    derived_type, derived_id, target_repr = _target_fields(target)
    target_type = derived_type if target_type is None else target_type
    target_id = derived_id if target_id is None else target_id
    extra: dict[str, Any] = dict(details or {})
    if filter_query:
        extra["filter"] = filter_query.urlencode() if isinstance(filter_query, QueryDict) else str(filter_query)
        if not target_repr:
            target_repr = "filtro"
    record = AuditRecord.objects.create(
        at=timezone.now(),
        actor=actor,
        actor_email=actor.email if actor is not None else "",
        ip=ip,
        action=action,
        target_type=_clean(target_type),
        target_id=_clean(target_id),
        target_repr=_clean(target_repr),
        count=count,
        outcome=outcome,
        details=extra,
    )
    named = _named_cedula_ids(target, cedula_ids)
    if named:
        AuditRecordCedula.objects.bulk_create([AuditRecordCedula(record=record, cedula_id=pk) for pk in named])
    logger.info(
        "audit_recorded",
        audit_id=record.pk,
        action=action,
        actor_id=actor.pk if actor is not None else None,
        target_type=target_type,
        count=count,
        outcome=outcome,
    )
    return record
